import type { PoolConnection } from 'mysql2/promise';
import { replaceRows } from '../copier/rows.js';
import { isLocalInfileRefused, loadDataSql, loadFromStream, TsvStream } from '../copier/load.js';
import type { TableMapping } from '../schema/mapping.js';
import { RowImageError } from './events.js';

/** Mappings whose sink refused LOAD DATA LOCAL (local_infile=OFF): REPLACE statements from then on. */
const refusing = new WeakSet<TableMapping>();

/**
 * A decoded binlog value as a LOAD DATA field, written the way a REPLACE statement's bound parameter
 * would be: numbers as their JS text (what the driver binds), strings as UTF-8 (converted by the server
 * for other charsets, loadDataSql), Buffers as raw bytes, undefined (an undecodable ENUM index) as NULL.
 */
function field(m: TableMapping, value: unknown): Buffer | string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || Buffer.isBuffer(value)) return value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  throw new RowImageError(
    `binlog row image of ${m.fromSchema}.${m.fromTable} holds a ${typeof value} value the applier cannot write`,
  );
}

/**
 * Writes full after-images (values in m.columns order) into the sink inside the caller's transaction:
 * `LOAD DATA LOCAL INFILE ... REPLACE` fed from memory (copier/load.ts: no SQL to build on this side or
 * to parse on the sink's; same REPLACE semantics, any warning fails it), or multi-row REPLACE statements
 * where the sink refuses LOAD DATA LOCAL.
 */
export async function writeImages(
  conn: PoolConnection,
  m: TableMapping,
  images: readonly (readonly unknown[])[],
): Promise<void> {
  const columns = m.columns.map((c) => c.to);
  if (!refusing.has(m)) {
    const tsv = new TsvStream();
    // Fed in full before the statement reads it (a batch is bounded by maxBatchRows / a fragment).
    for (const row of images) tsv.write(row.map((v) => field(m, v)));
    tsv.finish();
    try {
      await loadFromStream(conn, loadDataSql(m.toSchema, m.toTable, columns, m.toInfo.columns), tsv);
      return;
    } catch (err) {
      // Refused before any row was read: nothing was written, the transaction goes on with statements.
      if (!isLocalInfileRefused(err)) throw err;
      refusing.add(m);
    }
  }
  await replaceRows(conn, m.toSchema, m.toTable, columns, images);
}
