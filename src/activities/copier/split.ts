import type { KeyRange, TableSpec } from '../contracts.js';
import { getPool, resolveConnection } from '../db/connections.js';
import { describeTable, estimateRows } from '../schema/describe.js';
import { encodeKey } from '../schema/keycodec.js';
import { keysetSelect } from '../schema/keyset.js';
import { quoteTable } from '../db/identifiers.js';
import type { RowDataPacket } from 'mysql2/promise';

/**
 * Splits a table's key space into `parts` contiguous half-open ranges of about equal row counts (from
 * InnoDB's row estimate), covering everything: the first has no lower bound, the last no upper bound.
 * Boundaries are found by stepping through the key's index, so the cost is one index scan.
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
  const ranges: KeyRange[] = [];
  let prev: KeyRange['lower'];
  for (const b of bounds) {
    ranges.push(prev ? { lower: prev, upper: b } : { upper: b });
    prev = b;
  }
  ranges.push(prev ? { lower: prev } : {});
  return ranges;
}
