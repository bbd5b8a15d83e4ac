/**
 * RespondWorkflowTaskCompleted: records WorkflowTaskCompleted, then applies the commands (and the
 * protocol messages they reference) in order, as the official server does.
 */
import { requestCancelActivity, scheduleActivity } from './activities.js';
import { initiateChild, requestCancelExternal, signalExternal } from './children.js';
import type { Engine } from './engine.js';
import { appendEvent, recordExternal } from './history.js';
import { invalidArgument } from './errors.js';
import { afterCompletion, afterFailure, startNextRun } from './run-chain.js';
import { EventType, api, dur, durMs, num, type Payload, type temporal } from './proto.js';
import { WorkflowStatus, type ExecutionState } from './state.js';
import type { WorkflowTaskToken } from './tokens.js';

const E = api.enums.v1;
const C = E.CommandType;
type CompleteRequest = temporal.api.workflowservice.v1.IRespondWorkflowTaskCompletedRequest;
type Command = temporal.api.command.v1.ICommand;

const closeCommands = new Set<number>([
  C.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION,
  C.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION,
  C.COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION,
  C.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION,
]);

/** Why the server refuses a workflow task's commands, as the official server decides it. */
interface Refusal {
  cause: number;
  message: string;
}

/**
 * Checks the commands against the run before applying any (the official server discards a refused
 * task's commands): a close command while events the workflow has not seen are buffered is
 * UNHANDLED_COMMAND, except buffered TimerFired events of timers an earlier command cancels (those
 * are dropped, as the official server does); cancelling a timer or an activity the run does not
 * know is a bad command.
 */
function refusal(exec: ExecutionState, commands: Command[]): Refusal | undefined {
  let unseen = exec.buffered.length;
  const firesDropped = new Set<string>();
  for (const cmd of commands) {
    const type = cmd.commandType ?? 0;
    if (type === C.COMMAND_TYPE_CANCEL_TIMER) {
      const timerId = cmd.cancelTimerCommandAttributes?.timerId ?? '';
      if (exec.timers.some((t) => t.timerId === timerId)) continue;
      if (!firesDropped.has(timerId) && bufferedTimerFire(exec, timerId) >= 0) {
        firesDropped.add(timerId);
        unseen--;
        continue;
      }
      return {
        cause: E.WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_CANCEL_TIMER_ATTRIBUTES,
        message: `CancelTimer: no timer with id ${timerId}`,
      };
    }
    if (type === C.COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK) {
      const id = num(cmd.requestCancelActivityTaskCommandAttributes?.scheduledEventId);
      const act = exec.activities.find((a) => a.scheduledEventId === id);
      if (act ? !act.cancelRequested : hasBufferedActivityOutcome(exec, id)) continue;
      return {
        cause: E.WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_REQUEST_CANCEL_ACTIVITY_ATTRIBUTES,
        message: `RequestCancelActivityTask: no pending activity scheduled by event ${id}`,
      };
    }
    if (closeCommands.has(type) && unseen > 0) {
      return {
        cause: E.WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND,
        message: 'UnhandledCommand',
      };
    }
  }
  return undefined;
}

function bufferedTimerFire(exec: ExecutionState, timerId: string): number {
  return exec.buffered.findIndex((e) => e.timerFiredEventAttributes?.timerId === timerId);
}

const activityOutcomeKeys = [
  'activityTaskCompletedEventAttributes',
  'activityTaskFailedEventAttributes',
  'activityTaskTimedOutEventAttributes',
  'activityTaskCanceledEventAttributes',
] as const;

function hasBufferedActivityOutcome(exec: ExecutionState, scheduledEventId: number): boolean {
  return exec.buffered.some((e) =>
    activityOutcomeKeys.some((k) => e[k] && num(e[k]!.scheduledEventId) === scheduledEventId),
  );
}

