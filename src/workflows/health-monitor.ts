/**
 * The run's health, measured on a steady cadence whatever it is doing (a step, a manual or automatic
 * gate, a rollback): CDC lag of the running streams (during BULK_COPY too), the repair loop's counters,
 * the running activities' attempts and last errors, the confirmation of reported verifications and the
 * bypass watchers' reports.
 * One `migrationHealth` activity per refresh (each part read on its own); a part that cannot be read is
 * shown as unknown, and an unknown lag blocks every gate (gate-health.ts).
 *
 * Cadence: `temporal.gatePollSeconds` at a gate and during a rollback, three times that while a step
 * runs (fewer history events during long copies); a gate that opens asks for a refresh at once.
 */
import * as wf from '@temporalio/workflow';
import type { ActivityView } from './api.js';
import { errMessage, nowIso, type MigrationContext } from './context.js';
import { refreshBypass } from './bypass.js';
import { applyRepairProgress, applyStreamStatus } from './health-readings.js';
import type { LoopManager } from './loops.js';
import { isTerminal } from './state.js';
import { VerificationReports } from './verification-reports.js';

export class HealthMonitor {
  private wanted = false;
  readonly reports: VerificationReports;

  constructor(
    private readonly ctx: MigrationContext,
    private readonly loops: LoopManager,
  ) {
    this.reports = new VerificationReports(ctx);
  }

  /** Starts the refresh loop (call once, from the root scope). */
  start(): void {
    void this.forever();
  }

  /** Asks for a refresh now (a gate opened). */
  kick(): void {
    this.wanted = true;
  }

  /** Milliseconds between refreshes now. */
  cadenceMs(): number {
    const base = this.ctx.plan.temporal.gatePollSeconds * 1000;
    return this.ctx.s.state === 'RUNNING' ? base * 3 : base;
  }

  /** How old a measurement may be before gates stop trusting it. */
  maxAgeMs(): number {
    return Math.max(60_000, this.ctx.plan.temporal.gatePollSeconds * 1000 * 10);
  }

  private async forever(): Promise<void> {
    const s = this.ctx.s;
    while (!isTerminal(s)) {
      this.wanted = false;
      await this.refresh();
      await wf.condition(() => this.wanted || isTerminal(s), this.cadenceMs());
    }
  }

  async refresh(): Promise<void> {
    const { ctx } = this;
    const s = ctx.s;
    const specs = [
      ...(s.loops.forwardSync ? [ctx.forwardSpec] : []),
      ...(s.loops.reverseSync ? [ctx.reverseSpec] : []),
    ];
    const repair = s.loops.repair;
    const repairKey = repair ? ctx.repairProgressKey(repair) : null;
    let lagUnknown: string | null = null;
    let repairUnknown: string | null = null;
    let worst: number | null = null;
    try {
      const h = await ctx.probe(
        'migrationHealth',
        { workflowId: wf.workflowInfo().workflowId, streams: specs, repairKey },
        'health: CDC lag, repair counters, activities',
      );
      const unknown: string[] = [];
      for (const r of h.streams) {
        const spec = specs.find((x) => x.stream === r.stream);
        if (!spec) continue;
        if (!r.status) {
          unknown.push(`${r.stream}: ${r.error ?? 'no answer'}`);
          continue;
        }
        worst = Math.max(worst ?? 0, applyStreamStatus(s, spec, r.status));
      }
      if (unknown.length) lagUnknown = unknown.join('; ');
      this.loops.markSyncRunning();
      if (h.repair && s.loops.repair === repair) {
        if (h.repair.error) repairUnknown = h.repair.error;
        else if (h.repair.progress) {
          const p = h.repair.progress;
          applyRepairProgress(s, p, p.checked !== s.repair.rowsChecked || s.repair.lastPassAt === null);
        }
      }
      if (h.activities) s.activities = h.activities.map(toView);
    } catch (err) {
      const why = `health check failed: ${errMessage(err)}`;
      if (specs.length) lagUnknown = why;
      if (repair) repairUnknown = why;
    }
    s.health = {
      checkedAt: nowIso(),
      refreshes: s.health.refreshes + 1,
      lagSeconds: lagUnknown === null ? worst : null,
      lagUnknown,
      repairUnknown,
      unconfirmedReports: s.verificationReports.length,
    };
    if (s.verificationReports.length) await this.reports.confirm();
    await refreshBypass(ctx);
    ctx.changed();
  }
}

function toView(a: {
  activity: string;
  activityId: string;
  state: string;
  attempt: number;
  lastFailure: { message: string } | null;
  nextAttemptAt: string | null;
  secondsSinceProgress: number | null;
}): ActivityView {
  return {
    activity: a.activity,
    activityId: a.activityId,
    state: a.state,
    attempt: a.attempt,
    lastFailure: a.lastFailure?.message.slice(0, 500) ?? null,
    nextAttemptAt: a.nextAttemptAt,
    secondsSinceProgress: a.secondsSinceProgress,
  };
}
