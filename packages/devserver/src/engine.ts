/**
 * The workflow engine: executions, their lifecycle (start, signal, cancel, terminate, close) and
 * workflow tasks (schedule, dispatch, complete, fail, time out, sticky fall-back).
 * Commands, activities, queries/updates and children live in sibling modules operating on it.
 */
import { randomUUID } from 'node:crypto';
import { Deadlines } from './deadlines.js';
import { alreadyExists, invalidArgument, notFound, workflowAlreadyStarted } from './errors.js';
import {
  appendEvent,
  flushBuffered,
  historySizeBytes,
  nextEventId,
  recordExternal,
  synthesizeEvent,
} from './history.js';
import type { Logger } from './log.js';
import { Matching } from './matching.js';
import { NamespaceRegistry } from './namespaces.js';
import {
  EventType,
  api,
  dur,
  durMs,
  i64,
  ts,
  type HistoryEvent,
  type Payload,
  type temporal,
} from './proto.js';
import { fillRetryPolicy } from './retry.js';
import { afterFailure, cronBackoffMs, startNextRun, validCron } from './run-chain.js';
import { SearchAttributeRegistry, mergeSearchAttributes } from './search-attributes.js';
import { WorkflowStatus, execKey, wfKey, type ExecutionState, type ParentRef } from './state.js';
import { encodeToken, type WorkflowTaskToken } from './tokens.js';
import type { Interactions } from './interactions.js';
import type { ActivityTaskRef } from './activities.js';

const E = api.enums.v1;
type StartRequest = temporal.api.workflowservice.v1.IStartWorkflowExecutionRequest;
type PollWftResponse = temporal.api.workflowservice.v1.IPollWorkflowTaskQueueResponse;

export type WorkflowTaskRef =
  | { type: 'wft'; key: string; seq: number }
  | { type: 'query'; key: string; queryId: string };

export interface StartExtras {
  parent?: ParentRef;
  parentClosePolicy?: number;
  continuedFrom?: ExecutionState;
  initiator?: number;
  continuedFailure?: temporal.api.failure.v1.IFailure | null;
  lastCompletionResult?: temporal.api.common.v1.IPayloads | null;
  firstWorkflowTaskBackoffMs?: number;
  /** Attempt under the workflow retry policy (a retry run). */
  attempt?: number;
  signal?: SignalRequest;
}

function sizeAttrs(wft: NonNullable<ExecutionState['wft']>) {
  const reasons = wft.suggestContinueAsNewReasons ?? [];
  return {
    historySizeBytes: i64(wft.historySizeBytes ?? 0),
    suggestContinueAsNew: reasons.length > 0,
    suggestContinueAsNewReasons: reasons,
  };
}

export interface SignalRequest {
  name: string;
  input?: temporal.api.common.v1.IPayloads | null;
  header?: temporal.api.common.v1.IHeader | null;
  identity?: string;
  requestId?: string | null;
  external?: { workflowId: string; runId: string };
}

/** Request ids of delivered signals kept per run (the official server keeps them all; runs rarely get more). */
const MAX_SIGNAL_REQUEST_IDS = 10_000;

function appendSignal(
  exec: ExecutionState,
  sig: SignalRequest,
  append: (exec: ExecutionState, type: number, key: string, attrs: Record<string, unknown>) => unknown,
): void {
  append(exec, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, 'workflowExecutionSignaledEventAttributes', {
    signalName: sig.name,
    input: sig.input,
    identity: sig.identity ?? '',
    header: sig.header,
    externalWorkflowExecution: sig.external,
    requestId: sig.requestId ?? '',
  });
}

export interface EngineLimits {
  /** Retention of closed runs in namespaces created without one (default 1 day). */
  retentionMs?: number;
  /** History length / size past which workflow tasks suggest continue-as-new (official defaults: 4096 events, 4 MiB). */
  suggestContinueAsNewEvents?: number;
  suggestContinueAsNewBytes?: number;
}

export type CloseListener = (namespace: string, workflowId: string, runId: string, status: number) => void;

/** How long a sticky queue counts as alive after its last poll. */
const STICKY_ALIVE_MS = 2_000;
const DEFAULT_TASK_TIMEOUT_MS = 10_000;

