import type { Pool, PoolConnection } from 'mysql2/promise';
import type { BinlogPosition, RunContext, SyncProgress, SyncStatus, SyncStreamSpec } from '../contracts.js';
import { getPool, resolveConnection } from '../db/connections.js';
import { prepareWriterSession } from '../copier/rows.js';
import { resolveMapping, type TableMapping } from '../schema/mapping.js';
import { applyChanges, applyPrepared, prepareChanges, type PreparedChanges } from './apply.js';
import { sinkForeignKeys } from './foreign-keys.js';
import {
  assertStreamId,
  insertCheckpointIfAbsent,
  moveCheckpoint,
  readCheckpoint,
  writeCheckpoint,
} from './checkpoint.js';
import type { BinlogTransaction, RowChange } from './events.js';
import { rereadChanges } from './reread.js';
import { binlogFileSizes, bytesBetween, comparePositions, headPosition } from './position.js';
import { openBinlogStream, type BinlogStream } from './stream.js';

export class SyncNotStartedError extends Error {
  override name = 'SyncNotStartedError';
}
export class SyncCancelledError extends Error {
  override name = 'SyncCancelledError';
}
export class ConcurrentApplierError extends Error {
  override name = 'ConcurrentApplierError';
}

/** Streams applying on this worker (SyncStatus.running). */
const running = new Set<string>();

export interface SyncOptions {
  /** Source transactions folded into one target transaction at most (never splitting one). Default 2000. */
  maxBatchTransactions?: number;
  /** Rows per target transaction at most (a bigger source transaction still goes in one). Default 5000. */
  maxBatchRows?: number;
  /** An idle stream persists its advancing position at most this often (ms). Default 1000. */
  idleCheckpointMs?: number;
  /** Binlog heartbeat (ms); the watchdog reconnects after 4 silent periods. Default 1000. */
  heartbeatMs?: number;
  /** Source transactions with more rows arrive and are applied in fragments of this size (stream.ts). */
  fragmentRows?: number;
  onReconnect?: (info: { attempt: number; error: string; from: BinlogPosition }) => void;
  /** Observes every committed batch of source transactions (tests, metrics). */
  onApplied?: (batch: readonly BinlogTransaction[]) => void;
  /** Observes every batch taken and prepared while the one before it was being applied (tests, metrics). */
  onLookAhead?: (batch: readonly BinlogTransaction[]) => void;
}

/** The current binlog head of a connection (file/offset and, on MariaDB, the matching GTID position). */
export function currentPosition(connection: string): Promise<BinlogPosition> {
  return headPosition(getPool(connection));
}

/**
 * Records where a stream starts: creates `_migrator_checkpoint` on the sink (spec.to) and the stream's
 * row with the source's (spec.from) current position. Idempotent: an existing row is returned as is.
 */
export async function recordSyncStart(spec: SyncStreamSpec): Promise<BinlogPosition> {
  assertStreamId(spec.stream);
  const sink = getPool(spec.to);
  const existing = await readCheckpoint(sink, spec.stream);
  if (existing) return existing.position;
  const head = await headPosition(getPool(spec.from));
  return (await insertCheckpointIfAbsent(sink, spec.stream, head)).position;
}

async function tableMappings(spec: SyncStreamSpec): Promise<Map<string, TableMapping>> {
  // The plan's tables are named source-side; forward reads spec.from = source, reverse reads spec.from = target.
  const sourceName = spec.direction === 'forward' ? spec.from : spec.to;
  const targetName = spec.direction === 'forward' ? spec.to : spec.from;
  const source = { pool: getPool(sourceName), schema: resolveConnection(sourceName).database };
  const target = { pool: getPool(targetName), schema: resolveConnection(targetName).database };
  const out = new Map<string, TableMapping>();
  for (const t of spec.tables) {
    const m = await resolveMapping(t, source, target, spec.direction);
    out.set(m.fromTable, m);
  }
  return out;
}

