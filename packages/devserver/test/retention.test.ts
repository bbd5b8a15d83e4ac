/** Retention: closed runs are deleted after their namespace's retention, so a long-running server stays bounded. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { startDevServer } from '../src/index.js';
import { dur, durMs } from '../src/proto.js';
import { createWorker, startEnvWithWorker, uid, workflowBundle, type TestEnv } from './helpers.js';
import { echoWorkflow } from './fixtures/workflows.js';

const envs: TestEnv[] = [];
after(async () => {
  for (const e of envs) await e.stop();
});
const echo = { echo: async (s: string) => `echo:${s}` };

test('a closed run is kept for the retention, then deleted (describe NOT_FOUND, gone from the list)', async () => {
  const taskQueue = uid('retention');
  const env = await startEnvWithWorker(taskQueue, echo, { retentionMs: 1000 });
  envs.push(env);
  const handle = await env.client.workflow.start(echoWorkflow, {
    taskQueue,
    workflowId: uid('ret'),
    args: ['a'],
  });
  await handle.result();
  assert.equal((await handle.describe()).status.name, 'COMPLETED', 'kept right after the close');
  await sleep(1500);
  await assert.rejects(handle.describe(), WorkflowNotFoundError);
  assert.equal((await env.client.workflow.count(`WorkflowId = '${handle.workflowId}'`)).count, 0);
});

test('UpdateNamespace changes the retention (and RegisterNamespace sets it)', async () => {
  const env = await startEnvWithWorker(uid('ns'), echo);
  envs.push(env);
  const svc = env.client.workflowService;
  const day = await svc.describeNamespace({ namespace: 'default' });
  assert.equal(durMs(day.config?.workflowExecutionRetentionTtl), 24 * 3600_000, 'default: one day');
  await svc.updateNamespace({
    namespace: 'default',
    config: { workflowExecutionRetentionTtl: dur(3600_000) },
  });
  const hour = await svc.describeNamespace({ namespace: 'default' });
  assert.equal(durMs(hour.config?.workflowExecutionRetentionTtl), 3600_000);
  await svc.registerNamespace({ namespace: 'short', workflowExecutionRetentionPeriod: dur(60_000) });
  const short = await svc.describeNamespace({ namespace: 'short' });
  assert.equal(durMs(short.config?.workflowExecutionRetentionTtl), 60_000);
});

function dirBytes(dir: string): number {
  return readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
}

test('the state file stays bounded over many rounds of workflows, and a restart brings back no expired run', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'devserver-bounded-'));
  const dbFile = join(dir, 'state');
  const options = { port: 0, dbFile, compactBytes: 32 * 1024, retentionMs: 300, logLevel: 'warn' as const };
  let server = await startDevServer(options);
  const taskQueue = uid('bounded');
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection, namespace: 'default' });
  const { worker, connection: workerConnection } = await createWorker(
    server.address,
    taskQueue,
    echo,
    await workflowBundle(),
  );
  const sizes: number[] = [];
  try {
    await worker.runUntil(async () => {
      for (let round = 0; round < 6; round++) {
        await Promise.all(
          Array.from({ length: 30 }, (_, i) =>
            client.workflow.execute(echoWorkflow, {
              taskQueue,
              workflowId: uid(`r${round}-${i}`),
              args: ['x'.repeat(500)],
            }),
          ),
        );
        // The smallest of three looks over the next second: a look taken just before a compaction
        // would count the journal's tail of superseded records, not what stays alive.
        const looks: number[] = [];
        for (let k = 0; k < 3; k++) {
          await sleep(k === 0 ? 500 : 250);
          looks.push(dirBytes(dir));
        }
        sizes.push(Math.min(...looks));
      }
    });
    const written = server.journal!.stats.bytes;
    assert.ok(server.journal!.stats.compactions >= 2, `compactions: ${server.journal!.stats.compactions}`);
    // What stays on disk is what one round keeps alive, not what all rounds wrote.
    const early = Math.max(...sizes.slice(0, 3));
    const late = Math.max(...sizes.slice(3));
    assert.ok(late < 1.5 * early, `state file sizes after each round: ${sizes.join(', ')} bytes`);
    assert.ok(written > 4 * late, `written ${written} bytes, on disk at most ${late}`);
    await server.stop();
    server = await startDevServer({ ...options, dbFile });
    const after = new Client({ connection: await Connection.connect({ address: server.address }) });
    assert.equal((await after.workflow.count()).count, 0, 'every closed run was past its retention');
    await after.connection.close();
  } finally {
    await workerConnection.close();
    await connection.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
