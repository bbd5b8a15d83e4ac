/**
 * Cross-workflow commands: child workflows (start, outcome events in the parent, parent close
 * policies), and RequestCancel / Signal of external workflows.
 */
import { randomUUID } from 'node:crypto';
import type { Engine } from './engine.js';
import { ServiceError } from './errors.js';
import { PENDING_REF, appendEvent, attrsOf, recordExternal } from './history.js';
import { EventType, api, type temporal } from './proto.js';
import { WorkflowStatus, execKey, type ExecutionState } from './state.js';

const E = api.enums.v1;

function later(fn: () => void): void {
  setImmediate(fn);
}

function findTarget(
  engine: Engine,
  ns: string,
  workflowId: string,
  runId?: string | null,
): ExecutionState | undefined {
  try {
    const exec = engine.get(ns, workflowId, runId);
    return engine.isRunning(exec) ? exec : undefined;
  } catch {
    return undefined;
  }
}

export function initiateChild(
  engine: Engine,
  parent: ExecutionState,
  attrs: temporal.api.command.v1.IStartChildWorkflowExecutionCommandAttributes,
  completedEventId: number,
  userMetadata?: temporal.api.sdk.v1.IUserMetadata | null,
): void {
  const ns = attrs.namespace || parent.namespace;
  const taskQueue = attrs.taskQueue?.name
    ? attrs.taskQueue
    : { name: parent.taskQueue, kind: E.TaskQueueKind.TASK_QUEUE_KIND_NORMAL };
  const parentClosePolicy = attrs.parentClosePolicy || E.ParentClosePolicy.PARENT_CLOSE_POLICY_TERMINATE;
  const initiatedEventId = appendEvent(
    parent,
    EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED,
    'startChildWorkflowExecutionInitiatedEventAttributes',
    {
      namespace: ns,
      workflowId: attrs.workflowId,
      workflowType: attrs.workflowType,
      taskQueue,
      input: attrs.input,
      workflowExecutionTimeout: attrs.workflowExecutionTimeout,
      workflowRunTimeout: attrs.workflowRunTimeout,
      workflowTaskTimeout: attrs.workflowTaskTimeout,
      parentClosePolicy,
      control: attrs.control,
      workflowTaskCompletedEventId: completedEventId,
      workflowIdReusePolicy: attrs.workflowIdReusePolicy,
      retryPolicy: attrs.retryPolicy,
      cronSchedule: attrs.cronSchedule,
      header: attrs.header,
      memo: attrs.memo,
      searchAttributes: attrs.searchAttributes,
      priority: attrs.priority,
    },
  );
  parent.children.push({
    initiatedEventId,
    namespace: ns,
    workflowId: attrs.workflowId ?? '',
    workflowType: attrs.workflowType?.name ?? '',
    parentClosePolicy,
  });
  later(() =>
    startChild(engine, parent, initiatedEventId, attrs, ns, taskQueue, completedEventId, userMetadata),
  );
}

function startChild(
  engine: Engine,
  parent: ExecutionState,
  initiatedEventId: number,
  attrs: temporal.api.command.v1.IStartChildWorkflowExecutionCommandAttributes,
  ns: string,
  taskQueue: temporal.api.taskqueue.v1.ITaskQueue,
  completedEventId: number,
  userMetadata: temporal.api.sdk.v1.IUserMetadata | null | undefined,
): void {
  const child = parent.children.find((c) => c.initiatedEventId === initiatedEventId);
  if (!engine.isRunning(parent) || !child) return;
  try {
    const res = engine.startWorkflow(
      {
        namespace: ns,
        workflowId: attrs.workflowId,
        workflowType: attrs.workflowType,
        taskQueue,
        input: attrs.input,
        workflowExecutionTimeout: attrs.workflowExecutionTimeout,
        workflowRunTimeout: attrs.workflowRunTimeout,
        workflowTaskTimeout: attrs.workflowTaskTimeout,
        identity: '',
        requestId: randomUUID(),
        workflowIdReusePolicy: attrs.workflowIdReusePolicy,
        retryPolicy: attrs.retryPolicy,
        cronSchedule: attrs.cronSchedule,
        memo: attrs.memo,
        searchAttributes: attrs.searchAttributes,
        header: attrs.header,
        priority: attrs.priority,
        userMetadata,
      },
      {
        parent: {
          namespace: parent.namespace,
          workflowId: parent.workflowId,
          runId: parent.runId,
          initiatedEventId,
        },
        parentClosePolicy: child.parentClosePolicy,
      },
    );
    child.runId = res.runId;
    recordExternal(
      parent,
      EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED,
      'childWorkflowExecutionStartedEventAttributes',
      {
        namespace: ns,
        initiatedEventId,
        workflowExecution: { workflowId: attrs.workflowId, runId: res.runId },
        workflowType: attrs.workflowType,
        header: attrs.header,
      },
    );
  } catch (err) {
    engine.log.info(
      `child ${attrs.workflowId} of ${parent.workflowId} could not start: ${err instanceof Error ? err.message : String(err)}`,
    );
    parent.children = parent.children.filter((c) => c !== child);
    const cause =
      err instanceof ServiceError && err.code === 5
        ? E.StartChildWorkflowExecutionFailedCause
            .START_CHILD_WORKFLOW_EXECUTION_FAILED_CAUSE_NAMESPACE_NOT_FOUND
        : E.StartChildWorkflowExecutionFailedCause
            .START_CHILD_WORKFLOW_EXECUTION_FAILED_CAUSE_WORKFLOW_ALREADY_EXISTS;
    recordExternal(
      parent,
      EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED,
      'startChildWorkflowExecutionFailedEventAttributes',
      {
        namespace: ns,
        workflowId: attrs.workflowId,
        workflowType: attrs.workflowType,
        cause,
        control: attrs.control,
        initiatedEventId,
        workflowTaskCompletedEventId: completedEventId,
      },
    );
  }
  engine.scheduleWft(parent);
  engine.changed(parent);
}

