/**
 * Throwaway certificates made with openssl: a CA, a server certificate and a client certificate
 * signed by it, plus an unrelated CA (negative tests). The one implementation: the local stack
 * (scripts/localstack/certs.ts, MariaDB and Redis TLS) and this server's `--tls-dir` both use it.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** PEM files of a throwaway certificate authority, a server certificate and a client certificate. */
export interface Certificates {
  dir: string;
  ca: string;
  /** Names 127.0.0.1 and localhost. */
  serverCert: string;
  serverKey: string;
  /** CN=migrator, signed by the same CA. */
  clientCert: string;
  clientKey: string;
  /** A second, unrelated CA: a client trusting it must refuse our servers (tests). */
  otherCa: string;
}

function opensslOnPath(): string {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/bin', '/usr/local/bin'])) {
    if (dir && existsSync(join(dir, 'openssl'))) return join(dir, 'openssl');
  }
  throw new Error('openssl not found: install it (apt-get install -y openssl) to make TLS certificates');
}

/**
 * Makes the certificates in `<parent>/tls` with openssl, valid for one day. Nothing is reused: every
 * call makes its own CA. `openssl`: the binary to run (default: the one on PATH).
 */
export async function makeCertificates(parent: string, openssl = opensslOnPath()): Promise<Certificates> {
  const dir = join(parent, 'tls');
  mkdirSync(dir, { recursive: true });
  const path = (name: string) => join(dir, name);
  const ossl = (args: string[]) => run(openssl, args, { cwd: dir });

  const selfSigned = (name: string, cn: string) =>
    ossl([
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      `/CN=${cn}`,
      '-keyout',
      path(`${name}-key.pem`),
      '-out',
      path(`${name}.pem`),
    ]);
  await Promise.all([selfSigned('ca', 'migrator-stack test CA'), selfSigned('other-ca', 'unrelated CA')]);

  const signed = async (name: string, cn: string, extensions: string) => {
    await ossl([
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      `/CN=${cn}`,
      '-keyout',
      path(`${name}-key.pem`),
      '-out',
      path(`${name}.csr`),
    ]);
    writeFileSync(path(`${name}.ext`), extensions);
    await ossl([
      'x509',
      '-req',
      '-in',
      path(`${name}.csr`),
      '-CA',
      path('ca.pem'),
      '-CAkey',
      path('ca-key.pem'),
      '-CAcreateserial',
      '-days',
      '1',
      '-extfile',
      path(`${name}.ext`),
      '-out',
      path(`${name}.pem`),
    ]);
  };
  // Sequential: both use the CA's serial file.
  await signed('server', '127.0.0.1', 'subjectAltName = IP:127.0.0.1, DNS:localhost\n');
  await signed('client', 'migrator', 'extendedKeyUsage = clientAuth\n');
  readFileSync(path('client.pem')); // fail here, not in a server, if openssl wrote nothing
  return {
    dir,
    ca: path('ca.pem'),
    serverCert: path('server.pem'),
    serverKey: path('server-key.pem'),
    clientCert: path('client.pem'),
    clientKey: path('client-key.pem'),
    otherCa: path('other-ca.pem'),
  };
}
