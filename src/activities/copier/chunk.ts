import type { Pool, RowDataPacket } from 'mysql2/promise';
import type { EncodedKey, KeyRange } from '../contracts.js';
import { readCheckpoint } from '../cdc/checkpoint.js';
import { quoteTable } from '../db/identifiers.js';
import { encodeKey } from '../schema/keycodec.js';
import { keysetSelect } from '../schema/keyset.js';
import { exactReadExpr } from '../schema/read-expr.js';
import type { ColumnInfo, TableInfo } from '../schema/types.js';
import type { TableMapping } from '../schema/mapping.js';
import { StreamNotStartedError } from './errors.js';
import { prepareWriterSession, replaceRows } from './rows.js';

export interface ChunkJob {
  range: KeyRange;
  /** Read at most this many rows (the open-ended tail chunk); undefined = the whole range. */
  limit?: number;
}

export interface ChunkOutcome {
  rows: number;
  /** The key up to which the table is now copied: the range's upper bound, or the last row read. */
  lastKey?: EncodedKey;
  /** True when `limit` rows came back, so rows may remain after lastKey. */
  full: boolean;
  /** The source binlog position of the chunk's snapshot (when ordered against a stream). */
  snapshot?: { file: string; pos: number };
}

export interface ChunkContext {
  source: Pool;
  target: Pool;
  targetName: string;
  mapping: TableMapping;
  stream?: string;
}

/**
 * Copies one key range in one step that is safe while CDC applies to the same table
 * (copier/README.md has the argument):
 *   1. target: BEGIN; lock the stream's checkpoint row in SHARE mode (the applier cannot commit);
 *   2. source: START TRANSACTION WITH CONSISTENT SNAPSHOT; read the range; end the snapshot;
 *   3. target: REPLACE the rows; COMMIT (releases the checkpoint lock).
 */
export async function copyChunk(ctx: ChunkContext, job: ChunkJob): Promise<ChunkOutcome> {
  const { mapping } = ctx;
  const tconn = await ctx.target.getConnection();
  let inTx = false;
  try {
    await prepareWriterSession(tconn);
    await tconn.query('START TRANSACTION');
    inTx = true;
    if (ctx.stream !== undefined) {
      const cp = await readCheckpoint(tconn, ctx.stream, 'share');
      if (!cp) throw new StreamNotStartedError(ctx.stream, ctx.targetName);
    }
    const sconn = await ctx.source.getConnection();
    let rows: RowDataPacket[];
    let snapshot: ChunkOutcome['snapshot'];
    try {
      await sconn.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
      await sconn.query('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
      try {
        if (ctx.stream !== undefined) {
          const [st] = await sconn.query<RowDataPacket[]>("SHOW SESSION STATUS LIKE 'binlog_snapshot_%'");
          const get = (name: string) => st.find((r) => String(r.Variable_name).toLowerCase() === name)?.Value;
          const file = get('binlog_snapshot_file');
          if (file) snapshot = { file: String(file), pos: Number(get('binlog_snapshot_position')) };
        }
        const q = keysetSelect({
          from: quoteTable(mapping.fromSchema, mapping.fromTable),
          columns: mapping.columns.map((c) => c.from),
          // Exact values: FLOAT/DOUBLE as exact text, spatial as the server's binary format.
          expressions: mapping.columns.map((c) => exactReadExpr(columnInfo(mapping.fromInfo, c.from))),
          key: mapping.fromKey,
          range: job.range,
          limit: job.limit,
        });
        [rows] = await sconn.query<RowDataPacket[]>({ sql: q.sql, values: q.params, rowsAsArray: false });
      } finally {
        await sconn.query('COMMIT');
      }
    } finally {
      sconn.release();
    }
    const values = rows.map((r) => mapping.columns.map((c) => r[c.from]));
    await replaceRows(
      tconn,
      mapping.toSchema,
      mapping.toTable,
      mapping.columns.map((c) => c.to),
      values,
    );
    await tconn.query('COMMIT');
    inTx = false;
    const full = job.limit !== undefined && rows.length >= job.limit;
    const last = rows[rows.length - 1];
    const lastKey =
      job.range.upper && !full
        ? job.range.upper
        : last
          ? encodeKey(mapping.fromKey.map((k) => last[k]))
          : job.range.lower;
    return { rows: rows.length, lastKey, full, snapshot };
  } catch (err) {
    if (inTx) await tconn.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    tconn.release();
  }
}

/**
 * The key `n` rows after `after` (exclusive) within `upper`, or null when fewer rows remain: reads key
 * columns only, through the key's index.
 */
export async function keyAfter(
  pool: Pool,
  mapping: TableMapping,
  after: EncodedKey | undefined,
  upper: EncodedKey | undefined,
  n: number,
): Promise<EncodedKey | null> {
  const q = keysetSelect({
    from: quoteTable(mapping.fromSchema, mapping.fromTable),
    columns: mapping.fromKey,
    key: mapping.fromKey,
    range: { lower: after, upper },
    limit: 1,
  });
  const sql = q.sql.replace(/ LIMIT \?$/, ' LIMIT 1 OFFSET ?');
  const params = [...q.params.slice(0, -1), Math.max(0, n - 1)];
  const [rows] = await pool.query<RowDataPacket[]>(sql, params);
  return rows.length ? encodeKey(mapping.fromKey.map((k) => rows[0][k])) : null;
}

function columnInfo(table: TableInfo, name: string): ColumnInfo {
  const col = table.columns.find((c) => c.name === name);
  if (!col) throw new Error(`column ${name} of ${table.schema}.${table.table} is not in its description`);
  return col;
}
