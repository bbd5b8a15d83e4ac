/** History length and size reach the worker; past the limits, workflow tasks suggest continue-as-new. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { api, num } from '../src/proto.js';
import { startEnvWithWorker, uid, type TestEnv } from './helpers.js';
import { growUntilSuggestedWorkflow } from './fixtures/workflows.js';

const E = api.enums.v1;
const EVENTS = 40;
const BYTES = 6_000;
let env: TestEnv;
const taskQueue = uid('limits');
before(async () => {
  env = await startEnvWithWorker(
    taskQueue,
    {},
    { suggestContinueAsNewEvents: EVENTS, suggestContinueAsNewBytes: BYTES },
  );
});
after(() => env?.stop());

test('suggestContinueAsNew once the workflow task started event reaches the event limit; sizes grow', async () => {
  const handle = await env.client.workflow.start(growUntilSuggestedWorkflow, {
    taskQueue,
    workflowId: uid('grow'),
    args: [100],
  });
  const report = await handle.result();
  assert.ok(report.suggestedAt >= EVENTS, `suggested at ${report.suggestedAt}`);
  assert.ok(report.lengths[report.lengths.length - 2]! < EVENTS, 'not suggested before the limit');
  assert.ok(report.sizes[0]! > 0);
  for (let i = 1; i < report.sizes.length; i++)
    assert.ok(report.sizes[i]! > report.sizes[i - 1]!, 'size grows');
  const events = (await handle.fetchHistory()).events ?? [];
  const started = events.filter((e) => e.workflowTaskStartedEventAttributes);
  for (const e of started) {
    const a = e.workflowTaskStartedEventAttributes!;
    assert.equal(!!a.suggestContinueAsNew, num(e.eventId) >= EVENTS, `task started at ${e.eventId}`);
    if (a.suggestContinueAsNew)
      assert.deepEqual(a.suggestContinueAsNewReasons, [
        E.SuggestContinueAsNewReason.SUGGEST_CONTINUE_AS_NEW_REASON_TOO_MANY_HISTORY_EVENTS,
      ]);
  }
  const described = await env.client.workflowService.describeWorkflowExecution({
    namespace: 'default',
    execution: { workflowId: handle.workflowId },
  });
  const lastStarted = num(started[started.length - 1]!.workflowTaskStartedEventAttributes!.historySizeBytes);
  assert.ok(
    num(described.workflowExecutionInfo?.historySizeBytes) > lastStarted,
    'describe reports the size',
  );
});

test('suggestContinueAsNew when the history passes the size limit', async () => {
  const handle = await env.client.workflow.start(growUntilSuggestedWorkflow, {
    taskQueue,
    workflowId: uid('big'),
    args: [100, 'x'.repeat(BYTES)],
  });
  const report = await handle.result();
  assert.equal(report.lengths.length, 1, 'the first task already suggests it');
  assert.ok(report.sizes[0]! >= BYTES);
  const events = (await handle.fetchHistory()).events ?? [];
  const first = events.find((e) => e.workflowTaskStartedEventAttributes)!.workflowTaskStartedEventAttributes!;
  assert.deepEqual(first.suggestContinueAsNewReasons, [
    E.SuggestContinueAsNewReason.SUGGEST_CONTINUE_AS_NEW_REASON_HISTORY_SIZE_TOO_LARGE,
  ]);
});
