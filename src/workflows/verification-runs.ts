/**
 * Verifications the migration runs itself (catch-up, before the target becomes authoritative, gap
 * repair on rollback) and the Temporal Schedule of periodic verification runs.
 */
import * as wf from '@temporalio/workflow';
import type { VerifyResult } from '../activities/contracts.js';
import {
  DEFAULT_TASK_QUEUE,
  verificationScheduleId,
  verificationWorkflowIdPrefix,
  type VerificationSummary,
} from './api.js';
import { nowIso, type MigrationContext } from './context.js';
import { tallyRepairs } from './health-readings.js';
import { summarise } from './summary.js';

export class VerificationRuns {
  constructor(private readonly ctx: MigrationContext) {}

  /** Verifies every table (and repairs, when asked) with `authoritative` as the reference. */
  async all(
    authoritative: 'source' | 'target',
    repair: boolean,
    origin: string,
    stream?: string,
  ): Promise<VerificationSummary> {
    const { ctx } = this;
    const startedAt = nowIso();
    const results: VerifyResult[] = [];
    for (const table of ctx.plan.tables) {
      ctx.doing(`verifying ${table.name} (${authoritative} authoritative${repair ? ', repairing' : ''})`);
      results.push(
        await ctx.long(
          'verifyTable',
          { source: ctx.plan.source, target: ctx.plan.target, table, authoritative, repair, stream },
          `verify ${table.name} (${origin})`,
        ),
      );
    }
    const summary = summarise(origin, authoritative, repair, startedAt, nowIso(), results);
    ctx.s.lastVerification = summary;
    tallyRepairs(ctx.s, 'verification', summary.totalRepaired);
    ctx.changed();
    return summary;
  }

  /** Creates (or re-points) the periodic verification schedule. Idempotent. */
  async upsertSchedule(authoritative: 'source' | 'target'): Promise<void> {
    const { ctx } = this;
    const p = ctx.plan;
    const info = wf.workflowInfo();
    const scheduleId = verificationScheduleId(p.id);
    ctx.doing(`creating verification schedule ${scheduleId} (every ${p.verification.intervalSeconds} s)`);
    await ctx.short(
      'createVerificationSchedule',
      {
        scheduleId,
        intervalSeconds: p.verification.intervalSeconds,
        taskQueue: info.taskQueue || DEFAULT_TASK_QUEUE,
        workflowIdPrefix: verificationWorkflowIdPrefix(p.id),
        input: {
          migrationId: p.id,
          source: p.source,
          target: p.target,
          tables: p.tables,
          authoritative,
          repair: p.verification.repair,
          notifyWorkflowId: info.workflowId,
        },
      },
      `verification schedule (${authoritative} authoritative)`,
    );
    ctx.s.verificationScheduleId = scheduleId;
    ctx.changed();
  }

  /**
   * Deletes the schedule. Idempotent. `always`: even when this run has not recorded creating it (a
   * compensation: the create may have reached the server before the step was interrupted).
   */
  async deleteSchedule(always = false): Promise<void> {
    const { ctx } = this;
    if (!always && !ctx.s.verificationScheduleId) return;
    await ctx.short(
      'deleteVerificationSchedule',
      { scheduleId: verificationScheduleId(ctx.plan.id) },
      'delete verification schedule',
    );
    ctx.s.verificationScheduleId = null;
    ctx.changed();
  }
}
