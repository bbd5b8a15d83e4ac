import type { MigrationStatus, VerificationSummary } from '../../src/workflows/api.js';

/** What the product's own verification and repair had to fix during the run ("lost, then fixed"). */
export interface RepairReport {
  /** The catch-up verification (before dual writes): the design's bar is zero mismatches. */
  catchUp: { mismatches: number; repaired: number } | null;
  /** The verification with repair before the target becomes authoritative. */
  preTargetFirst: { mismatches: number; repaired: number } | null;
  /** Rows the repair loop repaired, by direction (summed across loop restarts). */
  loop: { 'source->target': number; 'target->source': number };
  /** Scheduled verification runs seen, and the mismatches they reported (report only in the demo). */
  scheduledRuns: number;
  scheduledMismatches: number;
}

const total = (m: { missing: number; extra: number; different: number }) => m.missing + m.extra + m.different;

/**
 * Follows the statuses the demo polls and keeps every verification it saw and the repair loop's counters
 * (which restart at 0 when the loop's activity restarts: increments are summed).
 */
export class RepairWatch {
  private readonly seen = new Map<string, VerificationSummary>();
  private lastRepaired = 0;
  private readonly loop = { 'source->target': 0, 'target->source': 0 };

  observe(s: MigrationStatus): void {
    for (const v of [s.lastVerification, s.lastScheduledVerification]) {
      if (v) this.seen.set(`${v.origin}|${v.finishedAt}`, v);
    }
    // One progress record serves both directions (the loop's stream is the same): a counter that went
    // down was restarted from zero, otherwise only its increase is new.
    const direction = s.repair.direction;
    const repaired = total(s.repair.repaired);
    if (direction) this.loop[direction] += repaired - (repaired >= this.lastRepaired ? this.lastRepaired : 0);
    this.lastRepaired = repaired;
  }

  /** Rows the repair loop has repaired so far (both directions). */
  get loopRepaired(): number {
    return this.loop['source->target'] + this.loop['target->source'];
  }

  report(): RepairReport {
    const all = [...this.seen.values()];
    const one = (origin: string) => {
      const v = all.filter((x) => x.origin === origin).at(-1);
      return v ? { mismatches: v.totalMismatches, repaired: v.totalRepaired } : null;
    };
    const scheduled = all.filter((v) => v.origin.startsWith('scheduled:'));
    return {
      catchUp: one('catch-up'),
      preTargetFirst: one('pre-target-first'),
      loop: { ...this.loop },
      scheduledRuns: scheduled.length,
      scheduledMismatches: scheduled.reduce((n, v) => n + v.totalMismatches, 0),
    };
  }
}
