import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import {
  createWorker,
  freePort,
  quietRuntime,
  serverMain,
  spawnNode as spawn,
  startEnv,
  uid,
  workflowBundle,
  type TestEnv,
} from './helpers.js';
import { durableWorkflow, timerAndRetryWorkflow } from './fixtures/workflows.js';

const here = dirname(fileURLToPath(import.meta.url));

let env: TestEnv;
let bundle: { code: string };
const children: ChildProcess[] = [];
const spawnNode = (args: string[], ready: RegExp, onLine?: (line: string) => void) =>
  spawn(children, args, ready, onLine);

before(async () => {
  quietRuntime();
  env = await startEnv();
  bundle = await workflowBundle();
});
after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await env?.stop();
});

test('a worker killed with SIGKILL mid-workflow: a second worker finishes it', async () => {
  const taskQueue = uid('crash');
  let activityStarted!: () => void;
  const started = new Promise<void>((r) => (activityStarted = r));
  const proc = await spawnNode(
    [join(here, 'fixtures', 'worker-process.ts'), env.address, taskQueue],
    /^READY/,
    (line) => {
      if (line.startsWith('ACTIVITY_STARTED')) activityStarted();
    },
  );
  const handle = await env.client.workflow.start(durableWorkflow, {
    taskQueue,
    workflowId: uid('crash'),
    args: ['k', 100],
  });
  await started;
  proc.kill('SIGKILL');
  await new Promise((r) => proc.once('exit', r));
  const { worker, connection } = await createWorker(
    env.address,
    taskQueue,
    { echo: async (s: string) => `echo:${s}`, flaky: async () => 99 },
    bundle,
  );
  try {
    const result = await worker.runUntil(handle.result());
    assert.equal(result, 'echo:after-2');
    const history = await handle.fetchHistory();
    const timedOut = history.events!.filter((e) => e.activityTaskTimedOutEventAttributes);
    assert.equal(timedOut.length, 0, 'the timed out attempt was retried, not reported');
    const completed = history.events!.find(
      (e) => e.activityTaskCompletedEventAttributes && Number(e.eventId) > 10,
    );
    assert.ok(completed, 'second activity completed');
  } finally {
    await connection.close();
  }
});

test('with a state file, a killed server process restarts and the workflow completes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'devserver-durable-'));
  const dbFile = join(dir, 'state.json');
  const port = await freePort();
  const serverArgs = [serverMain, '--port', String(port), '--db-file', dbFile, '--log-level', 'warn'];
  let server = await spawnNode(serverArgs, /^READY/);
  const address = `127.0.0.1:${port}`;
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace: 'default' });
  const taskQueue = uid('durable');
  const attempts: number[] = [];
  let firstFailure!: () => void;
  const failed = new Promise<void>((r) => (firstFailure = r));
  const { worker, connection: workerConnection } = await createWorker(
    address,
    taskQueue,
    {
      async flaky() {
        attempts.push(Date.now());
        if (attempts.length === 1) {
          setTimeout(firstFailure, 0);
          throw new Error('first attempt fails');
        }
        return attempts.length;
      },
    },
    bundle,
  );
  const running = worker.run();
  try {
    const workflowId = uid('durable');
    const handle = await client.workflow.start(timerAndRetryWorkflow, { taskQueue, workflowId, args: ['k'] });
    await failed;
    // Kill once the server has acknowledged the failure (the retry is scheduled): timer (3s) and
    // activity retry (2s backoff) are both pending, and acknowledged means on disk.
    for (let i = 0; i < 200; i++) {
      const pending = (await handle.describe()).raw.pendingActivities ?? [];
      if ((pending[0]?.attempt ?? 0) >= 2) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    server.kill('SIGKILL');
    await new Promise((r) => server.once('exit', r));
    await new Promise((r) => setTimeout(r, 300));
    server = await spawnNode(serverArgs, /^READY/);
    const result = await client.workflow.getHandle(workflowId).result();
    assert.equal(result, 'timer+activity:2');
    assert.equal(attempts.length, 2);
    const desc = await handle.describe();
    assert.equal(desc.status.name, 'COMPLETED');
  } finally {
    worker.shutdown();
    await running.catch(() => undefined);
    await workerConnection.close();
    await connection.close();
    server.kill('SIGTERM');
    await new Promise((r) => (server.exitCode !== null ? r(null) : server.once('exit', r)));
    rmSync(dir, { recursive: true, force: true });
  }
});
