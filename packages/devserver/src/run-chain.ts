/**
 * What follows a closing run, as the official server decides: a retry under the workflow's retry
 * policy (after a failure or a run time-out, while the execution has not expired), else the next run
 * of its cron schedule; the closing run's close event then names the new run (`newExecutionRunId`)
 * and the new run starts after the backoff (its first workflow task is delayed).
 */
import type { Engine } from './engine.js';
import { api, type Failure, type Payloads } from './proto.js';
import { decideRetry } from './retry.js';
import { compileSpec } from './schedules/spec.js';
import type { ExecutionState } from './state.js';

const E = api.enums.v1;

export interface NextRun {
  initiator: number;
  delayMs: number;
  attempt: number;
}

/** Parses a workflow cron schedule; undefined when it is not valid. */
function cronSpec(cron: string): ReturnType<typeof compileSpec> | undefined {
  try {
    return compileSpec({ cronString: [cron] });
  } catch {
    return undefined;
  }
}

export function validCron(cron: string): boolean {
  return cronSpec(cron) !== undefined;
}

/**
 * Delay until the cron schedule's next time after `scheduledMs` that is not before `nowMs`, rounded
 * up to whole seconds (the official server's rule); undefined when the schedule has no next time.
 */
export function cronBackoffMs(cron: string, scheduledMs: number, nowMs: number): number | undefined {
  const spec = cronSpec(cron);
  if (!spec) return undefined;
  let next: number | undefined = scheduledMs;
  if (nowMs >= scheduledMs) {
    next = spec.next(scheduledMs);
    while (next !== undefined && next < nowMs) next = spec.next(next);
  }
  return next === undefined ? undefined : Math.ceil((next - nowMs) / 1000) * 1000;
}

function cronRun(exec: ExecutionState, now: number): NextRun | undefined {
  if (!exec.cronSchedule) return undefined;
  const delayMs = cronBackoffMs(exec.cronSchedule, exec.executionTime, now);
  return delayMs === undefined
    ? undefined
    : { initiator: E.ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_CRON_SCHEDULE, delayMs, attempt: 1 };
}

/** After a failure or a run time-out: the retry or cron run that follows (if any) and the retry state to record. */
export function afterFailure(
  exec: ExecutionState,
  failure: Failure,
  now = Date.now(),
): { next?: NextRun; retryState: number } {
  if (exec.executionDeadline !== undefined && now >= exec.executionDeadline) {
    return { retryState: E.RetryState.RETRY_STATE_TIMEOUT };
  }
  let retryState: number = E.RetryState.RETRY_STATE_RETRY_POLICY_NOT_SET;
  if (exec.retryPolicy) {
    const attempt = exec.attempt ?? 1;
    const d = decideRetry(exec.retryPolicy, attempt, failure, exec.executionDeadline, now);
    if (d.retry) {
      const initiator = E.ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_RETRY;
      return { next: { initiator, delayMs: d.delayMs, attempt: attempt + 1 }, retryState: d.state };
    }
    retryState = d.state;
  }
  return { next: cronRun(exec, now), retryState };
}

/** After a completion: the next cron run, if the run has a cron schedule. */
export function afterCompletion(exec: ExecutionState, now = Date.now()): NextRun | undefined {
  return cronRun(exec, now);
}

/** Starts the run that follows `exec` in its chain; returns its run id (also set on `exec`). */
export function startNextRun(
  engine: Engine,
  exec: ExecutionState,
  next: NextRun,
  carry: { failure?: Failure | null; lastCompletionResult?: Payloads | null },
): string {
  const started = exec.history[0]?.workflowExecutionStartedEventAttributes ?? {};
  const { runId } = engine.startWorkflow(
    {
      namespace: exec.namespace,
      workflowId: exec.workflowId,
      workflowType: { name: exec.workflowType },
      taskQueue: { name: exec.taskQueue },
      input: started.input,
      header: started.header,
      workflowRunTimeout: started.workflowRunTimeout,
      workflowTaskTimeout: started.workflowTaskTimeout,
      retryPolicy: exec.retryPolicy,
      cronSchedule: exec.cronSchedule,
      memo: started.memo,
      searchAttributes: started.searchAttributes,
      identity: '',
      priority: started.priority,
    },
    {
      continuedFrom: exec,
      parent: exec.parent,
      parentClosePolicy: exec.parentClosePolicy,
      initiator: next.initiator,
      attempt: next.attempt,
      firstWorkflowTaskBackoffMs: next.delayMs,
      continuedFailure: carry.failure,
      lastCompletionResult: carry.lastCompletionResult,
    },
  );
  exec.newExecutionRunId = runId;
  return runId;
}
