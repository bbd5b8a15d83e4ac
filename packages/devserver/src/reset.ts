/**
 * ResetWorkflowExecution, as the official server does it: a new run of the same workflow id whose
 * history is the base run's history up to the workflow task that finished at
 * `workflowTaskFinishEventId` (exclusive), that task then failed with cause RESET_WORKFLOW (naming
 * the base and the new run), the base run's later signals re-applied (unless excluded), and a new
 * workflow task. Timers and activities pending at the reset point are pending again (timers fire at
 * their original time; activities are scheduled anew); the current run, if running, is terminated.
 * A request id already used by the current run returns that run (a retried call).
 */
import { randomUUID } from 'node:crypto';
import { activityFromScheduled, rearmActivities } from './activities.js';
import { armTimer, upsertMemo } from './commands.js';
import type { Engine } from './engine.js';
import { invalidArgument } from './errors.js';
import { appendEvent } from './history.js';
import { EventType, api, durMs, num, tsMs, type HistoryEvent, type Payload, type temporal } from './proto.js';
import { mergeSearchAttributes } from './search-attributes.js';
import { WorkflowStatus, wfKey, type ActivityState, type ExecutionState, type TimerState } from './state.js';

const E = api.enums.v1;
type ResetRequest = temporal.api.workflowservice.v1.IResetWorkflowExecutionRequest;

/** The run's state after `events`: what was pending when the last of them was written. */
interface Rebuilt {
  timers: TimerState[];
  activities: ActivityState[];
  pendingChildren: number;
  memo: Record<string, Payload>;
  searchAttributes: Record<string, Payload>;
  cancelRequested: boolean;
  lastCompletedStartedEventId: number;
  /** The workflow task in flight at the reset point. */
  wft?: { scheduledEventId: number; startedEventId: number; attempt: number };
}

function rebuild(events: HistoryEvent[], now: number): Rebuilt {
  const started = events[0]?.workflowExecutionStartedEventAttributes ?? {};
  const r: Rebuilt = {
    timers: [],
    activities: [],
    pendingChildren: 0,
    memo: { ...((started.memo?.fields as Record<string, Payload> | undefined) ?? {}) },
    searchAttributes: {
      ...((started.searchAttributes?.indexedFields as Record<string, Payload> | undefined) ?? {}),
    },
    cancelRequested: false,
    lastCompletedStartedEventId: 0,
  };
  const children = new Set<number>();
  const dropActivity = (id: unknown) => {
    r.activities = r.activities.filter((a) => a.scheduledEventId !== num(id));
  };
  for (const ev of events) {
    const id = num(ev.eventId);
    if (ev.workflowTaskScheduledEventAttributes) {
      r.wft = {
        scheduledEventId: id,
        startedEventId: 0,
        attempt: ev.workflowTaskScheduledEventAttributes.attempt ?? 1,
      };
    } else if (ev.workflowTaskStartedEventAttributes && r.wft) {
      r.wft.startedEventId = id;
    } else if (ev.workflowTaskCompletedEventAttributes) {
      r.lastCompletedStartedEventId = num(ev.workflowTaskCompletedEventAttributes.startedEventId);
      r.wft = undefined;
    } else if (ev.workflowTaskFailedEventAttributes || ev.workflowTaskTimedOutEventAttributes) {
      r.wft = undefined;
    } else if (ev.timerStartedEventAttributes) {
      const a = ev.timerStartedEventAttributes;
      const at = tsMs(ev.eventTime) ?? now;
      r.timers.push({
        timerId: a.timerId ?? '',
        startedEventId: id,
        fireAt: at + durMs(a.startToFireTimeout),
      });
    } else if (ev.timerFiredEventAttributes || ev.timerCanceledEventAttributes) {
      const timerId = (ev.timerFiredEventAttributes ?? ev.timerCanceledEventAttributes)!.timerId;
      r.timers = r.timers.filter((t) => t.timerId !== timerId);
    } else if (ev.activityTaskScheduledEventAttributes) {
      // Scheduled anew at the reset, as the official server does for activities not started.
      r.activities.push(activityFromScheduled(id, ev.activityTaskScheduledEventAttributes, now));
    } else if (ev.activityTaskCancelRequestedEventAttributes) {
      const a = r.activities.find(
        (x) => x.scheduledEventId === num(ev.activityTaskCancelRequestedEventAttributes!.scheduledEventId),
      );
      if (a) {
        a.cancelRequested = true;
        a.cancelRequestedEventId = id;
      }
    } else if (ev.activityTaskCompletedEventAttributes)
      dropActivity(ev.activityTaskCompletedEventAttributes.scheduledEventId);
    else if (ev.activityTaskFailedEventAttributes)
      dropActivity(ev.activityTaskFailedEventAttributes.scheduledEventId);
    else if (ev.activityTaskTimedOutEventAttributes)
      dropActivity(ev.activityTaskTimedOutEventAttributes.scheduledEventId);
    else if (ev.activityTaskCanceledEventAttributes)
      dropActivity(ev.activityTaskCanceledEventAttributes.scheduledEventId);
    else if (ev.startChildWorkflowExecutionInitiatedEventAttributes) children.add(id);
    else if (ev.startChildWorkflowExecutionFailedEventAttributes)
      children.delete(num(ev.startChildWorkflowExecutionFailedEventAttributes.initiatedEventId));
    else if (
      ev.childWorkflowExecutionCompletedEventAttributes ||
      ev.childWorkflowExecutionFailedEventAttributes ||
      ev.childWorkflowExecutionCanceledEventAttributes ||
      ev.childWorkflowExecutionTimedOutEventAttributes ||
      ev.childWorkflowExecutionTerminatedEventAttributes
    ) {
      const a =
        ev.childWorkflowExecutionCompletedEventAttributes ??
        ev.childWorkflowExecutionFailedEventAttributes ??
        ev.childWorkflowExecutionCanceledEventAttributes ??
        ev.childWorkflowExecutionTimedOutEventAttributes ??
        ev.childWorkflowExecutionTerminatedEventAttributes!;
      children.delete(num(a.initiatedEventId));
    } else if (ev.workflowExecutionCancelRequestedEventAttributes) r.cancelRequested = true;
    else if (ev.upsertWorkflowSearchAttributesEventAttributes) {
      mergeSearchAttributes(
        r.searchAttributes,
        ev.upsertWorkflowSearchAttributesEventAttributes.searchAttributes?.indexedFields as Record<
          string,
          Payload
        >,
      );
    } else if (ev.workflowPropertiesModifiedEventAttributes) {
      upsertMemo(r.memo, ev.workflowPropertiesModifiedEventAttributes.upsertedMemo?.fields);
    }
  }
  r.pendingChildren = children.size;
  return r;
}

