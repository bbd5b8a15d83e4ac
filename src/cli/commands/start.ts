import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { parsePlan, parsePlanDocument, PlanError } from '../../config/index.js';
import {
  DEFAULT_TASK_QUEUE,
  MIGRATION_WORKFLOW_TYPE,
  migrationWorkflowId,
  type MigrationInput,
  type MigrationPlan,
} from '../../workflows/api.js';
import { action, withCommonOptions, type ActionResult, type CommonOptions, type Runtime } from '../common.js';
import { CliError, ExitCode } from '../exit-codes.js';
import type { TemporalSettings } from '../settings.js';

interface StartOptions extends CommonOptions {
  plan: string;
  id?: string;
  taskQueue?: string;
  dryRun?: boolean;
}

/**
 * Reads and validates a plan file with the config module; `--id` overrides the plan's id before
 * validation. Every problem is a usage error (exit 2) listing each bad field.
 */
export function loadPlan(file: string, idOverride?: string): MigrationPlan {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(
      ExitCode.Usage,
      `cannot read plan file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  let raw: unknown;
  try {
    raw = parsePlanDocument(text, file);
  } catch (err) {
    if (err instanceof PlanError) throw new CliError(ExitCode.Usage, err.message);
    throw err;
  }
  if (idOverride !== undefined) {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      throw new CliError(ExitCode.Usage, `${file}: a plan is a mapping of fields (id, tables, ...)`);
    }
    raw = { ...(raw as Record<string, unknown>), id: idOverride };
  }
  try {
    return parsePlan(raw, file);
  } catch (err) {
    if (err instanceof PlanError) throw new CliError(ExitCode.Usage, err.message, { issues: err.issues });
    throw err;
  }
}

/** The `temporal` CLI line that shows the workflow, for operators without this CLI. */
export function describeLine(settings: TemporalSettings, workflowId: string): string {
  return `temporal workflow describe --workflow-id ${workflowId} --namespace ${settings.namespace} --address ${settings.address}`;
}

export function registerStartCommand(program: Command, runtime: Runtime, result: ActionResult): void {
  withCommonOptions(
    program
      .command('start')
      .description('validate a plan and start its migration workflow (migration-<id>)')
      .requiredOption('--plan <file>', 'plan file (YAML or JSON)')
      .option('--id <name>', "migration id (overrides the plan's id)")
      .addOption(
        new Option('--task-queue <name>', 'task queue of the workers')
          .env('TEMPORAL_TASK_QUEUE')
          .default(DEFAULT_TASK_QUEUE),
      )
      .option('--dry-run', 'validate and print the plan; start nothing'),
    runtime,
  ).action(
    action(runtime, result, async (ctx) => {
      const options = ctx.options as StartOptions;
      const plan = loadPlan(options.plan, options.id);
      const workflowId = migrationWorkflowId(plan.id);
      const taskQueue = options.taskQueue ?? DEFAULT_TASK_QUEUE;
      ctx.errorContext.migrationId = plan.id;
      ctx.errorContext.workflowId = workflowId;
      ctx.errorContext.taskQueue = taskQueue;
      if (options.dryRun) {
        ctx.out.result({ ok: true, dryRun: true, workflowId, taskQueue, plan }, () =>
          [
            `plan ${options.plan} is valid; would start ${workflowId} on task queue ${taskQueue}:`,
            JSON.stringify(plan, null, 2),
          ].join('\n'),
        );
        return;
      }
      const session = await ctx.session();
      const input: MigrationInput = { plan };
      const handle = await session.client.workflow.start(MIGRATION_WORKFLOW_TYPE, {
        workflowId,
        taskQueue,
        args: [input],
        memo: { startedBy: options.by ?? null, reason: options.reason ?? null },
      });
      const describe = describeLine(ctx.settings, workflowId);
      ctx.out.result(
        {
          ok: true,
          migrationId: plan.id,
          workflowId,
          runId: handle.firstExecutionRunId,
          taskQueue,
          describe,
        },
        () =>
          [
            `started migration ${plan.id}: workflow ${workflowId} (run ${handle.firstExecutionRunId}) on task queue ${taskQueue}`,
            `  ${describe}`,
            `  migrate watch ${plan.id}`,
          ].join('\n'),
      );
    }),
  );
}
