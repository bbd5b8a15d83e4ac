import type { PoolConnection } from 'mysql2/promise';
import { quoteIdent, quoteTable } from '../db/identifiers.js';
import { ROW_WRITER_SESSION_SQL } from '../db/sessions.js';

/**
 * The row writers' session settings (db/sessions.ts). Only for a connection of a `rowWriter` pool
 * (getPool(name, 'rowWriter')) or one the caller destroys after use: the settings (foreign_key_checks=0
 * above all) must never reach a connection other code takes.
 */
export async function prepareWriterSession(conn: PoolConnection): Promise<void> {
  await conn.query(ROW_WRITER_SESSION_SQL);
}

/** Driver value -> bound parameter; undefined (e.g. an undecodable ENUM index) becomes NULL. */
export function toParam(value: unknown): unknown {
  return value === undefined ? null : value;
}

function approxSize(value: unknown): number {
  if (value === null || value === undefined) return 4;
  if (typeof value === 'string') return value.length * 4 + 4;
  if (Buffer.isBuffer(value)) return value.length * 2 + 4;
  return 24;
}

/** Rows per statement are bounded by count and by an estimate of the statement size. */
const MAX_ROWS_PER_STATEMENT = 1000;
const MAX_BYTES_PER_STATEMENT = 8 * 1024 * 1024;

/**
 * REPLACE INTO `schema`.`table` (cols) VALUES (...), (...): multi-row, split by size.
 *
 * REPLACE, not INSERT ... ON DUPLICATE KEY UPDATE: when a row collides on a secondary UNIQUE key (a
 * value that moved from one row to another on the source), ODKU would update the colliding row (keeping
 * its old key, or failing on the next collision), while REPLACE removes every colliding row and writes
 * this one. Rows it removes that still exist on the source are re-written by a later event or chunk
 * (see copier/README.md), so the tables converge.
 */
export async function replaceRows(
  conn: PoolConnection,
  schema: string,
  table: string,
  columns: readonly string[],
  rows: readonly (readonly unknown[])[],
): Promise<number> {
  if (rows.length === 0) return 0;
  const head = `REPLACE INTO ${quoteTable(schema, table)} (${columns.map((c) => quoteIdent(c, 'column')).join(', ')}) VALUES `;
  const tuple = `(${columns.map(() => '?').join(', ')})`;
  let written = 0;
  let batch: unknown[] = [];
  let count = 0;
  let bytes = 0;
  const flush = async () => {
    if (count === 0) return;
    await conn.query(head + Array.from({ length: count }, () => tuple).join(', '), batch);
    written += count;
    batch = [];
    count = 0;
    bytes = 0;
  };
  for (const row of rows) {
    let size = 0;
    for (const v of row) size += approxSize(v);
    if (count > 0 && (count >= MAX_ROWS_PER_STATEMENT || bytes + size > MAX_BYTES_PER_STATEMENT))
      await flush();
    for (const v of row) batch.push(toParam(v));
    count++;
    bytes += size;
  }
  await flush();
  return written;
}

/** DELETE rows by key: `WHERE (k1 = ? AND k2 = ?) OR ...`, in batches. Returns rows deleted. */
export async function deleteKeys(
  conn: PoolConnection,
  schema: string,
  table: string,
  keyColumns: readonly string[],
  keys: readonly (readonly unknown[])[],
): Promise<number> {
  let deleted = 0;
  const one = `(${keyColumns.map((c) => `${quoteIdent(c, 'key column')} = ?`).join(' AND ')})`;
  for (let i = 0; i < keys.length; i += 500) {
    const part = keys.slice(i, i + 500);
    const [res] = await conn.query(
      `DELETE FROM ${quoteTable(schema, table)} WHERE ${part.map(() => one).join(' OR ')}`,
      part.flatMap((k) => k.map(toParam)),
    );
    deleted += (res as { affectedRows: number }).affectedRows;
  }
  return deleted;
}