/** Event types a reset re-applies from the base run, after the reapply type and exclusions. */
function reapplied(req: ResetRequest): Set<number> {
  const exclude = new Set<number>(req.resetReapplyExcludeTypes ?? []);
  if (req.resetReapplyType === E.ResetReapplyType.RESET_REAPPLY_TYPE_NONE) {
    exclude.add(E.ResetReapplyExcludeType.RESET_REAPPLY_EXCLUDE_TYPE_SIGNAL);
  }
  return exclude.has(E.ResetReapplyExcludeType.RESET_REAPPLY_EXCLUDE_TYPE_SIGNAL)
    ? new Set()
    : new Set([EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED]);
}

export function resetWorkflow(engine: Engine, req: ResetRequest): { runId: string } {
  const ns = req.namespace || 'default';
  const workflowId = req.workflowExecution?.workflowId ?? '';
  const base = engine.get(ns, workflowId, req.workflowExecution?.runId);
  const finishId = num(req.workflowTaskFinishEventId);
  if (finishId <= 1 || finishId > base.history.length) {
    throw invalidArgument('Workflow task finish ID must be > 1 && <= workflow last event ID.');
  }
  const requestId = req.requestId || randomUUID();
  const current = engine.get(ns, workflowId);
  if (current.requestIds.includes(requestId)) return { runId: current.runId };

  const now = Date.now();
  const kept = base.history.slice(0, finishId - 1);
  const r = rebuild(kept, now);
  if (!r.wft) {
    throw invalidArgument(
      `Can only reset workflow to event ID in range [WorkflowTaskScheduled +1, WorkflowTaskStarted + 1]: ${finishId}`,
    );
  }
  if (r.pendingChildren > 0) {
    throw invalidArgument(
      'WorkflowResetter encountered pending child workflows (not supported by the embedded server).',
    );
  }
  const reason = req.reason ?? '';
  if (engine.isRunning(current)) engine.terminate(current, reason, null, 'history-resetter');

  const runId = randomUUID();
  const exec: ExecutionState = {
    ...base,
    runId,
    status: WorkflowStatus.RUNNING,
    closeTime: undefined,
    requestIds: [requestId],
    signalRequestIds: [],
    memo: r.memo,
    searchAttributes: r.searchAttributes,
    runDeadline: base.runTimeoutMs ? now + base.runTimeoutMs : undefined,
    history: [...kept],
    historySize: undefined,
    historySizeEvents: undefined,
    lastCompletedStartedEventId: r.lastCompletedStartedEventId,
    wftAttempt: 1,
    wft: null,
    sticky: null,
    activities: r.activities,
    timers: r.timers,
    children: [],
    cancelRequested: r.cancelRequested,
    newExecutionRunId: undefined,
    buffered: [],
    wftPending: false,
    seq: 0,
    runSeq: ++engine.runSeq,
  };
  const identity = 'history-service';
  let startedEventId = r.wft.startedEventId;
  if (!startedEventId) {
    startedEventId = appendEvent(
      exec,
      EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
      'workflowTaskStartedEventAttributes',
      {
        scheduledEventId: r.wft.scheduledEventId,
        identity,
        requestId: randomUUID(),
      },
    );
  }
  appendEvent(exec, EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED, 'workflowTaskFailedEventAttributes', {
    scheduledEventId: r.wft.scheduledEventId,
    startedEventId,
    cause: E.WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW,
    failure: { message: reason, resetWorkflowFailureInfo: {} },
    identity,
    baseRunId: base.runId,
    newRunId: runId,
    forkEventVersion: 0,
  });
  const types = reapplied(req);
  for (const ev of base.history.slice(finishId - 1)) {
    const sig = ev.workflowExecutionSignaledEventAttributes;
    if (!sig || !types.has(ev.eventType as number)) continue;
    appendEvent(
      exec,
      EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
      'workflowExecutionSignaledEventAttributes',
      {
        signalName: sig.signalName,
        input: sig.input,
        identity: sig.identity,
        header: sig.header,
      },
    );
  }
  engine.executions.set(engine.keyOf(exec), exec);
  engine.current.set(wfKey(ns, workflowId), runId);
  engine.log.info(`reset workflow ${workflowId} run ${base.runId} at event ${finishId}: new run ${runId}`);
  engine.armRunTimeout(exec);
  for (const t of exec.timers) armTimer(engine, exec, t.timerId);
  rearmActivities(engine, exec);
  engine.scheduleWft(exec);
  engine.changed(exec);
  return { runId };
}
