/**
 * BULK_COPY: every table (or key range of it) copied by chunked, resumable activities, a few at a
 * time, while forward CDC runs; the copier orders its chunks against the applier (see
 * src/activities/copier/README.md), so copy + CDC converge without locking production rows.
 * Undo: empty the copied target tables and forget the copy checkpoints.
 */
import * as wf from '@temporalio/workflow';
import type { KeyRange } from '../../activities/contracts.js';
import type { ActionOf, PhaseModule, Run } from './types.js';

async function copyAll({ ctx }: Run): Promise<void> {
  const p = ctx.plan;
  const s = ctx.s;
  // Copy checkpoints belong to this workflow execution and this entry into BULK_COPY.
  const run = wf.workflowInfo().firstExecutionRunId.slice(0, 8);
  const prefix = `${p.id}:copy:${run}:g${s.copyGeneration}`;
  const jobs: { table: string; run: () => Promise<void> }[] = [];
  // Parents before children: the applier's cascades reach only rows the target holds (cdc/README.md).
  const parents: Record<string, string[]> = wf.patched('copy-parents-first')
    ? await ctx.short(
        'copyDependencies',
        { source: p.source, target: p.target, tables: p.tables },
        'foreign-key copy order',
      )
    : {};
  for (const table of p.tables) {
    const view = s.tables.find((t) => t.table === table.name);
    if (!view || view.state === 'done') continue;
    const ranges: KeyRange[] =
      p.copy.rangesPerTable > 1
        ? await ctx.short(
            'splitKeyRanges',
            { source: p.source, table, ranges: p.copy.rangesPerTable },
            `split ${table.name}`,
          )
        : [{}];
    view.ranges = ranges.length;
    view.state = 'copying';
    view.rangesDone = 0;
    view.rowsCopied = 0;
    ranges.forEach((range, i) => {
      jobs.push({
        table: table.name,
        run: async () => {
          const res = await ctx.long(
            'copyTable',
            {
              source: p.source,
              target: p.target,
              table,
              range: ranges.length > 1 ? range : undefined,
              stream: ctx.forwardSpec.stream,
              replica: p.copy.replica,
              maxReplicaLagSeconds: p.copy.maxReplicaLagSeconds,
              maxTargetThreadsRunning: p.copy.maxTargetThreadsRunning,
              checkpointKey: `${prefix}:${table.name}:${i}`,
            },
            `copy ${table.name}${ranges.length > 1 ? ` range ${i + 1}/${ranges.length}` : ''}`,
          );
          view.rowsCopied += res.rowsCopied;
          view.rangesDone += 1;
          if (view.rangesDone >= view.ranges) view.state = 'done';
          ctx.changed();
        },
      });
    });
  }
  ctx.doing(`copying ${jobs.length} table range(s), ${p.copy.parallelism} at a time`);
  const done = (table: string) => s.tables.find((t) => t.table === table)?.state === 'done';
  const ready = (j: (typeof jobs)[number]) => (parents[j.table] ?? []).every(done);
  const running = new Set<Promise<void>>();
  while (jobs.length > 0 || running.size > 0) {
    while (running.size < p.copy.parallelism) {
      const i = jobs.findIndex(ready);
      if (i < 0) break;
      const job = jobs.splice(i, 1)[0];
      const run: Promise<void> = job.run().finally(() => running.delete(run));
      running.add(run);
    }
    if (running.size === 0) {
      throw wf.ApplicationFailure.nonRetryable(
        `no copy order: ${jobs.map((j) => j.table).join(', ')} wait for parent tables that are not copied`,
        'ForeignKeyOrderError',
      );
    }
    await Promise.race(running);
  }
}

export const bulkCopy: PhaseModule<ActionOf<'truncateTarget'>> = {
  async run(run, frame) {
    run.ctx.ensure(frame, { kind: 'truncateTarget', tables: run.ctx.plan.tables.map((t) => t.name) });
    await copyAll(run);
  },

  async undo({ ctx }, action) {
    const p = ctx.plan;
    await ctx.short(
      'truncateTargetTables',
      { target: p.target, tables: p.tables.filter((t) => action.tables.includes(t.name)) },
      'truncate copied target tables',
    );
    await ctx.short('clearCopyCheckpoints', { prefix: `${p.id}:copy:` }, 'clear copy checkpoints');
    for (const t of ctx.s.tables) Object.assign(t, { state: 'pending', rowsCopied: 0, rangesDone: 0 });
  },
};
