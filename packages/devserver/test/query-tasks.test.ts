/**
 * Query tasks handed to a worker outside a workflow task carry what the official server sends: on the
 * run's sticky queue no history events at all (the worker answers from the run it has cached), on the
 * normal queue the whole history; and a query queued before new events arrived (here a signal) rides
 * on the workflow task those events schedule, as the official server dispatches a query task only while
 * no workflow task is pending. Events handed to a cached run with a query are applied by the SDK outside
 * any workflow task: the run's state then no longer follows its history, and the next worker that
 * replays it fails with a nondeterminism error. Driven through the real client's WorkflowService,
 * acting as the worker.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { defaultPayloadConverter } from '@temporalio/common';
import { dur, enums, type HistoryEvent } from '../src/proto.js';
import { startEnv, uid, type TestEnv } from './helpers.js';

let env: TestEnv;
before(async () => {
  env = await startEnv();
});
after(() => env?.stop());

const types = (events: HistoryEvent[] | null | undefined) =>
  (events ?? []).map((e) => enums.EventType[e.eventType as number]);

test('a query task on the sticky queue carries no history events; one queued before new events rides on the workflow task they schedule', async () => {
  const taskQueue = uid('queries');
  const sticky = `${taskQueue}-sticky`;
  const svc = env.client.workflowService;
  const handle = await env.client.workflow.start('noSuchWorkflowType', { taskQueue, workflowId: uid('q') });
  const poll = (queue: string) =>
    svc.pollWorkflowTaskQueue({ namespace: 'default', taskQueue: { name: queue }, identity: 'test-worker' });
  const answer = (taskToken: Uint8Array | null | undefined) =>
    svc.respondQueryTaskCompleted({
      namespace: 'default',
      taskToken,
      completedType: enums.QueryResultType.QUERY_RESULT_TYPE_ANSWERED,
      queryResult: { payloads: [defaultPayloadConverter.toPayload('state')] },
    });

  // The first task, completed with a timer and the worker's sticky queue.
  const first = await poll(taskQueue);
  await svc.respondWorkflowTaskCompleted({
    namespace: 'default',
    taskToken: first.taskToken,
    identity: 'test-worker',
    stickyAttributes: { workerTaskQueue: { name: sticky }, scheduleToStartTimeout: dur(10_000) },
    commands: [
      {
        commandType: enums.CommandType.COMMAND_TYPE_START_TIMER,
        startTimerCommandAttributes: { timerId: '1', startToFireTimeout: dur(3_600_000) },
      },
    ],
  });

  // A query while the worker polls its sticky queue: no events with it.
  const waiting = poll(sticky);
  const q1 = handle.query<string>('state');
  const task1 = await waiting;
  assert.ok(task1.query, 'a query task');
  assert.deepEqual(types(task1.history?.events), []);
  await answer(task1.taskToken);
  assert.equal(await q1, 'state');

  // A query queued while the worker is busy, then a signal (a workflow task scheduled behind it): the
  // query now rides on that task (answered with its completion), never alone with the signal's events.
  const q2 = handle.query<string>('state');
  await new Promise((r) => setTimeout(r, 200));
  await handle.signal('poke');
  const wft = await poll(sticky);
  assert.ok(!wft.query, 'no query task handed out with events the worker has not processed');
  assert.ok(types(wft.history?.events).includes('EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED'));
  const [queryId] = Object.keys(wft.queries ?? {});
  assert.ok(queryId, 'the query rides on the workflow task');
  await svc.respondWorkflowTaskCompleted({
    namespace: 'default',
    taskToken: wft.taskToken,
    identity: 'test-worker',
    stickyAttributes: { workerTaskQueue: { name: sticky }, scheduleToStartTimeout: dur(10_000) },
    queryResults: {
      [queryId]: {
        resultType: enums.QueryResultType.QUERY_RESULT_TYPE_ANSWERED,
        answer: { payloads: [defaultPayloadConverter.toPayload('after the signal')] },
      },
    },
  });
  assert.equal(await q2, 'after the signal');
  await handle.terminate();
});
