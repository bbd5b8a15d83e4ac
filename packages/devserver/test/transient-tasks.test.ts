/**
 * A retried workflow task (attempt 2 and later, off a sticky queue) is transient: its scheduled and
 * started events are handed to the worker with the task but written to history only when it completes.
 * What is written must be what the worker was handed: the started event's time is the workflow's clock
 * for that task, so a history stamped at completion instead makes a replay run the task at another
 * time than the worker did (a time-dependent branch then fails the next worker with a nondeterminism
 * error). Driven through the real client's WorkflowService, acting as the worker.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { enums, num, tsMs, type HistoryEvent } from '../src/proto.js';
import { startEnv, uid, type TestEnv } from './helpers.js';

let env: TestEnv;
before(async () => {
  env = await startEnv();
});
after(() => env?.stop());

const started = (events: HistoryEvent[]) =>
  events.filter((e) => e.workflowTaskStartedEventAttributes).map((e) => e);
const millis = (e: HistoryEvent) => tsMs(e.eventTime);

test('a transient workflow task is recorded with the events the worker was handed (times and request id)', async () => {
  const taskQueue = uid('transient');
  const svc = env.client.workflowService;
  const handle = await env.client.workflow.start('noSuchWorkflowType', { taskQueue, workflowId: uid('t') });
  const poll = () =>
    svc.pollWorkflowTaskQueue({
      namespace: 'default',
      taskQueue: { name: taskQueue },
      identity: 'test-worker',
    });

  const first = await poll();
  assert.equal(first.attempt, 1);
  await svc.respondWorkflowTaskFailed({
    namespace: 'default',
    taskToken: first.taskToken,
    cause: enums.WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE,
    identity: 'test-worker',
  });

  const retry = await poll();
  assert.equal(retry.attempt, 2);
  const handed = started((retry.history?.events ?? []) as HistoryEvent[]).at(-1)!;
  assert.equal(num(handed.eventId), num(retry.startedEventId));
  // The worker takes its time: the task completes well after it was handed out.
  await new Promise((r) => setTimeout(r, 1200));
  await svc.respondWorkflowTaskCompleted({
    namespace: 'default',
    taskToken: retry.taskToken,
    identity: 'test-worker',
    commands: [
      {
        commandType: enums.CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION,
        completeWorkflowExecutionCommandAttributes: {},
      },
    ],
  });

  const events = ((await handle.fetchHistory()).events ?? []) as HistoryEvent[];
  const recorded = events.find((e) => num(e.eventId) === num(handed.eventId))!;
  assert.ok(recorded.workflowTaskStartedEventAttributes, 'the started event keeps its id');
  assert.equal(millis(recorded), millis(handed), 'the started event keeps the time the worker saw');
  assert.equal(
    recorded.workflowTaskStartedEventAttributes.requestId,
    handed.workflowTaskStartedEventAttributes!.requestId,
  );
  const scheduledId = num(handed.workflowTaskStartedEventAttributes!.scheduledEventId);
  const handedScheduled = (retry.history?.events ?? []).find((e) => num(e.eventId) === scheduledId)!;
  const recordedScheduled = events.find((e) => num(e.eventId) === scheduledId)!;
  assert.equal(millis(recordedScheduled as HistoryEvent), millis(handedScheduled as HistoryEvent));
});
