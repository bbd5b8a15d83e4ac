/**
 * Rollback: runs the compensations of the popped frames in reverse (LIFO), each by the phase module
 * that pushed it, down to the requested frame (or everything, for abort). Never past FINALIZE (the
 * commands refuse it).
 */
import * as wf from '@temporalio/workflow';
import { describeAction, planRollback } from './compensation.js';
import { nowIso } from './context.js';
import { PHASE_MODULES, type Run } from './phases/index.js';
import { currentPhase, pushSystemAudit } from './state.js';

export async function rollback(run: Run): Promise<void> {
  const { ctx, loops } = run;
  const s = ctx.s;
  const keep = s.pending.rollbackTo ?? s.frames.length - 1;
  const abort = s.pending.abort;
  s.state = 'ROLLING_BACK';
  s.rollingBackTo = keep >= 0 ? s.frames[keep].phase : 'PRECHECK';
  s.gate = null;
  ctx.changed();
  const popTop = () => {
    s.frames.pop();
    ctx.changed();
  };
  // Each undo runs to completion (not interruptible): compensations are idempotent, and the frame is
  // popped only after all its actions ran, so a crash re-runs at most the current frame's undo.
  await wf.CancellationScope.nonCancellable(async () => {
    for (const u of planRollback(s.frames, keep)) {
      while (s.frames.length - 1 > u.frameIndex) popTop();
      ctx.doing(`rollback: ${describeAction(u.action)}`);
      await PHASE_MODULES[u.phase].undo?.(run, u.action);
      const frame = s.frames[u.frameIndex];
      frame.actions = frame.actions.filter((a) => a !== u.action);
    }
    while (s.frames.length - 1 > keep) popTop();
  });
  s.pending.rollbackTo = null;
  s.pending.abort = false;
  s.pending.advance = null;
  s.pending.readPercent = null;
  s.rollingBackTo = null;
  s.topDone = true;
  s.paused = false;
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
}
