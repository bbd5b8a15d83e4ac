/**
 * A worker SIGKILLed during the copy and again during the repair loop: a new worker (another process)
 * continues, and the run completes with nothing lost; its history replays in a fresh worker. And a
 * worker SIGKILLed during a short step: the step moves to the next worker after the heartbeat timeout.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import mysql from 'mysql2/promise';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  assertEqualNow,
  assertNoDualWriteRepairs,
  atGate,
  createSchema,
  loadRouters,
  signal,
  startEnv,
  startLoad,
  startMigration,
  status,
  testPlan,
  waitStatus,
  type Env,
} from './helpers.js';
import type { MigrationStatus } from '../../src/workflows/api.js';
import { replayEveryRun } from '../support/replay.js';
import { describeActivities } from '../../src/activities/temporal/health.js';
import type { ActivityHealth } from '../../src/activities/temporal/types.js';

// The test drives every gate: right after a worker is killed the scheduled verification may still see
// differences the repair loop has not caught up with (a gate blocker); the final comparison checks them.
const FORCE = {
  by: 'test',
  force: true,
  reason: 'the test drives the gates; the final comparison checks the data',
};

let env: Env;
const children = new Set<ChildProcess>();

before(async () => {
  env = await startEnv({ worker: false });
  await createSchema(env.stack, 400);
});

after(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await env?.stop();
});

async function spawnWorker(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/workflow/worker-process.ts'], {
    env: { ...process.env, ...env.stack.env, WORKFLOW_BUNDLE_FILE: env.bundle.file },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(child);
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('WORKER READY')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`worker exited early (${code})`)));
  });
  return child;
}

async function kill(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
  children.delete(child);
}

test(
  'SIGKILLed workers during the copy and the repair loop: a new worker continues, nothing lost',
  { timeout: 175_000 },
  async () => {
    const plan = testPlan('kill', {
      tables: [
        { name: 'customers', chunkSize: 20, maxRowsPerSecond: 100 },
        { name: 'orders', chunkSize: 20, maxRowsPerSecond: 100 },
        { name: 'order_lines', chunkSize: 40, maxRowsPerSecond: 200 },
      ],
      repairLoop: { mode: 'updated_at', intervalSeconds: 1 },
      ...loadRouters(),
    });
    let worker = await spawnWorker();
    const handle = await startMigration(env, plan);
    const load = startLoad(env.stack, plan.id, { rows: 400 });
    try {
      await waitStatus(handle, (s) => s.phase === 'BULK_COPY', 'BULK_COPY', 60_000);
      await sleep(1500);
      const during = await status(handle);
      await kill(worker);
      assert.equal(during.phase, 'BULK_COPY', 'killed during the copy');
      assert.ok(during.tables.some((t) => t.state !== 'done'));
      worker = await spawnWorker();
      await atGate(handle, 'DUAL_WRITE_SOURCE_FIRST', undefined, 120_000);
      let s = await status(handle);
      assert.equal(s.lastVerification?.totalMismatches, 0, JSON.stringify(s.lastVerification?.tables));

      await signal(handle, 'advance', FORCE);
      await atGate(handle, 'READ_SWITCH', 1);
      // The repair loop runs on this worker now: kill it mid-loop.
      await sleep(2000);
      await kill(worker);
      await sleep(1000);
      worker = await spawnWorker();
      for (const percent of [1, 5, 25, 50, 100]) {
        await atGate(handle, 'READ_SWITCH', percent);
        await signal(handle, 'advance', FORCE);
      }
      await atGate(handle, 'DUAL_WRITE_TARGET_FIRST');
      await signal(handle, 'advance', FORCE);
      await atGate(handle, 'TARGET_ONLY');
      // Workers were SIGKILLed in the copy and in the repair loop: no acknowledged write lost, no repair needed.
      await assertEqualNow(env.stack, load, 'after DUAL_WRITE_TARGET_FIRST');
      await signal(handle, 'advance', FORCE);
      await atGate(handle, 'FINALIZE');
      await load.stop();
      await signal(handle, 'finalize', { confirm: true });
      const final = (await handle.result()) as MigrationStatus;
      assert.equal(final.state, 'COMPLETED');
      s = final;
      assert.ok(s.repair.rowsChecked >= 0);
    } finally {
      await load.stop();
    }
    assert.deepEqual(load.errors, []);
    await assertEqualNow(env.stack, load, 'at the end');
    // The history the killed workers and their successors wrote replays in a fresh worker (first: the
    // status query of a closed run is answered by a replay too).
    const replay = await replayEveryRun(env.client, env.bundle);
    assert.deepEqual(replay.problems, []);
    assert.ok(replay.runs >= 1);
    assertNoDualWriteRepairs(await status(handle));
    await kill(worker);
  },
);

test(
  'a worker SIGKILLed during a short step: the step is retried after the heartbeat timeout, not its 5-minute bound',
  { timeout: 120_000 },
  async () => {
    // A table of its own (the test above migrated the others); a global read lock on the target holds
    // the step that creates it there in flight (a bounded `short` call, without progress heartbeats).
    const source = await mysql.createConnection(env.stack.source.clientOptions());
    await source.query('CREATE TABLE short_kill (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL)');
    await source.query("INSERT INTO short_kill VALUES (1, 'a'), (2, 'b'), (3, 'c')");
    await source.end();
    const target = await env.stack.target.rootConnection();
    await target.query('FLUSH TABLES WITH READ LOCK');
    let unlocked = false;
    const unlock = async () => {
      if (unlocked) return;
      unlocked = true;
      await target.query('UNLOCK TABLES');
      await target.end();
    };
    const plan = testPlan('shortkill', { tables: [{ name: 'short_kill', chunkSize: 50 }] });
    let worker = await spawnWorker();
    const handle = await startMigration(env, plan);
    try {
      const pending = async () => describeActivities((await handle.describe()).raw.pendingActivities ?? []);
      // The step the read lock holds (creating the table on the target), in flight for a second on the
      // worker about to die.
      const deadline = Date.now() + 60_000;
      let held: ActivityHealth | undefined;
      while (!held) {
        assert.ok(Date.now() < deadline, 'prepareTarget not held up by the read lock within 60 s');
        held = (await pending()).find(
          (a) =>
            a.activity === 'prepareTarget' &&
            a.state === 'started' &&
            a.attempt === 1 &&
            Date.now() - Date.parse(a.startedAt ?? new Date().toISOString()) > 1000,
        );
        if (!held) await sleep(200);
      }
      const heldId = held.activityId;
      // While its worker lives, a step slower than the heartbeat timeout is not timed out: the worker
      // heartbeats it.
      await sleep(7000);
      const still = (await pending()).find((a) => a.activityId === heldId);
      assert.equal(still?.attempt, 1, 'prepareTarget held 8 s on a live worker: still its first attempt');
      assert.equal(still?.lastFailure ?? null, null, `prepareTarget: ${still?.lastFailure?.message}`);
      await kill(worker);
      const killedAt = Date.now();
      await unlock();
      worker = await spawnWorker();
      while ((await pending()).some((a) => a.activityId === heldId)) {
        // The short step's start-to-close bound is 5 minutes: without heartbeats it would wait that long.
        assert.ok(
          Date.now() - killedAt < 45_000,
          `prepareTarget lost with its worker still pending ${Math.round((Date.now() - killedAt) / 1000)} s after the kill (heartbeat timeout 5 s)`,
        );
        await sleep(250);
      }
      await waitStatus(handle, (s) => s.tables.every((t) => t.state === 'done'), 'the copy', 60_000);
    } finally {
      await unlock();
      await handle.terminate('test over').catch(() => undefined);
      await kill(worker);
    }
  },
);
