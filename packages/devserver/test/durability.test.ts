/**
 * An acknowledged call is on disk before its reply: the server process is SIGKILLed the moment a
 * chosen number of signals and activity completions have been acknowledged, the state files are read
 * as they were left, and every acknowledged call must be in them (in a run's history, or buffered
 * behind the workflow task that was in flight). After the restart the calls that were still in
 * flight are retried by the SDK, and each workflow must end with every signal exactly once.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompleteAsyncError, Context } from '@temporalio/activity';
import { Client, Connection, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { loadState } from '../src/durability/files.js';
import { createLogger } from '../src/log.js';
import { execKey } from '../src/state.js';
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

interface Scenario {
  workflows: number;
  activities: number;
  signals: number;
  /** Client connections the calls are spread over. */
  clients: number;
  /** Busy-looping processes competing for the CPU while the calls run. */
  cpuHogs: number;
  /** Kill once this share of all calls is acknowledged (1: after the last one). */
  killAt: number;
  /** Calls each client keeps outstanding. */
  inFlight: number;
  serverArgs: string[];
  /** Require a snapshot to complete between the first call and the kill. */
  compactsDuringCalls?: boolean;
}

/** Log generations the snapshot contains (from its header line; 0 without a snapshot). */
function snapshotCovers(dbFile: string): number {
  if (!existsSync(dbFile)) return 0;
  const header = JSON.parse(readFileSync(dbFile, 'utf8').split('\n', 1)[0]!) as { covers?: number };
  return header.covers ?? 0;
}

/** What the state files hold for one run: signal ids and activity results, history and buffered events. */
function onDisk(dbFile: string, key: string, decode: (p: Payload) => unknown) {
  const exec = loadState(dbFile, createLogger('error')).state?.executions.get(key);
  const events = [...(exec?.history ?? []), ...(exec?.buffered ?? [])];
  const signals = events.flatMap((e) => {
    const p = e.workflowExecutionSignaledEventAttributes?.input?.payloads?.[0];
    return p ? [decode(p as Payload) as string] : [];
  });
  const results = events.flatMap((e) => {
    const p = e.activityTaskCompletedEventAttributes?.result?.payloads?.[0];
    return p ? [decode(p as Payload) as string] : [];
  });
  return { signals: new Set(signals), results: new Set(results) };
}

