/** User metadata: the workflow's summary/details and its steps' summaries are kept and returned. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { HistoryEvent } from '../src/proto.js';
import { startEnvWithWorker, uid, type TestEnv } from './helpers.js';
import { summariesWorkflow } from './fixtures/workflows.js';

let env: TestEnv;
const taskQueue = uid('metadata');
before(async () => {
  env = await startEnvWithWorker(taskQueue, { echo: async (s: string) => `echo:${s}` });
});
after(() => env?.stop());

test('workflow summary/details in describe and the started event; activity, timer and child summaries in history', async () => {
  const handle = await env.client.workflow.start(summariesWorkflow, {
    taskQueue,
    workflowId: uid('meta'),
    staticSummary: 'run summary',
    staticDetails: 'run details',
  });
  assert.equal(await handle.result(), 'echo:x/child:c');
  const desc = await handle.describe();
  assert.equal(await desc.staticSummary(), 'run summary');
  assert.equal(await desc.staticDetails(), 'run details');

  const converter = env.client.options.loadedDataConverter.payloadConverter;
  const summaryOf = (e: HistoryEvent | undefined) =>
    e?.userMetadata?.summary ? converter.fromPayload(e.userMetadata.summary) : undefined;
  const events = (await handle.fetchHistory()).events ?? [];
  assert.equal(summaryOf(events[0]), 'run summary');
  assert.equal(summaryOf(events.find((e) => e.activityTaskScheduledEventAttributes)), 'echo step');
  assert.equal(summaryOf(events.find((e) => e.timerStartedEventAttributes)), 'short pause');
  assert.equal(
    summaryOf(events.find((e) => e.startChildWorkflowExecutionInitiatedEventAttributes)),
    'the child',
  );

  const child = await env.client.workflow.getHandle(`${handle.workflowId}-child`).describe();
  assert.equal(await child.staticSummary(), 'the child');
  assert.equal(await child.staticDetails(), 'child details');
});
