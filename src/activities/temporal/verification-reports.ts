/**
 * Confirms a verification report against its run. A scheduled verification run signals its result to
 * the migration, but a signal can be sent by anyone; the migration counts a report only after this
 * activity read the run itself from the server: a `verificationWorkflow` whose id carries the
 * migration's prefix, started for this migration's source, target and tables, and completed. The
 * run's own result (not the signal's payload) is what the workflow then records.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { VERIFICATION_WORKFLOW_TYPE, verificationWorkflowIdPrefix } from '../../shared/workflow-names.js';
import type { VerificationInput } from '../contracts.js';

export interface ConfirmReportInput {
  /** The reporting run's workflow id (from the report's origin `scheduled:<id>`). */
  workflowId: string;
  migrationId: string;
  source: string;
  target: string;
  /** The plan's table names: a run must have verified these (a subset is reported as partial). */
  tables: string[];
  /** How long to wait for a run that reported but has not closed yet. */
  waitMs: number;
}

export type ConfirmReportResult =
  | { outcome: 'confirmed'; result: unknown; partial: boolean }
  | { outcome: 'rejected'; reason: string }
  | { outcome: 'pending' };

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function verificationReportActivities(client: Client) {
  return {
    async confirmVerificationReport(input: ConfirmReportInput): Promise<ConfirmReportResult> {
      const reject = (reason: string): ConfirmReportResult => ({ outcome: 'rejected', reason });
      if (!input.workflowId.startsWith(verificationWorkflowIdPrefix(input.migrationId)))
        return reject(`${input.workflowId} is not a verification run of migration ${input.migrationId}`);
      const handle = client.workflow.getHandle(input.workflowId);
      let description;
      try {
        description = await handle.describe();
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return reject(`no workflow ${input.workflowId}`);
        throw err;
      }
      if (description.type !== VERIFICATION_WORKFLOW_TYPE)
        return reject(`${input.workflowId} is a ${description.type}, not a ${VERIFICATION_WORKFLOW_TYPE}`);
      const history = await handle.fetchHistory();
      const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
      const payload = started?.input?.payloads?.[0];
      const runInput = payload ? defaultPayloadConverter.fromPayload<VerificationInput>(payload) : undefined;
      if (
        !runInput ||
        runInput.migrationId !== input.migrationId ||
        runInput.source !== input.source ||
        runInput.target !== input.target
      )
        return reject(`${input.workflowId} was not started for this migration's source and target`);
      const verified = new Set((runInput.tables ?? []).map((t) => t.name));
      if (![...verified].every((t) => input.tables.includes(t)))
        return reject(`${input.workflowId} verified tables outside the plan`);
      if (description.status.name === 'RUNNING') {
        // The run signals just before it returns: give it a moment to close.
        const timeout = new Promise<'pending'>((r) => setTimeout(() => r('pending'), input.waitMs).unref());
        const closed = await Promise.race([handle.result().then(() => 'closed' as const), timeout]);
        if (closed === 'pending') return { outcome: 'pending' };
      } else if (description.status.name !== 'COMPLETED') {
        return reject(`${input.workflowId} did not complete (${description.status.name})`);
      }
      const result: unknown = await handle.result();
      return { outcome: 'confirmed', result, partial: input.tables.some((t) => !verified.has(t)) };
    },
  };
}
