import type { Connection as CoreConnection } from 'mysql2';
import type { Pool, PoolConnection, RowDataPacket, TypeCast } from 'mysql2/promise';
import type { EncodedKey, KeyRange } from '../contracts.js';
import { readCheckpoint } from '../cdc/checkpoint.js';
import { quoteTable } from '../db/identifiers.js';
import { trackStatement } from '../db/watchdog.js';
import { encodeKey } from '../schema/keycodec.js';
import { keysetSelect, type SqlFragment } from '../schema/keyset.js';
import { exactReadExpr } from '../schema/read-expr.js';
import type { ColumnInfo, TableInfo } from '../schema/types.js';
import type { TableMapping } from '../schema/mapping.js';
import { BINARY_STRING_TYPES, INTEGER_TYPES } from '../../shared/mysql-types.js';
import { StreamNotStartedError } from './errors.js';
import { SnapshotBehindError, snapshotMissesApplied } from './snapshot-order.js';
import { prepareWriterSession, replaceRows } from './rows.js';
import { isLocalInfileRefused, loadDataSql, loadFromStream, TsvStream } from './load.js';

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
  /** Times the chunk was re-read because its snapshot was behind the applier (P < A). */
  snapshotRetries?: number;
}

export interface ChunkContext {
  source: Pool;
  /** The target's row-writer pool (getPool(target, 'rowWriter')): its sessions never serve other code. */
  target: Pool;
  targetName: string;
  mapping: TableMapping;
  stream?: string;
}

/** Target pools that refused LOAD DATA LOCAL (local_infile=OFF): later chunks write with REPLACE. */
const refusesLocalInfile = new WeakSet<Pool>();

type RawRow = (Buffer | null)[];

/** How long a chunk waits, in all, for the source to make visible what the applier already applied. */
const SNAPSHOT_WAIT_MS = 60_000;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Copies one key range in one step that is safe while CDC applies to the same table
 * (copier/README.md has the argument):
 *   1. target: BEGIN; lock the stream's checkpoint row in SHARE mode (the applier cannot commit); its
 *      position is A;
 *   2. source: START TRANSACTION WITH CONSISTENT SNAPSHOT at binlog position P. If P < A and the binlog
 *      between them holds a transaction, the applier applied something this snapshot cannot see (the
 *      source writes its binlog before the engine commit): end both sides and retry the chunk (counted
 *      in snapshotRetries). Else read the range, streaming the rows into `LOAD DATA LOCAL INFILE ...
 *      REPLACE` on the target as they arrive (or, where the target refuses LOAD DATA LOCAL, read them
 *      whole and write multi-row REPLACE statements); end the snapshot;
 *   3. target: COMMIT (releases the checkpoint lock). Nothing is committed unless the whole range was
 *      read and written.
 */
export async function copyChunk(ctx: ChunkContext, job: ChunkJob): Promise<ChunkOutcome> {
  const started = Date.now();
  for (let retries = 0; ; retries++) {
    try {
      const outcome = await copyChunkOnce(ctx, job);
      return retries ? { ...outcome, snapshotRetries: retries } : outcome;
    } catch (err) {
      if (!(err instanceof SnapshotBehindError) || Date.now() - started > SNAPSHOT_WAIT_MS) throw err;
      await sleep(Math.min(500, 10 * 2 ** retries));
    }
  }
}

