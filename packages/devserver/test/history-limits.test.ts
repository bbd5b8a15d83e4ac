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

test('list and count report and filter by HistoryLength, HistorySizeBytes and StateTransitionCount', async () => {
  const id = uid('sized');
  const handle = await env.client.workflow.start(growUntilSuggestedWorkflow, {
    taskQueue,
    workflowId: id,
    args: [3],
  });
  await handle.result();
  const described = await handle.describe();
  const size = described.historySize ?? 0;
  assert.ok(described.historyLength > 10 && size > 0);
  const listed = async (condition: string) => {
    const out = [];
    for await (const w of env.client.workflow.list({ query: `WorkflowId = '${id}' AND ${condition}` }))
      out.push(w);
    return out;
  };
  const [info] = await listed(`HistoryLength = ${described.historyLength}`);
  assert.ok(info, 'found by its history length');
  assert.equal(info.historyLength, described.historyLength);
  assert.equal(info.historySize, described.historySize, 'list reports the size describe does');
  assert.equal((await listed(`HistorySizeBytes = ${size}`)).length, 1);
  assert.equal((await listed(`HistorySizeBytes > ${size}`)).length, 0);
  assert.equal((await listed(`HistoryLength < ${described.historyLength}`)).length, 0);
  assert.equal((await listed(`StateTransitionCount >= 1`)).length, 1);
  const { count } = await env.client.workflow.count(
    `WorkflowId = '${id}' AND HistorySizeBytes BETWEEN 1 AND ${size}`,
  );
  assert.equal(count, 1);
});
