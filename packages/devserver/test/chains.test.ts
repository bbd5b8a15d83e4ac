/** Workflow retry policies and cron schedules are executed: each new run follows from the close event. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { WorkflowFailedError } from '@temporalio/client';
import { api, num, type HistoryEvent } from '../src/proto.js';
import { startEnvWithWorker, uid, type TestEnv } from './helpers.js';
import { cronCounterWorkflow, flakyWorkflow, slowUntilWorkflow } from './fixtures/workflows.js';

const E = api.enums.v1;
let env: TestEnv;
const taskQueue = uid('chains');
before(async () => {
  env = await startEnvWithWorker(taskQueue);
});
after(() => env?.stop());

const historyOf = async (workflowId: string, runId: string) =>
  (await env.client.workflow.getHandle(workflowId, runId).fetchHistory()).events ?? [];
const durMs = (d: { seconds?: unknown; nanos?: number | null } | null | undefined) =>
  num(d?.seconds) * 1000 + Math.floor((d?.nanos ?? 0) / 1e6);

/** Follows `newExecutionRunId` from the first run: every run's history, in order. */
async function chain(workflowId: string, firstRunId: string): Promise<HistoryEvent[][]> {
  const runs: HistoryEvent[][] = [];
  let runId = firstRunId;
  for (;;) {
    const events = await historyOf(workflowId, runId);
    runs.push(events);
    const close = events[events.length - 1]!;
    const attrs =
      close.workflowExecutionFailedEventAttributes ??
      close.workflowExecutionCompletedEventAttributes ??
      close.workflowExecutionTimedOutEventAttributes;
    if (!attrs?.newExecutionRunId) return runs;
    runId = attrs.newExecutionRunId;
  }
}

const started = (run: HistoryEvent[]) => run[0]!.workflowExecutionStartedEventAttributes!;

test('workflow retry policy: failed runs are retried with backoff until one succeeds', async () => {
  const handle = await env.client.workflow.start(flakyWorkflow, {
    taskQueue,
    workflowId: uid('retry'),
    args: [3, 'Flaky'],
    retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumAttempts: 5 },
  });
  assert.equal(await handle.result(), 3, 'result() follows the retries');
  const runs = await chain(handle.workflowId, handle.firstExecutionRunId);
  assert.equal(runs.length, 3);
  for (const [i, run] of runs.entries()) assert.equal(started(run).attempt, i + 1);
  const failed = runs[0]![runs[0]!.length - 1]!.workflowExecutionFailedEventAttributes!;
  assert.equal(failed.retryState, E.RetryState.RETRY_STATE_IN_PROGRESS);
  assert.equal(started(runs[1]!).initiator, E.ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_RETRY);
  assert.equal(started(runs[1]!).continuedFailure?.applicationFailureInfo?.type, 'Flaky');
  assert.equal(durMs(started(runs[1]!).firstWorkflowTaskBackoff), 200);
  assert.equal(durMs(started(runs[2]!).firstWorkflowTaskBackoff), 400);
});

test('workflow retry policy: maximum attempts and non-retryable types end the chain with a failure', async () => {
  const exhausted = await env.client.workflow.start(flakyWorkflow, {
    taskQueue,
    workflowId: uid('retry'),
    args: [10, 'Flaky'],
    retry: { initialInterval: '50ms', maximumAttempts: 2 },
  });
  await assert.rejects(exhausted.result(), WorkflowFailedError);
  const runs = await chain(exhausted.workflowId, exhausted.firstExecutionRunId);
  assert.equal(runs.length, 2);
  const last = runs[1]![runs[1]!.length - 1]!.workflowExecutionFailedEventAttributes!;
  assert.equal(last.retryState, E.RetryState.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED);

  const fatal = await env.client.workflow.start(flakyWorkflow, {
    taskQueue,
    workflowId: uid('retry'),
    args: [10, 'Fatal'],
    retry: { initialInterval: '50ms', nonRetryableErrorTypes: ['Fatal'] },
  });
  await assert.rejects(fatal.result(), WorkflowFailedError);
  const fatalRuns = await chain(fatal.workflowId, fatal.firstExecutionRunId);
  assert.equal(fatalRuns.length, 1);
  const closed = fatalRuns[0]![fatalRuns[0]!.length - 1]!.workflowExecutionFailedEventAttributes!;
  assert.equal(closed.retryState, E.RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE);
});

test('workflow retry policy: a run that times out is retried', async () => {
  const handle = await env.client.workflow.start(slowUntilWorkflow, {
    taskQueue,
    workflowId: uid('retry-timeout'),
    args: [2],
    workflowRunTimeout: '3s', // the retried run's first task must finish inside it on a loaded machine
    retry: { initialInterval: '50ms', maximumAttempts: 3 },
  });
  assert.equal(await handle.result(), 2);
  const runs = await chain(handle.workflowId, handle.firstExecutionRunId);
  const timedOut = runs[0]![runs[0]!.length - 1]!.workflowExecutionTimedOutEventAttributes!;
  assert.equal(timedOut.retryState, E.RetryState.RETRY_STATE_IN_PROGRESS);
});

test('cron schedule: runs follow each other on the schedule, each with the last result', async () => {
  const handle = await env.client.workflow.start(cronCounterWorkflow, {
    taskQueue,
    workflowId: uid('cron'),
    cronSchedule: '@every 1s',
  });
  const firstRunId = handle.firstExecutionRunId;
  let runs: HistoryEvent[][] = [];
  for (let i = 0; i < 100 && runs.length < 4; i++) {
    await new Promise((r) => setTimeout(r, 200));
    runs = await chain(handle.workflowId, firstRunId);
  }
  await handle.terminate('enough');
  assert.ok(runs.length >= 4, `${runs.length} cron runs`);
  for (const [i, run] of runs.slice(0, 3).entries()) {
    const done = run[run.length - 1]!.workflowExecutionCompletedEventAttributes!;
    assert.ok(done.newExecutionRunId, 'a completed cron run names the next run');
    assert.equal(
      env.client.options.loadedDataConverter.payloadConverter.fromPayload(done.result!.payloads![0]!),
      i + 1,
    );
    assert.equal(
      started(runs[i + 1]!).initiator,
      E.ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_CRON_SCHEDULE,
    );
    assert.equal(started(run).cronSchedule, '@every 1s');
  }
  // Each run's first workflow task waits for the next whole second of the schedule.
  for (const run of runs) {
    const backoff = durMs(started(run).firstWorkflowTaskBackoff);
    assert.ok(backoff > 0 && backoff <= 1000, `first workflow task backoff ${backoff}ms`);
  }
});

test('an invalid cron schedule is refused', async () => {
  await assert.rejects(
    env.client.workflow.start(cronCounterWorkflow, {
      taskQueue,
      workflowId: uid('cron'),
      cronSchedule: 'not a cron',
    }),
    (err: Error) => /INVALID_ARGUMENT: invalid CronSchedule/.test(String(err.cause)),
  );
});