export class Engine {
  readonly executions = new Map<string, ExecutionState>();
  readonly current = new Map<string, string>();
  readonly wfMatching = new Matching<WorkflowTaskRef>();
  readonly actMatching = new Matching<ActivityTaskRef>();
  readonly deadlines = new Deadlines();
  readonly namespaces: NamespaceRegistry;
  readonly searchAttributes = new SearchAttributeRegistry();
  readonly closeListeners: CloseListener[] = [];
  private readonly historyWaiters = new Map<string, Set<() => void>>();
  /** Set by the server: the activity, query/update and child modules. */
  interactions!: Interactions;
  onActivityEnqueue: (exec: ExecutionState) => void = () => {};
  onWorkflowClosed: (exec: ExecutionState) => void = () => {};
  /** Called after every state change (persistence): with the run that changed, or none for metadata. */
  onChange: (exec?: ExecutionState) => void = () => {};
  /** Called when a run is deleted (persistence). */
  onDelete: (key: string) => void = () => {};
  /** Creation order of runs (the highest of a workflow id is its current run after a restart). */
  runSeq = 0;

  constructor(
    readonly log: Logger,
    namespaces: string[],
    readonly limits: EngineLimits = {},
  ) {
    this.namespaces = new NamespaceRegistry(namespaces, limits.retentionMs);
  }

  // ---------------------------------------------------------------- lookup

  get(ns: string, workflowId: string, runId?: string | null): ExecutionState {
    this.namespaces.get(ns);
    const rid = runId || this.current.get(wfKey(ns, workflowId));
    const exec = rid ? this.executions.get(execKey(ns, workflowId, rid)) : undefined;
    if (!exec) {
      throw notFound(`workflow not found for ID: ${workflowId}`);
    }
    return exec;
  }

  getRunning(ns: string, workflowId: string, runId?: string | null): ExecutionState {
    const exec = this.get(ns, workflowId, runId);
    if (exec.status !== WorkflowStatus.RUNNING) throw notFound('workflow execution already completed');
    return exec;
  }

  keyOf(exec: ExecutionState): string {
    return execKey(exec.namespace, exec.workflowId, exec.runId);
  }

  isRunning(exec: ExecutionState): boolean {
    return exec.status === WorkflowStatus.RUNNING;
  }

  // ---------------------------------------------------------------- history waiters

