import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createWorker, startEnv, uid, workflowBundle, type TestEnv } from './helpers.js';
import { echoWorkflow } from './fixtures/workflows.js';

let env: TestEnv;
let bundle: { code: string };
before(async () => {
  env = await startEnv();
  bundle = await workflowBundle();
});
after(async () => {
  await env?.stop();
});

test('a workflow runs an activity and returns its result', async () => {
  const taskQueue = uid('tq');
  const { worker, connection } = await createWorker(
    env.address,
    taskQueue,
    { echo: async (s: string) => `echo:${s}` },
    bundle,
  );
  try {
    const result = await worker.runUntil(
      env.client.workflow.execute(echoWorkflow, { taskQueue, workflowId: uid('wf'), args: ['hi'] }),
    );
    assert.equal(result, 'echo:hi');
  } finally {
    await connection.close();
  }
});
