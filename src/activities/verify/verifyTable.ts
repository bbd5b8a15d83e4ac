import type { KeyRange, RunContext, VerifyInput, VerifyProgress, VerifyResult } from '../contracts.js';
import { repairKeys } from '../repair/repairKeys.js';
import { walkChunks } from './chunks.js';
import { confirmDifferences } from './confirm.js';
import { loadPair, sides, type TableSide } from './pair.js';
import { aggregate, diff, hashesInRange } from './rows.js';
import { streamRecheck, type Recheck } from './stream.js';
import { Tally } from './tally.js';

export interface VerifyTuning {
  /** Chunks compared at once (default 2). */
  concurrency?: number;
  /** Re-check rounds for differing rows (default 3 with a stream, else 2). */
  recheckRounds?: number;
  /** Overrides the lag-aware re-check (tests). */
  recheck?: Recheck;
  /** Filled in: rows that differed at first sight but converged on re-check (lag), chunks drilled into. */
  stats?: { transient: number; drilled: number };
}

export function recheckFor(
  input: VerifyInput,
  tuning: VerifyTuning,
  auth: TableSide,
  other: TableSide,
): Recheck | undefined {
  return (
    tuning.recheck ??
    (input.stream ? streamRecheck(input.stream, input, input.authoritative, auth, other) : undefined)
  );
}

/**
 * Full verification of one table (or key range): chunk by chunk over the authoritative side's key, an
 * aggregate (count + 64-bit XOR of per-row MD5 over the canonical row text) is computed inside both servers
 * in parallel (on the replicas first when configured); differing chunks are compared row by row (key +
 * row hash), differences re-checked by point lookups (after the CDC stream caught up, when there is one)
 * and, with input.repair, repaired from a fresh, locked read of the authoritative side.
 */
export async function verifyTable(
  input: VerifyInput,
  ctx: RunContext<VerifyProgress> = {},
  tuning: VerifyTuning = {},
): Promise<VerifyResult> {
  const pair = await loadPair(input, input.table);
  const { auth, other } = sides(pair, input.authoritative);
  const tally = new Tally(pair.name, ctx.resume);
  const recheck = recheckFor(input, tuning, auth, other);
  const useReplica = Boolean(auth.replica ?? other.replica);

  const chunk = async (range: KeyRange): Promise<void> => {
    let [a, o] = await Promise.all([
      aggregate(auth, range, auth.replica),
      aggregate(other, range, other.replica),
    ]);
    if ((a.n !== o.n || a.x !== o.x) && useReplica) {
      // Replicas disagree: they may lag; only the primaries decide.
      [a, o] = await Promise.all([aggregate(auth, range), aggregate(other, range)]);
    }
    let rows = a.n;
    if (a.n !== o.n || a.x !== o.x) {
      const [ar, or] = await Promise.all([hashesInRange(auth, range), hashesInRange(other, range)]);
      rows = Math.max(rows, ar.length);
      const found = diff(ar, or);
      const diffs = await confirmDifferences(auth, other, found, {
        recheck,
        rounds: tuning.recheckRounds,
        signal: ctx.signal,
      });
      if (tuning.stats) {
        tuning.stats.drilled++;
        tuning.stats.transient += found.length - diffs.length;
      }
      if (diffs.length > 0) {
        tally.chunksDiffering++;
        tally.addDifferences(diffs);
        if (input.repair) tally.addRepaired(await repairKeys(auth, other, diffs));
      }
    }
    tally.chunks++;
    tally.rowsCompared += rows;
  };

  await walkChunks({
    driver: auth,
    range: input.range,
    after: tally.lastKey,
    chunkSize: pair.chunkSize,
    concurrency: tuning.concurrency ?? 2,
    signal: ctx.signal,
    chunk,
    done: (upper) => {
      if (upper) tally.lastKey = upper;
      ctx.progress?.(tally.progress());
    },
  });
  return tally.result();
}
