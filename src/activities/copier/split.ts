import type { EncodedKey, KeyRange, TableSpec } from '../contracts.js';
import { getPool, resolveConnection } from '../db/connections.js';
import { describeTable, estimateRows } from '../schema/describe.js';
import { encodeKey } from '../schema/keycodec.js';
import { keysetSelect } from '../schema/keyset.js';
import { quoteIdent, quoteTable } from '../db/identifiers.js';
import type { RowDataPacket } from 'mysql2/promise';

const INTEGER_TYPES = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint']);

/**
 * Boundaries for a single-column integer key without scanning: MIN and MAX are two index dives, and
 * the parts split that interval evenly (even in rows when the keys are dense; gaps make parts uneven,
 * never wrong: any values partition the key space).
 */
async function integerBounds(
  pool: ReturnType<typeof getPool>,
  table: string,
  column: string,
  parts: number,
): Promise<EncodedKey[]> {
  const c = quoteIdent(column, 'key column');
  const [rows] = await pool.query<RowDataPacket[]>(
    `SELECT CAST(MIN(${c}) AS CHAR) AS lo, CAST(MAX(${c}) AS CHAR) AS hi FROM ${table}`,
  );
  if (rows[0].lo === null) return [];
  const lo = BigInt(String(rows[0].lo));
  const hi = BigInt(String(rows[0].hi));
  const span = hi - lo + 1n;
  const bounds: EncodedKey[] = [];
  for (let i = 1n; i < BigInt(parts); i++) {
    const b = lo + (span * i) / BigInt(parts) - 1n;
    if (b >= lo && b < hi && (bounds.length === 0 || b.toString() !== bounds[bounds.length - 1][0]))
      bounds.push(encodeKey([b.toString()]));
  }
  return bounds;
}

/**
 * Splits a table's key space into `parts` contiguous half-open ranges covering everything: the first has
 * no lower bound, the last no upper bound. A single-column integer key is split by value between MIN
 * and MAX (two index dives, no scan); other keys by stepping through the key's index to about equal row
 * counts (InnoDB's row estimate), which costs one index scan.
 */
export async function splitKeyRanges(input: {
  source: string;
  table: TableSpec | string;
  parts: number;
}): Promise<KeyRange[]> {
  const spec = typeof input.table === 'string' ? { name: input.table } : input.table;
  const pool = getPool(input.source);
  const schema = resolveConnection(input.source).database;
  const info = await describeTable(pool, schema, spec.name, spec.key);
  const parts = Math.max(1, Math.floor(input.parts));
  const keyCol = info.columns.find((c) => c.name === info.key.columns[0]);
  if (info.key.columns.length === 1 && keyCol && INTEGER_TYPES.has(keyCol.dataType)) {
    return toRanges(await integerBounds(pool, quoteTable(schema, spec.name), keyCol.name, parts));
  }
  const total = await estimateRows(pool, schema, spec.name);
  const step = Math.max(1, Math.ceil(total / parts));
  const bounds = [];
  let lower: ReturnType<typeof encodeKey> | undefined;
  for (let i = 1; i < parts; i++) {
    const q = keysetSelect({
      from: quoteTable(schema, spec.name),
      columns: info.key.columns,
      key: info.key.columns,
      range: { lower },
      limit: 1,
    });
    const sql = q.sql.replace(/ LIMIT \?$/, ' LIMIT 1 OFFSET ?');
    const [rows] = await pool.query<RowDataPacket[]>(sql, [...q.params.slice(0, -1), step - 1]);
    if (!rows.length) break;
    lower = encodeKey(info.key.columns.map((k) => rows[0][k]));
    bounds.push(lower);
  }
  return toRanges(bounds);
}

/** Consecutive boundaries as ranges: (none, b1], (b1, b2], ..., (bn, none). */
function toRanges(bounds: readonly EncodedKey[]): KeyRange[] {
  const ranges: KeyRange[] = [];
  let prev: KeyRange['lower'];
  for (const b of bounds) {
    ranges.push(prev ? { lower: prev, upper: b } : { upper: b });
    prev = b;
  }
  ranges.push(prev ? { lower: prev } : {});
  return ranges;
}
