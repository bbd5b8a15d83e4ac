/**
 * REPAIR_LOOP: continuous incremental verify + repair, source -> target (binlog-triggered, updated_at
 * windows, or full passes), plus the routers' failed mirror writes.
 * Undo: stop the loop and remove its checkpoints.
 */
import type { ActionOf, PhaseModule } from './types.js';

export const repairLoop: PhaseModule<ActionOf<'stopRepairLoop'>> = {
  async run({ ctx, loops }, frame) {
    ctx.ensure(frame, { kind: 'stopRepairLoop' });
    ctx.s.loops.repair = 'source';
    ctx.s.repair.direction = 'source->target';
    ctx.doing('starting the repair loop (source -> target)');
    await loops.settle();
  },

  async undo({ ctx, loops }) {
    ctx.s.loops.repair = null;
    ctx.s.repair.direction = null;
    await loops.settle();
    // The loop ended for good: its checkpoints (both sides) go, a re-run starts fresh.
    await ctx.short(
      'clearCopyCheckpoints',
      { prefix: `${ctx.plan.id}:repairloop:` },
      'remove the repair loop checkpoints',
    );
  },
};
