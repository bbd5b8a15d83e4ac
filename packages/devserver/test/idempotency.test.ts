/**
 * Retried calls (same request id, as the SDK's gRPC retries send them) take effect once, through the
 * real client's WorkflowService: Signal, SignalWithStart, RequestCancel; Terminate has no request id
 * and a retry finds the run closed.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { defaultPayloadConverter } from '@temporalio/common';
import type { HistoryEvent } from '../src/proto.js';
import { startEnvWithWorker, uid, type TestEnv } from './helpers.js';
import { counterWorkflow, finish, sleepForeverWorkflow } from './fixtures/workflows.js';

let env: TestEnv;
const taskQueue = uid('idempotency');
before(async () => {
  env = await startEnvWithWorker(taskQueue);
});
after(() => env?.stop());

const payloads = (...values: unknown[]) => ({
  payloads: values.map((v) => defaultPayloadConverter.toPayload(v)),
});
const count = (events: HistoryEvent[], key: keyof HistoryEvent) => events.filter((e) => e[key]).length;
const isCode = (code: number) => (err: { code?: number }) => err.code === code;

test('Signal: a retried request is delivered once, and still acknowledged after the run closed', async () => {
  const handle = await env.client.workflow.start(counterWorkflow, {
    taskQueue,
    workflowId: uid('sig'),
    args: [0],
  });
  const svc = env.client.workflowService;
  const request = {
    namespace: 'default',
    workflowExecution: { workflowId: handle.workflowId },
    signalName: 'bump',
    input: payloads(5),
    identity: 'test',
    requestId: randomUUID(),
  };
  await svc.signalWorkflowExecution(request);
  await svc.signalWorkflowExecution(request);
  await svc.signalWorkflowExecution({ ...request, requestId: randomUUID() });
  await handle.signal(finish);
  assert.equal(await handle.result(), 10, 'two distinct requests, each counted once');
  const events = (await handle.fetchHistory()).events ?? [];
  assert.equal(count(events, 'workflowExecutionSignaledEventAttributes'), 3);
  await svc.signalWorkflowExecution(request);
  await assert.rejects(
    svc.signalWorkflowExecution({ ...request, requestId: randomUUID() }),
    isCode(status.NOT_FOUND),
  );
});

test('SignalWithStart: a retried request starts once and signals once', async () => {
  const workflowId = uid('sws');
  const svc = env.client.workflowService;
  const request = {
    namespace: 'default',
    workflowId,
    workflowType: { name: 'counterWorkflow' },
    taskQueue: { name: taskQueue },
    input: payloads(0),
    signalName: 'bump',
    signalInput: payloads(7),
    identity: 'test',
    requestId: randomUUID(),
  };
  const first = await svc.signalWithStartWorkflowExecution(request);
  const again = await svc.signalWithStartWorkflowExecution(request);
  assert.equal(again.runId, first.runId);
  const other = await svc.signalWithStartWorkflowExecution({ ...request, requestId: randomUUID() });
  assert.equal(other.runId, first.runId, 'a running workflow is signalled, not started again');
  const handle = env.client.workflow.getHandle(workflowId);
  await handle.signal(finish);
  assert.equal(await handle.result(), 14);
  const events = (await handle.fetchHistory()).events ?? [];
  assert.equal(count(events, 'workflowExecutionStartedEventAttributes'), 1);
  assert.equal(
    count(events, 'workflowExecutionSignaledEventAttributes'),
    3,
    'bump, bump (other request), finish',
  );
});

test('RequestCancel: repeated requests record one cancel request; after the close they still succeed', async () => {
  const handle = await env.client.workflow.start(sleepForeverWorkflow, {
    taskQueue,
    workflowId: uid('cancel'),
  });
  const svc = env.client.workflowService;
  const request = {
    namespace: 'default',
    workflowExecution: { workflowId: handle.workflowId },
    identity: 'test',
    requestId: randomUUID(),
    reason: 'test',
  };
  await svc.requestCancelWorkflowExecution(request);
  await svc.requestCancelWorkflowExecution(request);
  await svc.requestCancelWorkflowExecution({ ...request, requestId: randomUUID() });
  await assert.rejects(handle.result());
  assert.equal((await handle.describe()).status.name, 'CANCELLED');
  await svc.requestCancelWorkflowExecution(request);
  const events = (await handle.fetchHistory()).events ?? [];
  assert.equal(count(events, 'workflowExecutionCancelRequestedEventAttributes'), 1);
});

test('Terminate: a retried call finds the run closed (NOT_FOUND) and records nothing more', async () => {
  const handle = await env.client.workflow.start(sleepForeverWorkflow, {
    taskQueue,
    workflowId: uid('term'),
  });
  const svc = env.client.workflowService;
  const request = {
    namespace: 'default',
    workflowExecution: { workflowId: handle.workflowId },
    reason: 'test',
  };
  await svc.terminateWorkflowExecution(request);
  await assert.rejects(svc.terminateWorkflowExecution(request), isCode(status.NOT_FOUND));
  const events = (await handle.fetchHistory()).events ?? [];
  assert.equal(count(events, 'workflowExecutionTerminatedEventAttributes'), 1);
});
