import type { MigrationStatus, Phase, PhaseRepairs, VerificationSummary } from '../../src/workflows/api.js';

/** What the product's own verification and repair had to fix during the run ("lost, then fixed"). */
export interface RepairReport {
  /** The catch-up verification (before dual writes): the design's bar is zero mismatches. */
  catchUp: { mismatches: number; repaired: number } | null;
  /** The verification with repair before the target becomes authoritative. */
  preTargetFirst: { mismatches: number; repaired: number } | null;
  /** Rows the product found wrong under lock and repaired, by phase and mechanism (status.repair.byPhase). */
  byPhase: PhaseRepairs[];
  /** Of those, repaired once the routers dual wrote (from DUAL_WRITE_SOURCE_FIRST on). */
  afterCatchUp: number;
  /** Scheduled verification runs seen, and the mismatches they reported (report only in the demo). */
  scheduledRuns: number;
  scheduledMismatches: number;
}

/** Phases before the routers dual write: CDC feeds the target, a repair there may be CDC lag. */
const BEFORE_DUAL_WRITES: readonly Phase[] = [
  'PRECHECK',
  'PREPARE_TARGET',
  'START_SYNC',
  'BULK_COPY',
  'CATCH_UP_VERIFY',
];

/** Follows the statuses the demo polls and keeps every verification it saw and the latest repair tally. */
export class RepairWatch {
  private readonly seen = new Map<string, VerificationSummary>();
  private byPhase: PhaseRepairs[] = [];

  observe(s: MigrationStatus): void {
    for (const v of [s.lastVerification, s.lastScheduledVerification]) {
      if (v) this.seen.set(`${v.origin}|${v.finishedAt}`, v);
    }
    this.byPhase = s.repair.byPhase;
  }

  /** Rows the repair loop has repaired so far (the workflow's tally, across loop restarts). */
  get loopRepaired(): number {
    return this.byPhase.reduce((n, p) => n + p.loop, 0);
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
      byPhase: this.byPhase,
      afterCatchUp: this.byPhase
        .filter((p) => !BEFORE_DUAL_WRITES.includes(p.phase))
        .reduce((n, p) => n + p.loop + p.verification + p.drain, 0),
      scheduledRuns: scheduled.length,
      scheduledMismatches: scheduled.reduce((n, v) => n + v.totalMismatches, 0),
    };
  }
}
