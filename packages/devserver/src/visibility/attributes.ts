import protoPkg from '@temporalio/proto';

const { IndexedValueType, WorkflowExecutionStatus } = protoPkg.temporal.api.enums.v1;

export const TEXT = IndexedValueType.INDEXED_VALUE_TYPE_TEXT;
export const KEYWORD = IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;
export const INT = IndexedValueType.INDEXED_VALUE_TYPE_INT;
export const DOUBLE = IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE;
export const BOOL = IndexedValueType.INDEXED_VALUE_TYPE_BOOL;
export const DATETIME = IndexedValueType.INDEXED_VALUE_TYPE_DATETIME;
export const KEYWORD_LIST = IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST;

/** Type names as the official server prints them in error messages. */
export function typeName(t: number): string {
  switch (t) {
    case TEXT:
      return 'Text';
    case KEYWORD:
      return 'Keyword';
    case INT:
      return 'Int';
    case DOUBLE:
      return 'Double';
    case BOOL:
      return 'Bool';
    case DATETIME:
      return 'Datetime';
    case KEYWORD_LIST:
      return 'KeywordList';
    default:
      return 'Unspecified';
  }
}

/**
 * System attributes: stored as columns of the visibility record (or derived from it).
 * Those the VisibilityRecord has no field for are read from `searchAttributes[name]`
 * when the server supplies them there.
 */
export const SYSTEM_ATTRIBUTES: ReadonlyMap<string, number> = new Map([
  ['WorkflowId', KEYWORD],
  ['RunId', KEYWORD],
  ['WorkflowType', KEYWORD],
  ['StartTime', DATETIME],
  ['ExecutionTime', DATETIME],
  ['CloseTime', DATETIME],
  ['ExecutionStatus', KEYWORD],
  ['TaskQueue', KEYWORD],
  ['HistoryLength', INT],
  ['ExecutionDuration', INT],
  ['StateTransitionCount', INT],
  ['HistorySizeBytes', INT],
  ['ParentWorkflowId', KEYWORD],
  ['ParentRunId', KEYWORD],
  ['RootWorkflowId', KEYWORD],
  ['RootRunId', KEYWORD],
]);

/** Predefined attributes users may query; values live in the record's searchAttributes. */
export const PREDEFINED_ATTRIBUTES: ReadonlyMap<string, number> = new Map([
  ['TemporalChangeVersion', KEYWORD_LIST],
  ['BinaryChecksums', KEYWORD_LIST],
  ['BuildIds', KEYWORD_LIST],
  ['BatcherNamespace', KEYWORD],
  ['BatcherUser', KEYWORD],
  ['TemporalScheduledStartTime', DATETIME],
  ['TemporalScheduledById', KEYWORD],
  ['TemporalSchedulePaused', BOOL],
  ['TemporalNamespaceDivision', KEYWORD],
  ['TemporalPauseInfo', KEYWORD_LIST],
  ['TemporalReportedProblems', KEYWORD_LIST],
  ['TemporalWorkerDeploymentVersion', KEYWORD],
  ['TemporalWorkflowVersioningBehavior', KEYWORD],
  ['TemporalWorkerDeployment', KEYWORD],
  ['TemporalUsedWorkerDeploymentVersions', KEYWORD_LIST],
]);

export interface ResolvedAttribute {
  /** The name as written in the query (minus backticks). */
  alias: string;
  /** Canonical field name. */
  field: string;
  type: number;
  system: boolean;
}

/**
 * Resolves a query name the way the official converter does: a custom attribute first, then a
 * system/predefined one, then the aliases (`ScheduleId` -> WorkflowId, with/without the
 * `Temporal` prefix). Returns undefined when nothing matches.
 */
export function resolveAttribute(alias: string, custom: Map<string, number>): ResolvedAttribute | undefined {
  const customType = custom.get(alias);
  if (customType !== undefined && !SYSTEM_ATTRIBUTES.has(alias)) {
    return { alias, field: alias, type: customType, system: false };
  }
  const direct = lookupBuiltIn(alias);
  if (direct) return { alias, ...direct };
  let field: string;
  if (alias.replace(/^Temporal/, '') === 'ScheduleId') field = 'WorkflowId';
  else if (alias.startsWith('Temporal')) field = alias.slice('Temporal'.length);
  else field = `Temporal${alias}`;
  const viaAlias = lookupBuiltIn(field);
  if (viaAlias) return { alias, ...viaAlias };
  const customViaAlias = custom.get(field);
  if (customViaAlias !== undefined) return { alias, field, type: customViaAlias, system: false };
  return undefined;
}

function lookupBuiltIn(name: string): { field: string; type: number; system: boolean } | undefined {
  const sys = SYSTEM_ATTRIBUTES.get(name);
  if (sys !== undefined) return { field: name, type: sys, system: true };
  const pre = PREDEFINED_ATTRIBUTES.get(name);
  if (pre !== undefined) return { field: name, type: pre, system: false };
  return undefined;
}

const STATUS_PREFIX = 'WORKFLOW_EXECUTION_STATUS_';

function pascal(screaming: string): string {
  return screaming
    .toLowerCase()
    .split('_')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
}

const statusByName = new Map<string, number>();
const nameByStatus = new Map<number, string>();
for (const [key, value] of Object.entries(WorkflowExecutionStatus)) {
  if (typeof value !== 'number' || !key.startsWith(STATUS_PREFIX)) continue;
  const short = pascal(key.slice(STATUS_PREFIX.length));
  nameByStatus.set(value, short);
  statusByName.set(short.toLowerCase(), value);
  statusByName.set(key.toLowerCase(), value);
}

/** 'Running' / 'WORKFLOW_EXECUTION_STATUS_RUNNING' (any case) -> 1; undefined if unknown. */
export function parseExecutionStatus(name: string): number | undefined {
  return statusByName.get(name.toLowerCase());
}

/** 1 -> 'Running'. */
export function executionStatusName(status: number): string {
  return nameByStatus.get(status) ?? 'Unspecified';
}

export function isValidExecutionStatus(status: number): boolean {
  return nameByStatus.has(status);
}
