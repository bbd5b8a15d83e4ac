/**
 * A rollback never fails the workflow and can always be stopped: a compensation refused by MariaDB (the
 * migration user lost DROP, which TRUNCATE needs) stops the rollback at a `failed` gate with the undo
 * stack intact; a compensation hung on a frozen target (SIGSTOP) is interrupted by an `abort` sent
 * during the rollback and then runs out of its time (`compensationTimeoutSeconds`) into a failed gate;
 * once the cause is gone, `advance` resumes the abort and the run ends ABORTED.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { APP_DATABASE, MIGRATION_USER } from '../../scripts/localstack/index.js';
import { closePools } from '../../src/activities/db/connections.js';
import type { CommandResult, MigrationStatus } from '../../src/workflows/api.js';
import {
  atGate,
  createSchema,
  signal,
  startEnv,
  startMigration,
  status,
  testPlan,
  waitStatus,
  type Env,
} from './helpers.js';

let env: Env;
let frozen = 0;

before(async () => {
  env = await startEnv();
  await createSchema(env.stack, 100);
});

after(async () => {
  if (frozen) process.kill(frozen, 'SIGCONT');
  await env?.stop();
});

async function privilege(verb: 'GRANT' | 'REVOKE', what: string): Promise<void> {
  const conn = await env.stack.target.rootConnection(APP_DATABASE);
  try {
    for (const h of ['127.0.0.1', 'localhost'])
      await conn.query(
        `${verb} ${what} ON ${APP_DATABASE}.* ${verb === 'GRANT' ? 'TO' : 'FROM'} '${MIGRATION_USER}'@'${h}'`,
      );
  } finally {
    await conn.end();
  }
  await closePools(); // database-level privileges are cached per session
}

const frames = (s: MigrationStatus) =>
  s.compensation.map((f) => `${f.phase}[${f.actions.map((a) => a.kind).join(',')}]`);

test(
  'a failing compensation leaves a failed gate with the undo stack intact; abort during a rollback; abort still works',
  { timeout: 200_000 },
  async () => {
    const plan = testPlan('undo', {
      temporal: { heartbeatTimeoutSeconds: 5, gatePollSeconds: 1, compensationTimeoutSeconds: 6 },
    });
    const handle = await startMigration(env, plan);
    await atGate(handle, 'DUAL_WRITE_SOURCE_FIRST');

    // 1. A compensation MariaDB refuses: a failed gate, the workflow still running, the stack intact.
    await privilege('REVOKE', 'DROP');
    await signal(handle, 'rollback', { by: 'test', toPhase: 'START_SYNC' });
    let s = await waitStatus(
      handle,
      (x) => x.state === 'WAITING' && x.gate?.failed != null,
      'a failed gate',
      60_000,
    );
    assert.equal(s.failure?.where, 'compensation');
    assert.equal(s.failure?.phase, 'BULK_COPY');
    assert.equal(s.failure?.setting, 'privilege DROP');
    assert.match(
      s.gate?.waitingFor ?? '',
      /rollback of BULK_COPY failed.*truncate copied target tables.*Fix: /,
    );
    assert.deepEqual(frames(s).slice(3), ['BULK_COPY[truncateTarget]']);
    assert.equal((await handle.describe()).status.name, 'RUNNING');

    // 2. Cause fixed, but the target freezes: the retried compensation hangs; abort is accepted
    //    during the rollback and interrupts it; the retry then runs out of time into a failed gate.
    await privilege('GRANT', 'DROP');
    frozen = Number(readFileSync(join(env.stack.target.dir, 'mysqld.pid'), 'utf8').trim());
    process.kill(frozen, 'SIGSTOP');
    await signal(handle, 'advance', { by: 'test', reason: 'privilege granted again' });
    s = await waitStatus(handle, (x) => x.state === 'ROLLING_BACK', 'the rollback resumed', 30_000);
    assert.match(s.activity, /rollback: truncate copied target tables/);
    const abort = await handle.executeUpdate<CommandResult, [Record<string, unknown>]>('abort', {
      args: [{ by: 'test', reason: 'stop this rollback, undo everything' }],
    });
    assert.equal(abort.accepted, true);
    s = await waitStatus(
      handle,
      (x) => x.state === 'WAITING' && x.gate?.failed != null,
      'the timed-out compensation',
      60_000,
    );
    assert.equal(s.failure?.kind, 'timeout');
    assert.match(s.failure?.message ?? '', /did not finish within 6 s/);
    assert.ok(
      s.warnings.some((w) => /interrupted by abort/.test(w.message)),
      'abort interrupted the action',
    );
    assert.deepEqual(frames(s).slice(3), ['BULK_COPY[truncateTarget]']);

    // 3. The target is back: advance resumes the abort down to nothing; the run ends ABORTED.
    process.kill(frozen, 'SIGCONT');
    frozen = 0;
    await signal(handle, 'advance', { by: 'test', reason: 'target is back' });
    const final = (await handle.result()) as MigrationStatus;
    assert.equal(final.state, 'ABORTED', JSON.stringify(final.warnings.slice(-3)));
    assert.deepEqual(final.compensation, []);
    assert.ok(final.audit.some((a) => a.command === 'abort' && a.accepted && a.via === 'update'));
    assert.equal((await status(handle).catch(() => final)).state, 'ABORTED');
  },
);
