import { Readable } from 'node:stream';
import type { PoolConnection } from 'mysql2/promise';
import { replaceRows } from '../copier/rows.js';
import { isLocalInfileRefused, loadDataSql, loadFromStream, TsvEncoder } from '../copier/load.js';
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
 * Full after-images (values in m.columns order) made ready for the sink before the statement runs:
 * the LOAD DATA input already encoded (null where the sink refuses LOAD DATA LOCAL), so that this work
 * can overlap the sink applying the previous batch (sync.ts). Reusable: a retried batch sends it again.
 */
export interface EncodedImages {
  readonly m: TableMapping;
  readonly images: readonly (readonly unknown[])[];
  readonly tsv: readonly Buffer[] | null;
}

export function encodeImages(m: TableMapping, images: readonly (readonly unknown[])[]): EncodedImages {
  if (refusing.has(m)) return { m, images, tsv: null };
  const pieces: Buffer[] = [];
  const encoder = new TsvEncoder((piece) => pieces.push(piece) > 0);
  for (const row of images) encoder.write(row.map((v) => field(m, v)));
  encoder.flush();
  return { m, images, tsv: pieces };
}

/**
 * Writes encoded images into the sink inside the caller's transaction: `LOAD DATA LOCAL INFILE ...
 * REPLACE` fed from memory (copier/load.ts: no SQL to build on this side or to parse on the sink's;
 * same REPLACE semantics, any warning fails it), or multi-row REPLACE statements where the sink refuses
 * LOAD DATA LOCAL. `sent` is called once the sink holds the whole statement and its input (it then needs
 * nothing more from this side until it answers).
 */
export async function writeEncoded(conn: PoolConnection, e: EncodedImages, sent?: () => void): Promise<void> {
  const { m } = e;
  const columns = m.columns.map((c) => c.to);
  if (e.tsv && !refusing.has(m)) {
    try {
      const input = Readable.from(e.tsv, { objectMode: false });
      // After the driver's own 'end' handler has sent the input's end: the sink works alone from there.
      if (sent) input.once('end', () => setImmediate(sent));
      await loadFromStream(conn, loadDataSql(m.toSchema, m.toTable, columns, m.toInfo.columns), input);
      return;
    } catch (err) {
      // Refused before any row was read: nothing was written, the transaction goes on with statements.
      if (!isLocalInfileRefused(err)) throw err;
      refusing.add(m);
    }
  }
  const written = replaceRows(conn, m.toSchema, m.toTable, columns, e.images);
  if (sent) setImmediate(sent);
  await written;
}
