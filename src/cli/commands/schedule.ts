import type { Command } from 'commander';
import type { ScheduleHandle, ScheduleSummary } from '@temporalio/client';
import { verificationScheduleId } from '../../workflows/api.js';
import {
  action,
  withCommonOptions,
  type ActionResult,
  type CommandContext,
  type CommonOptions,
  type Runtime,
} from '../common.js';
import { table, timestamp } from '../render/format.js';
import { resolveMigration } from '../target.js';

/** One verification schedule, as `schedule list` shows it. */
export interface ScheduleRow {
  scheduleId: string;
  migrationId: string;
  paused: boolean;
  note: string | null;
  nextRuns: string[];
  recentRuns: { takenAt: string; workflowId: string }[];
}

/** Migration id of a verification schedule id, or undefined when the id is not one. */
export function scheduleMigrationId(scheduleId: string): string | undefined {
  // verificationScheduleId(id) is <before><id><after>: find both parts with a marker id.
  const [before, after] = verificationScheduleId('\u0000').split('\u0000');
  if (!scheduleId.startsWith(before) || !scheduleId.endsWith(after)) return undefined;
  if (scheduleId.length <= before.length + after.length) return undefined;
  return scheduleId.slice(before.length, scheduleId.length - after.length);
}

type ScheduleState = Pick<ScheduleSummary, 'scheduleId' | 'state' | 'info'>;

function toRow(s: ScheduleState): ScheduleRow {
  return {
    scheduleId: s.scheduleId,
    migrationId: scheduleMigrationId(s.scheduleId) ?? s.scheduleId,
    paused: s.state.paused,
    note: s.state.note ?? null,
    nextRuns: s.info.nextActionTimes.slice(0, 3).map((d) => d.toISOString()),
    recentRuns: s.info.recentActions
      .slice(-3)
      .map((a) => ({ takenAt: a.takenAt.toISOString(), workflowId: a.action.workflow.workflowId })),
  };
}

export function renderSchedules(rows: ScheduleRow[]): string {
  if (!rows.length) return 'no verification schedules';
  return table(
    ['SCHEDULE', 'MIGRATION', 'STATE', 'NEXT RUN', 'LAST RUN', 'NOTE'],
    rows.map((r) => [
      r.scheduleId,
      r.migrationId,
      r.paused ? 'paused' : 'active',
      timestamp(r.nextRuns[0]),
      r.recentRuns.length
        ? `${timestamp(r.recentRuns.at(-1)?.takenAt)} ${r.recentRuns.at(-1)?.workflowId ?? ''}`
        : '-',
      r.note ?? '',
    ]),
  );
}

/** The note Temporal keeps on the schedule: who did it and why (schedules have no workflow audit log). */
export function scheduleNote(verb: string, options: CommonOptions): string {
  return `${verb} by ${options.by ?? 'unknown'}${options.reason ? `: ${options.reason}` : ''} (migrate CLI)`;
}

/** The handle of a migration's verification schedule; exit 3 when the migration or schedule is unknown. */
export async function migrationSchedule(
  ctx: CommandContext,
  idArg: string | undefined,
): Promise<{ migrationId: string; handle: ScheduleHandle }> {
  const target = await resolveMigration(ctx, idArg);
  const scheduleId = verificationScheduleId(target.migrationId);
  ctx.errorContext.scheduleId = scheduleId;
  const session = await ctx.session();
  return { migrationId: target.migrationId, handle: session.client.schedule.getHandle(scheduleId) };
}

async function describeRow(handle: ScheduleHandle): Promise<ScheduleRow> {
  return toRow(await handle.describe());
}

type Verb = 'trigger' | 'pause' | 'unpause' | 'delete';

const VERBS: [Verb, string][] = [
  ['trigger', 'run a verification now'],
  ['pause', 'pause the periodic verification'],
  ['unpause', 'resume the periodic verification'],
  ['delete', 'delete the verification schedule (the migration keeps running)'],
];

export function registerScheduleCommands(program: Command, runtime: Runtime, result: ActionResult): void {
  const schedule = program
    .command('schedule')
    .description("the migration's periodic verification schedule (Temporal schedule)");

  withCommonOptions(
    schedule.command('list [ID]').description('verification schedules (all, or one migration’s)'),
    runtime,
  ).action(
    action(runtime, result, async (ctx, id: string | undefined) => {
      const rows: ScheduleRow[] = [];
      if (id) {
        const { handle } = await migrationSchedule(ctx, id);
        rows.push(await describeRow(handle));
      } else {
        const session = await ctx.session();
        for await (const s of session.client.schedule.list()) {
          if (scheduleMigrationId(s.scheduleId) !== undefined) rows.push(toRow(s));
        }
      }
      ctx.out.result({ ok: true, schedules: rows }, () => renderSchedules(rows));
    }),
  );

  for (const [verb, description] of VERBS) {
    withCommonOptions(schedule.command(`${verb} [ID]`).description(description), runtime).action(
      action(runtime, result, async (ctx, id: string | undefined) => {
        const { migrationId, handle } = await migrationSchedule(ctx, id);
        switch (verb) {
          case 'trigger':
            await handle.trigger();
            break;
          case 'pause':
            await handle.pause(scheduleNote('paused', ctx.options));
            break;
          case 'unpause':
            await handle.unpause(scheduleNote('unpaused', ctx.options));
            break;
          case 'delete':
            await handle.delete();
            break;
        }
        ctx.out.result(
          { ok: true, migrationId, scheduleId: handle.scheduleId, action: verb },
          () => `schedule ${handle.scheduleId}: ${verb} done`,
        );
      }),
    );
  }
}
