/**
 * START_SYNC: forward CDC (source binlog -> target) from a recorded position, before the copy starts,
 * so every change made while the copy runs is replayed over it.
 * Undo: stop forward CDC and remove its checkpoint (the stream ended for good: a re-run starts a new
 * stream from a new position, never from this one).
 */
import type { ActionOf, PhaseModule } from './types.js';

export const startSync: PhaseModule<ActionOf<'stopForwardSync'>> = {
  async run({ ctx, sync }, frame) {
    ctx.ensure(frame, { kind: 'stopForwardSync' });
    await sync.startForward();
  },

  async undo({ ctx, loops }) {
    ctx.s.loops.forwardSync = false;
    await loops.settle();
    await ctx.endStream('forward');
  },
};
