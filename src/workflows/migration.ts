/**
 * The migration workflow: walks the plan's steps, waits at their gates, runs each step through its
 * phase module (src/workflows/phases: a step and its undo side by side) and keeps the compensation
 * frames; rollback pops them LIFO. Deterministic: imports only @temporalio/workflow, pure modules and
 * types.
 */
import * as wf from '@temporalio/workflow';
import type { MigrationInput, MigrationStatus } from './api.js';
import { MigrationContext, nowIso } from './context.js';
import { describeFailure, failureOf } from './failures.js';
import { Gate } from './gate.js';
import { HealthMonitor } from './health-monitor.js';
import { installHandlers } from './handlers.js';
import { HistoryLimit } from './history.js';
import { LoopManager } from './loops.js';
import { PHASE_MODULES, type Run } from './phases/index.js';
import { Rollback } from './rollback.js';
import {
  currentPhase,
  initialState,
  pushSystemAudit,
  pushWarning,
  upgradeState,
  type MigrationState,
} from './state.js';
import { buildStatus } from './status.js';
import { SwitchControl } from './switch-control.js';
import { SyncControl } from './sync-control.js';
import { describeStep, nextStep, type Step } from './transitions.js';
import { VerificationRuns } from './verification-runs.js';

function assemble(ctx: MigrationContext): Run & { gate: Gate; health: HealthMonitor } {
  const loops = new LoopManager(ctx);
  const history = new HistoryLimit(ctx, loops);
  const switches = new SwitchControl(ctx, history);
  const sync = new SyncControl(ctx, loops, history);
  const verify = new VerificationRuns(ctx);
  const health = new HealthMonitor(ctx, loops);
  return {
    ctx,
    loops,
    history,
    switches,
    sync,
    verify,
    health,
    gate: new Gate(ctx, switches, health, history),
  };
}

/** Pushes the frame of a step that starts now (its phase module pushes its undo actions onto it). */
function enter(ctx: MigrationContext, step: Step): void {
  const s = ctx.s;
  s.frames.push({ phase: step.phase, readPercent: step.readPercent, enteredAt: nowIso(), actions: [] });
  s.topDone = false;
  s.error = null;
  if (step.phase === 'BULK_COPY') s.copyGeneration += 1;
  pushSystemAudit(s, nowIso(), `entered ${describeStep(step)}`, step.phase);
  ctx.changed();
}

/** The migration workflow (type name `migrationWorkflow`). */
export async function migrationWorkflow(input: MigrationInput): Promise<MigrationStatus> {
  const carried = input.carried as MigrationState | undefined;
  const s = carried ? upgradeState(carried) : initialState(input.plan, nowIso());
  const ctx = new MigrationContext(input.plan, s);
  const run = assemble(ctx);
  const rollbacks = new Rollback(run);
  let stepScope: wf.CancellationScope | undefined;
  const interrupt = () => {
    stepScope?.cancel();
    // abort is accepted during a rollback: the action in progress stops, the rollback re-plans.
    if (s.pending.abort) rollbacks.interrupt();
  };
  installHandlers(ctx, interrupt, run.health.reports);
  // A loop that failed fatally stops the run at a failed gate (the running step is interrupted).
  // During a rollback the loop just stays stopped (a compensation that needs it runs out of time).
  run.loops.onFatal = (failure) => {
    if (s.state === 'ROLLING_BACK') return;
    if (s.failure === null) {
      s.failure = failure;
      s.error = describeFailure(failure);
    }
    stepScope?.cancel();
    ctx.changed();
  };
  run.loops.start();
  run.health.start();
  ctx.changed();

  for (;;) {
    if (s.pending.rollbackTo !== null) {
      s.failure = null;
      s.error = null;
      run.loops.resumeHalted();
      await rollbacks.perform();
      if (s.state === 'ABORTED') break;
      continue;
    }
    const top = s.frames[s.frames.length - 1];
    if (top && !s.topDone && s.failure === null) {
      if (s.paused) {
        s.state = 'PAUSED';
        ctx.doing(`paused in ${describeStep(top)} (safe point); resume to continue`);
        await wf.condition(() => !s.paused || s.pending.rollbackTo !== null);
        s.state = 'RUNNING';
        continue;
      }
      s.state = 'RUNNING';
      const scope = new wf.CancellationScope();
      stepScope = scope;
      try {
        await scope.run(() => PHASE_MODULES[top.phase].run(run, top));
        s.topDone = true;
        ctx.doing(`${describeStep(top)} done`);
      } catch (err) {
        if (err instanceof wf.ContinueAsNew) throw err;
        if (wf.isCancellation(err) && scope.consideredCancelled) {
          ctx.doing(`${describeStep(top)} interrupted at a safe point`);
        } else {
          s.failure = failureOf(err, 'step', top.phase);
          s.error = describeFailure(s.failure);
          pushWarning(s, nowIso(), s.error);
        }
      } finally {
        stepScope = undefined;
      }
      continue;
    }
    if (currentPhase(s) === 'DONE') break;
    if (run.history.due) await run.history.continueAsNew();
    if (s.failure !== null && top) {
      // The top step, a loop or a compensation failed: a failed gate waits for advance (retry),
      // rollback or abort.
      const retry = await run.gate.wait({ phase: top.phase, readPercent: top.readPercent }, s.failure);
      if (retry.kind !== 'interrupted') {
        s.failure = null;
        s.error = null;
        run.loops.resumeHalted();
        if (s.rollbackRetry) {
          // A failed compensation: advance resumes the rollback where it stopped.
          s.pending.rollbackTo = s.rollbackRetry.to;
          s.pending.abort = s.rollbackRetry.abort;
          s.rollbackRetry = null;
          continue;
        }
      }
      if (retry.kind === 'readPercent') enter(ctx, { phase: 'READ_SWITCH', readPercent: retry.percent });
      continue;
    }
    const next = nextStep(ctx.plan, top);
    if (!next) break;
    const outcome = await run.gate.wait(next, null);
    if (outcome.kind === 'advance') enter(ctx, next);
    else if (outcome.kind === 'readPercent')
      enter(ctx, { phase: 'READ_SWITCH', readPercent: outcome.percent });
  }
  if (s.state !== 'ABORTED') {
    s.state = 'COMPLETED';
    ctx.doing('migration complete: target only, source retired');
  }
  s.gate = null;
  ctx.changed();
  await wf.condition(wf.allHandlersFinished);
  return buildStatus(s);
}
