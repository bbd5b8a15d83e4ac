/** Visibility: execution info for Describe/List and List/Count/Scan through the query compiler. */
import type { Engine } from './engine.js';
import { historySizeBytes } from './history.js';
import { invalidArgument } from './errors.js';
import { api, dur, i64, ts, type Payload, type temporal } from './proto.js';
import { payloadValue } from './search-attributes.js';
import type { ExecutionState } from './state.js';
import { compileListQuery, type VisibilityRecord } from './visibility/index.js';

const E = api.enums.v1;

export function visibilityRecord(exec: ExecutionState): VisibilityRecord {
  const sa: Record<string, unknown> = {};
  for (const [k, p] of Object.entries(exec.searchAttributes)) sa[k] = payloadValue(p);
  sa.HistoryLength = exec.history.length;
  sa.HistorySizeBytes = historySizeBytes(exec);
  sa.StateTransitionCount = exec.history.length;
  if (exec.parent) {
    sa.ParentWorkflowId = exec.parent.workflowId;
    sa.ParentRunId = exec.parent.runId;
  }
  if (exec.closeTime) sa.ExecutionDuration = (exec.closeTime - exec.executionTime) * 1_000_000;
  return {
    namespace: exec.namespace,
    workflowId: exec.workflowId,
    runId: exec.runId,
    workflowType: exec.workflowType,
    status: exec.status,
    startTime: new Date(exec.startTime),
    closeTime: exec.closeTime ? new Date(exec.closeTime) : undefined,
    executionTime: new Date(exec.executionTime),
    taskQueue: exec.taskQueue,
    searchAttributes: sa,
  };
}

export function executionInfo(
  engine: Engine,
  exec: ExecutionState,
): temporal.api.workflow.v1.IWorkflowExecutionInfo {
  const started = exec.history[0]?.workflowExecutionStartedEventAttributes;
  return {
    execution: { workflowId: exec.workflowId, runId: exec.runId },
    type: { name: exec.workflowType },
    startTime: ts(exec.startTime),
    closeTime: exec.closeTime ? ts(exec.closeTime) : undefined,
    status: exec.status,
    historyLength: i64(exec.history.length),
    parentNamespaceId: exec.parent ? engine.namespaces.get(exec.parent.namespace).id : '',
    parentExecution: exec.parent
      ? { workflowId: exec.parent.workflowId, runId: exec.parent.runId }
      : undefined,
    executionTime: ts(exec.executionTime),
    memo: { fields: exec.memo },
    searchAttributes: {
      indexedFields: engine.searchAttributes.stamp(
        exec.namespace,
        exec.searchAttributes as Record<string, Payload>,
      ),
    },
    taskQueue: exec.taskQueue,
    stateTransitionCount: i64(exec.history.length),
    historySizeBytes: i64(historySizeBytes(exec)),
    rootExecution: started?.rootWorkflowExecution ?? { workflowId: exec.workflowId, runId: exec.runId },
    firstRunId: exec.firstRunId,
    executionDuration: exec.closeTime ? dur(exec.closeTime - exec.executionTime) : undefined,
  };
}

/** Compiles a visibility query against a namespace's search attributes (INVALID_ARGUMENT when it does not parse). */
function compileQuery(engine: Engine, ns: string, query: string): ReturnType<typeof compileListQuery> {
  engine.namespaces.get(ns);
  try {
    return compileListQuery(query ?? '', engine.searchAttributes.customOf(ns));
  } catch (err) {
    if (err instanceof Error && err.name === 'InvalidArgument') throw invalidArgument(err.message);
    throw err;
  }
}

function matching(engine: Engine, ns: string, query: string): ExecutionState[] {
  const compiled = compileQuery(engine, ns, query);
  const rows: Array<{ exec: ExecutionState; rec: VisibilityRecord }> = [];
  for (const exec of engine.executions.values()) {
    if (exec.namespace !== ns) continue;
    const rec = visibilityRecord(exec);
    if (compiled.filter(rec)) rows.push({ exec, rec });
  }
  rows.sort((a, b) => compiled.compare(a.rec, b.rec));
  return rows.map((r) => r.exec);
}

export function listExecutions(
  engine: Engine,
  ns: string,
  query: string,
  pageSize: number,
  token: Uint8Array | null | undefined,
): { executions: temporal.api.workflow.v1.IWorkflowExecutionInfo[]; nextPageToken: Uint8Array } {
  const all = matching(engine, ns, query);
  const offset = token && token.length ? Number(Buffer.from(token).toString()) || 0 : 0;
  const size = pageSize > 0 ? pageSize : 1000;
  const page = all.slice(offset, offset + size);
  const next = offset + size < all.length ? Buffer.from(String(offset + size)) : Buffer.alloc(0);
  return { executions: page.map((e) => executionInfo(engine, e)), nextPageToken: next };
}

export function countExecutions(
  engine: Engine,
  ns: string,
  query: string,
): temporal.api.workflowservice.v1.ICountWorkflowExecutionsResponse {
  const compiled = compileQuery(engine, ns, query);
  const recs = [...engine.executions.values()]
    .filter((e) => e.namespace === ns)
    .map(visibilityRecord)
    .filter((r) => compiled.filter(r));
  if (!compiled.groupBy.length) return { count: i64(recs.length) };
  const groups = new Map<string, { values: Array<string | number | boolean | null>; count: number }>();
  for (const r of recs) {
    const values = compiled.groupValues(r);
    const k = JSON.stringify(values);
    const g = groups.get(k) ?? { values, count: 0 };
    g.count++;
    groups.set(k, g);
  }
  return {
    count: i64(recs.length),
    groups: [...groups.values()].map((g) => ({
      groupValues: g.values.map((v) => ({
        metadata: { encoding: Buffer.from('json/plain') },
        data: Buffer.from(JSON.stringify(v)),
      })),
      count: i64(g.count),
    })),
  };
}

export const statusEnum = E.WorkflowExecutionStatus;
