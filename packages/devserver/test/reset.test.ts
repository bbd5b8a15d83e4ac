/** ResetWorkflowExecution: the operator's way out of a stuck run. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
import { api, i64, num, type HistoryEvent } from '../src/proto.js';
import { startEnvWithWorker, uid, type TestEnv } from './helpers.js';
import { bump, counterWorkflow, finish, poison, resettableWorkflow } from './fixtures/workflows.js';

const E = api.enums.v1;
let env: TestEnv;
const taskQueue = uid('reset');
before(async () => {
  env = await startEnvWithWorker(taskQueue);
});
after(() => env?.stop());

const historyOf = async (h: WorkflowHandle, runId?: string) =>
  (await env.client.workflow.getHandle(h.workflowId, runId).fetchHistory()).events ?? [];

/** Waits until the run's history has `n` WorkflowTaskCompleted events; returns the last one's id. */
async function completedTasks(h: WorkflowHandle, n: number): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const done = (await historyOf(h)).filter((e) => e.workflowTaskCompletedEventAttributes);
    if (done.length >= n) return num(done[n - 1]!.eventId);
    await sleep(50);
  }
  throw new Error(`fewer than ${n} completed workflow tasks`);
}

const reset = (h: WorkflowHandle, runId: string, finishEventId: number, extra: object = {}) =>
  env.client.workflowService.resetWorkflowExecution({
    namespace: 'default',
    workflowExecution: { workflowId: h.workflowId, runId },
    reason: 'operator reset',
    workflowTaskFinishEventId: i64(finishEventId),
    requestId: randomUUID(),
    ...extra,
  });

test(
  'a run stuck on failing workflow tasks is reset before the bad signal; its timer and state carry over',
  { timeout: 60_000 },
  async () => {
    const handle = await env.client.workflow.start(resettableWorkflow, {
      taskQueue,
      workflowId: uid('stuck'),
      args: [1500],
    });
    const baseRunId = (await handle.describe()).runId;
    await completedTasks(handle, 1);
    await handle.signal(bump, 1);
    const point = await completedTasks(handle, 2);
    await handle.signal(poison);
    // Stuck: the workflow task after the poison fails.
    for (
      let i = 0;
      i < 100 && !(await historyOf(handle)).some((e) => e.workflowTaskFailedEventAttributes);
      i++
    )
      await sleep(50);

    const { runId } = await reset(handle, baseRunId, point, {
      resetReapplyType: E.ResetReapplyType.RESET_REAPPLY_TYPE_NONE,
    });
    assert.notEqual(runId, baseRunId);
    const base = await env.client.workflow.getHandle(handle.workflowId, baseRunId).describe();
    assert.equal(base.status.name, 'TERMINATED');
    // As on the official server, the original handle's result() ends with the termination; the workflow id goes on.
    await assert.rejects(handle.result(), /operator reset/);
    const current = env.client.workflow.getHandle(handle.workflowId);
    await current.signal(finish);
    assert.equal(await current.result(), 'value:101', 'the bump before the reset point and the timer count');

    const events: HistoryEvent[] = await historyOf(handle, runId);
    const failed = events[point - 1]!.workflowTaskFailedEventAttributes!;
    assert.equal(failed.cause, E.WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW);
    assert.equal(failed.baseRunId, baseRunId);
    assert.equal(failed.newRunId, runId);
    const signals = events.filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'poison');
    assert.equal(signals.length, 0, 'RESET_REAPPLY_TYPE_NONE: the poison signal is not re-applied');
    assert.equal(
      events.filter((e) => e.timerStartedEventAttributes).length,
      1,
      'the timer was not started again',
    );
  },
);

test(
  'signals after the reset point are re-applied by default; a retried reset returns the same run',
  { timeout: 60_000 },
  async () => {
    const handle = await env.client.workflow.start(counterWorkflow, {
      taskQueue,
      workflowId: uid('reapply'),
      args: [0],
    });
    const baseRunId = (await handle.describe()).runId;
    const first = await completedTasks(handle, 1);
    await handle.signal(bump, 1);
    await completedTasks(handle, 2);
    await handle.signal(bump, 2);
    await completedTasks(handle, 3);

    const requestId = randomUUID();
    const { runId } = await reset(handle, baseRunId, first, { requestId });
    const again = await reset(handle, baseRunId, first, { requestId });
    assert.equal(again.runId, runId, 'same request id, same reset run');
    const current = env.client.workflow.getHandle(handle.workflowId);
    await current.signal(finish);
    assert.equal(await current.result(), 3, 'both signals re-applied to the new run');
    const events = await historyOf(handle, runId);
    assert.equal(
      events.filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'bump').length,
      2,
    );
  },
);

test('a reset point that is not the end of a workflow task is refused', { timeout: 60_000 }, async () => {
  const handle = await env.client.workflow.start(counterWorkflow, {
    taskQueue,
    workflowId: uid('bad'),
    args: [0],
  });
  const runId = (await handle.describe()).runId;
  await completedTasks(handle, 1);
  await assert.rejects(reset(handle, runId, 999), /INVALID_ARGUMENT/);
  await assert.rejects(reset(handle, runId, 2), /INVALID_ARGUMENT/);
  await handle.signal(finish);
  assert.equal(await handle.result(), 0);
});
