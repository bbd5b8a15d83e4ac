/**
 * Temporal-side activities: the migration's verification schedule (ScheduleClient over the worker's
 * client connection) and search-attribute registration.
 */
import { Client, ScheduleNotFoundError, ScheduleOverlapPolicy, type Connection } from '@temporalio/client';
import proto from '@temporalio/proto';

const { temporal } = proto;
type IndexedValueType = proto.temporal.api.enums.v1.IndexedValueType;
import { SEARCH_ATTRIBUTES, VERIFICATION_WORKFLOW_TYPE } from '../../shared/workflow-names.js';
import type { ScheduleActivityInput } from './types.js';

export function scheduleActivities(client: Client) {
  return {
    /** Creates the schedule, or updates its interval and input when it exists (idempotent). */
    async createVerificationSchedule(input: ScheduleActivityInput): Promise<{ scheduleId: string }> {
      const action = {
        type: 'startWorkflow' as const,
        workflowType: VERIFICATION_WORKFLOW_TYPE,
        workflowId: input.workflowIdPrefix,
        taskQueue: input.taskQueue,
        args: [input.input],
      };
      const spec = { intervals: [{ every: `${Math.max(1, Math.round(input.intervalSeconds))}s` }] };
      try {
        await client.schedule.create({
          scheduleId: input.scheduleId,
          spec,
          action,
          policies: { overlap: ScheduleOverlapPolicy.SKIP },
          memo: { migrationId: input.input.migrationId },
        });
      } catch (err) {
        if ((err as Error).name !== 'ScheduleAlreadyRunning') throw err;
        await client.schedule.getHandle(input.scheduleId).update((prev) => ({ ...prev, spec, action }));
      }
      return { scheduleId: input.scheduleId };
    },

    async deleteVerificationSchedule(input: { scheduleId: string }): Promise<void> {
      try {
        await client.schedule.getHandle(input.scheduleId).delete();
      } catch (err) {
        if (err instanceof ScheduleNotFoundError) return;
        const code = (err as { code?: number }).code;
        if (code === 5 /* NOT_FOUND */) return;
        throw err;
      }
    },
  };
}

const INDEXED: Record<string, IndexedValueType> = {
  Keyword: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  Int: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_INT,
  KeywordList: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
};

/** Registers the migration's custom search attributes on the namespace when missing. */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<string[]> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const have = new Set(Object.keys(existing.customAttributes ?? {}));
  const missing = Object.entries(SEARCH_ATTRIBUTES).filter(([name]) => !have.has(name));
  if (missing.length === 0) return [];
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(missing.map(([name, type]) => [name, INDEXED[type]])),
  });
  return missing.map(([name]) => name);
}
