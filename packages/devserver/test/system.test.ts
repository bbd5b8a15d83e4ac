import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { startEnvWithWorker, uid, type TestEnv } from './helpers.js';
import { bump, counterWorkflow, failingTaskWorkflow, finish, total } from './fixtures/workflows.js';

let env: TestEnv;
const taskQueue = uid('system');

before(async () => {
  env = await startEnvWithWorker(taskQueue);
});
after(() => env?.stop());

test('system info, cluster info and namespaces', async () => {
  const svc = env.connection.workflowService;
  const info = await svc.getSystemInfo({});
  assert.ok(info.serverVersion);
  assert.equal(info.capabilities?.sdkMetadata, true);
  assert.equal(info.capabilities?.signalAndQueryHeader, true);
  assert.equal(info.capabilities?.supportsSchedules, true);
  const cluster = await svc.getClusterInfo({});
  assert.equal(cluster.clusterName, 'active');
  const name = uid('ns');
  await svc.registerNamespace({ namespace: name, description: 'test ns' });
  const described = await svc.describeNamespace({ namespace: name });
  assert.equal(described.namespaceInfo?.description, 'test ns');
  const listed = await svc.listNamespaces({});
  assert.ok(listed.namespaces.some((n) => n.namespaceInfo?.name === 'default'));
  assert.ok(listed.namespaces.some((n) => n.namespaceInfo?.name === name));
  await assert.rejects(
    svc.registerNamespace({ namespace: name }),
    (err: { code?: number }) => err.code === status.ALREADY_EXISTS,
  );
  await assert.rejects(
    svc.describeNamespace({ namespace: 'no-such-namespace' }),
    (err: { code?: number }) => err.code === status.NOT_FOUND,
  );
});

test('unsupported RPCs answer UNIMPLEMENTED', async () => {
  await assert.rejects(
    env.connection.workflowService.startBatchOperation({ namespace: 'default', jobId: 'x' }),
    (err: { code?: number; details?: string }) =>
      err.code === status.UNIMPLEMENTED && /not implemented/.test(String(err.details)),
  );
});

test('a failing workflow task is retried without filling history, then completes', async () => {
  // sdk-core reports only the first failure of a task and lets later attempts time out: short task timeout.
  const handle = await env.client.workflow.start(failingTaskWorkflow, {
    taskQueue,
    workflowId: uid('wft'),
    // Long enough that the first task runs before it even on a loaded machine (its clock is the task's start).
    args: [Date.now() + 6000],
    workflowTaskTimeout: '1s',
  });
  assert.equal(await handle.result(), 'recovered');
  const events = (await handle.fetchHistory()).events!;
  const failed = events.filter((e) => e.workflowTaskFailedEventAttributes);
  assert.equal(failed.length, 1, 'only the first failed attempt is recorded');
  const scheduled = events.filter((e) => e.workflowTaskScheduledEventAttributes);
  assert.equal(scheduled.length, 2, 'the first attempt and the one that completed');
  assert.ok(
    (scheduled[1]!.workflowTaskScheduledEventAttributes!.attempt ?? 0) > 2,
    'the completing task is a later attempt',
  );
});

test('ResetStickyTaskQueue: the workflow continues on the normal queue with full history', async () => {
  const handle = await env.client.workflow.start(counterWorkflow, {
    taskQueue,
    workflowId: uid('sticky'),
    args: [0],
  });
  await handle.signal(bump, 1);
  assert.equal(await handle.query(total), 1);
  await env.connection.workflowService.resetStickyTaskQueue({
    namespace: 'default',
    execution: { workflowId: handle.workflowId },
  });
  await handle.signal(bump, 2);
  assert.equal(await handle.query(total), 3);
  await handle.signal(finish);
  assert.equal(await handle.result(), 3);
});

test('history long poll and paging', async () => {
  const handle = await env.client.workflow.start(counterWorkflow, {
    taskQueue,
    workflowId: uid('hist'),
    args: [0],
  });
  const svc = env.connection.workflowService;
  const first = await svc.getWorkflowExecutionHistory({
    namespace: 'default',
    execution: { workflowId: handle.workflowId },
    maximumPageSize: 2,
  });
  assert.equal(first.history?.events?.length, 2);
  assert.ok(first.nextPageToken?.length);
  assert.equal(await handle.query(total), 0); // first workflow task done: history is quiet now
  const all = await handle.fetchHistory();
  const waiting = svc.getWorkflowExecutionHistory({
    namespace: 'default',
    execution: { workflowId: handle.workflowId },
    waitNewEvent: true,
    nextPageToken: Buffer.from(String(all.events!.length)),
  });
  await new Promise((r) => setTimeout(r, 100));
  await handle.signal(bump, 5);
  const next = await waiting;
  assert.ok(
    next.history?.events?.some((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'bump'),
  );
  await handle.signal(finish);
  assert.equal(await handle.result(), 5);
});
