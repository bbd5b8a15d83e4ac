import type { EncodedKey, MismatchCounts, VerifyProgress, VerifyResult } from '../contracts.js';
import { emptyCounts, type Difference } from './rows.js';

export const MAX_SAMPLES = 20;

/** Counters of a verification run, resumable from heartbeat details. */
export class Tally {
  rowsCompared = 0;
  chunks = 0;
  chunksDiffering = 0;
  mismatches: MismatchCounts = emptyCounts();
  repaired: MismatchCounts = emptyCounts();
  sampleKeys: { kind: keyof MismatchCounts; key: EncodedKey }[] = [];
  lastKey?: EncodedKey;
  private readonly started = Date.now();

  constructor(
    readonly table: string,
    resume?: VerifyProgress,
  ) {
    if (resume && resume.table === table) {
      this.rowsCompared = resume.rowsCompared;
      this.chunks = resume.chunks;
      this.chunksDiffering = resume.chunksDiffering;
      this.mismatches = { ...resume.mismatches };
      this.repaired = { ...resume.repaired };
      this.sampleKeys = [...resume.sampleKeys];
      this.lastKey = resume.lastKey;
    }
  }

  addDifferences(diffs: Difference[]): void {
    for (const d of diffs) {
      this.mismatches[d.kind]++;
      if (this.sampleKeys.length < MAX_SAMPLES) this.sampleKeys.push({ kind: d.kind, key: d.key });
    }
  }

  addRepaired(c: MismatchCounts): void {
    this.repaired.missing += c.missing;
    this.repaired.extra += c.extra;
    this.repaired.different += c.different;
  }

  progress(): VerifyProgress {
    return { table: this.table, lastKey: this.lastKey, ...this.counts() };
  }

  result(): VerifyResult {
    return { table: this.table, ...this.counts(), durationMs: Date.now() - this.started };
  }

  /** A copy of the counters (what progress and result share). */
  private counts(): Omit<VerifyResult, 'table' | 'durationMs'> {
    return {
      rowsCompared: this.rowsCompared,
      chunks: this.chunks,
      chunksDiffering: this.chunksDiffering,
      mismatches: { ...this.mismatches },
      repaired: { ...this.repaired },
      sampleKeys: [...this.sampleKeys],
    };
  }
}
