import { readFileSync } from 'node:fs';
import type { RedisOptions } from 'ioredis';
import type { PoolConnection as CorePoolConnection } from 'mysql2';
import mysql from 'mysql2/promise';
import { PRODUCT_TAG, tagSql } from '../../shared/write-tags.js';
import { ConnectionNotConfiguredError } from './errors.js';
import { assertIdentifier } from './identifiers.js';
import { sessionSetup, type SessionKind } from './sessions.js';
import { mysqlSsl, nodeTlsOptions, takeTlsSettings, type TlsSettings } from './tls.js';
import { statementTimeoutMs, trackStatement } from './watchdog.js';

export { ConnectionNotConfiguredError };
export type { SessionKind };

/**
 * Connections are referred to by name everywhere a value could be recorded (workflow inputs, activity
 * arguments, logs). Only the worker resolves a name to credentials, from its own environment:
 *   MIGRATOR_DB_<NAME>=mysql://user:password@host:port/database[?ssl-mode=...&ssl-ca=...&ssl-cert=...&ssl-key=...]
 * or a JSON file named by MIGRATOR_CONNECTIONS_FILE: { "<name>": "mysql://..." }. TLS: see tls.ts.
 */
export function connectionEnvVar(name: string): string {
  return `MIGRATOR_DB_${assertIdentifier(name, 'connection name').toUpperCase()}`;
}

function fromFile(name: string): string | undefined {
  const file = process.env.MIGRATOR_CONNECTIONS_FILE;
  if (!file) return undefined;
  const fix = `MIGRATOR_CONNECTIONS_FILE=${file} must name a JSON object {"<name>": "mysql://user:password@host:port/database"}`;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConnectionNotConfiguredError(
      `connection "${name}": cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'}): ${fix}`,
    );
  }
  let entries: unknown;
  try {
    entries = JSON.parse(text);
  } catch {
    // (the parser's message quotes the file, credentials included: never pass it on)
    throw new ConnectionNotConfiguredError(`connection "${name}": ${file} is not valid JSON: ${fix}`);
  }
  if (!entries || typeof entries !== 'object' || Array.isArray(entries))
    throw new ConnectionNotConfiguredError(`connection "${name}": ${file} is not a JSON object: ${fix}`);
  const value = (entries as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
}

export function connectionUrl(name: string): string {
  const url = process.env[connectionEnvVar(name)] ?? fromFile(name);
  if (!url) {
    throw new ConnectionNotConfiguredError(
      `connection "${name}" is not configured on this worker: set ${connectionEnvVar(name)}=mysql://user:password@host:port/database` +
        ' (or add it to the file named by MIGRATOR_CONNECTIONS_FILE)',
    );
  }
  return url;
}

export interface ResolvedConnection {
  name: string;
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  /** TLS settings from the URL's ssl-* parameters; undefined = plain TCP. */
  tls?: TlsSettings;
}

export function resolveConnection(name: string): ResolvedConnection {
  const raw = connectionUrl(name);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConnectionNotConfiguredError(
      `connection "${name}": ${connectionEnvVar(name)} is not a valid mysql:// URL`,
    );
  }
  if (url.protocol !== 'mysql:' && url.protocol !== 'mariadb:') {
    throw new ConnectionNotConfiguredError(
      `connection "${name}": expected a mysql:// URL, got ${url.protocol}//`,
    );
  }
  const tls = takeTlsSettings(url, `connection "${name}" (${connectionEnvVar(name)})`);
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!database)
    throw new ConnectionNotConfiguredError(
      `connection "${name}": the URL names no database (mysql://.../<database>)`,
    );
  return {
    name,
    host: url.hostname,
    port: Number(url.port || 3306),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database,
    ...(tls ? { tls } : {}),
  };
}

/**
 * mysql2's text protocol parses DOUBLE and FLOAT with its own routine, which is not exact
 * ('3.3333333333333335' comes back as 3.333333333333333), and parses MySQL's JSON type into objects
 * (losing big integers). The server's own text is exact: keep it, and write it back as text.
 */
const exactText: mysql.TypeCast = (field, next) =>
  field.type === 'DOUBLE' || field.type === 'FLOAT' || field.type === 'JSON' ? field.string('utf8') : next();

/**
 * Session settings that make values round-trip exactly: big integers and decimals as strings, dates as
 * strings, floating-point and JSON values as the server's text, UTC session time zone (TIMESTAMP),
 * utf8mb4.
 */