async function copyChunkOnce(ctx: ChunkContext, job: ChunkJob): Promise<ChunkOutcome> {
  const raw = !refusesLocalInfile.has(ctx.target);
  const tconn = await ctx.target.getConnection();
  let inTx = false;
  try {
    await prepareWriterSession(tconn);
    await tconn.query('START TRANSACTION');
    inTx = true;
    let applied: ChunkOutcome['snapshot'];
    if (ctx.stream !== undefined) {
      const cp = await readCheckpoint(tconn, ctx.stream, 'share');
      if (!cp) throw new StreamNotStartedError(ctx.stream, ctx.targetName);
      applied = cp.position;
    }
    const read = await readInSnapshot(ctx, job, applied, (sconn, q) =>
      raw ? streamRows(ctx, tconn, sconn, q) : replaceChunk(ctx, tconn, sconn, q),
    );
    await tconn.query('COMMIT');
    inTx = false;
    const full = job.limit !== undefined && read.rows >= job.limit;
    const lastKey = job.range.upper && !full ? job.range.upper : (read.lastKey ?? job.range.lower);
    return { rows: read.rows, lastKey, full, snapshot: read.snapshot };
  } catch (err) {
    if (inTx) await tconn.query('ROLLBACK').catch(() => undefined);
    if (!raw || !isLocalInfileRefused(err)) throw err;
    refusesLocalInfile.add(ctx.target);
  } finally {
    tconn.release();
  }
  // The target refused LOAD DATA LOCAL (local_infile=OFF): this and later chunks use REPLACE statements.
  return copyChunkOnce(ctx, job);
}

/**
 * Opens a consistent snapshot on a source connection, notes its binlog position when ordered against a
 * stream (throwing SnapshotBehindError when it misses a transaction the applier committed, up to
 * `applied`), and hands the chunk's SELECT to `body`.
 */
