/**
 * Activity tasks: scheduling, dispatch, heartbeats, completion (by token or id), retries with
 * backoff and the four timeouts. Only the final outcome of an activity is written to history
 * (ActivityTaskStarted is written together with it, carrying the last attempt), as the official
 * server does.
 */
import { randomUUID } from 'node:crypto';
import { notFound } from './errors.js';
import type { Engine } from './engine.js';
import { PENDING_REF, appendEvent, recordExternal } from './history.js';
import { EventType, api, dur, durMs, ts, type Failure, type Payloads, type temporal } from './proto.js';
import { decideRetry, fillRetryPolicy, timeoutName, type RetryDecision } from './retry.js';
import { execKey, type ActivityState, type ExecutionState } from './state.js';
import { encodeToken, type ActivityTaskToken } from './tokens.js';

const E = api.enums.v1;
export interface ActivityTaskRef {
  key: string;
  scheduledEventId: number;
  seq: number;
}

type ScheduleAttrs = temporal.api.command.v1.IScheduleActivityTaskCommandAttributes;
type PollActResponse = temporal.api.workflowservice.v1.IPollActivityTaskQueueResponse;

const findActivity = (exec: ExecutionState, scheduledEventId: number) =>
  exec.activities.find((a) => a.scheduledEventId === scheduledEventId);
const akey = (engine: Engine, exec: ExecutionState, a: ActivityState) =>
  `${engine.keyOf(exec)}|act|${a.scheduledEventId}|`;