export function poolOptions(conn: ResolvedConnection, extra: mysql.PoolOptions = {}): mysql.PoolOptions {
  return {
    host: conn.host,
    port: conn.port,
    user: conn.user,
    password: conn.password,
    database: conn.database,
    ...(conn.tls ? { ssl: mysqlSsl(conn.tls) } : {}),
    charset: 'utf8mb4_general_ci',
    supportBigNumbers: true,
    bigNumberStrings: true,
    decimalNumbers: false,
    dateStrings: true,
    timezone: 'Z',
    typeCast: exactText,
    connectionLimit: 16,
    enableKeepAlive: true,
    ...extra,
  };
}

const pools = new Map<string, mysql.Pool>();

/**
 * Session set-up of every pooled connection: UTC, the statement timeout (MariaDB max_statement_time
 * covers every statement, lock waits included; MySQL's max_execution_time covers SELECT only, writes are
 * bounded by innodb_lock_wait_timeout / lock_wait_timeout), then what its kind needs (sessions.ts). The
 * driver runs a connection's commands in order, so all of this precedes the first user's statement.
 */
function setUpSession(c: CorePoolConnection, timeoutMs: number, kind: SessionKind): void {
  c.query("SET time_zone = '+00:00'");
  for (const sql of sessionSetup(kind)) c.query(sql);
  if (timeoutMs <= 0) return;
  c.query('SET SESSION max_statement_time = ?', [timeoutMs / 1000], (err: { errno?: number } | null) => {
    if (err?.errno === 1193) {
      // MySQL: no max_statement_time.
      c.query('SET SESSION max_execution_time = ?, lock_wait_timeout = ?', [
        timeoutMs,
        Math.max(1, Math.ceil(timeoutMs / 1000)),
      ]);
    }
  });
}

const TRACKED = new Set<PropertyKey>(['query', 'execute']);

/** Statements through `target` are registered with the running activity's watch (watchdog.ts). */
function tracked<T extends object>(target: T): T {
  return new Proxy(target, {
    get(obj, prop, receiver) {
      const value: unknown = Reflect.get(obj, prop, receiver);
      if (typeof value !== 'function') return value;
      if (TRACKED.has(prop)) {
        // PRODUCT_TAG: the bypass watcher knows the product's own writes by it (shared/write-tags.ts).
        return (...args: unknown[]) =>
          trackStatement(
            args[0],
            value.apply(obj, [tagSql(args[0], PRODUCT_TAG), ...args.slice(1)]) as Promise<unknown>,
          );
      }
      if (prop === 'getConnection') {
        return async (...args: unknown[]) => tracked((await value.apply(obj, args)) as object);
      }
      return value.bind(obj);
    },
  });
}

/**
 * A process-wide pool per connection name and session kind (sessions.ts: a kind's settings never reach
 * another kind's users). Every new connection sets the session time zone to UTC, the statement timeout
 * and its kind's settings; statements are tracked for hung-work detection (watchdog.ts).
 */
export function getPool(name: string, kind: SessionKind = 'default'): mysql.Pool {
  const id = kind === 'default' ? name : `${name}#${kind}`;
  let pool = pools.get(id);
  if (!pool) {
    const raw = mysql.createPool(poolOptions(resolveConnection(name)));
    const timeoutMs = statementTimeoutMs();
    // The event hands over the driver's callback connection (mysql2/promise re-emits it as is).
    raw.on('connection', (c) => setUpSession(c as unknown as CorePoolConnection, timeoutMs, kind));
    pool = tracked(raw);
    pools.set(id, pool);
  }
  return pool;
}

export async function closePools(): Promise<void> {
  const all = [...pools.values()];
  pools.clear();
  await Promise.allSettled(all.map((p) => p.end()));
}

/**
 * The switches' Redis (MIGRATOR_REDIS_URL, default redis://127.0.0.1:6379) as ioredis options. TLS with
 * a rediss:// URL or ssl-* parameters (tls.ts): verify-identity unless ssl-mode says otherwise.
 */
export function redisOptions(): RedisOptions {
  const raw = process.env.MIGRATOR_REDIS_URL ?? 'redis://127.0.0.1:6379';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConnectionNotConfiguredError('MIGRATOR_REDIS_URL is not a valid redis:// or rediss:// URL');
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new ConnectionNotConfiguredError(
      `MIGRATOR_REDIS_URL: expected a redis:// or rediss:// URL, got ${url.protocol}//`,
    );
  }
  const tls = takeTlsSettings(url, 'MIGRATOR_REDIS_URL', url.protocol === 'rediss:');
  const db = Number(url.pathname.replace(/^\//, '') || 0);
  return {
    host: url.hostname || '127.0.0.1',
    port: Number(url.port || 6379),
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    ...(Number.isInteger(db) && db > 0 ? { db } : {}),
    ...(tls ? { tls: nodeTlsOptions(tls) } : {}),
  };
}