function isRetryableApply(err: unknown): boolean {
  const e = err as { errno?: number };
  return e.errno === 1213 || e.errno === 1205;
}

/**
 * Applies the binlog of spec.from to spec.to from the stream's checkpoint: every row event in order and
 * idempotently (insert/update = REPLACE of the full after-image, delete by key), each target
 * transaction taking the checkpoint row's X lock first and moving it to the end of the source
 * transactions it holds (consecutive source transactions may share one target transaction; one is never
 * split). A restarted call resumes exactly after the last committed source transaction. Runs until the
 * applied position reaches `stopAt` (returns) or ctx.signal aborts (throws SyncCancelledError).
 */
export async function runSync(
  spec: SyncStreamSpec & { stopAt?: BinlogPosition },
  ctx: RunContext<SyncProgress> = {},
  options: SyncOptions = {},
): Promise<SyncProgress> {
  const stream = assertStreamId(spec.stream);
  const sink = getPool(spec.to);
  const mappings = await tableMappings(spec);
  // Deletes and key changes of tables the sink's foreign keys cascade from run checked (cdc/README.md).
  const fks = await sinkForeignKeys(sink, resolveConnection(spec.to).database);
  const checkpoint = await readCheckpoint(sink, stream);
  if (!checkpoint) {
    throw new SyncNotStartedError(
      `stream "${stream}" has no checkpoint on "${spec.to}": call recordSyncStart first`,
    );
  }
  const progress: SyncProgress = {
    applied: checkpoint.position,
    transactions: ctx.resume?.transactions ?? 0,
    rowsApplied: ctx.resume?.rowsApplied ?? 0,
    lagSeconds: 0,
  };
  const reached = () =>
    spec.stopAt !== undefined &&
    progress.applied !== null &&
    comparePositions(progress.applied, spec.stopAt) >= 0;
  if (reached()) return progress;

  const maxTx = options.maxBatchTransactions ?? 2000;
  const maxRows = options.maxBatchRows ?? 5000;
  const idleMs = options.idleCheckpointMs ?? 1000;
  const abort = new AbortController();
  const onAbort = () => abort.abort();
  ctx.signal?.addEventListener('abort', onAbort, { once: true });
  if (ctx.signal?.aborted) abort.abort();

  running.add(stream);
  let binlog: BinlogStream | null = null;
  let expected = checkpoint.position;
  let lastWrite = Date.now();
  let pendingEmpty: BinlogTransaction | null = null;
  /**
   * One sink session for the whole run, prepared once (writer settings, autocommit off: each batch's
   * first statement opens its transaction), so a batch costs its statements and nothing more.
   * Dropped after any error (its state is unknown); the next batch opens a fresh one.
   */
  let session: PoolConnection | null = null;
  const sinkSession = async (): Promise<PoolConnection> => {
    if (session) return session;
    const conn = await sink.getConnection();
    try {
      await prepareWriterSession(conn);
      await conn.query('SET SESSION autocommit = 0');
    } catch (err) {
      conn.destroy();
      throw err;
    }
    return (session = conn);
  };
  const dropSession = async () => {
    const conn = session;
    session = null;
    if (!conn) return;
    await conn.query('ROLLBACK').catch(() => undefined);
    conn.destroy(); // not back to the pool: its session settings are the applier's
  };

  try {
    binlog = await openBinlogStream({
      connection: spec.from,
      schema: resolveConnection(spec.from).database,
      tables: [...mappings.keys()],
      from: checkpoint.position,
      heartbeatMs: options.heartbeatMs,
      fragmentRows: options.fragmentRows,
      // Decoding runs ahead of the sink by about two batches, so it overlaps the sink's work.
      highWaterMark: 2 * maxTx,
      bufferRows: Math.max(2 * (options.fragmentRows ?? 10_000), 3 * maxRows),
      signal: abort.signal,
      onReconnect: options.onReconnect,
    });
    const iterator = binlog[Symbol.asyncIterator]();

    /** Images as the binlog has them, or (hand-over mode) the rows re-read under lock. */
    const apply = (conn: PoolConnection, changes: readonly RowChange[]) =>
      spec.reread ? rereadChanges(spec, changes, mappings) : applyChanges(conn, changes, mappings, fks);

    /**
     * A batch's changes planned and encoded ahead of its transaction (image mode). Null when that
     * fails (e.g. an image the sink cannot take): applying the batch then raises the error in order,
     * after the batches before it committed.
     */
    const prepare = (batch: readonly BinlogTransaction[]): PreparedChanges | null => {
      if (spec.reread) return null;
      try {
        return prepareChanges(
          batch.flatMap((t) => t.changes),
          mappings,
          fks,
        );
      } catch {
        return null;
      }
    };

    const concurrentApplier = async (conn: PoolConnection): Promise<never> => {
      const cp = await readCheckpoint(conn, stream);
      await conn.query('ROLLBACK');
      throw new ConcurrentApplierError(
        `checkpoint of stream "${stream}" moved under this applier (expected ${expected.file}:${expected.pos}, ` +
          `found ${cp ? `${cp.position.file}:${cp.position.pos}` : 'none'}): another applier runs the same stream`,
      );
    };

    /** Opens a sink transaction holding the checkpoint row's X lock, checking no other applier moved it. */
    const begin = async (conn: PoolConnection) => {
      const cp = await readCheckpoint(conn, stream, 'update');
      if (!cp || cp.position.file !== expected.file || cp.position.pos !== expected.pos)
        await concurrentApplier(conn);
    };

    /** Records a committed batch (`last` is its last source transaction). */
    const committed = (batch: BinlogTransaction[], rows: number) => {
      const last = batch[batch.length - 1];
      expected = last.position;
      lastWrite = Date.now();
      progress.applied = last.position;
      progress.transactions += batch.length;
      progress.rowsApplied += rows;
      progress.lagSeconds =
        binlog && binlog.buffered > 0 ? Math.max(0, (Date.now() - last.timestamp) / 1000) : 0;
      ctx.progress?.({ ...progress });
      options.onApplied?.(batch);
    };

    /**
     * Applies whole source transactions in one sink transaction. Its first statement moves the
     * checkpoint to the batch's end if it is still where this applier left it: that takes the row's X
     * lock first (as copier chunks expect, copier/README.md) and checks for a concurrent applier in the
     * same round trip; the rows follow, then COMMIT. Nothing is visible before the commit, so the
     * checkpoint only ever names applied transactions.
     */
    const commitBatch = async (
      batch: BinlogTransaction[],
      prepared: PreparedChanges | null,
      sent?: () => void,
    ) => {
      const changes = batch.flatMap((t) => t.changes);
      const last = batch[batch.length - 1];
      for (let attempt = 1; ; attempt++) {
        const conn = await sinkSession();
        try {
          const moved = await moveCheckpoint(conn, stream, expected, last.position, {
            transactions: batch.length,
            rows: changes.length,
            sourceTimestamp: last.timestamp,
          });
          if (!moved) await concurrentApplier(conn);
          if (prepared) await applyPrepared(conn, prepared, fks, sent);
          else await apply(conn, changes);
          await conn.query('COMMIT');
        } catch (err) {
          await dropSession();
          if (attempt >= 5 || !isRetryableApply(err)) throw err;
          continue;
        }
        committed(batch, changes.length);
        return;
      }
    };

    /**
     * A big source transaction, delivered in fragments: each is applied as it arrives inside one sink
     * transaction, committed with the checkpoint once the last fragment (the commit) arrived, so the
     * sink still only ever shows source commit boundaries and memory holds one fragment. A failure
     * rolls it all back (the activity retry re-reads it from the checkpoint). Returns false when the
     * stream ended first (cancelled): nothing was committed.
     */
    const applyFragments = async (first: BinlogTransaction): Promise<boolean> => {
      const conn = await sinkSession();
      try {
        await begin(conn);
        let rows = await apply(conn, first.changes);
        let item = first;
        while (item.partial) {
          const n = await iterator.next();
          if (n.done) {
            await conn.query('ROLLBACK');
            return false;
          }
          item = n.value;
          rows += await apply(conn, item.changes);
        }
        await writeCheckpoint(conn, stream, item.position, {
          transactions: 1,
          rows,
          sourceTimestamp: item.timestamp,
        });
        await conn.query('COMMIT');
        committed([item], rows);
        return true;
      } catch (err) {
        await dropSession();
        throw err;
      }
    };

    /** A batch: whole source transactions; `carry` is a big transaction's first fragment that ended it. */
    type Gathered = {
      batch: BinlogTransaction[];
      rows: number;
      carry: BinlogTransaction | null;
      prepared: PreparedChanges | null;
    };

    /**
     * Adds the transactions buffered after the batch's last one, up to the caps (never waiting for
     * more); the added ones are prepared on top when the batch was (a batch taken ahead, topped up).
     */
    const gather = async (g: Gathered): Promise<Gathered> => {
      const { batch } = g;
      const had = batch.length;
      while (!g.carry && binlog!.buffered > 0 && batch.length < maxTx && g.rows < maxRows) {
        if (spec.stopAt && comparePositions(batch[batch.length - 1].position, spec.stopAt) >= 0) break;
        const more = await iterator.next();
        if (more.done) break;
        if (more.value.partial) {
          g.carry = more.value; // a big transaction starts: commit what is batched, then stream it
          break;
        }
        batch.push(more.value);
        g.rows += more.value.changes.length;
      }
      if (g.prepared && batch.length > had) {
        const added = prepare(batch.slice(had));
        // Applied after the first part, in binlog order (each part coalesced on its own).
        g.prepared = added && {
          count: g.prepared.count + added.count,
          steps: [...g.prepared.steps, ...added.steps],
        };
      }
      return g;
    };
    const single = (t: BinlogTransaction): Gathered => ({
      batch: [t],
      rows: t.changes.length,
      carry: null,
      prepared: null,
    });

    /**
     * The next batch taken from what the stream already buffered and prepared, while the sink applies
     * the current one (started once the sink holds its input): node's share of a batch overlaps the
     * sink's instead of following it. Nothing is written here; the batch is applied after the current
     * one commits, in order. Null when nothing is buffered (the loop then waits as usual); 'partial' is
     * a big transaction's first fragment; errors are kept for the loop to raise in order.
     */
    type Ahead = Gathered | { partial: BinlogTransaction } | { done: true } | { error: unknown } | null;
    const lookAhead = async (): Promise<Ahead> => {
      try {
        if (binlog!.buffered === 0) return null;
        const first = await iterator.next();
        if (first.done) return { done: true };
        if (first.value.partial) return { partial: first.value };
        const g = await gather(single(first.value));
        g.prepared = prepare(g.batch);
        options.onLookAhead?.(g.batch);
        return g;
      } catch (error) {
        return { error };
      }
    };

    // One next() at a time: a tick that wins the race leaves it pending for the following round.
    let pendingNext: Promise<IteratorResult<BinlogTransaction>> | null = null;
    let ahead = null as Promise<Ahead> | null; // set by `sent` inside commitBatch
    for (;;) {
      if (reached()) break;
      const early = ahead ? await ahead : null;
      ahead = null;
      let g: Gathered;
      if (early && 'error' in early) throw early.error;
      if (early && 'done' in early) break;
      if (early && 'partial' in early) {
        pendingEmpty = null; // its commit moves the checkpoint past it
        if (!(await applyFragments(early.partial))) break;
        continue;
      }
      if (early)
        g = await gather(early); // topped up with what arrived since
      else {
        pendingNext ??= iterator.next();
        let timer: NodeJS.Timeout | undefined;
        const next = await Promise.race([
          pendingNext,
          new Promise<'tick'>((r) => (timer = setTimeout(() => r('tick'), idleMs))),
        ]);
        clearTimeout(timer);
        if (next === 'tick') {
          if (pendingEmpty) {
            const p = pendingEmpty;
            pendingEmpty = null;
            await commitBatch([p], null);
          }
          continue;
        }
        pendingNext = null;
        if (next.done) break;
        if (next.value.partial) {
          pendingEmpty = null; // its commit moves the checkpoint past it
          if (!(await applyFragments(next.value))) break;
          continue;
        }
        g = await gather(single(next.value));
      }
      const { batch, rows, carry } = g;
      const stopHere =
        spec.stopAt !== undefined && comparePositions(batch[batch.length - 1].position, spec.stopAt) >= 0;
      if (rows === 0 && !stopHere && !carry && Date.now() - lastWrite < idleMs) {
        pendingEmpty = batch[batch.length - 1];
        continue;
      }
      pendingEmpty = null;
      // Look ahead only where the next batch follows this one directly (no big transaction, no stop).
      let started = false;
      const sent = () => {
        if (started || carry || stopHere) return;
        started = true;
        ahead = lookAhead();
      };
      await commitBatch(batch, g.prepared ?? prepare(batch), sent);
      if (carry && !stopHere && !(await applyFragments(carry))) break;
    }
    if (pendingEmpty && !abort.signal.aborted) await commitBatch([pendingEmpty], null);
  } finally {
    await dropSession();
    ctx.signal?.removeEventListener('abort', onAbort);
    running.delete(stream);
    await binlog?.close();
  }
  if (reached()) return progress;
  if (ctx.signal?.aborted) {
    throw new SyncCancelledError(
      `sync "${stream}" stopped at ${progress.applied?.file}:${progress.applied?.pos} after ${progress.transactions} transaction(s); it resumes from there`,
    );
  }
  return progress;
}