/** ScheduleActivityTask command. */
export function scheduleActivity(
  engine: Engine,
  exec: ExecutionState,
  attrs: ScheduleAttrs,
  completedEventId: number,
): void {
  let s2c = durMs(attrs.scheduleToCloseTimeout);
  let stc = durMs(attrs.startToCloseTimeout);
  if (!stc) stc = s2c;
  if (!s2c && exec.runTimeoutMs) s2c = exec.runTimeoutMs;
  const s2s = durMs(attrs.scheduleToStartTimeout);
  const retryPolicy = fillRetryPolicy(attrs.retryPolicy);
  const taskQueue = attrs.taskQueue?.name || exec.taskQueue;
  const id = appendEvent(
    exec,
    EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
    'activityTaskScheduledEventAttributes',
    {
      activityId: attrs.activityId,
      activityType: attrs.activityType,
      taskQueue: { name: taskQueue, kind: E.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
      header: attrs.header,
      input: attrs.input,
      scheduleToCloseTimeout: s2c ? dur(s2c) : undefined,
      scheduleToStartTimeout: s2s ? dur(s2s) : undefined,
      startToCloseTimeout: dur(stc),
      heartbeatTimeout: attrs.heartbeatTimeout,
      workflowTaskCompletedEventId: completedEventId,
      retryPolicy,
      priority: attrs.priority,
    },
  );
  const act = activityFromScheduled(
    id,
    exec.history[id - 1]!.activityTaskScheduledEventAttributes!,
    Date.now(),
  );
  exec.activities.push(act);
  armActivity(engine, exec, act);
  enqueue(engine, exec, act);
}

/** A fresh first attempt of the activity an ActivityTaskScheduled event describes (timeouts as written there). */
export function activityFromScheduled(
  scheduledEventId: number,
  a: temporal.api.history.v1.IActivityTaskScheduledEventAttributes,
  now: number,
): ActivityState {
  return {
    scheduledEventId,
    activityId: a.activityId ?? '',
    activityType: a.activityType?.name ?? '',
    taskQueue: a.taskQueue?.name ?? '',
    input: a.input,
    header: a.header,
    scheduleToCloseMs: durMs(a.scheduleToCloseTimeout),
    scheduleToStartMs: durMs(a.scheduleToStartTimeout),
    startToCloseMs: durMs(a.startToCloseTimeout),
    heartbeatMs: durMs(a.heartbeatTimeout),
    retryPolicy: fillRetryPolicy(a.retryPolicy),
    scheduledTime: now,
    attempt: 1,
    attemptScheduledTime: now,
    state: 'scheduled',
    cancelRequested: false,
    seq: 1,
  };
}

function enqueue(engine: Engine, exec: ExecutionState, act: ActivityState): void {
  engine.actMatching.add(exec.namespace, act.taskQueue, 'activity', {
    key: engine.keyOf(exec),
    scheduledEventId: act.scheduledEventId,
    seq: act.seq,
  });
}

/** (Re)arms the deadlines that apply to the activity's current state. */
export function armActivity(engine: Engine, exec: ExecutionState, act: ActivityState): void {
  const k = akey(engine, exec, act);
  engine.deadlines.clearPrefix(k);
  const seq = act.seq;
  const guard = (fn: () => void) => () => {
    const cur = findActivity(exec, act.scheduledEventId);
    if (cur && cur.seq === seq && engine.isRunning(exec)) fn();
  };
  if (act.scheduleToCloseMs) {
    engine.deadlines.set(
      `${k}s2c`,
      act.scheduledTime + act.scheduleToCloseMs,
      guard(() => timeoutActivity(engine, exec, act, E.TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE)),
    );
  }
  if (act.state === 'scheduled' && act.scheduleToStartMs) {
    engine.deadlines.set(
      `${k}s2s`,
      act.attemptScheduledTime + act.scheduleToStartMs,
      guard(() => timeoutActivity(engine, exec, act, E.TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START)),
    );
  }
  if (act.state === 'backoff' && act.backoffUntil) {
    engine.deadlines.set(
      `${k}retry`,
      act.backoffUntil,
      guard(() => {
        act.state = 'scheduled';
        act.backoffUntil = undefined;
        act.attemptScheduledTime = Date.now();
        armActivity(engine, exec, act);
        enqueue(engine, exec, act);
        engine.onChange(exec);
      }),
    );
  }
  if (act.state === 'started' && act.startedTime) {
    engine.deadlines.set(
      `${k}stc`,
      act.startedTime + act.startToCloseMs,
      guard(() => timeoutActivity(engine, exec, act, E.TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE)),
    );
    if (act.heartbeatMs) {
      engine.deadlines.set(
        `${k}hb`,
        (act.lastHeartbeatTime ?? act.startedTime) + act.heartbeatMs,
        guard(() => timeoutActivity(engine, exec, act, E.TimeoutType.TIMEOUT_TYPE_HEARTBEAT)),
      );
    }
  }
}

/** Re-dispatches activities after a restore. */
export function rearmActivities(engine: Engine, exec: ExecutionState): void {
  for (const act of exec.activities) {
    armActivity(engine, exec, act);
    if (act.state === 'scheduled') enqueue(engine, exec, act);
  }
}

export function startActivityTask(
  engine: Engine,
  ref: ActivityTaskRef,
  identity: string,
): PollActResponse | null {
  const exec = engine.executions.get(ref.key);
  if (!exec || !engine.isRunning(exec)) return null;
  const act = findActivity(exec, ref.scheduledEventId);
  if (!act || act.seq !== ref.seq || act.state !== 'scheduled') return null;
  const now = Date.now();
  act.state = 'started';
  act.startedTime = now;
  act.startedIdentity = identity;
  act.requestId = randomUUID();
  act.lastHeartbeatTime = undefined;
  armActivity(engine, exec, act);
  engine.onChange(exec);
  const token: ActivityTaskToken = {
    k: 'act',
    ns: exec.namespace,
    wid: exec.workflowId,
    rid: exec.runId,
    sched: act.scheduledEventId,
    seq: act.seq,
    aid: act.activityId,
  };
  const s2cLeft = act.scheduleToCloseMs ? act.scheduledTime + act.scheduleToCloseMs - now : 0;
  const stc = s2cLeft > 0 ? Math.min(act.startToCloseMs, s2cLeft) : act.startToCloseMs;
  return {
    taskToken: encodeToken(token),
    workflowNamespace: exec.namespace,
    workflowType: { name: exec.workflowType },
    workflowExecution: { workflowId: exec.workflowId, runId: exec.runId },
    activityType: { name: act.activityType },
    activityId: act.activityId,
    header: act.header,
    input: act.input,
    heartbeatDetails: act.heartbeatDetails,
    scheduledTime: ts(act.scheduledTime),
    currentAttemptScheduledTime: ts(act.attemptScheduledTime),
    startedTime: ts(now),
    attempt: act.attempt,
    scheduleToCloseTimeout: dur(act.scheduleToCloseMs),
    startToCloseTimeout: dur(stc),
    heartbeatTimeout: dur(act.heartbeatMs),
    retryPolicy: act.retryPolicy,
  };
}

/** Resolves a token (or an activity id) to a started activity; throws NOT_FOUND otherwise. */
export function findStarted(
  engine: Engine,
  by:
    | { token: ActivityTaskToken }
    | { ns: string; workflowId: string; runId?: string | null; activityId: string },
): { exec: ExecutionState; act: ActivityState } {
  let exec: ExecutionState | undefined;
  let act: ActivityState | undefined;
  if ('token' in by) {
    const t = by.token;
    exec = engine.executions.get(execKey(t.ns, t.wid, t.rid));
    act = exec ? findActivity(exec, t.sched) : undefined;
    if (act && act.seq !== t.seq) act = undefined;
  } else {
    try {
      exec = engine.get(by.ns, by.workflowId, by.runId);
    } catch {
      exec = undefined;
    }
    act = exec?.activities.find((a) => a.activityId === by.activityId);
  }
  if (!exec || !engine.isRunning(exec) || !act || act.state !== 'started') {
    throw notFound('activity task not found');
  }
  return { exec, act };
}

function remove(engine: Engine, exec: ExecutionState, act: ActivityState): void {
  exec.activities = exec.activities.filter((a) => a !== act);
  engine.deadlines.clearPrefix(akey(engine, exec, act));
}

function recordStarted(exec: ExecutionState, act: ActivityState): number {
  if (act.state !== 'started') return 0;
  recordExternal(exec, EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED, 'activityTaskStartedEventAttributes', {
    scheduledEventId: act.scheduledEventId,
    identity: act.startedIdentity ?? '',
    requestId: act.requestId ?? '',
    attempt: act.attempt,
    lastFailure: act.lastFailure,
  });
  return PENDING_REF;
}

export function heartbeat(
  engine: Engine,
  exec: ExecutionState,
  act: ActivityState,
  details: Payloads | null | undefined,
): { cancelRequested: boolean } {
  if (details) act.heartbeatDetails = details;
  act.lastHeartbeatTime = Date.now();
  armActivity(engine, exec, act);
  engine.onChange(exec);
  return { cancelRequested: act.cancelRequested };
}

export function completeActivity(
  engine: Engine,
  exec: ExecutionState,
  act: ActivityState,
  result: Payloads | null | undefined,
  identity: string,
): void {
  remove(engine, exec, act);
  const started = recordStarted(exec, act);
  recordExternal(exec, EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, 'activityTaskCompletedEventAttributes', {
    result,
    scheduledEventId: act.scheduledEventId,
    startedEventId: started,
    identity,
  });
  engine.scheduleWft(exec);
  engine.changed(exec);
}

export function cancelActivityCompleted(
  engine: Engine,
  exec: ExecutionState,
  act: ActivityState,
  details: Payloads | null | undefined,
  identity: string,
): void {
  remove(engine, exec, act);
  const started = recordStarted(exec, act);
  recordExternal(exec, EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED, 'activityTaskCanceledEventAttributes', {
    details,
    latestCancelRequestedEventId: act.cancelRequestedEventId ?? 0,
    scheduledEventId: act.scheduledEventId,
    startedEventId: started,
    identity,
  });
  engine.scheduleWft(exec);
  engine.changed(exec);
}

/** Decides whether another attempt runs; returns the retry state to record when it does not. */
function retryDecision(act: ActivityState, failure: Failure | null | undefined): RetryDecision {
  if (act.cancelRequested)
    return { retry: false, delayMs: 0, state: E.RetryState.RETRY_STATE_CANCEL_REQUESTED };
  return decideRetry(
    act.retryPolicy,
    act.attempt,
    failure,
    act.scheduleToCloseMs ? act.scheduledTime + act.scheduleToCloseMs : undefined,
  );
}

function scheduleRetry(
  engine: Engine,
  exec: ExecutionState,
  act: ActivityState,
  delayMs: number,
  failure: Failure | null | undefined,
): void {
  act.lastFailure = failure;
  act.attempt += 1;
  act.seq += 1;
  act.state = 'backoff';
  act.startedTime = undefined;
  act.backoffUntil = Date.now() + delayMs;
  engine.log.debug(
    `activity ${act.activityId} of ${exec.workflowId} retries in ${delayMs}ms (attempt ${act.attempt})`,
  );
  armActivity(engine, exec, act);
  engine.onChange(exec);
}

export function failActivity(
  engine: Engine,
  exec: ExecutionState,
  act: ActivityState,
  failure: Failure | null | undefined,
  lastHeartbeatDetails: Payloads | null | undefined,
  identity: string,
): void {
  if (lastHeartbeatDetails) act.heartbeatDetails = lastHeartbeatDetails;
  const d = retryDecision(act, failure);
  if (d.retry) {
    scheduleRetry(engine, exec, act, d.delayMs, failure);
    return;
  }
  remove(engine, exec, act);
  const started = recordStarted(exec, act);
  recordExternal(exec, EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED, 'activityTaskFailedEventAttributes', {
    failure,
    scheduledEventId: act.scheduledEventId,
    startedEventId: started,
    identity,
    retryState: d.state,
  });
  engine.scheduleWft(exec);
  engine.changed(exec);
}

function timeoutActivity(
  engine: Engine,
  exec: ExecutionState,
  act: ActivityState,
  timeoutType: number,
): void {
  const failure: Failure = {
    message: `activity ${timeoutName(timeoutType)} timeout`,
    source: 'Server',
    timeoutFailureInfo: { timeoutType, lastHeartbeatDetails: act.heartbeatDetails },
  };
  engine.log.info(
    `activity ${act.activityId} of ${exec.workflowId} timed out (${timeoutName(timeoutType)}, attempt ${act.attempt})`,
  );
  const retryable =
    timeoutType === E.TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE ||
    timeoutType === E.TimeoutType.TIMEOUT_TYPE_HEARTBEAT;
  const d = retryable
    ? retryDecision(act, failure)
    : { retry: false, delayMs: 0, state: E.RetryState.RETRY_STATE_TIMEOUT };
  if (d.retry) {
    scheduleRetry(engine, exec, act, d.delayMs, failure);
    return;
  }
  remove(engine, exec, act);
  const started = recordStarted(exec, act);
  recordExternal(exec, EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT, 'activityTaskTimedOutEventAttributes', {
    failure: retryable || act.lastFailure ? { ...failure, cause: act.lastFailure ?? undefined } : failure,
    scheduledEventId: act.scheduledEventId,
    startedEventId: started,
    retryState: d.state,
  });
  engine.scheduleWft(exec);
  engine.changed(exec);
}

/**
 * RequestCancelActivityTask command. Returns true when a new workflow task is needed. When the
 * activity's outcome arrived while the task ran (still buffered), the request is recorded anyway
 * and the outcome follows it, as on the official server.
 */
export function requestCancelActivity(
  engine: Engine,
  exec: ExecutionState,
  scheduledEventId: number,
  completedEventId: number,
): boolean {
  const act = findActivity(exec, scheduledEventId);
  const reqId = appendEvent(
    exec,
    EventType.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED,
    'activityTaskCancelRequestedEventAttributes',
    {
      scheduledEventId,
      workflowTaskCompletedEventId: completedEventId,
    },
  );
  if (!act) return false;
  act.cancelRequestedEventId = reqId;
  if (act.state !== 'started') {
    remove(engine, exec, act);
    appendEvent(exec, EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED, 'activityTaskCanceledEventAttributes', {
      latestCancelRequestedEventId: reqId,
      scheduledEventId,
      startedEventId: 0,
      identity: '',
    });
    return true;
  }
  act.cancelRequested = true;
  return false;
}

export function describePendingActivities(
  exec: ExecutionState,
): temporal.api.workflow.v1.IPendingActivityInfo[] {
  return exec.activities.map((a) => ({
    activityId: a.activityId,
    activityType: { name: a.activityType },
    state: a.cancelRequested
      ? E.PendingActivityState.PENDING_ACTIVITY_STATE_CANCEL_REQUESTED
      : a.state === 'started'
        ? E.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
        : E.PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED,
    heartbeatDetails: a.heartbeatDetails,
    lastHeartbeatTime: a.lastHeartbeatTime ? ts(a.lastHeartbeatTime) : undefined,
    lastStartedTime: a.startedTime ? ts(a.startedTime) : undefined,
    attempt: a.attempt,
    maximumAttempts: a.retryPolicy.maximumAttempts ?? 0,
    scheduledTime: ts(a.attemptScheduledTime),
    expirationTime: a.scheduleToCloseMs ? ts(a.scheduledTime + a.scheduleToCloseMs) : undefined,
    lastFailure: a.lastFailure,
    lastWorkerIdentity: a.startedIdentity ?? '',
    nextAttemptScheduleTime: a.backoffUntil ? ts(a.backoffUntil) : undefined,
    activityOptions: { taskQueue: { name: a.taskQueue } },
  }));
}
