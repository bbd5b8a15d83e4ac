/**
 * TARGET_ONLY: writes go to the target only; reverse CDC (target binlog -> source) keeps the old
 * database a usable fallback. Reverse CDC starts from a target position recorded BEFORE writes leave
 * the source, so nothing written in between is missed.
 * Undo: back to target-first dual write, let reverse CDC catch up past that point, stop it and remove
 * its checkpoint.
 */
import type { ActionOf, PhaseModule } from './types.js';

export const targetOnly: PhaseModule<ActionOf<'backToTargetFirst'>> = {
  async run({ ctx, switches, loops }, frame) {
    const s = ctx.s;
    ctx.ensure(frame, { kind: 'backToTargetFirst' });
    if (!s.loops.reverseSync) {
      ctx.doing('starting reverse CDC target -> source');
      ctx.newStreamEpoch('reverse');
      await ctx.short('recordSyncStart', { spec: ctx.reverseSpec }, 'record reverse CDC start (target head)');
      s.loops.reverseSync = true;
      await loops.settle();
    }
    await switches.set({ writeMode: 'TARGET_ONLY' }, 'write switch -> TARGET_ONLY');
  },

  async undo({ ctx, switches, loops, sync }) {
    const s = ctx.s;
    await switches.set({ writeMode: 'DUAL_TARGET_FIRST' }, 'write switch -> DUAL_TARGET_FIRST');
    if (s.loops.reverseSync) {
      const pos = await ctx.short('currentPosition', { connection: ctx.plan.target }, 'target position');
      await sync.waitPast(ctx.reverseSpec, pos);
      s.loops.reverseSync = false;
      await loops.settle();
    }
    // Reverse CDC ended for good: the next TARGET_ONLY records a new start (never this position).
    await ctx.endStream('reverse');
  },
};
