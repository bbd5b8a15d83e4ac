import { Option, type Command } from 'commander';
import {
  planQuery,
  statusQuery,
  VERIFICATION_WORKFLOW_TYPE,
  verificationScheduleId,
  verificationWorkflowIdPrefix,
  type MigrationPlan,
  type VerificationInput,
  type VerificationSummary,
  type WriteMode,
} from '../../workflows/api.js';
import { authoritativeSide } from '../../shared/switches.js';
import { collect } from '../arguments.js';
import {
  action,
  withCommonOptions,
  type ActionResult,
  type CommandContext,
  type CommonOptions,
  type Runtime,
} from '../common.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { verificationText } from '../render/status-view.js';
import { resolveMigration } from '../target.js';

interface VerifyOptions extends CommonOptions {
  table?: string[];
  repair?: boolean;
  oneOff?: boolean;
  wait?: boolean;
}

/** The one-off verification's input: the plan's tables (or the named ones), never credentials. */
export function verificationInput(
  plan: MigrationPlan,
  writeMode: WriteMode,
  options: { tables?: string[]; repair?: boolean; notifyWorkflowId?: string },
): VerificationInput {
  let tables = plan.tables;
  if (options.tables?.length) {
    const known = new Set(plan.tables.map((t) => t.name));
    const unknown = options.tables.filter((t) => !known.has(t));
    if (unknown.length) {
      throw new CliError(
        ExitCode.Usage,
        `unknown table${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; the plan has ${[...known].join(', ')}`,
      );
    }
    tables = plan.tables.filter((t) => options.tables?.includes(t.name));
  }
  return {
    migrationId: plan.id,
    source: plan.source,
    target: plan.target,
    tables,
    authoritative: authoritativeSide(writeMode),
    repair: Boolean(options.repair),
    ...(options.notifyWorkflowId ? { notifyWorkflowId: options.notifyWorkflowId } : {}),
  };
}

function isSummary(value: unknown): value is VerificationSummary {
  return typeof value === 'object' && value !== null && 'totalMismatches' in value && 'tables' in value;
}

async function verify(ctx: CommandContext, idArg: string | undefined): Promise<void> {
  const options = ctx.options as VerifyOptions;
  const target = await resolveMigration(ctx, idArg);
  const session = await ctx.session();
  const oneOff = options.oneOff || options.repair || Boolean(options.table?.length) || options.wait;

  if (!oneOff) {
    const scheduleId = verificationScheduleId(target.migrationId);
    try {
      await session.client.schedule.getHandle(scheduleId).trigger();
      ctx.out.result(
        { ok: true, migrationId: target.migrationId, triggered: scheduleId },
        () =>
          `triggered verification schedule ${scheduleId} now; results show in \`migrate status ${target.migrationId}\``,
      );
      return;
    } catch (err) {
      const { ScheduleNotFoundError } = await import('@temporalio/client');
      if (!(err instanceof ScheduleNotFoundError)) throw err;
      // No schedule (yet, or any more): run a one-off verification instead.
    }
  }

  const [plan, status] = await session.withDeadline(() =>
    Promise.all([target.handle.query(planQuery), target.handle.query(statusQuery)]),
  );
  const input = verificationInput(plan, status.switches.writeMode, {
    tables: options.table,
    repair: options.repair,
    notifyWorkflowId: target.description.status.name === 'RUNNING' ? target.workflowId : undefined,
  });
  const workflowId = `${verificationWorkflowIdPrefix(target.migrationId)}-cli-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  const handle = await session.client.workflow.start(VERIFICATION_WORKFLOW_TYPE, {
    workflowId,
    taskQueue: target.description.taskQueue,
    args: [input],
    memo: { startedBy: options.by ?? null, reason: options.reason ?? null },
  });
  const started = {
    ok: true,
    migrationId: target.migrationId,
    workflowId,
    runId: handle.firstExecutionRunId,
    tables: input.tables.map((t) => t.name),
    authoritative: input.authoritative,
    repair: input.repair,
  };
  if (!options.wait) {
    ctx.out.result(
      started,
      () =>
        `started verification ${workflowId} of ${started.tables.join(', ')} (${input.authoritative} authoritative, ${input.repair ? 'repairing' : 'report only'})`,
    );
    return;
  }
  const outcome: unknown = await handle.result();
  ctx.out.result({ ...started, result: outcome }, () =>
    isSummary(outcome)
      ? verificationText(outcome)
      : `verification ${workflowId} completed: ${JSON.stringify(outcome)}`,
  );
}

export function registerVerifyCommand(program: Command, runtime: Runtime, result: ActionResult): void {
  withCommonOptions(
    program
      .command('verify [ID]')
      .description(
        'trigger the verification schedule now, or run a one-off verification (--table, --repair, --one-off)',
      )
      .addOption(
        new Option('--table <name>', 'verify only this table (repeatable, or comma-separated)').argParser(
          collect,
        ),
      )
      .addOption(new Option('--repair', 'repair what differs from the authoritative side (one-off)'))
      .addOption(new Option('--one-off', 'start a separate verification workflow even if a schedule exists'))
      .addOption(new Option('--wait', 'wait for the one-off verification and print its result')),
    runtime,
  ).action(
    action(runtime, result, async (ctx, id: string | undefined) => {
      await verify(ctx, id);
    }),
  );
}