async function killAfterAcknowledgedCalls(s: Scenario): Promise<void> {
  quietRuntime();
  const dir = mkdtempSync(join(tmpdir(), 'devserver-wal-'));
  const dbFile = join(dir, 'state');
  const port = await freePort();
  const args = [serverMain, '--port', String(port), '--db-file', dbFile, '--log-level', 'warn', '--headless'];
  let server = await spawnNode(children, [...args, ...s.serverArgs], /^READY/);
  const address = `127.0.0.1:${port}`;
  const connections = await Promise.all(
    Array.from({ length: s.clients }, () => Connection.connect({ address })),
  );
  const clients = connections.map((connection) => new Client({ connection, namespace: 'default' }));
  const decode = (p: Payload) => clients[0]!.options.loadedDataConverter.payloadConverter.fromPayload(p);
  const taskQueue = uid('wal');
  const tokens = new Map<string, Uint8Array>();
  let allParked!: () => void;
  const parked = new Promise<void>((r) => (allParked = r));
  const { worker, connection: workerConnection } = await createWorker(
    address,
    taskQueue,
    {
      async parked(i: number) {
        const info = Context.current().info;
        tokens.set(`${info.workflowExecution?.workflowId}/${i}`, info.taskToken);
        if (tokens.size === s.workflows * s.activities) allParked();
        throw new CompleteAsyncError();
      },
    },
    await workflowBundle(),
  );
  const running = worker.run();
  const hogs: ChildProcess[] = [];
  const queues: (() => Promise<void>)[][] = clients.map(() => []);
  try {
    const handles: WorkflowHandleWithFirstExecutionRunId<typeof ledgerWorkflow>[] = [];
    for (let w = 0; w < s.workflows; w++) {
      handles.push(
        await clients[0]!.workflow.start(ledgerWorkflow, {
          taskQueue,
          workflowId: uid(`ledger${w}`),
          args: [s.activities, s.signals],
          // A task in flight at the kill is timed out sooner after the restart (the SDK may not finish it).
          workflowTaskTimeout: '3s',
        }),
      );
    }
    await parked;
    for (let h = 0; h < s.cpuHogs; h++) {
      const hog = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
      hogs.push(hog);
      children.push(hog);
    }

    // Every call, spread over the clients; the kill follows the acknowledgement that reaches killAt
    // synchronously, so the set of acknowledged calls is exactly what the server answered.
    const total = s.workflows * (s.signals + s.activities);
    const killAfter = Math.ceil(total * s.killAt);
    const acked = new Set<string>();
    let killed!: () => void;
    const killedNow = new Promise<void>((r) => (killed = r));
    const ack = (key: string) => () => {
      if (acked.size >= killAfter) return;
      acked.add(key);
      if (acked.size === killAfter) {
        server.kill('SIGKILL');
        killed();
      }
    };
    const ids = Array.from({ length: s.signals }, (_, i) => `n${i}`);
    // Each client works through its share of the calls with `inFlight` of them outstanding at a time.
    for (let i = 0; i < Math.max(s.signals, s.activities); i++) {
      for (let w = 0; w < s.workflows; w++) {
        const c = (w + i) % s.clients;
        const client = clients[c]!;
        const workflowId = handles[w]!.workflowId;
        const token = tokens.get(`${workflowId}/${i}`);
        if (i < s.signals)
          queues[c]!.push(() =>
            client.workflow
              .getHandle(workflowId)
              .signal(note, ids[i]!)
              .then(ack(`${w}/s/${ids[i]}`)),
          );
        if (token) queues[c]!.push(() => client.activity.complete(token, `r${i}`).then(ack(`${w}/a/r${i}`)));
      }
    }
    const coversBefore = snapshotCovers(dbFile);
    const calls = queues.flatMap((queue) =>
      Array.from({ length: Math.min(s.inFlight, queue.length) }, async () => {
        for (let call = queue.shift(); call; call = queue.shift()) await call();
      }),
    );
    for (const c of calls) c.catch(() => {}); // awaited below; a failed test stops them in finally
    await killedNow;
    for (const hog of hogs) hog.kill('SIGKILL');
    if (server.exitCode === null && server.signalCode === null)
      await new Promise((r) => server.once('exit', r));

    // The files as the kill left them: every acknowledged call is in them.
    const missing: string[] = [];
    for (let w = 0; w < s.workflows; w++) {
      const disk = onDisk(
        dbFile,
        execKey('default', handles[w]!.workflowId, handles[w]!.firstExecutionRunId),
        decode,
      );
      for (const key of acked) {
        const [ws, kind, id] = key.split('/') as [string, string, string];
        if (Number(ws) === w && !(kind === 's' ? disk.signals : disk.results).has(id)) missing.push(key);
      }
    }
    assert.equal(acked.size, killAfter);
    if (s.compactsDuringCalls)
      assert.ok(snapshotCovers(dbFile) > coversBefore, 'a snapshot was completed while the calls ran');
    assert.deepEqual(missing, [], `of ${acked.size} acknowledged calls, these are not in the state files`);

    // After the restart: the calls cut off by the kill are retried by the SDK (same request ids),
    // and every workflow ends with each signal and each activity result exactly once.
    server = await spawnNode(children, [...args, ...s.serverArgs], /^READY/);
    await Promise.all(calls);
    for (const handle of handles) {
      const result = await handle.result();
      assert.deepEqual([...result.notes].sort(), [...ids].sort(), 'each signal delivered exactly once');
      assert.deepEqual(
        result.results,
        Array.from({ length: s.activities }, (_, i) => `r${i}`),
      );
      const events = (await handle.fetchHistory()).events ?? [];
      assert.equal(events.filter((e) => e.workflowExecutionSignaledEventAttributes).length, s.signals);
    }
  } finally {
    for (const queue of queues) queue.length = 0;
    for (const hog of hogs) hog.kill('SIGKILL');
    worker.shutdown();
    await running;
    await workerConnection.close();
    for (const c of connections) await c.close();
    server.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

const oneRun = { workflows: 1, activities: 40, signals: 300, clients: 1, cpuHogs: 0, killAt: 1 };

test('SIGKILL right after acknowledged signals and activity completions: every one is on disk and delivered', () =>
  killAfterAcknowledgedCalls({ ...oneRun, inFlight: 1000, serverArgs: [] }));

test('the same while the log is compacted into snapshots between the calls', () =>
  killAfterAcknowledgedCalls({
    ...oneRun,
    inFlight: 4,
    serverArgs: ['--compact-bytes', '16384'],
    compactsDuringCalls: true,
  }));

test(
  'SIGKILL mid-stream: four clients on four runs, snapshots between the calls, CPU saturated; in-flight calls retried once',
  { timeout: 180_000 },
  async () => {
    for (const killAt of [0.3, 0.7]) {
      await killAfterAcknowledgedCalls({
        workflows: 4,
        activities: 10,
        signals: 100,
        clients: 4,
        inFlight: 2,
        cpuHogs: 2,
        killAt,
        serverArgs: ['--compact-bytes', '16384'],
        compactsDuringCalls: true,
      });
    }
  },
);
