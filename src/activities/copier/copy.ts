import type { CopyInput, CopyProgress, CopyResult, EncodedKey, RunContext } from '../contracts.js';
import { getPool, resolveConnection } from '../db/connections.js';
import { estimateRows } from '../schema/describe.js';
import { resolveMapping } from '../schema/mapping.js';
import { rowsPerSecond } from '../throttle/token-bucket.js';
import { BackPressure, replicaLagProbe, targetLoadProbe, type LoadProbe } from '../throttle/back-pressure.js';
import { copyChunk, keyAfter, type ChunkContext, type ChunkJob, type ChunkOutcome } from './chunk.js';
import { CopyCancelledError, isRetryable } from './errors.js';
import { deferSecondaryKeys, restoreSecondaryKeys } from './defer-keys.js';

export interface CopyOptions {
  /** Chunks in flight at once (each holds one source and one target connection). Default 3. */
  concurrency?: number;
  /** Attempts per chunk on deadlocks, lock timeouts and lost connections. Default 6. */
  attempts?: number;
  /** Observes every committed chunk (tests, benchmarks). */
  onChunk?: (job: ChunkJob, outcome: ChunkOutcome) => void;
}

const DEFAULT_CHUNK = 1000;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function withRetry<T>(attempts: number, fn: () => Promise<T>): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= attempts || !isRetryable(err)) throw err;
      await sleep(Math.min(2000, 50 * 2 ** i) * (0.5 + Math.random()));
    }
  }
}

/**
 * Copies one table (or one key range of it) from source to target: keyset chunks over the key, several
 * in flight, each read from a consistent snapshot and written with multi-row REPLACE in one target
 * transaction ordered against the CDC applier (see README.md). Progress (the key up to which every chunk
 * is committed) goes to ctx.progress after every chunk; ctx.resume continues after it. On ctx.signal the
 * copy finishes the chunks in flight, reports progress and throws CopyCancelledError.
 */
export async function copyTable(
  input: CopyInput,
  ctx: RunContext<CopyProgress> = {},
  options: CopyOptions = {},
): Promise<CopyResult> {
  const started = Date.now();
  const source = getPool(input.source);
  const target = getPool(input.target);
  const spec = input.table;
  const mapping = await resolveMapping(
    spec,
    { pool: source, schema: resolveConnection(input.source).database },
    { pool: target, schema: resolveConnection(input.target).database },
  );
  const chunkSize = Math.max(1, spec.chunkSize ?? DEFAULT_CHUNK);
  const concurrency = Math.max(1, options.concurrency ?? 3);
  const attempts = options.attempts ?? 6;
  const bucket = rowsPerSecond(spec.maxRowsPerSecond);

  const chunkCtx: ChunkContext = {
    source,
    // Chunks write with foreign_key_checks=0: on connections of their own (db/sessions.ts).
    target: getPool(input.target, 'rowWriter'),
    targetName: input.target,
    mapping,
    stream: input.stream,
  };

  const rangeUpper = input.range?.upper;
  const progress: CopyProgress = {
    table: spec.name,
    lastKey: ctx.resume?.lastKey ?? input.range?.lower,
    rowsCopied: ctx.resume?.rowsCopied ?? 0,
    chunks: ctx.resume?.chunks ?? 0,
    snapshotRetries: ctx.resume?.snapshotRetries ?? 0,
    estimatedRows:
      ctx.resume?.estimatedRows ?? (await estimateRows(source, mapping.fromSchema, mapping.fromTable)),
  };
  if (!progress.lastKey) delete progress.lastKey;

  // Chunks complete out of order; the watermark advances over the contiguous prefix of committed ones.
  let nextSeq = 0;
  let watermarkSeq = 0;
  const done = new Map<number, EncodedKey | undefined>();
  const inFlight = new Set<Promise<void>>();
  let failure: unknown = null;

  const report = () => ctx.progress?.({ ...progress });
  const probes: LoadProbe[] = [];
  if (input.replica) probes.push(replicaLagProbe(getPool(input.replica), input.maxReplicaLagSeconds ?? 5));
  if (input.maxTargetThreadsRunning) probes.push(targetLoadProbe(target, input.maxTargetThreadsRunning));
  // Waiting reports progress too, so the activity keeps heartbeating.
  const backPressure = new BackPressure(probes, { onWaiting: () => report() });
  const launch = (job: ChunkJob): Promise<ChunkOutcome> => {
    const seq = nextSeq++;
    const run = withRetry(attempts, () => copyChunk(chunkCtx, job));
    const tracked = run.then(
      (outcome) => {
        done.set(seq, outcome.lastKey);
        progress.rowsCopied += outcome.rows;
        progress.chunks++;
        if (outcome.snapshotRetries)
          progress.snapshotRetries = (progress.snapshotRetries ?? 0) + outcome.snapshotRetries;
        while (done.has(watermarkSeq)) {
          const key = done.get(watermarkSeq);
          done.delete(watermarkSeq);
          if (key) progress.lastKey = key;
          watermarkSeq++;
        }
        options.onChunk?.(job, outcome);
        report();
      },
      (err) => {
        failure ??= err;
      },
    );
    const p = tracked.finally(() => inFlight.delete(p));
    inFlight.add(p);
    return run;
  };

  // Whole-table copies build plain secondary keys once at the end (defer-keys.ts; resumable).
  if (input.range === undefined && (input.deferSecondaryKeys ?? true))
    await deferSecondaryKeys(target, mapping.toSchema, mapping.toTable);

  let cursor = progress.lastKey;
  let finished = false;
  try {
    while (!finished && failure === null) {
      if (ctx.signal?.aborted) break;
      while (inFlight.size >= concurrency && failure === null) await Promise.race(inFlight);
      if (failure !== null) break;
      if (ctx.signal?.aborted) break;
      const boundary = await withRetry(attempts, () =>
        keyAfter(source, mapping, cursor, rangeUpper, chunkSize),
      );
      if (bucket) await bucket.take(chunkSize, ctx.signal).catch(() => undefined);
      await backPressure.wait(ctx.signal).catch((err: unknown) => {
        if (!ctx.signal?.aborted) throw err; // an unreachable replica is a failure, not a free pass
      });
      if (ctx.signal?.aborted) break;
      if (boundary) {
        launch({ range: { lower: cursor, upper: boundary } });
        cursor = boundary;
        continue;
      }
      // The open-ended tail: read at most chunkSize rows; if it comes back full, rows arrived meanwhile.
      const tail = launch({ range: { lower: cursor, upper: rangeUpper }, limit: chunkSize });
      await Promise.allSettled([...inFlight]);
      if (failure !== null) break;
      const outcome = await tail;
      if (outcome.full) cursor = outcome.lastKey;
      else finished = true;
    }
  } finally {
    await Promise.allSettled([...inFlight]);
  }
  if (failure !== null) throw failure;
  if (!finished) {
    report();
    throw new CopyCancelledError(
      `copy of ${spec.name} cancelled after ${progress.chunks} chunk(s), ${progress.rowsCopied} row(s); resume continues after key ${JSON.stringify(progress.lastKey ?? null)}`,
    );
  }
  // Every row is in: re-add deferred keys (also those a crashed earlier attempt deferred), heartbeating.
  const beat = setInterval(report, 5000);
  try {
    await restoreSecondaryKeys(target, mapping.toSchema, mapping.toTable);
  } finally {
    clearInterval(beat);
  }
  return {
    table: spec.name,
    rowsCopied: progress.rowsCopied,
    chunks: progress.chunks,
    snapshotRetries: progress.snapshotRetries ?? 0,
    durationMs: Date.now() - started,
  };
}