export function completeWorkflowTask(engine: Engine, token: WorkflowTaskToken, req: CompleteRequest): void {
  const exec = engine.taskFor(token);
  const wft = exec.wft!;
  const identity = req.identity ?? '';
  const commands = req.commands ?? [];

  const refused = refusal(exec, commands);
  if (refused) {
    const unhandled =
      refused.cause === E.WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND;
    // A retried task that keeps sending bad commands is dropped: it times out and runs again.
    if (!unhandled && wft.attempt > 1) throw invalidArgument(refused.message);
    if (unhandled) engine.materializeTransient(exec);
    engine.interactions.onWorkflowTaskCompleted(exec, wft.seq, req.queryResults);
    engine.failWft(exec, refused.cause, { message: refused.message }, identity, { backoff: false });
    return;
  }
  engine.materializeTransient(exec);

  const completedId = appendEvent(
    exec,
    EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
    'workflowTaskCompletedEventAttributes',
    {
      scheduledEventId: wft.scheduledEventId,
      startedEventId: wft.startedEventId,
      identity,
      binaryChecksum: req.binaryChecksum ?? '',
      workerVersion: req.workerVersionStamp,
      sdkMetadata: req.sdkMetadata,
      meteringMetadata: req.meteringMetadata,
    },
  );
  exec.lastCompletedStartedEventId = wft.startedEventId;
  exec.wftAttempt = 1;
  // The task is done: commands below must not see it as in flight.
  exec.wft = null;
  engine.deadlines.clear(`${engine.keyOf(exec)}|wft`);
  const stickyName = req.stickyAttributes?.workerTaskQueue?.name;
  exec.sticky = stickyName
    ? { queue: stickyName, scheduleToStartMs: durMs(req.stickyAttributes?.scheduleToStartTimeout) || 5000 }
    : null;

  const messages = new Map((req.messages ?? []).map((m) => [m.id ?? '', m]));
  let needWft = !!req.forceCreateNewWorkflowTask;
  for (const cmd of commands) {
    if (!engine.isRunning(exec)) break;
    if (cmd.commandType === C.COMMAND_TYPE_PROTOCOL_MESSAGE) {
      const id = cmd.protocolMessageCommandAttributes?.messageId ?? '';
      const msg = messages.get(id);
      if (msg) {
        messages.delete(id);
        engine.interactions.handleMessage(exec, msg);
      }
      continue;
    }
    const first = exec.history.length;
    needWft = applyCommand(engine, exec, cmd, completedId, identity) || needWft;
    // The command's summary/details go on the event it produced (activity, timer, child, ...).
    if (cmd.userMetadata && exec.history.length > first) exec.history[first]!.userMetadata = cmd.userMetadata;
  }
  if (engine.isRunning(exec))
    for (const msg of messages.values()) engine.interactions.handleMessage(exec, msg);

  engine.interactions.onWorkflowTaskCompleted(exec, wft.seq, req.queryResults);
  engine.afterWorkflowTask(exec, needWft);
  engine.changed(exec);
}

