/**
 * The CLI against a real Temporal server with no worker: the workflow starts, but queries and updates
 * get no answer, which must end in exit 4 naming the task queue, never hang. Also: not found (3), a
 * duplicate start (1), an unknown namespace (2), a missing ID with nothing running (3).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStack, type Stack } from '../../scripts/localstack/index.js';
import { migrate, migrateInProcess, show } from './helpers.js';

let stack: Stack;
let env: Record<string, string>;
let planPath: string;

before(async () => {
  stack = await startStack({ temporal: true, mariadb: false, redis: false });
  env = { TEMPORAL_ADDRESS: stack.env.TEMPORAL_ADDRESS, MIGRATE_RPC_TIMEOUT: '2' };
  const dir = mkdtempSync(join(tmpdir(), 'migrate-cli-noworker-'));
  planPath = join(dir, 'plan.yaml');
  writeFileSync(planPath, 'id: lonely\ntables: [{ name: orders }]\n');
});

after(async () => {
  await stack?.stop();
});

test('no running migration and no ID: exit 3', async () => {
  const run = await migrateInProcess(['status'], env);
  assert.equal(run.code, 3, show(run));
  assert.match(run.stderr, /no running migration in namespace default/);
});

test('start without a worker; queries and updates end in exit 4 naming the task queue', async () => {
  const started = await migrate(['start', '--plan', planPath], env);
  assert.equal(started.code, 0, show(started));
  assert.match(
    started.stdout,
    /^started migration lonely: workflow migration-lonely \(run [0-9a-f-]+\) on task queue migrations$/m,
  );
  assert.match(
    started.stdout,
    /temporal workflow describe --workflow-id migration-lonely --namespace default --address /,
  );

  const duplicate = await migrateInProcess(['start', '--plan', planPath, '--json'], env);
  assert.equal(duplicate.code, 1, show(duplicate));
  assert.equal(duplicate.json<{ error: { kind: string } }>().error.kind, 'rejected');

  const [status, pause] = await Promise.all([
    migrateInProcess(['status', 'lonely'], env),
    migrateInProcess(['pause', '--reason', 'x'], env), // the one running migration
  ]);
  for (const run of [status, pause]) {
    assert.equal(run.code, 4, show(run));
    assert.match(
      run.stderr,
      /no worker answered for migration "lonely" \(workflow migration-lonely\) within 2s: is a worker running on task queue "migrations"/,
    );
  }

  const missing = await migrateInProcess(['advance', 'ghost', '--json'], env);
  assert.equal(missing.code, 3, show(missing));
  assert.equal(missing.json<{ error: { kind: string } }>().error.kind, 'not-found');

  const schedule = await migrateInProcess(['schedule', 'trigger', 'lonely'], env);
  assert.equal(schedule.code, 3, show(schedule));
  assert.match(schedule.stderr, /no verification schedule migration-lonely-verify/);
});

test('unknown namespace: exit 2 with what to set', async () => {
  const run = await migrateInProcess(['list'], { ...env, TEMPORAL_NAMESPACE: 'no-such-namespace' });
  assert.equal(run.code, 2, show(run));
  assert.match(run.stderr, /namespace "no-such-namespace" does not exist on .*: set TEMPORAL_NAMESPACE/);
});