  waitForChange(exec: ExecutionState, timeoutMs: number, cancelled: Promise<void>): Promise<void> {
    const key = this.keyOf(exec);
    return new Promise((resolve) => {
      let set = this.historyWaiters.get(key);
      if (!set) {
        set = new Set();
        this.historyWaiters.set(key, set);
      }
      const done = () => {
        clearTimeout(timer);
        set!.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, timeoutMs));
      set.add(done);
      void cancelled.then(done);
    });
  }

  /** Wakes history long polls and persists. */
  changed(exec: ExecutionState): void {
    const set = this.historyWaiters.get(this.keyOf(exec));
    if (set) for (const fn of [...set]) fn();
    this.onChange(exec);
  }

  /** Deletes a closed run once its namespace's retention has passed since it closed. */
  armRetention(exec: ExecutionState): void {
    if (this.isRunning(exec) || exec.closeTime === undefined) return;
    const ns = this.namespaces.has(exec.namespace) ? this.namespaces.get(exec.namespace) : undefined;
    const retentionMs = ns?.retentionMs ?? this.limits.retentionMs ?? 24 * 3600_000;
    this.deadlines.set(`${this.keyOf(exec)}|retention`, exec.closeTime + retentionMs, () => {
      this.log.debug(`retention: deleting ${exec.workflowId} run ${exec.runId}`);
      this.deleteExecution(exec);
    });
  }

  /** Removes a run (retention, DeleteWorkflowExecution). */
  deleteExecution(exec: ExecutionState): void {
    const key = this.keyOf(exec);
    if (!this.executions.delete(key)) return;
    this.deadlines.clearPrefix(`${key}|`);
    this.historyWaiters.delete(key);
    this.interactions.forget(key);
    const wk = wfKey(exec.namespace, exec.workflowId);
    if (this.current.get(wk) === exec.runId) this.current.delete(wk);
    this.onDelete(key);
  }

  // ---------------------------------------------------------------- start

  startWorkflow(
    req: StartRequest,
    extras: StartExtras = {},
  ): { runId: string; started: boolean; exec: ExecutionState } {
    const ns = req.namespace || 'default';
    this.namespaces.get(ns);
    const workflowId = req.workflowId ?? '';
    if (!workflowId) throw invalidArgument('WorkflowId is not set on request.');
    if (!req.workflowType?.name) throw invalidArgument('WorkflowType is not set on request.');
    if (!req.taskQueue?.name) throw invalidArgument('TaskQueue is not set on request.');
    if (req.cronSchedule && !validCron(req.cronSchedule)) throw invalidArgument('invalid CronSchedule.');
    this.searchAttributes.validate(
      ns,
      req.searchAttributes?.indexedFields as Record<string, Payload> | undefined,
    );
    const requestId = req.requestId || randomUUID();

    const curRun = this.current.get(wfKey(ns, workflowId));
    const cur = curRun ? this.executions.get(execKey(ns, workflowId, curRun)) : undefined;
    if (cur && !extras.continuedFrom) {
      const signalExisting = (sig: SignalRequest) => this.signal(cur, sig);
      if (cur.requestIds.includes(requestId)) {
        if (extras.signal && this.isRunning(cur)) signalExisting(extras.signal);
        return { runId: cur.runId, started: true, exec: cur };
      }
      if (this.isRunning(cur)) {
        const conflict = req.workflowIdConflictPolicy ?? 0;
        if (conflict === E.WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING) {
          if (extras.signal) signalExisting(extras.signal);
          return { runId: cur.runId, started: false, exec: cur };
        }
        if (
          conflict === E.WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING ||
          req.workflowIdReusePolicy === E.WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING
        ) {
          this.terminate(cur, 'terminated by WorkflowIdConflictPolicy', null, req.identity ?? '');
        } else {
          throw workflowAlreadyStarted(
            `Workflow execution is already running. WorkflowId: ${workflowId}, RunId: ${cur.runId}.`,
            cur.requestIds[0] ?? '',
            cur.runId,
          );
        }
      } else {
        const reuse = req.workflowIdReusePolicy ?? 0;
        if (reuse === E.WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE) {
          throw alreadyExists(
            `Workflow execution already finished and WorkflowIdReusePolicy is REJECT_DUPLICATE. WorkflowId: ${workflowId}, RunId: ${cur.runId}.`,
          );
        }
        if (
          reuse === E.WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY &&
          cur.status === WorkflowStatus.COMPLETED
        ) {
          throw alreadyExists(
            `Workflow execution already finished successfully. WorkflowId: ${workflowId}, RunId: ${cur.runId}. Workflow Id reuse policy: allow duplicate workflow Id if last run failed.`,
          );
        }
      }
    }

    const now = Date.now();
    const runId = randomUUID();
    const prev = extras.continuedFrom;
    const firstRunId = prev ? prev.firstRunId : runId;
    const executionTimeoutMs = prev ? prev.executionTimeoutMs : durMs(req.workflowExecutionTimeout);
    const runTimeoutMs = durMs(req.workflowRunTimeout) || executionTimeoutMs;
    const taskTimeoutMs = durMs(req.workflowTaskTimeout) || DEFAULT_TASK_TIMEOUT_MS;
    // A cron workflow's first run waits for the schedule's first time.
    const delayMs =
      extras.firstWorkflowTaskBackoffMs ??
      (req.cronSchedule ? (cronBackoffMs(req.cronSchedule, now, now) ?? 0) : durMs(req.workflowStartDelay));
    const exec: ExecutionState = {
      namespace: ns,
      workflowId,
      runId,
      firstRunId,
      workflowType: req.workflowType.name,
      taskQueue: req.taskQueue.name,
      status: WorkflowStatus.RUNNING,
      startTime: now,
      executionTime: now + delayMs,
      requestIds: [requestId],
      memo: { ...((req.memo?.fields as Record<string, Payload> | undefined) ?? {}) },
      searchAttributes: {
        ...((req.searchAttributes?.indexedFields as Record<string, Payload> | undefined) ?? {}),
      },
      runTimeoutMs,
      executionTimeoutMs,
      taskTimeoutMs,
      runDeadline: runTimeoutMs ? now + runTimeoutMs : undefined,
      executionDeadline: prev
        ? prev.executionDeadline
        : executionTimeoutMs
          ? now + executionTimeoutMs
          : undefined,
      history: [],
      lastCompletedStartedEventId: 0,
      wftAttempt: 1,
      wft: null,
      sticky: null,
      activities: [],
      timers: [],
      children: [],
      parent: extras.parent,
      parentClosePolicy: extras.parentClosePolicy,
      cancelRequested: false,
      buffered: [],
      wftPending: false,
      seq: 0,
      runSeq: ++this.runSeq,
      attempt: extras.attempt ?? 1,
      retryPolicy: req.retryPolicy ? fillRetryPolicy(req.retryPolicy) : undefined,
      cronSchedule: req.cronSchedule || undefined,
    };
    const parentExec = extras.parent
      ? this.executions.get(execKey(extras.parent.namespace, extras.parent.workflowId, extras.parent.runId))
      : undefined;
    appendEvent(
      exec,
      EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
      'workflowExecutionStartedEventAttributes',
      {
        workflowType: { name: exec.workflowType },
        taskQueue: { name: exec.taskQueue, kind: E.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
        input: req.input,
        workflowExecutionTimeout: executionTimeoutMs ? dur(executionTimeoutMs) : undefined,
        workflowRunTimeout: runTimeoutMs ? dur(runTimeoutMs) : undefined,
        workflowTaskTimeout: dur(taskTimeoutMs),
        continuedExecutionRunId: prev?.runId ?? '',
        initiator: extras.initiator ?? 0,
        continuedFailure: extras.continuedFailure ?? req.continuedFailure,
        lastCompletionResult: extras.lastCompletionResult ?? req.lastCompletionResult,
        originalExecutionRunId: runId,
        identity: req.identity ?? '',
        firstExecutionRunId: firstRunId,
        retryPolicy: exec.retryPolicy,
        attempt: exec.attempt,
        workflowExecutionExpirationTime: exec.executionDeadline ? ts(exec.executionDeadline) : undefined,
        cronSchedule: req.cronSchedule ?? '',
        firstWorkflowTaskBackoff: delayMs ? dur(delayMs) : undefined,
        // Copies: upserts change the run's current memo and search attributes, never this event.
        memo: { fields: { ...exec.memo } },
        searchAttributes: { indexedFields: { ...exec.searchAttributes } },
        header: req.header,
        parentWorkflowNamespace: extras.parent?.namespace ?? '',
        parentWorkflowExecution: extras.parent
          ? { workflowId: extras.parent.workflowId, runId: extras.parent.runId }
          : undefined,
        parentInitiatedEventId: extras.parent?.initiatedEventId ?? 0,
        rootWorkflowExecution: parentExec ? this.rootOf(parentExec) : { workflowId, runId },
        workflowId,
        priority: req.priority,
      },
    );
    if (req.userMetadata) {
      exec.userMetadata = req.userMetadata;
      exec.history[0]!.userMetadata = req.userMetadata;
    }
    this.executions.set(this.keyOf(exec), exec);
    this.current.set(wfKey(ns, workflowId), runId);
    if (extras.signal) {
      appendSignal(exec, extras.signal, appendEvent);
      if (extras.signal.requestId) exec.signalRequestIds = [extras.signal.requestId];
    }
    this.armRunTimeout(exec);
    this.scheduleWft(exec, delayMs ? now + delayMs : undefined);
    this.log.info(`started workflow ${workflowId} (${exec.workflowType}) run ${runId} on ${exec.taskQueue}`);
    this.changed(exec);
    return { runId, started: true, exec };
  }

  private rootOf(exec: ExecutionState): { workflowId: string; runId: string } {
    const started = exec.history[0]?.workflowExecutionStartedEventAttributes;
    const root = started?.rootWorkflowExecution;
    return root?.workflowId
      ? { workflowId: root.workflowId, runId: root.runId ?? '' }
      : { workflowId: exec.workflowId, runId: exec.runId };
  }

  armRunTimeout(exec: ExecutionState): void {
    const deadline = Math.min(exec.runDeadline ?? Infinity, exec.executionDeadline ?? Infinity);
    if (deadline === Infinity) return;
    this.deadlines.set(`${this.keyOf(exec)}|run`, deadline, () => {
      if (!this.isRunning(exec)) return;
      this.log.info(`workflow ${exec.workflowId} run ${exec.runId} timed out`);
      const failure = {
        message: 'workflow timeout',
        source: 'Server',
        timeoutFailureInfo: { timeoutType: E.TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE },
      };
      const { next, retryState } = afterFailure(exec, failure);
      const lastCompletionResult =
        exec.history[0]?.workflowExecutionStartedEventAttributes?.lastCompletionResult;
      const newExecutionRunId = next ? startNextRun(this, exec, next, { failure, lastCompletionResult }) : '';
      this.closeExecution(
        exec,
        WorkflowStatus.TIMED_OUT,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
        'workflowExecutionTimedOutEventAttributes',
        { retryState, newExecutionRunId },
      );
    });
  }

  // ---------------------------------------------------------------- external actions

  /** True when a signal with this request id was already delivered to the run (a retried call). */
  signalSeen(exec: ExecutionState, requestId: string | null | undefined): boolean {
    return !!requestId && (exec.signalRequestIds ?? []).includes(requestId);
  }

  /** Delivers a signal; a repeated request id is acknowledged without a second delivery. */
  signal(exec: ExecutionState, sig: SignalRequest): void {
    if (this.signalSeen(exec, sig.requestId)) return;
    if (sig.requestId) {
      const ids = (exec.signalRequestIds ??= []);
      ids.push(sig.requestId);
      if (ids.length > MAX_SIGNAL_REQUEST_IDS) ids.shift();
    }
    appendSignal(exec, sig, recordExternal);
    this.scheduleWft(exec);
    this.changed(exec);
  }

  requestCancel(
    exec: ExecutionState,
    reason: string,
    identity: string,
    external?: { initiatedEventId: number; workflowId: string; runId: string },
  ): void {
    if (exec.cancelRequested) return;
    exec.cancelRequested = true;
    recordExternal(
      exec,
      EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED,
      'workflowExecutionCancelRequestedEventAttributes',
      {
        cause: reason,
        identity,
        externalInitiatedEventId: external?.initiatedEventId ?? 0,
        externalWorkflowExecution: external
          ? { workflowId: external.workflowId, runId: external.runId }
          : undefined,
      },
    );
    this.scheduleWft(exec);
    this.changed(exec);
  }

  terminate(
    exec: ExecutionState,
    reason: string,
    details: temporal.api.common.v1.IPayloads | null | undefined,
    identity: string,
  ): void {
    this.log.info(`terminating workflow ${exec.workflowId} run ${exec.runId}: ${reason}`);
    this.closeExecution(
      exec,
      WorkflowStatus.TERMINATED,
      EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
      'workflowExecutionTerminatedEventAttributes',
      {
        reason,
        details,
        identity,
      },
    );
  }

  /** Writes the close event and releases everything the run holds. */
  closeExecution(
    exec: ExecutionState,
    status: number,
    eventType: number,
    key: string,
    attrs: Record<string, unknown>,
  ): void {
    if (!this.isRunning(exec)) return;
    const wft = exec.wft;
    if (wft?.state === 'started' && !wft.transient) {
      appendEvent(exec, EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED, 'workflowTaskFailedEventAttributes', {
        scheduledEventId: wft.scheduledEventId,
        startedEventId: wft.startedEventId,
        cause: E.WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_FORCE_CLOSE_COMMAND,
        identity: wft.identity ?? '',
      });
    }
    exec.wft = null;
    flushBuffered(exec);
    appendEvent(exec, eventType, key, attrs);
    exec.status = status;
    exec.closeTime = Date.now();
    exec.activities = [];
    exec.timers = [];
    exec.wftPending = false;
    this.deadlines.clearPrefix(`${this.keyOf(exec)}|`);
    this.armRetention(exec);
    this.log.info(
      `workflow ${exec.workflowId} run ${exec.runId} closed: ${Object.entries(WorkflowStatus).find(([, v]) => v === status)?.[0] ?? status}`,
    );
    this.interactions.onClosed(exec);
    this.onWorkflowClosed(exec);
    for (const l of this.closeListeners) {
      try {
        l(exec.namespace, exec.workflowId, exec.runId, status);
      } catch (err) {
        this.log.warn(`close listener failed: ${String(err)}`);
      }
    }
    this.changed(exec);
  }

  // ---------------------------------------------------------------- workflow tasks

  /** Ensures a workflow task will run (now, or after the in-flight one). */
  scheduleWft(exec: ExecutionState, notBefore?: number): void {
    if (!this.isRunning(exec)) return;
    if (exec.wft) {
      if (exec.wft.state === 'started') exec.wftPending = true;
      return;
    }
    const attempt = exec.wftAttempt;
    const transient = attempt > 1;
    const seq = ++exec.seq;
    const useSticky =
      !!exec.sticky &&
      this.wfMatching.hasRecentPoller(exec.namespace, exec.sticky.queue, 'workflow', STICKY_ALIVE_MS);
    const queue = useSticky ? exec.sticky!.queue : exec.taskQueue;
    let scheduledEventId = 0;
    if (!transient) {
      scheduledEventId = appendEvent(
        exec,
        EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        'workflowTaskScheduledEventAttributes',
        {
          taskQueue: useSticky
            ? { name: queue, kind: E.TaskQueueKind.TASK_QUEUE_KIND_STICKY, normalName: exec.taskQueue }
            : { name: queue, kind: E.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
          startToCloseTimeout: dur(exec.taskTimeoutMs),
          attempt,
        },
      );
    }
    exec.wft = {
      scheduledEventId,
      startedEventId: 0,
      attempt,
      transient,
      state: 'scheduled',
      queue,
      sticky: useSticky,
      scheduledTime: Date.now(),
      startedTime: 0,
      seq,
      notBefore: notBefore && notBefore > Date.now() ? notBefore : undefined,
    };
    this.dispatchWft(exec);
  }

  /** Puts the scheduled workflow task on its queue (after any backoff) and arms the sticky fall-back. */
  dispatchWft(exec: ExecutionState): void {
    const wft = exec.wft;
    if (!wft || wft.state !== 'scheduled') return;
    const key = this.keyOf(exec);
    if (wft.notBefore && wft.notBefore > Date.now()) {
      this.deadlines.set(`${key}|wftdelay`, wft.notBefore, () => {
        if (exec.wft?.seq === wft.seq) {
          wft.notBefore = undefined;
          this.dispatchWft(exec);
        }
      });
      return;
    }
    this.wfMatching.add(exec.namespace, wft.queue, 'workflow', { type: 'wft', key, seq: wft.seq });
    if (wft.sticky && exec.sticky) {
      this.deadlines.set(`${key}|sticky`, Date.now() + exec.sticky.scheduleToStartMs, () =>
        this.stickyFallback(exec, wft.seq),
      );
    }
  }

  private stickyFallback(exec: ExecutionState, seq: number): void {
    const wft = exec.wft;
    if (!wft || wft.seq !== seq || wft.state !== 'scheduled' || !wft.sticky) return;
    const key = this.keyOf(exec);
    this.wfMatching.remove(exec.namespace, wft.queue, 'workflow', (t) => t.type === 'wft' && t.key === key);
    this.log.debug(`sticky queue ${wft.queue} did not pick up ${exec.workflowId}; using ${exec.taskQueue}`);
    wft.queue = exec.taskQueue;
    wft.sticky = false;
    exec.sticky = null;
    this.wfMatching.add(exec.namespace, wft.queue, 'workflow', { type: 'wft', key, seq: wft.seq });
  }

  /** A worker said its sticky queue is gone: move its tasks to the normal queues. */
  dropStickyQueue(ns: string, queue: string): void {
    const refs = this.wfMatching.drain(ns, queue, 'workflow');
    for (const exec of this.executions.values()) {
      if (exec.namespace === ns && exec.sticky?.queue === queue) exec.sticky = null;
    }
    for (const ref of refs) {
      const exec = this.executions.get(ref.key);
      if (!exec) continue;
      if (ref.type === 'wft') {
        if (exec.wft?.seq === ref.seq && exec.wft.state === 'scheduled') {
          exec.wft.queue = exec.taskQueue;
          exec.wft.sticky = false;
          this.wfMatching.add(ns, exec.taskQueue, 'workflow', ref);
        }
      } else {
        this.wfMatching.add(ns, exec.taskQueue, 'workflow', ref);
      }
    }
  }

  /**
   * The history size a task reports and whether it suggests continue-as-new, decided as the official
   * server does when the task starts: the started event's id reaches the event limit, or the history
   * written so far reaches the size limit.
   */
  private sizeUp(exec: ExecutionState, wft: NonNullable<ExecutionState['wft']>): void {
    const bytes = historySizeBytes(exec);
    const reasons: number[] = [];
    if (bytes >= (this.limits.suggestContinueAsNewBytes ?? 4 * 1024 * 1024))
      reasons.push(E.SuggestContinueAsNewReason.SUGGEST_CONTINUE_AS_NEW_REASON_HISTORY_SIZE_TOO_LARGE);
    const startedId = wft.transient ? nextEventId(exec) + 1 : nextEventId(exec);
    if (startedId >= (this.limits.suggestContinueAsNewEvents ?? 4 * 1024))
      reasons.push(E.SuggestContinueAsNewReason.SUGGEST_CONTINUE_AS_NEW_REASON_TOO_MANY_HISTORY_EVENTS);
    wft.historySizeBytes = bytes;
    wft.suggestContinueAsNewReasons = reasons;
  }

  /** Turns a queued reference into a poll response (null when stale). */
  startWorkflowTask(ref: WorkflowTaskRef, pollQueue: string, identity: string): PollWftResponse | null {
    const exec = this.executions.get(ref.key);
    if (!exec) return null;
    if (ref.type === 'query') return this.interactions.startQueryTask(exec, ref.queryId, pollQueue);
    const wft = exec.wft;
    if (!wft || wft.seq !== ref.seq || wft.state !== 'scheduled' || !this.isRunning(exec)) return null;
    const now = Date.now();
    wft.state = 'started';
    wft.startedTime = now;
    wft.identity = identity;
    this.deadlines.clear(`${ref.key}|sticky`);
    const requestId = randomUUID();
    this.sizeUp(exec, wft);
    let extra: HistoryEvent[] = [];
    if (!wft.transient) {
      wft.startedEventId = appendEvent(
        exec,
        EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
        'workflowTaskStartedEventAttributes',
        { scheduledEventId: wft.scheduledEventId, identity, requestId, ...sizeAttrs(wft) },
      );
    } else {
      wft.scheduledEventId = nextEventId(exec);
      wft.startedEventId = wft.scheduledEventId + 1;
      wft.requestId = requestId;
      extra = [
        synthesizeEvent(
          wft.scheduledEventId,
          EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
          'workflowTaskScheduledEventAttributes',
          {
            taskQueue: {
              name: wft.queue,
              kind: wft.sticky
                ? E.TaskQueueKind.TASK_QUEUE_KIND_STICKY
                : E.TaskQueueKind.TASK_QUEUE_KIND_NORMAL,
            },
            startToCloseTimeout: dur(exec.taskTimeoutMs),
            attempt: wft.attempt,
          },
        ),
        synthesizeEvent(
          wft.startedEventId,
          EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
          'workflowTaskStartedEventAttributes',
          { scheduledEventId: wft.scheduledEventId, identity, requestId, ...sizeAttrs(wft) },
        ),
      ];
      extra[0]!.eventTime = ts(wft.scheduledTime);
      extra[1]!.eventTime = ts(now);
    }
    this.deadlines.set(`${ref.key}|wft`, now + exec.taskTimeoutMs, () => this.timeoutWft(exec, wft.seq));
    const partial = wft.sticky && pollQueue === wft.queue && exec.lastCompletedStartedEventId > 0;
    const firstId = partial ? exec.lastCompletedStartedEventId + 1 : 1;
    const events = [...exec.history.slice(firstId - 1), ...extra];
    const token: WorkflowTaskToken = {
      k: 'wft',
      ns: exec.namespace,
      wid: exec.workflowId,
      rid: exec.runId,
      seq: wft.seq,
    };
    const { messages, queries } = this.interactions.onWorkflowTaskStarted(exec, wft.startedEventId, wft.seq);
    this.onChange(exec);
    return {
      taskToken: encodeToken(token),
      workflowExecution: { workflowId: exec.workflowId, runId: exec.runId },
      workflowType: { name: exec.workflowType },
      previousStartedEventId: i64(exec.lastCompletedStartedEventId),
      startedEventId: i64(wft.startedEventId),
      attempt: wft.attempt,
      backlogCountHint: i64(0),
      history: { events },
      workflowExecutionTaskQueue: { name: exec.taskQueue, kind: E.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
      scheduledTime: ts(wft.scheduledTime),
      startedTime: ts(now),
      queries,
      messages,
    };
  }

  /**
   * Starts a run's first workflow task for the caller of StartWorkflowExecution (eager start): the
   * task leaves its queue and goes back in the start response, as a poll would have received it.
   */
  startEagerWorkflowTask(exec: ExecutionState, identity: string): PollWftResponse | undefined {
    const wft = exec.wft;
    if (!wft || wft.state !== 'scheduled') return undefined;
    const key = this.keyOf(exec);
    this.wfMatching.remove(exec.namespace, wft.queue, 'workflow', (t) => t.type === 'wft' && t.key === key);
    return this.startWorkflowTask({ type: 'wft', key, seq: wft.seq }, wft.queue, identity) ?? undefined;
  }

  /**
   * Writes the scheduled/started events of a transient task that is now being recorded: the events
   * the worker was handed with the task, times and request id included. The started event's time is
   * the workflow's clock for that task (`Date.now()` in workflow code): stamped at completion instead,
   * a replay would run the task at a later time than the worker did and could take another branch
   * (a nondeterminism error for the next worker that replays the run).
   */
  materializeTransient(exec: ExecutionState): void {
    const wft = exec.wft;
    if (!wft || !wft.transient) return;
    const s = appendEvent(
      exec,
      EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
      'workflowTaskScheduledEventAttributes',
      {
        taskQueue: {
          name: wft.queue,
          kind: wft.sticky ? E.TaskQueueKind.TASK_QUEUE_KIND_STICKY : E.TaskQueueKind.TASK_QUEUE_KIND_NORMAL,
        },
        startToCloseTimeout: dur(exec.taskTimeoutMs),
        attempt: wft.attempt,
      },
    );
    const st = appendEvent(
      exec,
      EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
      'workflowTaskStartedEventAttributes',
      {
        scheduledEventId: s,
        identity: wft.identity ?? '',
        requestId: wft.requestId ?? randomUUID(),
        ...sizeAttrs(wft),
      },
    );
    exec.history[s - 1]!.eventTime = ts(wft.scheduledTime);
    exec.history[st - 1]!.eventTime = ts(wft.startedTime);
    wft.scheduledEventId = s;
    wft.startedEventId = st;
    wft.transient = false;
  }

  /** Finds the workflow task a token names, or throws NOT_FOUND. */
  taskFor(token: WorkflowTaskToken): ExecutionState {
    const exec = this.executions.get(execKey(token.ns, token.wid, token.rid));
    if (
      !exec ||
      !this.isRunning(exec) ||
      !exec.wft ||
      exec.wft.seq !== token.seq ||
      exec.wft.state !== 'started'
    ) {
      throw notFound('Workflow task not found.');
    }
    return exec;
  }

  /** After a workflow task ends: flush buffered events and schedule the next task if needed. */
  afterWorkflowTask(exec: ExecutionState, needWft: boolean, notBefore?: number): void {
    this.deadlines.clear(`${this.keyOf(exec)}|wft`);
    exec.wft = null;
    if (!this.isRunning(exec)) return;
    const flushed = flushBuffered(exec);
    const pending = exec.wftPending;
    exec.wftPending = false;
    if (flushed > 0 || needWft || pending || this.interactions.needsWorkflowTask(exec))
      this.scheduleWft(exec, notBefore);
    this.interactions.routePending(exec);
  }

  failWft(
    exec: ExecutionState,
    cause: number,
    failure: temporal.api.failure.v1.IFailure | null | undefined,
    identity: string,
    options: { backoff?: boolean } = {},
  ): void {
    const wft = exec.wft!;
    if (!wft.transient) {
      appendEvent(exec, EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED, 'workflowTaskFailedEventAttributes', {
        scheduledEventId: wft.scheduledEventId,
        startedEventId: wft.startedEventId,
        cause,
        failure,
        identity,
      });
    }
    this.log.warn(
      `workflow task for ${exec.workflowId} failed (attempt ${wft.attempt}, cause ${cause}): ${failure?.message ?? ''}`,
    );
    this.retryWorkflowTask(exec);
    this.interactions.onWorkflowTaskLost(exec, wft.seq);
    const backoff =
      options.backoff === false || wft.attempt < 2 ? 0 : Math.min(500 * 2 ** (wft.attempt - 2), 10_000);
    this.afterWorkflowTask(exec, true, Date.now() + backoff);
    this.changed(exec);
  }

  /**
   * The attempt of the task that replaces a failed or timed-out one: as on the official server, a
   * task that failed on a sticky queue is first retried once on the normal queue (full history) as
   * a regular task; otherwise the attempt grows and the retry is transient.
   */
  private retryWorkflowTask(exec: ExecutionState): void {
    const wasSticky = exec.sticky !== null;
    exec.sticky = null;
    exec.wftAttempt = wasSticky ? 1 : (exec.wft?.attempt ?? 0) + 1;
  }

  timeoutWft(exec: ExecutionState, seq: number): void {
    const wft = exec.wft;
    if (!wft || wft.seq !== seq || wft.state !== 'started' || !this.isRunning(exec)) return;
    this.log.warn(`workflow task for ${exec.workflowId} timed out (attempt ${wft.attempt})`);
    if (!wft.transient) {
      appendEvent(exec, EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT, 'workflowTaskTimedOutEventAttributes', {
        scheduledEventId: wft.scheduledEventId,
        startedEventId: wft.startedEventId,
        timeoutType: E.TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE,
      });
    }
    this.retryWorkflowTask(exec);
    this.interactions.onWorkflowTaskLost(exec, wft.seq);
    this.afterWorkflowTask(exec, true);
    this.changed(exec);
  }

  /** Re-arms every timer-driven part of an execution (after a restore). */
  rearm(exec: ExecutionState): void {
    if (!this.isRunning(exec)) return;
    this.armRunTimeout(exec);
    const wft = exec.wft;
    if (wft?.state === 'scheduled') {
      wft.sticky = false;
      wft.queue = exec.taskQueue;
      this.dispatchWft(exec);
    } else if (wft?.state === 'started') {
      this.deadlines.set(`${this.keyOf(exec)}|wft`, wft.startedTime + exec.taskTimeoutMs, () =>
        this.timeoutWft(exec, wft.seq),
      );
    }
  }

  upsertSearchAttributes(exec: ExecutionState, fields: Record<string, Payload> | null | undefined): void {
    mergeSearchAttributes(exec.searchAttributes, fields);
  }
}
