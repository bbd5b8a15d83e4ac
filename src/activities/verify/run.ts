import type { RunContext, VerifyInput, VerifyProgress } from '../contracts.js';
import { repairKeys } from '../repair/repairKeys.js';
import { walkChunks, type ChunkFn } from './chunks.js';
import { confirmDifferences } from './confirm.js';
import { loadPair, sides, type TablePair, type TableSide } from './pair.js';
import type { Difference } from './rows.js';
import { streamRecheck, type Recheck } from './stream.js';
import { Tally } from './tally.js';

export interface VerifyTuning {
  /** Chunks compared at once (default 4). */
  concurrency?: number;
  /** Re-check rounds for differing rows (default 3 with a stream, else 2). */
  recheckRounds?: number;
  /** Overrides the lag-aware re-check (tests). */
  recheck?: Recheck;
  /**
   * Filled in: rows that differed at first sight but converged on re-check (lag), chunks drilled into,
   * and rows listed row by row in them (both sides; only the differing parts of a chunk, bisect.ts).
   */
  stats?: { transient: number; drilled: number; listed?: number };
}

function recheckFor(
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

/** One verification pass (verifyTable, verifyUpdatedSince, reverseScanDeletes): both sides and the tally. */
export interface VerifyRun {
  pair: TablePair;
  auth: TableSide;
  other: TableSide;
  tally: Tally;
  /** Re-checks differences seen at first sight (lag-aware with a stream); returns those that persist. */
  confirm(found: Difference[]): Promise<Difference[]>;
  /** Counts one chunk's confirmed differences, and repairs them with input.repair. */
  record(diffs: Difference[]): Promise<void>;
  /** Walks input.range chunk by chunk over `driver`'s key from the tally's last key, reporting progress. */
  walk(driver: TableSide, chunkSize: number, chunk: ChunkFn): Promise<void>;
}

/** Loads the pair and sets up a pass; `resume`: continue from ctx.resume (heartbeat details). */
export async function openRun(
  input: VerifyInput,
  ctx: RunContext<VerifyProgress>,
  tuning: VerifyTuning,
  resume: boolean,
): Promise<VerifyRun> {
  const pair = await loadPair(input, input.table);
  const { auth, other } = sides(pair, input.authoritative);
  const tally = new Tally(pair.name, resume ? ctx.resume : undefined);
  const recheck = recheckFor(input, tuning, auth, other);
  return {
    pair,
    auth,
    other,
    tally,
    confirm: (found) =>
      confirmDifferences(auth, other, found, { recheck, rounds: tuning.recheckRounds, signal: ctx.signal }),
    record: async (diffs) => {
      if (diffs.length === 0) return;
      tally.chunksDiffering++;
      tally.addDifferences(diffs);
      if (input.repair) tally.addRepaired(await repairKeys(auth, other, diffs));
    },
    walk: (driver, chunkSize, chunk) =>
      walkChunks({
        driver,
        range: input.range,
        after: tally.lastKey,
        chunkSize,
        concurrency: tuning.concurrency ?? 4,
        signal: ctx.signal,
        chunk,
        done: (upper) => {
          if (upper) tally.lastKey = upper;
          ctx.progress?.(tally.progress());
        },
      }),
  };
}
