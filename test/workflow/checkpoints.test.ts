/**
 * Checkpoints belong to one run: a CDC stream's checkpoint row is removed when the stream ends for good
 * (START_SYNC rolled back), and a re-run (after the rollback, in the same workflow, or as a new
 * workflow with the same migration id) starts a stream of its own: it never resumes from an old row.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { APP_DATABASE } from '../../scripts/localstack/index.js';
import type { MigrationStatus } from '../../src/workflows/api.js';
import {
  atGate,
  diffSides,
  signal,
  startMigration,
  testPlan,
  waitStatus,
  type Env,
  useEnv,
} from './helpers.js';

let env: Env;

useEnv(100, (e) => (env = e));

async function checkpointRows(): Promise<string[]> {
  const conn = await env.stack.target.rootConnection(APP_DATABASE);
  try {
    const [rows] = (await conn
      .query('SELECT stream FROM _migrator_checkpoint ORDER BY stream')
      .catch(() => [[]])) as unknown as [{ stream: string }[]];
    return rows.map((r) => r.stream);
  } finally {
    await conn.end();
  }
}

const forward = (s: MigrationStatus) => s.sync.find((x) => x.direction === 'forward')?.stream ?? '';

test(
  'a re-run after rollback, and a new run of the same migration, never reuse old checkpoints',
  { timeout: 200_000 },
  async () => {
    const plan = testPlan('ckpt');
    let handle = await startMigration(env, plan);
    let s = await atGate(handle, 'DUAL_WRITE_SOURCE_FIRST');
    const first = forward(s);
    assert.match(first, /^ckpt-forward-[0-9a-f]{8}\.1$/);
    assert.deepEqual(await checkpointRows(), [first]);

    // Rolled back past START_SYNC: the stream ended for good, its row is gone.
    await signal(handle, 'rollback', { by: 'test', toPhase: 'PRECHECK' });
    await waitStatus(
      handle,
      (x) => x.state === 'WAITING' && x.compensation.length === 1,
      'rolled back to PRECHECK',
      90_000,
    );
    assert.deepEqual(await checkpointRows(), []);

    // The re-run in the same workflow gets a stream of its own.
    await signal(handle, 'advance', { by: 'test' });
    s = await atGate(handle, 'DUAL_WRITE_SOURCE_FIRST');
    const second = forward(s);
    assert.notEqual(second, first);
    assert.deepEqual(await checkpointRows(), [second]);
    assert.deepEqual(await diffSides(env.stack), []);

    // Aborted, then the same migration id started again: a new workflow execution, new streams.
    await signal(handle, 'abort', { by: 'test' });
    assert.equal(((await handle.result()) as MigrationStatus).state, 'ABORTED');
    assert.deepEqual(await checkpointRows(), []);
    handle = await startMigration(env, plan);
    s = await atGate(handle, 'DUAL_WRITE_SOURCE_FIRST');
    const third = forward(s);
    assert.ok(third !== first && third !== second, `${first} ${second} ${third}`);
    assert.deepEqual(await checkpointRows(), [third]);
    assert.deepEqual(await diffSides(env.stack), []);
    await signal(handle, 'abort', { by: 'test' });
    await handle.result();
  },
);