/** A run closed: report to its parent (unless it continued as new) and apply its parent close policy to its children. */
export function onWorkflowClosed(engine: Engine, exec: ExecutionState): void {
  applyParentClosePolicy(engine, exec);
  // A run followed by another (continue-as-new, retry, cron) does not report to the parent: its chain goes on.
  if (!exec.parent || exec.newExecutionRunId) return;
  const p = exec.parent;
  const parent = engine.executions.get(execKey(p.namespace, p.workflowId, p.runId));
  if (!parent || !engine.isRunning(parent)) return;
  const child = parent.children.find((c) => c.initiatedEventId === p.initiatedEventId);
  if (!child) return;
  parent.children = parent.children.filter((c) => c !== child);
  const close = exec.history[exec.history.length - 1];
  const closeAttrs = close ? attrsOf(close) : {};
  const common = {
    namespace: exec.namespace,
    workflowExecution: { workflowId: exec.workflowId, runId: child.runId ?? exec.runId },
    workflowType: { name: child.workflowType },
    initiatedEventId: p.initiatedEventId,
    startedEventId: PENDING_REF,
  };
  const rec = (type: number, key: string, extra: Record<string, unknown>) =>
    recordExternal(parent, type, key, { ...extra, ...common });
  switch (exec.status) {
    case WorkflowStatus.COMPLETED:
      rec(
        EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED,
        'childWorkflowExecutionCompletedEventAttributes',
        { result: closeAttrs.result },
      );
      break;
    case WorkflowStatus.FAILED:
      rec(
        EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED,
        'childWorkflowExecutionFailedEventAttributes',
        {
          failure: closeAttrs.failure,
          retryState: closeAttrs.retryState ?? E.RetryState.RETRY_STATE_RETRY_POLICY_NOT_SET,
        },
      );
      break;
    case WorkflowStatus.CANCELED:
      rec(
        EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED,
        'childWorkflowExecutionCanceledEventAttributes',
        { details: closeAttrs.details },
      );
      break;
    case WorkflowStatus.TIMED_OUT:
      rec(
        EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT,
        'childWorkflowExecutionTimedOutEventAttributes',
        {
          retryState: closeAttrs.retryState ?? E.RetryState.RETRY_STATE_TIMEOUT,
        },
      );
      break;
    default:
      rec(
        EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED,
        'childWorkflowExecutionTerminatedEventAttributes',
        {},
      );
  }
  engine.scheduleWft(parent);
  engine.changed(parent);
}

/** Applied whenever a run closes, continue-as-new included, as the official server does. */
function applyParentClosePolicy(engine: Engine, exec: ExecutionState): void {
  const children = exec.children;
  exec.children = [];
  for (const c of children) {
    if (!c.runId) continue;
    const target = findTarget(engine, c.namespace, c.workflowId);
    if (!target || target.parent?.runId !== exec.runId) continue;
    if (c.parentClosePolicy === E.ParentClosePolicy.PARENT_CLOSE_POLICY_TERMINATE) {
      later(() => engine.isRunning(target) && engine.terminate(target, 'by parent close policy', null, ''));
    } else if (c.parentClosePolicy === E.ParentClosePolicy.PARENT_CLOSE_POLICY_REQUEST_CANCEL) {
      later(() => engine.isRunning(target) && engine.requestCancel(target, 'by parent close policy', ''));
    }
  }
}

