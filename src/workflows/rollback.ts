/**
 * Rollback: runs the compensations of the popped frames in reverse (LIFO), each by the phase module
 * that pushed it, down to the requested frame (or everything, for abort). Never past FINALIZE (the
 * commands refuse it).
 *
 * A rollback never fails the workflow and can always be stopped:
 * - each undo action runs in its own scope with a deadline (`temporal.compensationTimeoutSeconds`);
 *   one that throws or runs out of time stops the rollback at a `failed` gate with the undo stack
 *   intact (its frame and the action still on it): `advance` retries the rollback from there,
 *   `rollback` / `abort` re-aim it;
 * - `abort` is accepted during a rollback: it interrupts the action in progress and the rollback goes
 *   on down to everything (the interrupted action runs again: every undo is idempotent);
 * - a step's cancellation (pause, ...) never reaches an undo (the rollback runs non-cancellable; only
 *   its own deadline or an abort interrupts an action).
 */
import * as wf from '@temporalio/workflow';
import { describeAction, planRollback } from './compensation.js';
import { nowIso } from './context.js';
import { describeFailure, failureOf } from './failures.js';
import { PHASE_MODULES, type Run } from './phases/index.js';
import { currentPhase, pushSystemAudit, pushWarning } from './state.js';

export class Rollback {
  private current: wf.CancellationScope | null = null;
  private interrupted = false;

  constructor(private readonly run: Run) {}

  /** An abort arrived during the rollback: stop the action in progress (the rollback re-plans). */
  interrupt(): void {
    if (!this.current) return;
    this.interrupted = true;
    this.current.cancel();
  }

  /** Runs the pending rollback. Returns 'failed' when an action failed (s.failure is set). */
  async perform(): Promise<'done' | 'failed'> {
    const { ctx, loops } = this.run;
    const s = ctx.s;
    s.state = 'ROLLING_BACK';
    s.rollbackRetry = null;
    s.gate = null;
    ctx.changed();
    const popTop = () => {
      s.frames.pop();
      ctx.changed();
    };
    const timeoutMs = (ctx.plan.temporal.compensationTimeoutSeconds ?? 21_600) * 1000;
    const target = () => s.pending.rollbackTo ?? s.frames.length - 1;
    const failed = await wf.CancellationScope.nonCancellable(async () => {
      for (;;) {
        const keep = target();
        s.rollingBackTo = keep >= 0 ? s.frames[keep].phase : 'PRECHECK';
        const u = planRollback(s.frames, keep)[0];
        if (!u) {
          while (s.frames.length - 1 > keep) popTop();
          return false;
        }
        while (s.frames.length - 1 > u.frameIndex) popTop();
        ctx.doing(`rollback: ${describeAction(u.action)}`);
        const scope = new wf.CancellationScope({ cancellable: true, timeout: timeoutMs });
        this.current = scope;
        this.interrupted = false;
        try {
          await scope.run(async () => {
            await PHASE_MODULES[u.phase].undo?.(this.run, u.action);
          });
        } catch (err) {
          if (this.interrupted) {
            pushWarning(s, nowIso(), `rollback: ${describeAction(u.action)} interrupted by abort`);
            continue;
          }
          const failure = failureOf(err, 'compensation', u.phase);
          if (wf.isCancellation(err)) {
            failure.kind = 'timeout';
            failure.message = `${describeAction(u.action)} did not finish within ${timeoutMs / 1000} s (temporal.compensationTimeoutSeconds)`;
          } else failure.message = `${describeAction(u.action)}: ${failure.message}`;
          s.failure = failure;
          s.error = describeFailure(failure);
          s.rollbackRetry = { to: keep, abort: s.pending.abort };
          pushWarning(s, nowIso(), s.error);
          return true;
        } finally {
          this.current = null;
        }
        const frame = s.frames[u.frameIndex];
        frame.actions = frame.actions.filter((a) => a !== u.action);
        ctx.changed();
      }
    });
    const abort = s.pending.abort;
    s.pending.rollbackTo = null;
    s.pending.abort = false;
    s.pending.advance = null;
    s.pending.readPercent = null;
    s.rollingBackTo = null;
    s.paused = false;
    if (failed) {
      // Stopped at a failed gate (migration.ts): the undo stack keeps what is left to undo.
      s.state = 'RUNNING';
      ctx.changed();
      return 'failed';
    }
    s.topDone = true;
    pushSystemAudit(
      s,
      nowIso(),
      abort ? 'aborted: everything rolled back' : `rolled back to ${currentPhase(s)}`,
      currentPhase(s),
    );
    if (abort) {
      s.loops = { forwardSync: false, reverseSync: false, repair: null };
      await loops.settle();
      s.state = 'ABORTED';
      ctx.doing('aborted: everything rolled back');
    } else {
      s.holdAfterRollback = true;
      s.state = 'RUNNING';
      ctx.doing(`rolled back to ${currentPhase(s)}`);
    }
    return 'done';
  }
}
