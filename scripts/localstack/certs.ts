import { makeCertificates as make, type Certificates } from '@migrator/devserver/certs';
import { requireBinaries } from './binaries.js';

/** PEM files of the stack's CA, server and client certificates (made by the devserver's helper). */
export type StackCertificates = Certificates;

/**
 * Makes the stack's certificates with openssl (Debian's package, installed when missing), valid for
 * one day. Nothing is reused between stacks: every stack has its own CA.
 */
export function makeCertificates(stackDir: string): Promise<StackCertificates> {
  const { openssl } = requireBinaries(['openssl']);
  return make(stackDir, openssl);
}

/** The ssl-* URL parameters (src/activities/db/tls.ts) a client of the stack uses. */
export function clientTlsParams(certs: StackCertificates): string {
  const p = new URLSearchParams({
    'ssl-mode': 'verify-identity',
    'ssl-ca': certs.ca,
    'ssl-cert': certs.clientCert,
    'ssl-key': certs.clientKey,
  });
  return p.toString();
}
