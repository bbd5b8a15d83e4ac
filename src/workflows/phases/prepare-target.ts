/**
 * PREPARE_TARGET: creates the target tables that do not exist yet.
 * Undo: drops only the tables this run created, and only while they are still empty.
 */
import type { ActionOf, PhaseModule } from './types.js';

export const prepareTarget: PhaseModule<ActionOf<'dropCreatedTables'>> = {
  async run({ ctx }, frame) {
    const p = ctx.plan;
    // The data plane records the tables it creates on the target; its drop removes only those, and only
    // while empty. So the undo can name every target table of the plan before anything is created.
    ctx.ensure(frame, { kind: 'dropCreatedTables', tables: p.tables.map((t) => t.targetName ?? t.name) });
    ctx.doing('creating missing target tables');
    const res = await ctx.short(
      'prepareTarget',
      { source: p.source, target: p.target, tables: p.tables },
      'create missing target tables',
    );
    ctx.s.createdTables = [...new Set([...ctx.s.createdTables, ...res.created])];
  },

  async undo({ ctx }, action) {
    if (action.tables.length)
      await ctx.short(
        'dropCreatedTables',
        { target: ctx.plan.target, tables: action.tables },
        'drop created target tables',
      );
    ctx.s.createdTables = ctx.s.createdTables.filter((t) => !action.tables.includes(t));
  },
};
