import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompleteAsyncError, Context } from '@temporalio/activity';
import { Client, Connection } from '@temporalio/client';
import {
  createWorker,
  freePort,
  quietRuntime,
  serverMain,
  spawnNode,
  uid,
  workflowBundle,
} from './helpers.js';
import { ledgerWorkflow, note } from './fixtures/workflows.js';

const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

const ACTIVITIES = 40;
const SIGNALS = 300;

async function killAfterAcknowledgedCalls(extraArgs: string[]): Promise<void> {
  quietRuntime();
  const dir = mkdtempSync(join(tmpdir(), 'devserver-wal-'));
  const port = await freePort();
  const args = [
    serverMain,
    '--port',
    String(port),
    '--db-file',
    join(dir, 'state'),
    '--log-level',
    'warn',
    ...extraArgs,
  ];
  let server = await spawnNode(children, args, /^READY/);
  const address = `127.0.0.1:${port}`;
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace: 'default' });
  const taskQueue = uid('wal');
  const tokens: Uint8Array[] = [];
  let allStarted!: () => void;
  const started = new Promise<void>((r) => (allStarted = r));
  const { worker, connection: workerConnection } = await createWorker(
    address,
    taskQueue,
    {
      async parked(i: number) {
        tokens[i] = Context.current().info.taskToken;
        if (tokens.filter(Boolean).length === ACTIVITIES) allStarted();
        throw new CompleteAsyncError();
      },
    },
    await workflowBundle(),
  );
  const running = worker.run();
  try {
    const handle = await client.workflow.start(ledgerWorkflow, {
      taskQueue,
      workflowId: uid('ledger'),
      args: [ACTIVITIES, SIGNALS],
    });
    await started;
    // Every call below is acknowledged before the kill, which follows the last acknowledgement at once.
    const ids = Array.from({ length: SIGNALS }, (_, i) => `n${i}`);
    await Promise.all([
      ...ids.map((id) => handle.signal(note, id)),
      ...tokens.map((t, i) => client.activity.complete(t, `r${i}`)),
    ]);
    server.kill('SIGKILL');
    await new Promise((r) => server.once('exit', r));
    server = await spawnNode(children, args, /^READY/);

    const events = (await handle.fetchHistory()).events ?? [];
    const signalled = new Set(
      events
        .filter((e) => e.workflowExecutionSignaledEventAttributes)
        .map(
          (e) =>
            client.options.loadedDataConverter.payloadConverter.fromPayload(
              e.workflowExecutionSignaledEventAttributes!.input!.payloads![0]!,
            ) as string,
        ),
    );
    const missingSignals = ids.filter((id) => !signalled.has(id));
    assert.deepEqual(missingSignals, [], 'every acknowledged signal is in history');
    const completed = events.filter((e) => e.activityTaskCompletedEventAttributes).length;
    assert.equal(completed, ACTIVITIES, 'every acknowledged activity completion is in history');

    const result = await handle.result();
    assert.equal(result.notes.length, SIGNALS);
    assert.deepEqual(
      result.results,
      tokens.map((_, i) => `r${i}`),
    );
  } finally {
    worker.shutdown();
    await running;
    await workerConnection.close();
    await connection.close();
    server.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

test('SIGKILL right after acknowledged signals and activity completions: every one is there after restart', () =>
  killAfterAcknowledgedCalls([]));

test('the same while the log is compacted into snapshots under the load', () =>
  killAfterAcknowledgedCalls(['--compact-bytes', '32768']));
