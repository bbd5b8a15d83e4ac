import type { QueryOptions } from 'mysql2/promise';
import { q, type Cell, type Queryable } from './db.js';
import type { TableMeta } from './schema.js';

/** SQL text with its values. */
export interface Bound {
  sql: string;
  values: unknown[];
}

const CHUNK = 500;
/** Rows per read or write statement of the mirror. */
export const CHUNK_ROWS = CHUNK;

export function chunks<T>(items: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** `k IN (?, ...)` for one key column, `(a = ? AND b = ?) OR ...` for composite keys. */
export function keysPredicate(columns: readonly string[], keys: readonly unknown[][], alias?: string): Bound {
  const col = (c: string) => (alias ? `${q(alias)}.${q(c)}` : q(c));
  if (columns.length === 1) {
    return {
      sql: `${col(columns[0])} IN (${keys.map(() => '?').join(', ')})`,
      values: keys.map((k) => k[0]),
    };
  }
  const one = `(${columns.map((c) => `${col(c)} = ?`).join(' AND ')})`;
  return { sql: keys.map(() => one).join(' OR '), values: keys.flat() };
}

/** How a column is read for mirroring: FLOAT as exact DOUBLE text, TIMESTAMP as epoch seconds (any time_zone). */
function readExpr(meta: TableMeta, c: string): string {
  if (meta.floats.has(c)) return `CAST(CAST(${q(c)} AS DOUBLE) AS CHAR) AS ${q(c)}`;
  // A key column stays as the session prints it: keys are compared in the same session's WHERE.
  if (meta.timestamps.has(c) && !meta.key.includes(c)) return `UNIX_TIMESTAMP(${q(c)}) AS ${q(c)}`;
  return q(c);
}

/** The placeholder of a column in a mirror write (TIMESTAMP: back from epoch seconds, see readExpr). */
function writePlaceholder(meta: TableMeta, c: string): string {
  return meta.timestamps.has(c) && !meta.key.includes(c) ? 'FROM_UNIXTIME(?)' : '?';
}

/**
 * Reads rows losslessly: every value as text (exact decimals, big integers, dates with fractions,
 * JSON text; TIMESTAMP as epoch seconds with its fraction) or as bytes for binary columns, in the
 * order of meta.writable.
 */
export async function readRows(db: Queryable, meta: TableMeta, where: Bound): Promise<Cell[][]> {
  const [rows] = await db.query(readRowsQuery(meta, where));
  return rows as unknown as Cell[][];
}

/** The query readRows sends (a dual write may send it in the statement's round trip: router.ts). */
export function readRowsQuery(meta: TableMeta, where: Bound): QueryOptions {
  const t = texts(meta);
  return { sql: t.select + where.sql, values: where.values, rowsAsArray: true, typeCast: t.cast };
}

type TypeCast = NonNullable<QueryOptions['typeCast']>;

/** The per-table SQL texts of the mirror, built once per table (every dual write uses them). */
const textCache = new WeakMap<TableMeta, { select: string; cast: TypeCast; upsert: string[] }>();

function texts(meta: TableMeta) {
  let t = textCache.get(meta);
  if (!t) {
    const cols = meta.writable;
    const nonKey = cols.filter((c) => !meta.key.includes(c));
    const update = (nonKey.length > 0 ? nonKey : meta.key).map((c) => `${q(c)} = VALUES(${q(c)})`).join(', ');
    t = {
      select: `SELECT ${cols.map((c) => readExpr(meta, c)).join(', ')} FROM ${q(meta.name)} WHERE `,
      // Every value as text, binary columns as bytes.
      cast: (field, next) => {
        void next;
        return meta.binary.has(field.name) ? field.buffer() : field.string('utf8');
      },
      // INSERT / REPLACE head, one row's tuple, ON DUPLICATE KEY UPDATE tail.
      upsert: [
        ` INTO ${q(meta.name)} (${cols.map(q).join(', ')}) VALUES `,
        `(${cols.map((c) => writePlaceholder(meta, c)).join(', ')})`,
        ` ON DUPLICATE KEY UPDATE ${update}`,
      ],
    };
    textCache.set(meta, t);
  }
  return t;
}

/** Rows of the given keys, read in chunks. */
export async function readRowsByKeys(
  db: Queryable,
  meta: TableMeta,
  keys: readonly unknown[][],
): Promise<Cell[][]> {
  const out: Cell[][] = [];
  for (const part of chunks(keys)) out.push(...(await readRows(db, meta, keysPredicate(meta.key, part))));
  return out;
}

/** The queries readRowsByKeys sends. */
export function readRowsByKeysQueries(meta: TableMeta, keys: readonly unknown[][]): QueryOptions[] {
  return chunks(keys).map((part) => readRowsQuery(meta, keysPredicate(meta.key, part)));
}

/** Key values of rows (in meta.key order). */
export function keyOf(meta: TableMeta, row: readonly Cell[]): Cell[] {
  return meta.key.map((k) => row[meta.writable.indexOf(k)] ?? null);
}

/** Statements that make the other side hold exactly these row images (upsert, or REPLACE). */
export function upsertStatements(meta: TableMeta, rows: readonly Cell[][], replace: boolean): Bound[] {
  const [into, tuple, odku] = texts(meta).upsert;
  return chunks(rows).map((part) => ({
    sql: (replace ? 'REPLACE' : 'INSERT') + into + part.map(() => tuple).join(', ') + (replace ? '' : odku),
    values: part.flat(),
  }));
}

export function deleteStatements(meta: TableMeta, keys: readonly unknown[][]): Bound[] {
  return chunks(keys).map((part) => {
    const where = keysPredicate(meta.key, part);
    return { sql: `DELETE FROM ${q(meta.name)} WHERE ${where.sql}`, values: where.values };
  });
}
