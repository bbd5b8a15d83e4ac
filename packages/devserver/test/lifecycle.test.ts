import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnvWithWorker, uid, type TestEnv } from './helpers.js';
import {
  abandoningParentWorkflow,
  continueAsNewWorkflow,
  finish,
  parentWorkflow,
  searchAttributesWorkflow,
} from './fixtures/workflows.js';

let env: TestEnv;
const taskQueue = uid('lifecycle');

before(async () => {
  env = await startEnvWithWorker(taskQueue);
});
after(() => env?.stop());

async function waitFor(pred: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('child workflow: success, failure and cancellation reach the parent', async () => {
  const ok = uid('parent');
  assert.equal(
    await env.client.workflow.execute(parentWorkflow, { taskQueue, workflowId: ok, args: ['ok'] }),
    'child:x',
  );
  const child = await env.client.workflow.getHandle(`${ok}-child`).describe();
  assert.equal(child.status.name, 'COMPLETED');
  assert.equal(child.parentExecution?.workflowId, ok);

  assert.equal(
    await env.client.workflow.execute(parentWorkflow, {
      taskQueue,
      workflowId: uid('parent'),
      args: ['fail'],
    }),
    'caught:child failed: y',
  );

  const c = uid('parent');
  assert.equal(
    await env.client.workflow.execute(parentWorkflow, { taskQueue, workflowId: c, args: ['cancel'] }),
    'child cancelled',
  );
  assert.equal((await env.client.workflow.getHandle(`${c}-child`).describe()).status.name, 'CANCELLED');
});

test('parent close policies: terminate, request cancel, abandon', async () => {
  for (const [policy, expected] of [
    ['TERMINATE', 'TERMINATED'],
    ['REQUEST_CANCEL', 'CANCELLED'],
    ['ABANDON', 'RUNNING'],
  ] as const) {
    const childId = await env.client.workflow.execute(abandoningParentWorkflow, {
      taskQueue,
      workflowId: uid('pcp'),
      args: [policy],
    });
    const child = env.client.workflow.getHandle(childId);
    await waitFor(async () => (await child.describe()).status.name === expected);
    if (expected === 'RUNNING') await child.terminate('cleanup');
  }
});

test('continue-as-new: new runs with the same id, memo and search attributes carried', async () => {
  const workflowId = uid('can');
  const handle = await env.client.workflow.start(continueAsNewWorkflow, {
    taskQueue,
    workflowId,
    args: [0, 3],
    memo: { owner: 'team-a' },
    searchAttributes: { CustomKeywordField: ['carried'] },
  });
  assert.equal(await handle.result(), 'done at 3 memo=team-a sa=carried continued=yes');
  const desc = await env.client.workflow.getHandle(workflowId).describe();
  assert.notEqual(desc.runId, handle.firstExecutionRunId);
  assert.equal(desc.status.name, 'COMPLETED');
  assert.deepEqual(desc.memo, { owner: 'team-a' });
  assert.deepEqual(desc.searchAttributes.CustomKeywordField, ['carried']);
  const first = await env.client.workflow.getHandle(workflowId, handle.firstExecutionRunId).describe();
  assert.equal(first.status.name, 'CONTINUED_AS_NEW');
});

test('search attributes upserted by the workflow are found by list queries', async () => {
  const tag = uid('tag');
  const handle = await env.client.workflow.start(searchAttributesWorkflow, {
    taskQueue,
    workflowId: uid('sa'),
    args: [tag],
  });
  await waitFor(
    async () =>
      ((await handle.describe()).searchAttributes.CustomKeywordField as string[] | undefined)?.[0] === tag,
  );
  const found: string[] = [];
  for await (const wf of env.client.workflow.list({
    query: `CustomKeywordField = '${tag}' AND ExecutionStatus = 'Running'`,
  }))
    found.push(wf.workflowId);
  assert.deepEqual(found, [handle.workflowId]);
  const count = await env.client.workflow.count(`CustomKeywordField = '${tag}' AND CustomIntField = 42`);
  assert.equal(count.count, 1);
  await handle.signal(finish);
  await handle.result();
  assert.equal(
    (await env.client.workflow.count(`CustomKeywordField = '${tag}' AND ExecutionStatus = 'Running'`)).count,
    0,
  );
  assert.equal(
    (await env.client.workflow.count(`CustomKeywordField = '${tag}' AND ExecutionStatus = 'Completed'`))
      .count,
    1,
  );
  await assert.rejects(env.client.workflow.count(`NoSuchAttribute = 'x'`), (err: Error) => {
    assert.match(
      String((err.cause as Error | undefined)?.message),
      /INVALID_ARGUMENT.*not a valid search attribute/,
    );
    return true;
  });
});

test('operator service: add, list and remove search attributes', async () => {
  const { connection } = env;
  await connection.operatorService.addSearchAttributes({
    namespace: 'default',
    searchAttributes: { DevserverTestKeyword: 2 },
  });
  const listed = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
  assert.equal(listed.customAttributes.DevserverTestKeyword, 2);
  assert.ok(listed.systemAttributes.WorkflowId);
  await connection.operatorService.removeSearchAttributes({
    namespace: 'default',
    searchAttributes: ['DevserverTestKeyword'],
  });
  const after = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
  assert.equal(after.customAttributes.DevserverTestKeyword, undefined);
});
