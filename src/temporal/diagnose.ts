/**
 * Why a connection to Temporal failed, when the SDK only says "Failed to connect before the
 * deadline": one TLS handshake with the same settings tells a CA mismatch, a refused or missing
 * client certificate, a wrong server name, or TLS spoken to a plaintext port (and the reverse).
 */
import { isIP } from 'node:net';
import * as tls from 'node:tls';
import type { TemporalConnectionConfig } from './connection.js';

/** Temporal could not be reached or refused us; the message says why (the worker exits 4 with it). */
export class TemporalConnectError extends Error {
  override name = 'TemporalConnectError';
}

function hostPort(address: string): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(address);
  return m ? { host: m[1]!, port: Number(m[2]) } : { host: address, port: 7233 };
}

interface Handshake {
  ok: boolean;
  /** The handshake completed (a failure after it is the server refusing us, as TLS 1.3 does). */
  secured?: boolean;
  code?: string;
  message?: string;
}

function handshake(address: string, options: tls.ConnectionOptions, timeoutMs: number): Promise<Handshake> {
  const { host, port } = hostPort(address);
  return new Promise((resolve) => {
    let done = false;
    let secured = false;
    const finish = (h: Handshake) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ ...h, secured });
    };
    const socket = tls.connect({ host, port, ALPNProtocols: ['h2'], ...options });
    // With TLS 1.3 the server refuses a client certificate after the handshake: wait a moment for its alert.
    socket.once('secureConnect', () => {
      secured = true;
      setTimeout(() => finish({ ok: true }), 300);
    });
    socket.on('data', () => undefined);
    socket.once('error', (err: NodeJS.ErrnoException) =>
      finish({ ok: false, code: err.code, message: err.message }),
    );
    socket.once('close', () => finish({ ok: false, code: 'CLOSED', message: 'connection closed' }));
    const timer = setTimeout(() => finish({ ok: false, code: 'TIMEOUT', message: 'no answer' }), timeoutMs);
  });
}

const CA_ERRORS = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
]);

/** A sentence saying what is wrong and which setting fixes it; undefined when the probe finds nothing. */
export async function diagnoseConnection(
  config: TemporalConnectionConfig,
  timeoutMs = 3000,
): Promise<string | undefined> {
  const o = config.connectionOptions;
  const { host } = hostPort(o.address);
  if (!o.tls) {
    // Plaintext refused: does the port speak TLS?
    const h = await handshake(o.address, { rejectUnauthorized: false, servername: undefined }, timeoutMs);
    return h.ok || /CERTIFICATE_REQUIRED|alert/i.test(`${h.code} ${h.message}`)
      ? `the server at ${o.address} speaks TLS and this connection is plaintext: set TEMPORAL_TLS=true ` +
          `(with TEMPORAL_TLS_SERVER_CA_CERT_PATH for a private CA, or [profile.NAME.tls] in the profile file)`
      : undefined;
  }
  const t = o.tls;
  // Node checks the certificate against servername (else host); SNI must not be an IP address.
  const servername = t.serverNameOverride ?? (isIP(host) ? undefined : host);
  const h = await handshake(
    o.address,
    {
      ...(servername ? { servername } : {}),
      ...(t.serverRootCACertificate ? { ca: Buffer.from(t.serverRootCACertificate) } : {}),
      ...(t.clientCertPair
        ? { cert: Buffer.from(t.clientCertPair.crt), key: Buffer.from(t.clientCertPair.key) }
        : {}),
    },
    timeoutMs,
  );
  if (h.ok) return undefined;
  const text = `${h.code ?? ''} ${h.message ?? ''}`;
  if (h.code && CA_ERRORS.has(h.code)) {
    return (
      `the server's TLS certificate at ${o.address} is not signed by a CA this client trusts (${h.message}): ` +
      `set TEMPORAL_TLS_SERVER_CA_CERT_PATH (server_ca_cert_path in the profile) to the CA that signed it`
    );
  }
  if (h.code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return `the server's TLS certificate does not name ${t.serverNameOverride ?? host} (${h.message}): set TEMPORAL_TLS_SERVER_NAME (server_name in the profile) to a name it holds`;
  }
  if (/CERTIFICATE_REQUIRED|certificate required/i.test(text)) {
    return (
      `the server at ${o.address} requires a client certificate (mTLS) and none was sent: set ` +
      `TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH (client_cert_path / client_key_path in the profile)`
    );
  }
  if (
    /UNKNOWN_CA|BAD_CERTIFICATE|CERTIFICATE_UNKNOWN|unknown ca|bad certificate/i.test(text) ||
    (h.secured && t.clientCertPair)
  ) {
    return (
      `the server at ${o.address} refused the client certificate (${h.code}: it closed the connection after the handshake): ` +
      `set TEMPORAL_TLS_CLIENT_CERT_PATH / TEMPORAL_TLS_CLIENT_KEY_PATH to a certificate signed by the CA the server trusts for clients`
    );
  }
  if (
    !h.secured &&
    /WRONG_VERSION_NUMBER|wrong version number|packet length too long|ECONNRESET|CLOSED/i.test(text)
  ) {
    return `the server at ${o.address} does not answer TLS (${h.code}): it may be plaintext; then set TEMPORAL_TLS=false and unset the TLS settings`;
  }
  return undefined;
}
