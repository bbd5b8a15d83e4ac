import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  WorkflowFailedError,
  WorkflowUpdateFailedError,
  WorkflowExecutionAlreadyStartedError,
} from '@temporalio/client';
import { CancelledFailure, TerminatedFailure } from '@temporalio/common';
import { startEnvWithWorker, uid, type TestEnv } from './helpers.js';
import {
  add,
  bump,
  conditionWorkflow,
  counterWorkflow,
  finish,
  sleepForeverWorkflow,
  timerWorkflow,
  total,
} from './fixtures/workflows.js';

let env: TestEnv;
const taskQueue = uid('interactions');

before(async () => {
  env = await startEnvWithWorker(taskQueue);
});
after(() => env?.stop());

test('timers fire after their duration', async () => {
  const elapsed = await env.client.workflow.execute(timerWorkflow, {
    taskQueue,
    workflowId: uid('timer'),
    args: [300],
  });
  assert.ok(elapsed >= 290, `slept ${elapsed}ms`);
});

test('condition with timeout: times out, or returns early on a signal', async () => {
  assert.equal(
    await env.client.workflow.execute(conditionWorkflow, { taskQueue, workflowId: uid('cond'), args: [200] }),
    'timed out',
  );
  const handle = await env.client.workflow.start(conditionWorkflow, {
    taskQueue,
    workflowId: uid('cond'),
    args: [30_000],
  });
  await handle.signal(finish);
  assert.equal(await handle.result(), 'signalled');
});

test('signals and queries', async () => {
  const handle = await env.client.workflow.start(counterWorkflow, {
    taskQueue,
    workflowId: uid('counter'),
    args: [1],
  });
  await handle.signal(bump, 2);
  await handle.signal(bump, 3);
  assert.equal(await handle.query(total), 6);
  assert.equal(await handle.query(total), 6);
  await handle.signal(finish);
  assert.equal(await handle.result(), 6);
  // Queries also work on a closed workflow (replayed from history).
  assert.equal(await handle.query(total), 6);
});

test('updates: completed with a result, rejected by the validator, started then awaited', async () => {
  const handle = await env.client.workflow.start(counterWorkflow, {
    taskQueue,
    workflowId: uid('counter'),
    args: [10],
  });
  assert.equal(await handle.executeUpdate(add, { args: [5] }), 15);
  await assert.rejects(handle.executeUpdate(add, { args: [-1] }), (err: Error) => {
    assert.ok(err instanceof WorkflowUpdateFailedError);
    assert.match(String((err as WorkflowUpdateFailedError).cause?.message), /negative numbers are rejected/);
    return true;
  });
  const upd = await handle.startUpdate(add, { args: [1], waitForStage: 'ACCEPTED', updateId: 'upd-1' });
  assert.equal(await upd.result(), 16);
  // Same update id: deduplicated, same outcome.
  assert.equal(await handle.executeUpdate(add, { args: [1], updateId: 'upd-1' }), 16);
  assert.equal(await handle.getUpdateHandle<number>('upd-1').result(), 16);
  assert.equal(await handle.query(total), 16);
  await handle.signal(finish);
  assert.equal(await handle.result(), 16);
  const history = await handle.fetchHistory();
  const events = history.events!;
  assert.equal(
    events.filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes).length,
    2,
    'two UpdateAccepted events',
  );
  assert.equal(
    events.filter((e) => e.workflowExecutionUpdateCompletedEventAttributes).length,
    2,
    'two UpdateCompleted events',
  );
});

test('signal-with-start starts once then signals the running workflow', async () => {
  const workflowId = uid('sws');
  const h1 = await env.client.workflow.signalWithStart(counterWorkflow, {
    taskQueue,
    workflowId,
    args: [100],
    signal: bump,
    signalArgs: [1],
  });
  const h2 = await env.client.workflow.signalWithStart(counterWorkflow, {
    taskQueue,
    workflowId,
    args: [100],
    signal: bump,
    signalArgs: [2],
  });
  assert.equal(h1.signaledRunId, h2.signaledRunId);
  await h2.signal(finish);
  assert.equal(await h1.result(), 103);
});

test('start conflicts: a running id is rejected, request ids are idempotent', async () => {
  const workflowId = uid('dup');
  const handle = await env.client.workflow.start(sleepForeverWorkflow, { taskQueue, workflowId });
  await assert.rejects(
    env.client.workflow.start(sleepForeverWorkflow, { taskQueue, workflowId }),
    WorkflowExecutionAlreadyStartedError,
  );
  const again = await env.client.workflow.start(sleepForeverWorkflow, {
    taskQueue,
    workflowId,
    workflowIdConflictPolicy: 'USE_EXISTING',
  });
  assert.equal(again.firstExecutionRunId, handle.firstExecutionRunId);
  await handle.terminate('cleanup');
});

test('cancel from the client cancels the workflow', async () => {
  const handle = await env.client.workflow.start(sleepForeverWorkflow, {
    taskQueue,
    workflowId: uid('cancel'),
  });
  await handle.query('__stack_trace').catch(() => undefined);
  await handle.cancel();
  await assert.rejects(handle.result(), (err: Error) => {
    assert.ok(err instanceof WorkflowFailedError);
    assert.ok(err.cause instanceof CancelledFailure);
    return true;
  });
  assert.equal((await handle.describe()).status.name, 'CANCELLED');
});

test('terminate from the client, and describe', async () => {
  const handle = await env.client.workflow.start(sleepForeverWorkflow, {
    taskQueue,
    workflowId: uid('term'),
    memo: { owner: 'me' },
  });
  const before = await handle.describe();
  assert.equal(before.status.name, 'RUNNING');
  assert.equal(before.type, 'sleepForeverWorkflow');
  assert.equal(before.taskQueue, taskQueue);
  assert.deepEqual(before.memo, { owner: 'me' });
  await handle.terminate('because');
  await assert.rejects(handle.result(), (err: Error) => {
    assert.ok(err instanceof WorkflowFailedError);
    assert.ok(err.cause instanceof TerminatedFailure);
    return true;
  });
  assert.equal((await handle.describe()).status.name, 'TERMINATED');
});
