/**
 * History builder: appends events with sequential ids, buffers events that arrive while a workflow
 * task is in flight (as the official server does) and resolves their back-references on flush.
 */
import { EventType, i64, num, root, ts, type HistoryEvent } from './proto.js';
import type { ExecutionState } from './state.js';

/** Placeholder for a `startedEventId` that is only known when buffered events are flushed. */
export const PENDING_REF = -1;

type Attrs = Record<string, unknown>;

export function nextEventId(exec: ExecutionState): number {
  return exec.history.length + 1;
}

function makeEvent(eventType: number, key: string, attrs: Attrs): HistoryEvent {
  return {
    eventId: i64(0),
    eventTime: ts(Date.now()),
    eventType,
    version: i64(0),
    taskId: i64(0),
    [key]: attrs,
  } as unknown as HistoryEvent;
}

/** Appends directly to history (workflow task lifecycle, command results, closes). Returns the event id. */
export function appendEvent(exec: ExecutionState, eventType: number, key: string, attrs: Attrs): number {
  const ev = makeEvent(eventType, key, attrs);
  const id = nextEventId(exec);
  ev.eventId = i64(id);
  ev.taskId = i64(id);
  exec.history.push(ev);
  return id;
}

/** True when events from outside must wait for the in-flight workflow task to finish. */
export function mustBuffer(exec: ExecutionState): boolean {
  return exec.wft?.state === 'started';
}

/**
 * Records an event coming from outside the workflow task (signal, activity result, timer...).
 * Returns the event id, or PENDING_REF when buffered.
 */
export function recordExternal(exec: ExecutionState, eventType: number, key: string, attrs: Attrs): number {
  if (mustBuffer(exec)) {
    exec.buffered.push(makeEvent(eventType, key, attrs));
    return PENDING_REF;
  }
  const id = appendEvent(exec, eventType, key, attrs);
  resolveRefs(exec, exec.history[id - 1]!);
  return id;
}

const childCloseTypes = new Set<number>([
  EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED,
  EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED,
  EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED,
  EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT,
  EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED,
]);

export function attrsOf(ev: HistoryEvent): Attrs {
  for (const [k, v] of Object.entries(ev)) {
    if (k.endsWith('EventAttributes') && v) return v as Attrs;
  }
  return {};
}

function resolveRefs(exec: ExecutionState, ev: HistoryEvent): void {
  const a = attrsOf(ev);
  if (a.startedEventId !== PENDING_REF) return;
  const id = num(ev.eventId);
  if (childCloseTypes.has(ev.eventType as number)) {
    const started = exec.history.find(
      (e) =>
        e.eventType === EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED &&
        num(e.childWorkflowExecutionStartedEventAttributes?.initiatedEventId) === num(a.initiatedEventId),
    );
    a.startedEventId = started ? num(started.eventId) : 0;
    return;
  }
  // An activity outcome: its ActivityTaskStarted was recorded just before it (maybe not adjacent,
  // since flushing moves outcomes after the other buffered events).
  a.startedEventId = 0;
  for (let i = id - 2; i >= 0; i--) {
    const started = exec.history[i]!.activityTaskStartedEventAttributes;
    if (started && num(started.scheduledEventId) === num(a.scheduledEventId)) {
      a.startedEventId = i + 1;
      break;
    }
  }
}

/** Outcomes of activities and children: flushed after the other buffered events, as the official server does. */
const outcomeTypes = new Set<number>([
  EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
  EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED,
  EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
  EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED,
  ...childCloseTypes,
]);

/** Appends buffered events (outcomes last); returns how many were flushed. */
export function flushBuffered(exec: ExecutionState): number {
  const events = [
    ...exec.buffered.filter((e) => !outcomeTypes.has(e.eventType as number)),
    ...exec.buffered.filter((e) => outcomeTypes.has(e.eventType as number)),
  ];
  exec.buffered = [];
  for (const ev of events) {
    const id = nextEventId(exec);
    ev.eventId = i64(id);
    ev.taskId = i64(id);
    exec.history.push(ev);
    resolveRefs(exec, ev);
  }
  return events.length;
}

export function synthesizeEvent(id: number, eventType: number, key: string, attrs: Attrs): HistoryEvent {
  const ev = makeEvent(eventType, key, attrs);
  ev.eventId = i64(id);
  ev.taskId = i64(id);
  return ev;
}

const HistoryEventType = root.lookupType('temporal.api.history.v1.HistoryEvent');

/** Bytes of the run's history as encoded events (counted once per event, as events are appended). */
export function historySizeBytes(exec: ExecutionState): number {
  let size = exec.historySize ?? 0;
  let counted = exec.historySizeEvents ?? 0;
  if (counted > exec.history.length) {
    size = 0;
    counted = 0;
  }
  for (; counted < exec.history.length; counted++) {
    size += HistoryEventType.encode(exec.history[counted]!).finish().length;
  }
  exec.historySize = size;
  exec.historySizeEvents = counted;
  return size;
}
