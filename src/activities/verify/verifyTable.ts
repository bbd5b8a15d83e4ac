import type mysql from 'mysql2/promise';
import type { EncodedKey, KeyRange, RunContext, VerifyInput, VerifyProgress, VerifyResult } from '../contracts.js';
import { repairKeys } from '../repair/repairKeys.js';
import { abortIfNeeded, type CatchUpWaiter } from './catchup.js';
import { streamCatchUp } from './stream.js';
import { confirmDifferences } from './confirm.js';
import { keyId } from './keys.js';
import { loadPair, sides, type TableSide } from './pair.js';
import { aggregate, diff, hashesInRange, type Difference } from './rows.js';
import { Tally } from './tally.js';

export interface VerifyTuning {
  /** Chunks compared at once (default 2). */
  concurrency?: number;
  /** Re-check rounds for differing rows (default 3 with a stream, else 2). */
  recheckRounds?: number;
  /** Overrides the stream catch-up (tests). */
  catchUp?: CatchUpWaiter;
}

/** The next chunk's upper bound on the authoritative side: the key n rows after lower, or none (last chunk). */
async function nextBoundary(auth: TableSide, lower: EncodedKey | undefined, upper: EncodedKey | undefined, n: number): Promise<EncodedKey | undefined> {
  const where = auth.key.range(lower, upper);
  const pool: mysql.Pool = auth.replica ?? auth.pool;
  const [rows] = await pool.query<mysql.RowDataPacket[]>(
    `SELECT ${auth.key.list} FROM ${auth.table} WHERE ${where.sql} ORDER BY ${auth.key.list} LIMIT 1 OFFSET ${n - 1}`,
    where.params,
  );
  return rows.length ? auth.key.encode(rows[0]) : undefined;
}

/**
 * Full verification of one table (or key range): chunk by chunk over the authoritative side's key, an
 * aggregate (count + 64-bit XOR of per-row MD5 over the canonical row text) is computed inside both servers
 * in parallel; differing chunks are compared row by row (key + row hash), differences re-checked (after the
 * CDC stream caught up, when there is one) and, with input.repair, repaired from a fresh read of the
 * authoritative side.
 */
export async function verifyTable(input: VerifyInput, ctx: RunContext<VerifyProgress> = {}, tuning: VerifyTuning = {}): Promise<VerifyResult> {
  const pair = await loadPair(input, input.table);
  const { auth, other } = sides(pair, input.authoritative);
  const tally = new Tally(pair.name, ctx.resume);
  const catchUp = tuning.catchUp ?? (input.stream ? streamCatchUp(input.stream, input, input.authoritative) : undefined);
  const rangeUpper = input.range?.upper;
  const n = pair.chunkSize;

  const processChunk = async (range: KeyRange): Promise<{ rows: number; diffs: Difference[] }> => {
    const useReplica = Boolean(auth.replica ?? other.replica);
    let [a, o] = await Promise.all([aggregate(auth, range, auth.replica ?? auth.pool), aggregate(other, range, other.replica ?? other.pool)]);
    if ((a.n !== o.n || a.x !== o.x) && useReplica) {
      [a, o] = await Promise.all([aggregate(auth, range), aggregate(other, range)]);
    }
    if (a.n === o.n && a.x === o.x) return { rows: a.n, diffs: [] };
    const [ar, or] = await Promise.all([hashesInRange(auth, range), hashesInRange(other, range)]);
    const found = diff(ar, or);
    const diffs = await confirmDifferences(auth, other, found, { catchUp, rounds: tuning.recheckRounds, signal: ctx.signal });
    return { rows: Math.max(ar.length, a.n), diffs };
  };

  // Chunks are cut sequentially on the authoritative side and compared `concurrency` at a time; progress
  // (lastKey) only advances over a contiguous prefix of finished chunks.
  const concurrency = Math.max(1, tuning.concurrency ?? 2);
  const inflight = new Set<Promise<void>>();
  const finished = new Map<number, EncodedKey | undefined>();
  let nextToRecord = 0;
  let failure: unknown;
  let lower: EncodedKey | undefined = tally.lastKey ?? input.range?.lower;

  const record = (index: number, upper: EncodedKey | undefined) => {
    finished.set(index, upper);
    while (finished.has(nextToRecord)) {
      const u = finished.get(nextToRecord);
      finished.delete(nextToRecord);
      nextToRecord++;
      if (u) tally.lastKey = u;
    }
    ctx.progress?.(tally.progress());
  };

  for (let index = 0; ; index++) {
    abortIfNeeded(ctx.signal);
    if (failure) break;
    const upper = (await nextBoundary(auth, lower, rangeUpper, n)) ?? rangeUpper;
    const last = !upper || (rangeUpper !== undefined && keyId(upper) === keyId(rangeUpper));
    const range: KeyRange = { lower, upper: last ? rangeUpper : upper };
    const job = (async () => {
      try {
        const { rows, diffs } = await processChunk(range);
        tally.chunks++;
        tally.rowsCompared += rows;
        if (diffs.length > 0) {
          tally.chunksDiffering++;
          tally.addDifferences(diffs);
          if (input.repair) tally.addRepaired(await repairKeys(auth, other, diffs));
        }
        record(index, range.upper);
      } catch (err) {
        failure ??= err;
      }
    })();
    inflight.add(job);
    void job.finally(() => inflight.delete(job));
    if (inflight.size >= concurrency) await Promise.race(inflight);
    if (last) break;
    lower = upper;
  }
  await Promise.all(inflight);
  if (failure) throw failure;
  return tally.result();
}
