/** Update-with-start (ExecuteMultiOperation) through the real client: executeUpdateWithStart / startUpdateWithStart. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  WithStartWorkflowOperation,
  WorkflowExecutionAlreadyStartedError,
  WorkflowUpdateFailedError,
  WorkflowUpdateStage,
} from '@temporalio/client';
import { num } from '../src/proto.js';
import { startEnvWithWorker, uid, type TestEnv } from './helpers.js';
import { add, counterWorkflow, finish } from './fixtures/workflows.js';

let env: TestEnv;
const taskQueue = uid('uws');
before(async () => {
  env = await startEnvWithWorker(taskQueue);
});
after(() => env?.stop());

const startOp = (workflowId: string, policy: 'USE_EXISTING' | 'FAIL', start = 1) =>
  new WithStartWorkflowOperation(counterWorkflow, {
    workflowId,
    taskQueue,
    args: [start],
    workflowIdConflictPolicy: policy,
  });

test('executeUpdateWithStart starts the workflow with the update in its first task, then updates the running one', async () => {
  const workflowId = uid('uws');
  const op1 = startOp(workflowId, 'USE_EXISTING');
  assert.equal(
    await env.client.workflow.executeUpdateWithStart(add, { args: [5], startWorkflowOperation: op1 }),
    6,
  );
  const handle = await op1.workflowHandle();
  const op2 = startOp(workflowId, 'USE_EXISTING', 100);
  assert.equal(
    await env.client.workflow.executeUpdateWithStart(add, { args: [4], startWorkflowOperation: op2 }),
    10,
  );
  const runId = async (op: WithStartWorkflowOperation<typeof counterWorkflow>) =>
    (await (await op.workflowHandle()).describe()).runId;
  assert.equal(await runId(op2), await runId(op1), 'no second run');
  await handle.signal(finish);
  assert.equal(await handle.result(), 10);
  const events = (await handle.fetchHistory()).events ?? [];
  assert.equal(events.filter((e) => e.workflowExecutionStartedEventAttributes).length, 1);
  const firstAccepted = events.find((e) => e.workflowExecutionUpdateAcceptedEventAttributes)!;
  const secondTaskStarted = events.filter((e) => e.workflowTaskStartedEventAttributes)[1]!;
  assert.ok(
    num(firstAccepted.eventId) < num(secondTaskStarted.eventId),
    'the first workflow task accepted the update',
  );
});

test('startUpdateWithStart returns once accepted; the handle gives the result', async () => {
  const workflowId = uid('uws');
  const op = startOp(workflowId, 'USE_EXISTING', 10);
  const updateHandle = await env.client.workflow.startUpdateWithStart(add, {
    args: [2],
    waitForStage: WorkflowUpdateStage.ACCEPTED,
    startWorkflowOperation: op,
  });
  assert.equal(updateHandle.workflowId, workflowId);
  assert.equal(await updateHandle.result(), 12);
  await (await op.workflowHandle()).signal(finish);
});

test('conflict policy FAIL on a running workflow: WorkflowExecutionAlreadyStartedError, no update', async () => {
  const workflowId = uid('uws');
  await env.client.workflow.executeUpdateWithStart(add, {
    args: [1],
    startWorkflowOperation: startOp(workflowId, 'FAIL'),
  });
  const op = startOp(workflowId, 'FAIL');
  await assert.rejects(
    env.client.workflow.executeUpdateWithStart(add, { args: [1], startWorkflowOperation: op }),
    WorkflowExecutionAlreadyStartedError,
  );
  await assert.rejects(op.workflowHandle(), WorkflowExecutionAlreadyStartedError);
  const handle = env.client.workflow.getHandle(workflowId);
  await handle.signal(finish);
  assert.equal(await handle.result(), 2, 'only the first update ran');
});

test('an update its validator rejects fails, the workflow it started runs on', async () => {
  const workflowId = uid('uws');
  const op = startOp(workflowId, 'USE_EXISTING', 3);
  await assert.rejects(
    env.client.workflow.executeUpdateWithStart(add, { args: [-1], startWorkflowOperation: op }),
    WorkflowUpdateFailedError,
  );
  const handle = await op.workflowHandle();
  await handle.signal(finish);
  assert.equal(await handle.result(), 3);
});

test('after the workflow closed, update-with-start starts a new run', async () => {
  const workflowId = uid('uws');
  const op1 = startOp(workflowId, 'USE_EXISTING');
  await env.client.workflow.executeUpdateWithStart(add, { args: [1], startWorkflowOperation: op1 });
  const first = await op1.workflowHandle();
  const firstRun = (await first.describe()).runId;
  await first.signal(finish);
  await first.result();
  const op2 = startOp(workflowId, 'USE_EXISTING', 50);
  assert.equal(
    await env.client.workflow.executeUpdateWithStart(add, { args: [1], startWorkflowOperation: op2 }),
    51,
  );
  const second = await op2.workflowHandle();
  assert.notEqual((await second.describe()).runId, firstRun);
  await second.signal(finish);
});
