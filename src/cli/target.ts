import type { WorkflowExecutionDescription, WorkflowHandle } from '@temporalio/client';
import { MIGRATION_WORKFLOW_TYPE, migrationWorkflowId } from '../workflows/api.js';
import type { CommandContext } from './common.js';
import { CliError, ExitCode } from './exit-codes.js';

/** A migration the command is about, resolved to its workflow. */
export interface MigrationTarget {
  migrationId: string;
  workflowId: string;
  handle: WorkflowHandle;
  description: WorkflowExecutionDescription;
}

const WORKFLOW_PREFIX = migrationWorkflowId('');

/** Migration id from a workflow id (`migration-orders` -> `orders`). */
export function migrationIdOf(workflowId: string): string {
  return workflowId.startsWith(WORKFLOW_PREFIX) ? workflowId.slice(WORKFLOW_PREFIX.length) : workflowId;
}

/** Visibility query of migration workflows, optionally narrowed. */
export function migrationQuery(extra?: string): string {
  const base = `WorkflowType = '${MIGRATION_WORKFLOW_TYPE}'`;
  return extra ? `${base} AND ${extra}` : base;
}

async function describe(
  ctx: CommandContext,
  workflowId: string,
): Promise<{ handle: WorkflowHandle; description: WorkflowExecutionDescription } | undefined> {
  const session = await ctx.session();
  const handle = session.client.workflow.getHandle(workflowId);
  try {
    return { handle, description: await handle.describe() };
  } catch (err) {
    const { WorkflowNotFoundError } = await import('@temporalio/common');
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

/** The migration ids of running migration workflows. */
async function runningMigrations(ctx: CommandContext): Promise<string[]> {
  const session = await ctx.session();
  const ids: string[] = [];
  for await (const wf of session.client.workflow.list({
    query: migrationQuery(`ExecutionStatus = 'Running'`),
  })) {
    ids.push(migrationIdOf(wf.workflowId));
    if (ids.length > 50) break;
  }
  return ids;
}

/**
 * Resolves the ID argument: an explicit id (`orders`, or the workflow id `migration-orders`), else
 * $MIGRATION_ID, else the one running migration. No such workflow: exit 3; several candidates: exit 2.
 */
export async function resolveMigration(
  ctx: CommandContext,
  idArg: string | undefined,
): Promise<MigrationTarget> {
  let migrationId = idArg?.trim() || ctx.runtime.env.MIGRATION_ID?.trim();
  if (!migrationId) {
    const running = await runningMigrations(ctx);
    if (running.length === 0) {
      throw new CliError(
        ExitCode.NotFound,
        `no running migration in namespace ${ctx.settings.namespace}; name one: migrate <command> ID`,
      );
    }
    if (running.length > 1) {
      throw new CliError(
        ExitCode.Usage,
        `several migrations are running (${running.join(', ')}); name one: migrate <command> ID`,
        {
          running,
        },
      );
    }
    migrationId = running[0];
  }
  let workflowId = migrationWorkflowId(migrationId);
  ctx.errorContext.migrationId = migrationId;
  ctx.errorContext.workflowId = workflowId;
  let found = await describe(ctx, workflowId);
  if (!found && migrationId.startsWith(WORKFLOW_PREFIX)) {
    // The operator pasted the workflow id.
    workflowId = migrationId;
    migrationId = migrationIdOf(workflowId);
    found = await describe(ctx, workflowId);
    if (found) {
      ctx.errorContext.migrationId = migrationId;
      ctx.errorContext.workflowId = workflowId;
    }
  }
  if (!found) {
    throw new CliError(
      ExitCode.NotFound,
      `no migration "${migrationId}" (workflow ${migrationWorkflowId(migrationId)}) in namespace ${ctx.settings.namespace}; \`migrate list\` shows them`,
    );
  }
  ctx.errorContext.taskQueue = found.description.taskQueue;
  return { migrationId, workflowId, handle: found.handle, description: found.description };
}

/** Refuses commands to a closed migration with a clear reason (exit 1). */
export function requireRunning(target: MigrationTarget, what: string): void {
  const status = target.description.status.name;
  if (status !== 'RUNNING') {
    throw new CliError(
      ExitCode.Rejected,
      `rejected: migration "${target.migrationId}" is ${status}; cannot ${what} a closed migration`,
      {
        reason: `workflow is ${status}`,
      },
    );
  }
}
