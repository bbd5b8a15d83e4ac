import type { Command } from 'commander';
import { statusQuery, type MigrationStatus } from '../../workflows/api.js';
import {
  action,
  withCommonOptions,
  type ActionResult,
  type CommandContext,
  type Runtime,
} from '../common.js';
import { parseWholeNumber } from '../arguments.js';
import { renderStatus, type ExecutionInfo } from '../render/status-view.js';
import { resolveMigration, type MigrationTarget } from '../target.js';

/** The JSON document of `migrate status --json`. */
export interface StatusDocument {
  migrationId: string;
  workflowId: string;
  execution: {
    status: string;
    runId: string;
    taskQueue: string;
    startTime: string;
    closeTime: string | null;
  };
  status: MigrationStatus;
}

export function executionInfo(target: MigrationTarget): ExecutionInfo {
  return {
    workflowId: target.workflowId,
    status: target.description.status.name,
    closeTime: target.description.closeTime?.toISOString() ?? null,
  };
}

/**
 * The migration's status: the `status` query (a worker must answer within MIGRATE_RPC_TIMEOUT), or,
 * for a completed workflow, the final status it returned (no worker needed).
 */
export async function queryStatus(ctx: CommandContext, target: MigrationTarget): Promise<MigrationStatus> {
  const session = await ctx.session();
  if (target.description.status.name === 'COMPLETED') {
    try {
      return (await session.withDeadline(() => target.handle.result())) as MigrationStatus;
    } catch {
      // Fall back to the query below.
    }
  }
  return session.withDeadline(() => target.handle.query(statusQuery));
}

export function statusDocument(target: MigrationTarget, status: MigrationStatus): StatusDocument {
  const d = target.description;
  return {
    migrationId: target.migrationId,
    workflowId: target.workflowId,
    execution: {
      status: d.status.name,
      runId: d.runId,
      taskQueue: d.taskQueue,
      startTime: d.startTime.toISOString(),
      closeTime: d.closeTime?.toISOString() ?? null,
    },
    status,
  };
}

export function registerStatusCommand(program: Command, runtime: Runtime, result: ActionResult): void {
  withCommonOptions(
    program
      .command('status [ID]')
      .description(
        'phase, gate, switches, copy progress, lag, repairs, verification, compensation stack, audit log',
      )
      .option('--audit <n>', 'audit entries shown (human view)', parseWholeNumber(0), 10),
    runtime,
  ).action(
    action(runtime, result, async (ctx, id: string | undefined) => {
      const target = await resolveMigration(ctx, id);
      const status = await queryStatus(ctx, target);
      const auditEntries = (ctx.options as { audit?: number }).audit;
      ctx.out.result(statusDocument(target, status), () =>
        renderStatus(status, executionInfo(target), { auditEntries }),
      );
    }),
  );
}
