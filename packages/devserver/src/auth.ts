/**
 * Transport security of the gRPC port: TLS (optionally requiring client certificates) and API keys
 * (`authorization: Bearer <key>`, as the SDKs send their `apiKey`). Keys are never logged.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';

export interface TlsOptions {
  /** PEM files of the server's certificate (chain) and private key. */
  certFile: string;
  keyFile: string;
  /** PEM file of the CA that signs client certificates: set, a client without one is refused (mTLS). */
  clientCaFile?: string;
}

function read(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new Error(`cannot read the ${what} ${file}: ${(err as Error).message}`);
  }
}

export function serverCredentials(tls: TlsOptions | undefined): grpc.ServerCredentials {
  if (!tls) return grpc.ServerCredentials.createInsecure();
  const ca = tls.clientCaFile ? read(tls.clientCaFile, 'client CA file') : null;
  return grpc.ServerCredentials.createSsl(
    ca,
    [{ cert_chain: read(tls.certFile, 'TLS certificate'), private_key: read(tls.keyFile, 'TLS key') }],
    ca !== null,
  );
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Returns the check run before every call: undefined when the caller may proceed, else the
 * UNAUTHENTICATED message. Comparison is on digests in constant time.
 */
export function apiKeyCheck(
  keys: readonly string[] | undefined,
): ((md: grpc.Metadata) => string | undefined) | undefined {
  if (!keys?.length) return undefined;
  if (keys.some((k) => !k.trim())) throw new Error('an API key must not be empty');
  const accepted = keys.map(digest);
  return (md) => {
    const header = md.get('authorization')[0];
    if (header === undefined)
      return 'API key required: send "authorization: Bearer <key>" (TEMPORAL_API_KEY)';
    const m = /^Bearer\s+(.+)$/i.exec(String(header).trim());
    if (!m) return 'API key required: the authorization header is not "Bearer <key>"';
    const given = digest(m[1]!);
    // Every key is compared, so timing does not tell which one nearly matched.
    let ok = false;
    for (const a of accepted) ok = timingSafeEqual(a, given) || ok;
    return ok ? undefined : 'API key not accepted';
  };
}
