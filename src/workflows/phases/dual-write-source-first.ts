/**
 * DUAL_WRITE_SOURCE_FIRST: routers write the source first (authoritative) and mirror to the target.
 * The hand-over from CDC to the routers' mirrors is gapless: once every router acknowledged dual
 * write, the source position is recorded, CDC runs past it and only then stops. Meanwhile CDC re-reads
 * changed rows under a shared lock (routers mirror under their row locks), so a lagging applier never
 * writes an older image over a router's newer mirror: both sides are equal when CDC stops. The periodic
 * verification schedule starts (source authoritative).
 * Undo: delete the schedule; restart CDC (from a position recorded before writes leave the target),
 * write switch -> SOURCE_ONLY, let CDC catch up and repair the gap from the source.
 */
import type { ActionOf, PhaseModule } from './types.js';

export const dualWriteSourceFirst: PhaseModule<ActionOf<'backToSourceOnly' | 'deleteVerificationSchedule'>> =
  {
    async run({ ctx, switches, sync, loops, verify }, frame) {
      const p = ctx.plan;
      ctx.ensure(frame, { kind: 'deleteVerificationSchedule' });
      ctx.ensure(frame, { kind: 'backToSourceOnly' });
      // From now until CDC stops, routers and the applier write the same rows: the applier re-reads
      // each changed row under a shared lock instead of replaying a possibly older binlog image.
      ctx.s.loops.forwardReread = true;
      await loops.settle();
      await switches.set({ writeMode: 'DUAL_SOURCE_FIRST' }, 'write switch -> DUAL_SOURCE_FIRST');
      // Gapless hand-over: every router writes both sides now; CDC runs past this point, then stops.
      ctx.doing('recording the source position after every router acknowledged dual write');
      const pos = await ctx.short(
        'currentPosition',
        { connection: p.source },
        'source position at hand-over',
      );
      await sync.waitPast(ctx.forwardSpec, pos);
      ctx.s.loops.forwardSync = false;
      ctx.doing('stopping forward CDC');
      await loops.settle();
      await verify.upsertSchedule('source');
    },

    async undo(run, action) {
      const { ctx, sync, switches, verify, loops } = run;
      if (action.kind === 'deleteVerificationSchedule') {
        await verify.deleteSchedule(true);
        return;
      }
      // CDC restarts from a position recorded BEFORE writes leave the target, so nothing falls in a gap.
      await sync.startForward();
      await switches.set({ writeMode: 'SOURCE_ONLY' }, 'write switch -> SOURCE_ONLY');
      // No router mirrors any more: CDC may write binlog images again.
      ctx.s.loops.forwardReread = false;
      await loops.settle();
      await sync.waitForLag(ctx.plan.cdc.catchUpLagSeconds);
      await verify.all('source', true, 'rollback-gap-repair', ctx.forwardSpec.stream);
    },
  };
