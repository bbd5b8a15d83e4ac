/**
 * The secret detector's power, checked on every run: a real migration workflow, started through the
 * real client and run by a real worker process, gets the stack's secrets planted in one activity
 * argument and in every other place a history or a log can carry them; the detector must report each
 * place. (test/workflow/e2e.test.ts then uses the same detector to show a normal run leaks nothing.)
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, type WorkflowClientInterceptor } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { createSchema, status, testPlan, waitStatus, type Env } from './helpers.js';
import { SecretScanner, stackSecrets } from '../support/secret-scan.js';
import { startLoggedEnv, type WorkerChild } from '../support/worker-child.js';
import {
  MIGRATION_WORKFLOW_TYPE,
  SA_TABLES,
  migrationWorkflowId,
  type MigrationPlan,
} from '../../src/workflows/api.js';

let env: Env;
let worker: WorkerChild;
let logged: Awaited<ReturnType<typeof startLoggedEnv>>;

before(async () => {
  logged = await startLoggedEnv('DEBUG');
  ({ env, worker } = logged);
  await createSchema(env.stack, 10);
});

after(async () => {
  await logged?.stop();
});

test('the detector finds secrets planted in an activity argument, a failure, memo, search attributes, a header, a signal, an update and both logs', async () => {
  const { stack } = env;
  const sourcePassword = stack.source.password;
  const targetPassword = stack.target.password;
  const sourceDsn = stack.env.MIGRATOR_DB_SOURCE;
  const targetDsn = stack.env.MIGRATOR_DB_TARGET;
  // The stack's password is identifier-shaped, so it passes as a connection NAME: the workflow hands
  // it to the precheck activity as an argument, and the activity fails naming it.
  assert.match(sourcePassword, /^[A-Za-z_][A-Za-z0-9_]*$/);
  const plan: MigrationPlan = { ...testPlan('planted'), source: sourcePassword };

  const header: WorkflowClientInterceptor = {
    startWithDetails: (input, next) =>
      next({
        ...input,
        headers: { ...input.headers, planted: defaultPayloadConverter.toPayload(sourceDsn) },
      }),
  };
  const client = new Client({
    connection: env.connection,
    namespace: env.client.options.namespace,
    interceptors: { workflow: [header] },
  });
  const handle = await client.workflow.start(MIGRATION_WORKFLOW_TYPE, {
    workflowId: migrationWorkflowId(plan.id),
    taskQueue: 'migrations',
    args: [{ plan }],
    memo: { planted: targetPassword },
    typedSearchAttributes: [{ key: SA_TABLES, value: [targetDsn] }],
  });
  // PRECHECK fails (the activity cannot resolve that connection) and the run waits at a gate.
  await waitStatus(handle, (s) => s.error !== null && s.state === 'WAITING', 'precheck failure');
  // (a signal is recorded in history whether or not the workflow accepts it; this one it refuses)
  await handle.signal('setReadPercent', {
    percent: 5,
    reason: Buffer.from(targetPassword).toString('base64'),
  });
  await handle.executeUpdate('pause', { args: [{ reason: Buffer.from(sourcePassword).toString('hex') }] });
  // The embedded server logs a refused call's message (debug level): a workflow id naming a secret.
  await assert.rejects(env.client.workflow.getHandle(`nowhere-${targetPassword}`).signal('advance', {}));
  assert.equal((await status(handle)).paused, true);

  const scanner = new SecretScanner(stackSecrets(stack));
  const { workflows } = await scanner.temporal(env.client);
  scanner.logFile(worker.logFile, 'worker log');
  scanner.logFile(stack.temporal!.logFile!, 'server log');
  const report = scanner.report();
  const found = (secret: string, form: string, where: RegExp) =>
    assert.ok(
      scanner.findings.some((f) => f.secret === secret && f.form === form && where.test(f.where)),
      `expected ${secret} (${form}) in ${where}; findings:\n${report}`,
    );
  assert.ok(workflows >= 1);
  found(
    'source password',
    'raw',
    /event \d+ EVENT_TYPE_ACTIVITY_TASK_SCHEDULED\.activityTaskScheduledEventAttributes\.input/,
  );
  found(
    'source password',
    'raw',
    /EVENT_TYPE_ACTIVITY_TASK_FAILED\.activityTaskFailedEventAttributes\.failure/,
  );
  found('target password', 'raw', /EVENT_TYPE_WORKFLOW_EXECUTION_STARTED\..*\.memo\.fields\.planted/);
  found('MIGRATOR_DB_TARGET (DSN)', 'raw', /EVENT_TYPE_WORKFLOW_EXECUTION_STARTED\..*\.searchAttributes/);
  found(
    'MIGRATOR_DB_SOURCE (DSN)',
    'raw',
    /EVENT_TYPE_WORKFLOW_EXECUTION_STARTED\..*\.header\.fields\.planted/,
  );
  found('target password', 'base64', /EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED/);
  found('source password', 'hex', /EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED/);
  found('DSN with credentials', 'raw', /EVENT_TYPE_WORKFLOW_EXECUTION_STARTED/);
  found('source password', 'raw', /^worker log:\d+$/);
  found('target password', 'raw', /^server log:\d+$/);

  // What the old check did (JSON.stringify of the history) cannot see a payload: the memo's bytes
  // become a list of numbers.
  const history = await handle.fetchHistory();
  assert.ok(!JSON.stringify(history).includes(targetPassword), 'payload bytes are not text once stringified');

  await handle.terminate('secret detector test done');
});
