/**
 * PRECHECK: the switches exist (SOURCE_ONLY, 0 %), both servers are reachable with the privileges and
 * binlog settings the procedure needs, and every table can be migrated. Changes nothing it would have
 * to undo: a failed precheck stops at a gate that lists every problem with its fix.
 */
import * as wf from '@temporalio/workflow';
import type { PhaseModule } from './types.js';
import { nowIso } from '../context.js';
import { pushWarning } from '../state.js';

export const precheck: PhaseModule = {
  async run({ ctx, switches }) {
    const p = ctx.plan;
    ctx.doing('initialising switches');
    await switches.init();
    ctx.doing('prechecking source and target');
    const report = await ctx.short(
      'precheck',
      { source: p.source, target: p.target, tables: p.tables },
      'precheck',
    );
    // Findings that do not block (cascading foreign keys, the zone a DATETIME updated_at is read in).
    for (const n of report.notes ?? [])
      pushWarning(ctx.s, nowIso(), `precheck note: ${n.table ? `${n.table}: ` : ''}${n.message}`);
    for (const t of report.tables) {
      const view = ctx.s.tables.find((x) => x.table === t.name);
      if (view) view.estimatedRows = t.estimatedRows;
    }
    if (!report.ok) {
      throw wf.ApplicationFailure.nonRetryable(
        'precheck failed:\n' +
          report.problems
            .map((x) => `- ${x.table ? `${x.table}: ` : ''}${x.message} (fix: ${x.fix})`)
            .join('\n'),
        'PrecheckFailed',
      );
    }
  },
};
