/**
 * Names the workflow, its clients and the activities agree on: workflow types, task queue, ids, phases
 * and search attributes. Pure: importable from workflow code, activities, the CLI and scripts.
 */

export const MIGRATION_WORKFLOW_TYPE = 'migrationWorkflow';
export const VERIFICATION_WORKFLOW_TYPE = 'verificationWorkflow';
export const DEFAULT_TASK_QUEUE = 'migrations';

/** Workflow id of a migration: one workflow per migration id, several side by side. */
export function migrationWorkflowId(migrationId: string): string {
  return `migration-${migrationId}`;
}
/** Schedule id of a migration's periodic verification. */
export function verificationScheduleId(migrationId: string): string {
  return `migration-${migrationId}-verify`;
}
/** Workflow id prefix of the scheduled verification runs (the schedule appends a timestamp). */
export function verificationWorkflowIdPrefix(migrationId: string): string {
  return `migration-${migrationId}-verify`;
}

/** The procedure of DESIGN.md §2, in order, then DONE. */
export const PHASES = [
  'PRECHECK',
  'PREPARE_TARGET',
  'START_SYNC',
  'BULK_COPY',
  'CATCH_UP_VERIFY',
  'DUAL_WRITE_SOURCE_FIRST',
  'REPAIR_LOOP',
  'READ_SWITCH',
  'DUAL_WRITE_TARGET_FIRST',
  'TARGET_ONLY',
  'FINALIZE',
  'DONE',
] as const;
export type Phase = (typeof PHASES)[number];

/** Custom search attributes the worker registers if missing (name -> indexed value type). */
export const SEARCH_ATTRIBUTES = {
  MigrationPhase: 'Keyword',
  MigrationWriteMode: 'Keyword',
  MigrationReadPercent: 'Int',
  MigrationTables: 'KeywordList',
} as const satisfies Record<string, 'Keyword' | 'Int' | 'KeywordList'>;
