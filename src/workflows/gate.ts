/**
 * Waiting at a gate: until `advance` (or auto-advance after a healthy soak), a read-percent change, a
 * rollback, or a reason to leave (pause lifted, continue-as-new due). While it waits it keeps the
 * switches in Redis as the workflow wants them and refreshes the health shown in status.
 */
import * as wf from '@temporalio/workflow';
import { errMessage, nowIso, type MigrationContext } from './context.js';
import { stepSoak } from './soak.js';
import { refreshBypass } from './bypass.js';
import { holdForBypass } from './bypass-view.js';
import type { HistoryLimit } from './history.js';
import { currentPhase, pushAudit, pushWarning } from './state.js';
import type { SwitchControl } from './switch-control.js';
import type { SyncControl } from './sync-control.js';
import { describeStep, gateRule, isGated, type Step } from './transitions.js';

export type GateOutcome =
  /** Enter the step. */
  | { kind: 'advance' }
  /** The operator chose a read percentage: enter READ_SWITCH at it instead. */
  | { kind: 'readPercent'; percent: number }
  /** Something else must happen first (rollback, pause lifted, continue-as-new). */
  | { kind: 'interrupted' };

export class Gate {
  constructor(
    private readonly ctx: MigrationContext,
    private readonly switches: SwitchControl,
    private readonly sync: SyncControl,
    private readonly history: HistoryLimit,
  ) {}

  /** Waits at the gate before `next`. `failure`: the step failed and waits for a retry. */
  async wait(next: Step, failure: string | null): Promise<GateOutcome> {
    const { ctx } = this;
    const s = ctx.s;
    const rule = gateRule(ctx.plan, next);
    const manual = failure !== null || s.holdAfterRollback;
    if (!isGated(next) && !manual && !s.paused) return { kind: 'advance' };
    const auto = !manual && rule !== null && rule.autoAdvance && next.phase !== 'FINALIZE';
    const waitingFor = failure
      ? `${describeStep(next)} failed: ${failure}. Fix it, then advance to retry (or rollback / abort)`
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
      blockers: [],
      requiresConfirmation: next.phase === 'FINALIZE',
    };
    ctx.doing(waitingFor);
    let soak: { soakStartedAt: number | null } = { soakStartedAt: null };
    const pollMs = ctx.plan.temporal.gatePollSeconds * 1000;
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
      if (!isGated(next) && !manual && !s.paused) break;
      if (this.history.due) break;
      await this.switches.reconcile();
      await refreshBypass(ctx);
      if (auto || s.loops.forwardSync || s.loops.reverseSync) {
        let lag: number | null = null;
        try {
          lag = await this.sync.refreshHealth();
        } catch (err) {
          pushWarning(s, nowIso(), `health check failed: ${errMessage(err)}`);
        }
        if (auto && rule && !s.paused && s.gate) {
          const r = holdForBypass(
            stepSoak(rule, soak, {
              at: Date.now(),
              lagSeconds: lag,
              latestVerification: s.lastVerification,
            }),
            s,
          );
          soak = r.soak;
          s.gate.soakStartedAt =
            soak.soakStartedAt !== null ? new Date(soak.soakStartedAt).toISOString() : null;
          s.gate.soakRemainingSeconds = r.remainingSeconds;
          s.gate.blockers = r.blockers;
          ctx.changed();
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
            return { kind: 'advance' };
          }
        }
      }
      const wasPaused = s.paused;
      await wf.condition(
        () =>
          s.pending.advance !== null ||
          s.pending.rollbackTo !== null ||
          s.pending.readPercent !== null ||
          s.paused !== wasPaused,
        auto ? Math.min(pollMs, Math.max(1000, (rule?.soakSeconds ?? 5) * 250)) : pollMs * 6,
      );
    }
    s.gate = null;
    s.state = 'RUNNING';
    ctx.changed();
    return { kind: 'interrupted' };
  }
}
