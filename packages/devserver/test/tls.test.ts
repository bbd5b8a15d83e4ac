/**
 * The gRPC port with TLS, mTLS and API keys (`tls`, `apiKeys`), through the real SDK connections: the
 * TypeScript client (grpc-js) and the worker's NativeConnection (Rust core). The project's
 * test/workflow/temporal-tls.test.ts runs a worker and the CLI against the server as a process.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { makeCertificates, type Certificates } from '../src/certs.js';
import { startDevServer, type DevServer } from '../src/index.js';
import { quietRuntime } from './sdk.js';

const dir = mkdtempSync(join(tmpdir(), 'devserver-tls-'));
let certs: Certificates;
let server: DevServer;
const KEY = 'devserver-test-key';

before(async () => {
  quietRuntime();
  certs = await makeCertificates(dir);
  server = await startDevServer({
    logLevel: 'error',
    tls: { certFile: certs.serverCert, keyFile: certs.serverKey, clientCaFile: certs.ca },
    apiKeys: [KEY, 'second-key'],
  });
});
after(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const tls = () => ({
  serverNameOverride: 'localhost',
  serverRootCACertificate: readFileSync(certs.ca),
  clientCertPair: { crt: readFileSync(certs.clientCert), key: readFileSync(certs.clientKey) },
});

/** The gRPC status somewhere in an SDK error's cause chain. */
function code(err: unknown): number | undefined {
  for (
    let e = err as { code?: unknown; cause?: unknown } | undefined, i = 0;
    e && i < 6;
    e = e.cause as typeof e, i++
  ) {
    if (typeof e.code === 'number') return e.code;
  }
  return undefined;
}

test('mTLS with an accepted API key: both SDK connections are served', async () => {
  assert.equal(server.security, 'mtls');
  const client = await Connection.connect({ address: server.address, tls: tls(), apiKey: 'second-key' });
  const ns = await client.workflowService.describeNamespace({ namespace: 'default' });
  assert.equal(ns.namespaceInfo?.name, 'default');
  await client.close();
  const native = await NativeConnection.connect({ address: server.address, tls: tls(), apiKey: KEY });
  await native.close();
});

test('a wrong or missing API key is UNAUTHENTICATED, saying which', async () => {
  for (const [apiKey, says] of [
    ['wrong', /API key not accepted/],
    [undefined, /API key required/],
  ] as const) {
    await assert.rejects(
      Connection.connect({ address: server.address, tls: tls(), ...(apiKey ? { apiKey } : {}) }),
      (err: Error) => code(err) === status.UNAUTHENTICATED && says.test(String(err.cause ?? err)),
    );
    await assert.rejects(
      NativeConnection.connect({ address: server.address, tls: tls(), ...(apiKey ? { apiKey } : {}) }),
      (err: Error) => /valid authentication credentials/.test(err.message) && says.test(err.message),
    );
  }
});

test('no client certificate, or a server CA the client does not trust: no connection', async () => {
  const { clientCertPair: _, ...noCert } = tls();
  await assert.rejects(NativeConnection.connect({ address: server.address, tls: noCert, apiKey: KEY }));
  await assert.rejects(
    NativeConnection.connect({
      address: server.address,
      tls: { ...tls(), serverRootCACertificate: readFileSync(certs.otherCa) },
      apiKey: KEY,
    }),
    /UnknownIssuer/,
  );
});

test('bad TLS files or an empty key stop the start, naming the file', async () => {
  await assert.rejects(
    startDevServer({ logLevel: 'error', tls: { certFile: join(dir, 'none.pem'), keyFile: certs.serverKey } }),
    /cannot read the TLS certificate .*none\.pem/,
  );
  await assert.rejects(startDevServer({ logLevel: 'error', apiKeys: [' '] }), /API key must not be empty/);
});