/** Applies one command; returns true when it requires a new workflow task. */
function applyCommand(
  engine: Engine,
  exec: ExecutionState,
  cmd: Command,
  completedId: number,
  identity: string,
): boolean {
  switch (cmd.commandType) {
    case C.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK:
      scheduleActivity(engine, exec, cmd.scheduleActivityTaskCommandAttributes ?? {}, completedId);
      return false;
    case C.COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK:
      return requestCancelActivity(
        engine,
        exec,
        Number(cmd.requestCancelActivityTaskCommandAttributes?.scheduledEventId ?? 0),
        completedId,
      );
    case C.COMMAND_TYPE_START_TIMER: {
      const a = cmd.startTimerCommandAttributes ?? {};
      startTimer(engine, exec, a.timerId ?? '', durMs(a.startToFireTimeout), completedId);
      return false;
    }
    case C.COMMAND_TYPE_CANCEL_TIMER:
      cancelTimer(engine, exec, cmd.cancelTimerCommandAttributes?.timerId ?? '', completedId, identity);
      return false;
    case C.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION: {
      const result = cmd.completeWorkflowExecutionCommandAttributes?.result;
      const next = afterCompletion(exec);
      const newExecutionRunId = next
        ? startNextRun(engine, exec, next, { lastCompletionResult: result })
        : '';
      engine.closeExecution(
        exec,
        WorkflowStatus.COMPLETED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
        'workflowExecutionCompletedEventAttributes',
        { result, workflowTaskCompletedEventId: completedId, newExecutionRunId },
      );
      return false;
    }
    case C.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION: {
      const failure = cmd.failWorkflowExecutionCommandAttributes?.failure ?? {};
      const { next, retryState } = afterFailure(exec, failure);
      // A cron run after a failure carries the last successful result on; a retry does not.
      const lastCompletionResult =
        next?.initiator === E.ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_CRON_SCHEDULE
          ? exec.history[0]?.workflowExecutionStartedEventAttributes?.lastCompletionResult
          : undefined;
      const newExecutionRunId = next
        ? startNextRun(engine, exec, next, { failure, lastCompletionResult })
        : '';
      engine.closeExecution(
        exec,
        WorkflowStatus.FAILED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
        'workflowExecutionFailedEventAttributes',
        { failure, retryState, workflowTaskCompletedEventId: completedId, newExecutionRunId },
      );
      return false;
    }
    case C.COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION:
      engine.closeExecution(
        exec,
        WorkflowStatus.CANCELED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
        'workflowExecutionCanceledEventAttributes',
        {
          details: cmd.cancelWorkflowExecutionCommandAttributes?.details,
          workflowTaskCompletedEventId: completedId,
        },
      );
      return false;
    case C.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION:
      continueAsNew(
        engine,
        exec,
        cmd.continueAsNewWorkflowExecutionCommandAttributes ?? {},
        completedId,
        identity,
      );
      return false;
    case C.COMMAND_TYPE_RECORD_MARKER: {
      const a = cmd.recordMarkerCommandAttributes ?? {};
      appendEvent(exec, EventType.EVENT_TYPE_MARKER_RECORDED, 'markerRecordedEventAttributes', {
        markerName: a.markerName,
        details: a.details,
        workflowTaskCompletedEventId: completedId,
        header: a.header,
        failure: a.failure,
      });
      return false;
    }
    case C.COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: {
      const fields = (cmd.upsertWorkflowSearchAttributesCommandAttributes?.searchAttributes?.indexedFields ??
        {}) as Record<string, Payload>;
      appendEvent(
        exec,
        EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
        'upsertWorkflowSearchAttributesEventAttributes',
        {
          workflowTaskCompletedEventId: completedId,
          searchAttributes: { indexedFields: fields },
        },
      );
      engine.upsertSearchAttributes(exec, fields);
      return false;
    }
    case C.COMMAND_TYPE_MODIFY_WORKFLOW_PROPERTIES: {
      const memo = (cmd.modifyWorkflowPropertiesCommandAttributes?.upsertedMemo?.fields ?? {}) as Record<
        string,
        Payload
      >;
      appendEvent(
        exec,
        EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED,
        'workflowPropertiesModifiedEventAttributes',
        {
          workflowTaskCompletedEventId: completedId,
          upsertedMemo: { fields: memo },
        },
      );
      upsertMemo(exec.memo, memo);
      return false;
    }
    case C.COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION:
      initiateChild(
        engine,
        exec,
        cmd.startChildWorkflowExecutionCommandAttributes ?? {},
        completedId,
        cmd.userMetadata,
      );
      return false;
    case C.COMMAND_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION:
      requestCancelExternal(
        engine,
        exec,
        cmd.requestCancelExternalWorkflowExecutionCommandAttributes ?? {},
        completedId,
      );
      return false;
    case C.COMMAND_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION:
      signalExternal(engine, exec, cmd.signalExternalWorkflowExecutionCommandAttributes ?? {}, completedId);
      return false;
    default:
      engine.log.warn(`unsupported command type ${cmd.commandType} from ${exec.workflowId}; ignored`);
      return false;
  }
}

/**
 * CancelTimer command. A timer that already fired while the task ran has its TimerFired event still
 * buffered: the official server drops that event and records TimerCanceled, so the workflow's view
 * (it cancelled the timer) and history agree.
 */
function cancelTimer(
  engine: Engine,
  exec: ExecutionState,
  timerId: string,
  completedId: number,
  identity: string,
): void {
  let startedEventId: number;
  const t = exec.timers.find((x) => x.timerId === timerId);
  if (t) {
    exec.timers = exec.timers.filter((x) => x !== t);
    engine.deadlines.clear(`${engine.keyOf(exec)}|timer|${timerId}`);
    startedEventId = t.startedEventId;
  } else {
    const i = bufferedTimerFire(exec, timerId);
    if (i < 0) return;
    startedEventId = num(exec.buffered[i]!.timerFiredEventAttributes?.startedEventId);
    exec.buffered.splice(i, 1);
  }
  appendEvent(exec, EventType.EVENT_TYPE_TIMER_CANCELED, 'timerCanceledEventAttributes', {
    timerId,
    startedEventId,
    workflowTaskCompletedEventId: completedId,
    identity,
  });
}