/** An external command (RequestCancel / Signal) waiting to reach its target. */
interface ExternalCommand {
  ns: string;
  target: { workflowId: string; runId: string };
  initiatedEventId: number;
  completedEventId: number;
  control: string | null | undefined;
  /** The failure event recorded when the target is not running: type, attributes key, cause. */
  failed: { eventType: number; key: string; cause: number };
}

/**
 * After this task: applies `deliver` to the running target (it records the success event), or records
 * the NOT_FOUND failure event when there is none; then schedules a workflow task for the sender.
 */
function deliverExternal(
  engine: Engine,
  exec: ExecutionState,
  cmd: ExternalCommand,
  deliver: (target: ExecutionState) => void,
): void {
  later(() => {
    if (!engine.isRunning(exec)) return;
    const t = findTarget(engine, cmd.ns, cmd.target.workflowId, cmd.target.runId);
    if (t) {
      deliver(t);
    } else {
      recordExternal(exec, cmd.failed.eventType, cmd.failed.key, {
        cause: cmd.failed.cause,
        workflowTaskCompletedEventId: cmd.completedEventId,
        namespace: cmd.ns,
        workflowExecution: cmd.target,
        initiatedEventId: cmd.initiatedEventId,
        control: cmd.control,
      });
    }
    engine.scheduleWft(exec);
    engine.changed(exec);
  });
}

export function requestCancelExternal(
  engine: Engine,
  exec: ExecutionState,
  attrs: temporal.api.command.v1.IRequestCancelExternalWorkflowExecutionCommandAttributes,
  completedEventId: number,
): void {
  const ns = attrs.namespace || exec.namespace;
  const target = { workflowId: attrs.workflowId ?? '', runId: attrs.runId ?? '' };
  const initiatedEventId = appendEvent(
    exec,
    EventType.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
    'requestCancelExternalWorkflowExecutionInitiatedEventAttributes',
    {
      workflowTaskCompletedEventId: completedEventId,
      namespace: ns,
      workflowExecution: target,
      control: attrs.control,
      childWorkflowOnly: attrs.childWorkflowOnly,
      reason: attrs.reason,
    },
  );
  const failed = {
    eventType: EventType.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED,
    key: 'requestCancelExternalWorkflowExecutionFailedEventAttributes',
    cause:
      E.CancelExternalWorkflowExecutionFailedCause
        .CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND,
  };
  const cmd = { ns, target, initiatedEventId, completedEventId, control: attrs.control, failed };
  deliverExternal(engine, exec, cmd, (t) => {
    engine.requestCancel(t, attrs.reason ?? '', '', {
      initiatedEventId,
      workflowId: exec.workflowId,
      runId: exec.runId,
    });
    recordExternal(
      exec,
      EventType.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED,
      'externalWorkflowExecutionCancelRequestedEventAttributes',
      {
        initiatedEventId,
        namespace: ns,
        workflowExecution: { workflowId: t.workflowId, runId: t.runId },
      },
    );
  });
}

export function signalExternal(
  engine: Engine,
  exec: ExecutionState,
  attrs: temporal.api.command.v1.ISignalExternalWorkflowExecutionCommandAttributes,
  completedEventId: number,
): void {
  const ns = attrs.namespace || exec.namespace;
  const target = { workflowId: attrs.execution?.workflowId ?? '', runId: attrs.execution?.runId ?? '' };
  const initiatedEventId = appendEvent(
    exec,
    EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
    'signalExternalWorkflowExecutionInitiatedEventAttributes',
    {
      workflowTaskCompletedEventId: completedEventId,
      namespace: ns,
      workflowExecution: target,
      signalName: attrs.signalName,
      input: attrs.input,
      control: attrs.control,
      childWorkflowOnly: attrs.childWorkflowOnly,
      header: attrs.header,
    },
  );
  const failed = {
    eventType: EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED,
    key: 'signalExternalWorkflowExecutionFailedEventAttributes',
    cause:
      E.SignalExternalWorkflowExecutionFailedCause
        .SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND,
  };
  const cmd = { ns, target, initiatedEventId, completedEventId, control: attrs.control, failed };
  deliverExternal(engine, exec, cmd, (t) => {
    engine.signal(t, {
      name: attrs.signalName ?? '',
      input: attrs.input,
      header: attrs.header,
      external: { workflowId: exec.workflowId, runId: exec.runId },
    });
    recordExternal(
      exec,
      EventType.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED,
      'externalWorkflowExecutionSignaledEventAttributes',
      {
        initiatedEventId,
        namespace: ns,
        workflowExecution: { workflowId: t.workflowId, runId: t.runId },
        control: attrs.control,
      },
    );
  });
}
