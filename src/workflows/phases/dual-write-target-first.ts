/**
 * DUAL_WRITE_TARGET_FIRST: the target becomes authoritative (routers write it first, mirror to the
 * source); before the flip a full verification brings the target complete; repair direction and the
 * verification schedule reverse.
 * Undo: bring the source up to date from the target, then back to source-first dual write.
 */
import type { ActionOf, PhaseModule } from './types.js';

export const dualWriteTargetFirst: PhaseModule<ActionOf<'backToSourceFirst'>> = {
  async run({ ctx, switches, loops, verify }, frame) {
    const s = ctx.s;
    ctx.ensure(frame, { kind: 'backToSourceFirst' });
    // The target becomes authoritative: make sure it is complete first.
    await verify.all('source', true, 'pre-target-first');
    await switches.set({ writeMode: 'DUAL_TARGET_FIRST' }, 'write switch -> DUAL_TARGET_FIRST');
    if (s.loops.repair) {
      s.loops.repair = 'target';
      s.repair.direction = 'target->source';
      await loops.settle();
    }
    await verify.upsertSchedule('target');
  },

  async undo({ ctx, switches, loops, verify }) {
    const s = ctx.s;
    // Bring the source up to date from the (authoritative) target first.
    await verify.all('target', true, 'rollback-reverse-repair');
    await switches.set({ writeMode: 'DUAL_SOURCE_FIRST' }, 'write switch -> DUAL_SOURCE_FIRST');
    if (s.loops.repair) {
      s.loops.repair = 'source';
      s.repair.direction = 'source->target';
      await loops.settle();
    }
    if (s.verificationScheduleId) await verify.upsertSchedule('source');
  },
};