/** Memo fields upserted by ModifyWorkflowProperties: an empty or null value removes the field. */
export function upsertMemo(
  memo: Record<string, Payload>,
  fields: Record<string, Payload> | null | undefined,
): void {
  for (const [k, v] of Object.entries(fields ?? {})) {
    if (!v.data || v.data.length === 0 || Buffer.from(v.data).toString() === 'null') delete memo[k];
    else memo[k] = v;
  }
}

export function startTimer(
  engine: Engine,
  exec: ExecutionState,
  timerId: string,
  ms: number,
  completedId: number,
): void {
  const startedEventId = appendEvent(
    exec,
    EventType.EVENT_TYPE_TIMER_STARTED,
    'timerStartedEventAttributes',
    {
      timerId,
      startToFireTimeout: { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 },
      workflowTaskCompletedEventId: completedId,
    },
  );
  const timer = { timerId, startedEventId, fireAt: Date.now() + ms };
  exec.timers.push(timer);
  armTimer(engine, exec, timer.timerId);
}

export function armTimer(engine: Engine, exec: ExecutionState, timerId: string): void {
  const timer = exec.timers.find((t) => t.timerId === timerId);
  if (!timer) return;
  engine.deadlines.set(`${engine.keyOf(exec)}|timer|${timerId}`, timer.fireAt, () => {
    if (!engine.isRunning(exec) || !exec.timers.includes(timer)) return;
    exec.timers = exec.timers.filter((t) => t !== timer);
    appendExternalTimerFired(engine, exec, timer.timerId, timer.startedEventId);
  });
}

function appendExternalTimerFired(
  engine: Engine,
  exec: ExecutionState,
  timerId: string,
  startedEventId: number,
): void {
  recordExternal(exec, EventType.EVENT_TYPE_TIMER_FIRED, 'timerFiredEventAttributes', {
    timerId,
    startedEventId,
  });
  engine.scheduleWft(exec);
  engine.changed(exec);
}

function continueAsNew(
  engine: Engine,
  exec: ExecutionState,
  a: temporal.api.command.v1.IContinueAsNewWorkflowExecutionCommandAttributes,
  completedId: number,
  identity: string,
): void {
  const memo = a.memo?.fields && Object.keys(a.memo.fields).length ? a.memo.fields : exec.memo;
  const searchAttributes =
    a.searchAttributes?.indexedFields && Object.keys(a.searchAttributes.indexedFields).length
      ? a.searchAttributes.indexedFields
      : exec.searchAttributes;
  const next = engine.startWorkflow(
    {
      namespace: exec.namespace,
      workflowId: exec.workflowId,
      workflowType: a.workflowType?.name ? a.workflowType : { name: exec.workflowType },
      taskQueue: a.taskQueue?.name ? a.taskQueue : { name: exec.taskQueue },
      input: a.input,
      workflowRunTimeout: a.workflowRunTimeout ?? (exec.runTimeoutMs ? dur(exec.runTimeoutMs) : undefined),
      workflowTaskTimeout: a.workflowTaskTimeout ?? dur(exec.taskTimeoutMs),
      identity,
      retryPolicy: a.retryPolicy,
      cronSchedule: a.cronSchedule,
      memo: { fields: memo },
      searchAttributes: { indexedFields: searchAttributes },
      header: a.header,
    },
    {
      continuedFrom: exec,
      parent: exec.parent,
      parentClosePolicy: exec.parentClosePolicy,
      initiator: a.initiator || E.ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_WORKFLOW,
      continuedFailure: a.failure,
      lastCompletionResult: a.lastCompletionResult,
      firstWorkflowTaskBackoffMs: durMs(a.backoffStartInterval),
    },
  );
  exec.newExecutionRunId = next.runId;
  engine.closeExecution(
    exec,
    WorkflowStatus.CONTINUED_AS_NEW,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
    'workflowExecutionContinuedAsNewEventAttributes',
    {
      newExecutionRunId: next.runId,
      workflowType: a.workflowType?.name ? a.workflowType : { name: exec.workflowType },
      taskQueue: a.taskQueue?.name ? a.taskQueue : { name: exec.taskQueue },
      input: a.input,
      workflowRunTimeout: a.workflowRunTimeout,
      workflowTaskTimeout: a.workflowTaskTimeout,
      workflowTaskCompletedEventId: completedId,
      backoffStartInterval: a.backoffStartInterval,
      initiator: a.initiator,
      failure: a.failure,
      lastCompletionResult: a.lastCompletionResult,
      header: a.header,
      memo: { fields: memo },
      searchAttributes: { indexedFields: searchAttributes },
    },
  );
}
