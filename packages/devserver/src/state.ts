/**
 * Serializable state of workflow executions (everything persisted lives here; timers, waiters and
 * open calls live in the engine's runtime maps).
 */
import type { HistoryEvent, Payloads, Payload, Failure, RetryPolicy, temporal } from './proto.js';

export type Header = temporal.api.common.v1.IHeader;
export type Memo = temporal.api.common.v1.IMemo;

export interface WorkflowTaskState {
  /** Scheduled event id (virtual when transient). */
  scheduledEventId: number;
  /** Started event id, 0 until started. */
  startedEventId: number;
  attempt: number;
  /** A transient task (attempt > 1) has no events in history until it completes. */
  transient: boolean;
  state: 'scheduled' | 'started';
  /** Queue the task currently sits on. */
  queue: string;
  sticky: boolean;
  scheduledTime: number;
  startedTime: number;
  /** Unique per dispatch: the task token names it. */
  seq: number;
  /** When set, the task is not dispatched before this time (retry backoff / start delay). */
  notBefore?: number;
  identity?: string;
  /** The started event's request id handed out with a transient task (its recorded event repeats it). */
  requestId?: string;
  /** History size and continue-as-new suggestion handed out with this task (its started event repeats them). */
  historySizeBytes?: number;
  suggestContinueAsNewReasons?: number[];
}

export interface ActivityState {
  scheduledEventId: number;
  activityId: string;
  activityType: string;
  taskQueue: string;
  input?: Payloads | null;
  header?: Header | null;
  scheduleToCloseMs: number;
  scheduleToStartMs: number;
  startToCloseMs: number;
  heartbeatMs: number;
  retryPolicy: RetryPolicy;
  scheduledTime: number;
  attempt: number;
  attemptScheduledTime: number;
  state: 'scheduled' | 'backoff' | 'started';
  backoffUntil?: number;
  startedTime?: number;
  startedIdentity?: string;
  requestId?: string;
  heartbeatDetails?: Payloads | null;
  lastHeartbeatTime?: number;
  lastFailure?: Failure | null;
  cancelRequested: boolean;
  cancelRequestedEventId?: number;
  seq: number;
}

export interface TimerState {
  timerId: string;
  startedEventId: number;
  fireAt: number;
}

export interface ChildState {
  initiatedEventId: number;
  namespace: string;
  workflowId: string;
  workflowType: string;
  runId?: string;
  startedEventId?: number;
  parentClosePolicy: number;
}

export interface ParentRef {
  namespace: string;
  workflowId: string;
  runId: string;
  initiatedEventId: number;
}

export interface ExecutionState {
  namespace: string;
  workflowId: string;
  runId: string;
  firstRunId: string;
  workflowType: string;
  taskQueue: string;
  status: number;
  startTime: number;
  executionTime: number;
  closeTime?: number;
  requestIds: string[];
  /** Request ids of the signals delivered (retried calls are not delivered twice). */
  signalRequestIds?: string[];
  memo: Record<string, Payload>;
  searchAttributes: Record<string, Payload>;
  runTimeoutMs: number;
  executionTimeoutMs: number;
  taskTimeoutMs: number;
  runDeadline?: number;
  executionDeadline?: number;
  history: HistoryEvent[];
  /** Started event id of the last completed workflow task. */
  lastCompletedStartedEventId: number;
  /** Attempt the next workflow task gets. */
  wftAttempt: number;
  wft: WorkflowTaskState | null;
  sticky: { queue: string; scheduleToStartMs: number } | null;
  activities: ActivityState[];
  timers: TimerState[];
  children: ChildState[];
  parent?: ParentRef;
  parentClosePolicy?: number;
  cancelRequested: boolean;
  newExecutionRunId?: string;
  /** Events that arrived while a workflow task was in flight (appended when it finishes). */
  buffered: HistoryEvent[];
  /** Set when a fresh workflow task is needed once the in-flight one finishes. */
  wftPending: boolean;
  seq: number;
  /** Encoded size of the first `historySizeEvents` history events (see historySizeBytes). */
  historySize?: number;
  historySizeEvents?: number;
  /** Summary and details given at the start (the UI shows them; Describe returns them). */
  userMetadata?: temporal.api.sdk.v1.IUserMetadata | null;
  /** Attempt of this run under the workflow retry policy (1 when absent). */
  attempt?: number;
  /** The workflow retry policy (defaults filled in), when the start had one. */
  retryPolicy?: RetryPolicy;
  cronSchedule?: string;
  /** Creation order among all runs (absent in state files written before it existed). */
  runSeq?: number;
}

export const WorkflowStatus = {
  RUNNING: 1,
  COMPLETED: 2,
  FAILED: 3,
  CANCELED: 4,
  TERMINATED: 5,
  CONTINUED_AS_NEW: 6,
  TIMED_OUT: 7,
} as const;

export function execKey(ns: string, workflowId: string, runId: string): string {
  return `${ns}\u0000${workflowId}\u0000${runId}`;
}
export function wfKey(ns: string, workflowId: string): string {
  return `${ns}\u0000${workflowId}`;
}
