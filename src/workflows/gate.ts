/**
 * Waiting at a gate: until `advance` (or auto-advance after a healthy soak), a read-percent change, a
 * rollback, or a reason to leave (pause lifted, continue-as-new due, a loop failed). While it waits it
 * keeps the switches in Redis as the workflow wants them and shows, whatever the gate's mode, what
 * the health rules block on (`gate.blockers`, from the steady health refresh): a manual `advance` past
 * a blocker needs `force` (commands.ts). A `failed` gate (the step or a loop failed) waits for
 * `advance` (retry after a fix), rollback or abort.
 */
import * as wf from '@temporalio/workflow';
import type { FailureView, GateRule } from './api.js';
import { nowIso, type MigrationContext } from './context.js';
import { describeFailure } from './failures.js';
import { bypassBlockers } from './bypass-view.js';
import { gateBlockers } from './gate-health.js';
import type { HealthMonitor } from './health-monitor.js';
import type { HistoryLimit } from './history.js';
import { stepSoak } from './soak.js';
import { currentPhase, pushAudit } from './state.js';
import type { SwitchControl } from './switch-control.js';
import { describeStep, gateRule, isGated, type Step } from './transitions.js';

export type GateOutcome =
  /** Enter the step. */
  | { kind: 'advance' }
  /** The operator chose a read percentage: enter READ_SWITCH at it instead. */
  | { kind: 'readPercent'; percent: number }
  /** Something else must happen first (rollback, pause lifted, continue-as-new, a failure). */
  | { kind: 'interrupted' };

export class Gate {
  constructor(
    private readonly ctx: MigrationContext,
    private readonly switches: SwitchControl,
    private readonly health: HealthMonitor,
    private readonly history: HistoryLimit,
  ) {}

  /** What the health rules block on now (empty: healthy). */
  blockers(rule: GateRule): string[] {
    const s = this.ctx.s;
    return gateBlockers(rule, {
      now: Date.now(),
      health: s.health,
      latestVerification: s.lastVerification,
      maxHealthAgeMs: this.health.maxAgeMs(),
      bypassBlockers: bypassBlockers(s),
    });
  }

  /** Waits at the gate before `next`. `failure`: the step (or a loop) failed and waits for a retry. */
  async wait(next: Step, failure: FailureView | null): Promise<GateOutcome> {
    const { ctx } = this;
    const s = ctx.s;
    const rule = gateRule(ctx.plan, next);
    const manual = failure !== null || s.holdAfterRollback;
    if (!isGated(next) && !manual && !s.paused) return { kind: 'advance' };
    const auto = !manual && rule !== null && rule.autoAdvance && next.phase !== 'FINALIZE';
    const waitingFor = failure
      ? `${describeFailure(failure)}. Fix it, then advance to retry (or rollback / abort)`
      : !isGated(next) && !manual
        ? `paused before ${describeStep(next)}`
        : next.phase === 'FINALIZE'
          ? 'finalize {"confirm": true} to run FINALIZE (irreversible)'
          : auto
            ? `auto-advance to ${describeStep(next)} after ${rule.soakSeconds} s of healthy soak (or advance)`
            : `advance to ${describeStep(next)}`;
    s.state = 'WAITING';
    s.gate = {
      next: next.phase,
      nextReadPercent: next.readPercent,
      waitingFor,
      since: nowIso(),
      autoAdvance: auto,
      soakStartedAt: null,
      soakRemainingSeconds: auto ? rule.soakSeconds : null,
      blockers: rule && !failure ? this.blockers(rule) : [],
      failed: failure,
      requiresConfirmation: next.phase === 'FINALIZE',
    };
    ctx.doing(waitingFor);
    this.health.kick();
    let soak: { soakStartedAt: number | null } = { soakStartedAt: null };
    let measured = s.health.refreshes;
    // Switch reconciliation: every poll at an automatic gate, every six at a manual one (as before).
    const reconcileMs = ctx.plan.temporal.gatePollSeconds * 1000 * (auto ? 1 : 6);
    let reconciledAt = 0;
    const open = () => {
      s.gate = null;
      s.holdAfterRollback = false;
      s.state = 'RUNNING';
    };
    for (;;) {
      if (s.pending.rollbackTo !== null) break;
      if (s.pending.advance) {
        const by = s.pending.advance.by;
        s.pending.advance = null;
        open();
        ctx.doing(`advancing to ${describeStep(next)}${by ? ` (by ${by})` : ''}`);
        return { kind: 'advance' };
      }
      if (s.pending.readPercent !== null) {
        const percent = s.pending.readPercent;
        s.pending.readPercent = null;
        open();
        return { kind: 'readPercent', percent };
      }
      if (!failure && s.failure) break;
      if (!isGated(next) && !manual && !s.paused) break;
      if (this.history.due) break;
      if (Date.now() - reconciledAt >= reconcileMs) {
        await this.switches.reconcile();
        reconciledAt = Date.now();
      }
      if (rule && !failure && s.gate) {
        const blockers = this.blockers(rule);
        s.gate.blockers = blockers;
        if (auto && !s.paused && s.health.refreshes !== measured) {
          // The soak advances on fresh measurements only.
          measured = s.health.refreshes;
          const r = stepSoak(rule, soak, Date.now(), blockers);
          soak = r.soak;
          s.gate.soakStartedAt =
            soak.soakStartedAt !== null ? new Date(soak.soakStartedAt).toISOString() : null;
          s.gate.soakRemainingSeconds = r.remainingSeconds;
          if (r.ready) {
            pushAudit(s, {
              at: nowIso(),
              command: 'auto-advance',
              via: 'workflow',
              by: null,
              reason: `healthy for ${rule.soakSeconds} s`,
              args: {},
              accepted: true,
              message: `auto-advanced to ${describeStep(next)}`,
              phase: currentPhase(s),
            });
            s.gate = null;
            s.state = 'RUNNING';
            ctx.changed();
            return { kind: 'advance' };
          }
        }
        ctx.changed();
      }
      const wasPaused = s.paused;
      const seen = s.health.refreshes;
      await wf.condition(
        () =>
          s.pending.advance !== null ||
          s.pending.rollbackTo !== null ||
          s.pending.readPercent !== null ||
          s.paused !== wasPaused ||
          s.health.refreshes !== seen ||
          (!failure && s.failure !== null),
        this.health.cadenceMs() * 2,
      );
    }
    s.gate = null;
    s.state = 'RUNNING';
    ctx.changed();
    return { kind: 'interrupted' };
  }
}
