/**
 * FINALIZE: the one irreversible step (entered only with an explicit confirmation). Reverse CDC
 * catches up first, so the old database is left a consistent copy; then every loop and the
 * verification schedule stop.
 */
import type { PhaseModule } from './types.js';

export const finalize: PhaseModule = {
  async run({ ctx, sync, loops, verify }) {
    const s = ctx.s;
    if (s.loops.reverseSync) {
      const pos = await ctx.short(
        'currentPosition',
        { connection: ctx.plan.target },
        'target position at FINALIZE',
      );
      await sync.waitPast(ctx.reverseSpec, pos);
    }
    ctx.doing('finalizing: stopping reverse sync, loops and schedules');
    s.loops = { forwardSync: false, reverseSync: false, repair: null };
    await loops.settle();
    // Both streams ended for good: their checkpoint rows go.
    await ctx.endStream('reverse');
    await ctx.endStream('forward');
    await verify.deleteSchedule();
  },
};
