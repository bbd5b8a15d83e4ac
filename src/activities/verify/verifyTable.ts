import type { KeyRange, RunContext, VerifyInput, VerifyProgress, VerifyResult } from '../contracts.js';
import { aggregate, diff, hashesInRange } from './rows.js';
import { differingParts } from './bisect.js';
import type { ChunkSettling } from './chunks.js';
import { openRun, type VerifyTuning } from './run.js';
import { getPool } from '../db/connections.js';
import { notDueBefore, recordFullRun } from './schedule.js';

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
  const { pair, auth, other, tally, confirm, record, walk } = await openRun(input, ctx, tuning, true);
  // Whole-table runs are logged; a scheduled run (dutyCycle) skips a table verified recently enough.
  const whole = input.range === undefined;
  const log = getPool(input.target);
  if (whole && input.dutyCycle !== undefined && !ctx.resume) {
    const due = await notDueBefore(log, pair.name, input.authoritative, input.dutyCycle);
    if (due !== null) return { ...tally.result(), skippedUntil: new Date(due).toISOString() };
  }
  const useReplica = Boolean(auth.replica ?? other.replica);

  const chunk = async (range: KeyRange): Promise<ChunkSettling | void> => {
    let [a, o] = await Promise.all([
      aggregate(auth, range, auth.replica),
      aggregate(other, range, other.replica),
    ]);
    if ((a.n !== o.n || a.x !== o.x || a.n > auth.chunk.maxRows) && useReplica) {
      // Replicas disagree: they may lag; only the primaries decide.
      [a, o] = await Promise.all([aggregate(auth, range), aggregate(other, range)]);
    }
    tally.chunks++;
    if (a.n === o.n && a.x === o.x && a.n <= auth.chunk.maxRows) {
      tally.rowsCompared += a.n;
      return;
    }
    // Only the parts of the chunk that differ are listed row by row (bisect.ts).
    const parts = await differingParts(auth, other, range, Math.max(a.n, o.n));
    const listed = await Promise.all(
      parts.map((part) => Promise.all([hashesInRange(auth, part), hashesInRange(other, part)])),
    );
    tally.rowsCompared += a.n;
    if (tuning.stats) tuning.stats.listed = (tuning.stats.listed ?? 0) + listed.flat(2).length;
    const found = listed.flatMap(([ar, or]) => diff(ar, or));
    // Re-checks mostly wait (for the stream, or between rounds): the next chunk starts meanwhile.
    const settling = (async () => {
      const diffs = await confirm(found);
      if (tuning.stats) {
        tuning.stats.drilled++;
        tuning.stats.transient += found.length - diffs.length;
      }
      await record(diffs);
    })();
    return { settling };
  };

  await walk(auth, pair.chunkSize, chunk);
  const result = tally.result();
  if (whole) await recordFullRun(log, pair.name, input.authoritative, result.durationMs);
  return result;
}
