/** Eager workflow start: a client sharing its NativeConnection with a worker gets the first task in the start response. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@temporalio/client';
import { createWorker, quietRuntime, startEnv, uid, workflowBundle, type TestEnv } from './helpers.js';
import { echoWorkflow } from './fixtures/workflows.js';

let env: TestEnv;
before(async () => {
  quietRuntime();
  env = await startEnv();
});
after(() => env?.stop());

const firstTaskIdentity = async (client: Client, workflowId: string) => {
  const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  return events.find((e) => e.workflowTaskStartedEventAttributes)!.workflowTaskStartedEventAttributes!
    .identity;
};

test('requestEagerStart: the first workflow task comes back in the start response and runs on the local worker', async () => {
  const taskQueue = uid('eager');
  const { worker, connection } = await createWorker(
    env.address,
    taskQueue,
    { echo: async (s: string) => `echo:${s}` },
    await workflowBundle(),
  );
  const client = new Client({ connection, namespace: 'default', identity: 'eager-starter' });
  try {
    await worker.runUntil(async () => {
      const eager = await client.workflow.start(echoWorkflow, {
        taskQueue,
        workflowId: uid('eager'),
        args: ['a'],
        requestEagerStart: true,
      });
      assert.equal(eager.eagerlyStarted, true);
      assert.equal(await eager.result(), 'echo:a');
      assert.equal(await firstTaskIdentity(client, eager.workflowId), 'eager-starter');

      const polled = await client.workflow.start(echoWorkflow, {
        taskQueue,
        workflowId: uid('polled'),
        args: ['b'],
      });
      assert.equal(polled.eagerlyStarted, false);
      assert.equal(await polled.result(), 'echo:b');
      assert.notEqual(await firstTaskIdentity(client, polled.workflowId), 'eager-starter');

      const delayed = await client.workflow.start(echoWorkflow, {
        taskQueue,
        workflowId: uid('delayed'),
        args: ['c'],
        requestEagerStart: true,
        startDelay: '100ms',
      });
      assert.equal(delayed.eagerlyStarted, false, 'a delayed start is never eager');
      assert.equal(await delayed.result(), 'echo:c');
    });
  } finally {
    await connection.close();
  }
});