/** Lag of a stream: its checkpoint (on `to`) against the head of `from`. */
export async function syncStatus(stream: string, from: string, to: string): Promise<SyncStatus> {
  const fromPool = getPool(from);
  const [cp, head] = await Promise.all([
    readCheckpoint(getPool(to), assertStreamId(stream)),
    headPosition(fromPool),
  ]);
  const applied = cp?.position ?? null;
  let lagBytes = 0;
  if (applied) {
    const sizes =
      applied.file === head.file ? undefined : await binlogFileSizes(fromPool).catch(() => undefined);
    lagBytes = bytesBetween(applied, head, sizes);
  }
  const lagSeconds =
    !applied || lagBytes === 0
      ? 0
      : cp?.sourceTimestamp
        ? Math.max(0, (Date.now() - cp.sourceTimestamp) / 1000)
        : 0;
  return { stream, applied, head, lagBytes, lagSeconds, running: running.has(stream) };
}

export interface WaitForSyncInput {
  stream: string;
  from?: string;
  to: string;
  position: BinlogPosition;
  timeoutMs: number;
  pollMs?: number;
  signal?: AbortSignal;
}

/** Waits until the stream's committed checkpoint on `to` is at or past `position`. */
export async function waitForSyncPosition(
  input: WaitForSyncInput,
): Promise<{ reached: boolean; applied: BinlogPosition | null; waitedMs: number }> {
  const started = Date.now();
  const pool: Pool = getPool(input.to);
  for (;;) {
    const cp = await readCheckpoint(pool, assertStreamId(input.stream));
    const applied = cp?.position ?? null;
    if (applied && comparePositions(applied, input.position) >= 0)
      return { reached: true, applied, waitedMs: Date.now() - started };
    if (Date.now() - started >= input.timeoutMs || input.signal?.aborted)
      return { reached: false, applied, waitedMs: Date.now() - started };
    await new Promise((r) => setTimeout(r, input.pollMs ?? 200));
  }
}
