/**
 * TLS settings of a named connection, read from its URL's query parameters (the worker's environment:
 * MIGRATOR_DB_<NAME>, MIGRATOR_CONNECTIONS_FILE, MIGRATOR_REDIS_URL), never from a workflow input.
 * Names follow the MySQL client's options:
 *
 *   mysql://user:pw@db.example:3306/app?ssl-mode=verify-identity&ssl-ca=/etc/ca.pem&ssl-cert=/etc/me.pem&ssl-key=/etc/me.key
 *   rediss://:pw@redis.example:6380?ssl-ca=/etc/ca.pem&ssl-cert=/etc/me.pem&ssl-key=/etc/me.key
 *
 * ssl-mode: `disabled` (default without other ssl-* parameters), `verify-identity` (default with them:
 * the server's chain must lead to ssl-ca, or to the system CAs without it, and its certificate must
 * name the host of the URL), `verify-ca` (chain only), `required` (encrypted, the server unverified:
 * protects against eavesdropping only). ssl-cert/ssl-key: a client certificate (for users created
 * REQUIRE X509 / SUBJECT). Files are read when the connection is resolved; their contents are never
 * logged.
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { ConnectionNotConfiguredError } from './errors.js';

export type SslMode = 'disabled' | 'required' | 'verify-ca' | 'verify-identity';
const MODES: readonly SslMode[] = ['disabled', 'required', 'verify-ca', 'verify-identity'];
const PARAMS = ['ssl-mode', 'ssl-ca', 'ssl-cert', 'ssl-key'] as const;

export interface TlsSettings {
  mode: Exclude<SslMode, 'disabled'>;
  ca?: string;
  cert?: string;
  key?: string;
}

function readPem(file: string, what: string, where: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConnectionNotConfiguredError(
      `${where}: cannot read ${what} file ${file}: ${(err as Error).message}`,
    );
  }
}

/**
 * The TLS settings a URL asks for, or undefined for a plain connection. Removes the ssl-* parameters
 * from `url` (they are ours, not the driver's). `where` names the setting in errors.
 */
export function takeTlsSettings(url: URL, where: string, secureScheme = false): TlsSettings | undefined {
  const get = (name: (typeof PARAMS)[number]) => url.searchParams.get(name) ?? undefined;
  const [modeRaw, ca, cert, key] = PARAMS.map(get);
  for (const p of PARAMS) url.searchParams.delete(p);
  const explicit = modeRaw?.toLowerCase();
  if (explicit !== undefined && !(MODES as readonly string[]).includes(explicit)) {
    throw new ConnectionNotConfiguredError(`${where}: ssl-mode=${modeRaw} is not one of ${MODES.join(', ')}`);
  }
  const wanted = secureScheme || ca !== undefined || cert !== undefined || key !== undefined;
  const mode = (explicit ?? (wanted ? 'verify-identity' : 'disabled')) as SslMode;
  if (mode === 'disabled') {
    if (wanted)
      throw new ConnectionNotConfiguredError(
        `${where}: ssl-mode=disabled contradicts the other ssl-* settings`,
      );
    return undefined;
  }
  if ((cert === undefined) !== (key === undefined)) {
    throw new ConnectionNotConfiguredError(`${where}: a client certificate needs both ssl-cert and ssl-key`);
  }
  return {
    mode,
    ...(ca !== undefined ? { ca: readPem(ca, 'ssl-ca', where) } : {}),
    ...(cert !== undefined ? { cert: readPem(cert, 'ssl-cert', where) } : {}),
    ...(key !== undefined ? { key: readPem(key, 'ssl-key', where) } : {}),
  };
}

/** mysql2's `ssl` option (also used by the binlog reader's connections). */
export function mysqlSsl(tls: TlsSettings): {
  ca?: string;
  cert?: string;
  key?: string;
  rejectUnauthorized: boolean;
  verifyIdentity: boolean;
} {
  return {
    ...(tls.ca ? { ca: tls.ca } : {}),
    ...(tls.cert ? { cert: tls.cert } : {}),
    ...(tls.key ? { key: tls.key } : {}),
    rejectUnauthorized: tls.mode !== 'required',
    verifyIdentity: tls.mode === 'verify-identity',
  };
}

/** node:tls options for clients that take them directly (ioredis). */
export function nodeTlsOptions(tls: TlsSettings): TlsConnectionOptions {
  return {
    ...(tls.ca ? { ca: tls.ca } : {}),
    ...(tls.cert ? { cert: tls.cert } : {}),
    ...(tls.key ? { key: tls.key } : {}),
    rejectUnauthorized: tls.mode !== 'required',
    ...(tls.mode === 'verify-identity' ? {} : { checkServerIdentity: () => undefined }),
  };
}