async function readInSnapshot(
  ctx: ChunkContext,
  job: ChunkJob,
  applied: ChunkOutcome['snapshot'],
  body: (sconn: PoolConnection, q: SqlFragment) => Promise<{ rows: number; lastKey?: EncodedKey }>,
): Promise<{ rows: number; lastKey?: EncodedKey; snapshot?: ChunkOutcome['snapshot'] }> {
  const { mapping } = ctx;
  const sconn = await ctx.source.getConnection();
  try {
    await sconn.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
    await sconn.query('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
    try {
      let snapshot: ChunkOutcome['snapshot'];
      if (ctx.stream !== undefined) {
        const [st] = await sconn.query<RowDataPacket[]>("SHOW SESSION STATUS LIKE 'binlog_snapshot_%'");
        const get = (name: string) => st.find((r) => String(r.Variable_name).toLowerCase() === name)?.Value;
        const file = get('binlog_snapshot_file');
        if (file) snapshot = { file: String(file), pos: Number(get('binlog_snapshot_position')) };
        // MySQL reports no snapshot position: no check there (README, limits).
        if (snapshot && applied && (await snapshotMissesApplied(sconn, snapshot, applied))) {
          throw new SnapshotBehindError(
            `snapshot at ${snapshot.file}:${snapshot.pos} misses a transaction the applier of stream ` +
              `"${ctx.stream}" applied (checkpoint ${applied.file}:${applied.pos}); the chunk is read again`,
          );
        }
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
      const read = await body(sconn, q);
      await sconn.query('COMMIT');
      return { ...read, snapshot };
    } catch (err) {
      // A lost connection fails the COMMIT too: report what failed first.
      await sconn.query('COMMIT').catch(() => undefined);
      throw err;
    }
  } finally {
    sconn.release();
  }
}

/** Reads the chunk whole as driver values and writes it with multi-row REPLACE statements. */
async function replaceChunk(
  ctx: ChunkContext,
  tconn: PoolConnection,
  sconn: PoolConnection,
  q: SqlFragment,
): Promise<{ rows: number; lastKey?: EncodedKey }> {
  const { mapping } = ctx;
  const [rows] = await sconn.query<RowDataPacket[]>({ sql: q.sql, values: q.params, rowsAsArray: true });
  const values = rows as unknown as unknown[][];
  await replaceRows(
    tconn,
    mapping.toSchema,
    mapping.toTable,
    mapping.columns.map((c) => c.to),
    values,
  );
  const last = values[values.length - 1];
  return {
    rows: values.length,
    lastKey: last ? encodeKey(keyIndexes(mapping).map(({ i }) => last[i])) : undefined,
  };
}

/**
 * Streams the chunk's rows, as the raw bytes the source sent, into LOAD DATA on the target while they
 * arrive: memory stays at a few pieces whatever the chunk size, and reading overlaps writing. The
 * source is paused while the target is behind. A failure on either side fails the chunk (the caller
 * rolls back: a LOAD fed a truncated stream is never committed).
 */
async function streamRows(
  ctx: ChunkContext,
  tconn: PoolConnection,
  sconn: PoolConnection,
  q: SqlFragment,
): Promise<{ rows: number; lastKey?: EncodedKey }> {
  const { mapping } = ctx;
  // The promise wrapper's underlying callback connection: row events and pause/resume.
  const source = sconn.connection as unknown as CoreConnection;
  const tsv = new TsvStream(() => source.resume());
  tsv.on('error', () => undefined); // reported through the LOAD statement's result
  let last: RawRow | undefined;
  let loadFailed = false;
  let loadError: unknown;
  const load = loadFromStream(
    tconn,
    loadDataSql(
      mapping.toSchema,
      mapping.toTable,
      mapping.columns.map((c) => c.to),
      mapping.toInfo.columns,
    ),
    tsv,
  ).catch((err: unknown) => {
    loadFailed = true;
    loadError = err;
    source.resume(); // let the read run to its end, discarding rows
  });
  // The driver tells a streaming query (no callback) nothing when the connection is lost (a SIGKILLed
  // source): only the connection emits 'error', and the query would wait forever, holding the
  // checkpoint's S lock (so the applier and every other chunk wait too). So the read listens to both.
  let lost: ((err: Error) => void) | undefined;
  const reading = new Promise<void>((resolve, reject) => {
    lost = reject;
    source.once('error', lost);
    const query = source.query({ sql: q.sql, values: q.params, rowsAsArray: true, typeCast: rawBytes });
    query.on('result', (row: unknown) => {
      if (loadFailed) return;
      last = row as RawRow;
      if (!tsv.write(last)) source.pause();
    });
    query.on('error', reject);
    query.on('end', resolve);
  }).finally(() => source.removeListener('error', lost!));
  // Watched like any statement (db/watchdog.ts): a read hung past the stall limit stops the heartbeats.
  const read = trackStatement(q.sql, reading);
  let readFailed = false;
  let readError: unknown;
  await read.catch((err: unknown) => {
    readFailed = true;
    readError = err;
  });
  // The rows end either way, so the LOAD ends: one that has not asked for its data yet (waiting for a
  // lock) would never hear of a destroyed stream and wait for the server's net_read_timeout. After a
  // failed read the caller rolls the chunk back: its rows so far are never committed.
  tsv.finish();
  await load;
  if (readFailed) throw readError;
  if (loadFailed) throw loadError;
  const row = last;
  return {
    rows: tsv.rows,
    lastKey: row ? encodeKey(keyIndexes(mapping).map(({ i, col }) => rawKeyValue(col, row[i]))) : undefined,
  };
}

/** Every value as the bytes the server sent (the pools' own typeCast would convert some). */
const rawBytes: TypeCast = (field) => field.buffer();

const keyIndexCache = new WeakMap<TableMapping, { i: number; col: ColumnInfo }[]>();

/** Positions of the key columns in mapping.columns, with their source definitions. */
function keyIndexes(m: TableMapping): { i: number; col: ColumnInfo }[] {
  let found = keyIndexCache.get(m);
  if (!found) {
    found = m.fromKey.map((k) => ({
      i: m.columns.findIndex((c) => c.from === k),
      col: columnInfo(m.fromInfo, k),
    }));
    keyIndexCache.set(m, found);
  }
  return found;
}

/** A key value from the text protocol's raw bytes, as the driver would give it (see keycodec). */
function rawKeyValue(col: ColumnInfo, v: Buffer | null): unknown {
  if (v === null) return null;
  if (col.charset === 'binary' || BINARY_STRING_TYPES.has(col.dataType)) return v;
  const text = v.toString('utf8');
  if (INTEGER_TYPES.has(col.dataType)) {
    const n = Number(text);
    return Number.isSafeInteger(n) ? n : text;
  }
  return text;
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
