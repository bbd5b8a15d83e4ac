// Shared fixtures for the data-plane tests: a MariaDB pair per file, named connections in process.env.
import type mysql from 'mysql2/promise';
import { startStack, type Stack, APP_DATABASE } from '../../scripts/localstack/index.js';
import { closePools } from '../../src/activities/db/connections.js';

export async function startPair(options: { redis?: boolean } = {}): Promise<Stack> {
  const stack = await startStack({ redis: options.redis ?? false });
  Object.assign(process.env, stack.env);
  return stack;
}

/** Closes the data plane's pools and the given connections, then stops the stack. */
export async function stopPair(
  stack: Stack | undefined,
  ...connections: (mysql.Connection | undefined)[]
): Promise<void> {
  await closePools();
  for (const c of connections) await c?.end();
  await stack?.stop();
}

/** Root connections to both sides' app database, kept for a whole file (pass them to stopPair). */
export async function rootConnections(
  stack: Stack,
): Promise<{ src: mysql.Connection; tgt: mysql.Connection }> {
  const src = await stack.source.rootConnection(APP_DATABASE);
  const tgt = await stack.target.rootConnection(APP_DATABASE);
  return { src, tgt };
}

/** Runs statements as root on one side's app database. */
export async function rootExec(side: Stack['source'], ...statements: string[]): Promise<void> {
  const conn = await side.rootConnection(APP_DATABASE);
  try {
    for (const s of statements) await conn.query(s);
  } finally {
    await conn.end();
  }
}

export async function rootQuery<T = Record<string, unknown>>(
  side: Stack['source'],
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  const conn = await side.rootConnection(APP_DATABASE);
  try {
    const [rows] = await conn.query<mysql.RowDataPacket[]>(sql, params);
    return rows as T[];
  } finally {
    await conn.end();
  }
}

/** Every row of a table ordered by the given key, values rendered exactly (hex for binary). */
export async function dumpTable(side: Stack['source'], table: string, orderBy: string): Promise<string[]> {
  const rows = await rootQuery(side, `SELECT * FROM \`${table}\` ORDER BY ${orderBy}`);
  return rows.map((r) =>
    JSON.stringify(
      Object.entries(r).map(([k, v]) => [k, Buffer.isBuffer(v) ? `hex:${v.toString('hex')}` : v]),
    ),
  );
}

export async function checksum(side: Stack['source'], table: string): Promise<string> {
  const rows = await rootQuery<{ Checksum: string | number | null }>(
    side,
    `CHECKSUM TABLE \`${table}\` EXTENDED`,
  );
  return String(rows[0].Checksum);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
