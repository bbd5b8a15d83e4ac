/**
 * Fatal errors stop the run at a `failed` gate that names the table/setting and the fix, caused for
 * real on MariaDB while forward CDC runs in the real workflow: a revoked privilege and a dropped
 * table (each fixed, then `advance` retries: CDC runs again and the gate is an ordinary one), and a
 * purged binlog (the worker was down while the stream's position was purged; then `abort` rolls
 * everything back from the failed gate).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { WorkflowHandle } from '@temporalio/client';
import { APP_DATABASE, MIGRATION_USER } from '../../scripts/localstack/index.js';
import { closePools } from '../../src/activities/db/connections.js';
import type { MigrationStatus } from '../../src/workflows/api.js';
import { atGate, signal, startMigration, testPlan, waitStatus, type Env, useEnv } from './helpers.js';

let env: Env;

useEnv(100, (e) => (env = e));

async function exec(side: 'source' | 'target', ...statements: string[]): Promise<void> {
  const conn = await env.stack[side].rootConnection(APP_DATABASE);
  try {
    for (const s of statements) await conn.query(s);
  } finally {
    await conn.end();
  }
}

async function failedGate(handle: WorkflowHandle, what: string): Promise<MigrationStatus> {
  return waitStatus(handle, (s) => s.state === 'WAITING' && s.gate?.failed != null, what, 60_000);
}

/** advance retries; the failed gate gives way to the ordinary gate with CDC running again. */
async function retry(handle: WorkflowHandle): Promise<void> {
  await signal(handle, 'advance', { by: 'test', reason: 'fixed' });
  await waitStatus(
    handle,
    (s) =>
      s.state === 'WAITING' &&
      s.gate?.next === 'DUAL_WRITE_SOURCE_FIRST' &&
      s.gate.failed === null &&
      s.failure === null &&
      s.sync.some((x) => x.direction === 'forward' && x.running) &&
      (s.sync[0]?.lagSeconds ?? 99) < 5,
    'back at the ordinary gate, CDC running',
    60_000,
  );
}

test(
  'revoked privilege, dropped table, purged binlog: each stops at a failed gate naming it and the fix',
  { timeout: 240_000 },
  async () => {
    const plan = testPlan('fatal');
    const handle = await startMigration(env, plan);
    await atGate(handle, 'DUAL_WRITE_SOURCE_FIRST');

    // 1. A revoked privilege: the applier's writes on the target are refused.
    const grant = (verb: 'GRANT' | 'REVOKE') =>
      exec(
        'target',
        ...['127.0.0.1', 'localhost'].map(
          (h) =>
            `${verb} INSERT ON ${APP_DATABASE}.* ${verb === 'GRANT' ? 'TO' : 'FROM'} '${MIGRATION_USER}'@'${h}'`,
        ),
      );
    await grant('REVOKE');
    await closePools(); // database-level privileges are cached per session
    await exec('source', "INSERT INTO customers (id, name) VALUES (5001, 'after revoke')");
    let s = await failedGate(handle, 'a failed gate for the revoked privilege');
    assert.equal(s.gate?.failed?.where, 'forward');
    assert.equal(s.gate?.failed?.kind, 'fatal');
    assert.equal(s.gate?.failed?.setting, 'privilege INSERT');
    assert.match(s.gate?.failed?.fix ?? '', /GRANT INSERT/);
    assert.match(
      s.gate?.waitingFor ?? '',
      /forward CDC stopped.*privilege INSERT.*Fix: .*GRANT INSERT.*advance to retry/,
    );
    assert.ok(!s.sync.some((x) => x.running), 'the failed loop is not restarted');
    await grant('GRANT');
    await closePools();
    await retry(handle);

    // 2. A dropped table: the applier's next change to it fails, naming the table.
    await exec('target', 'DROP TABLE order_lines');
    await exec('source', "INSERT INTO order_lines (order_id, line, sku, qty) VALUES (1, 9, 'x', 1)");
    s = await failedGate(handle, 'a failed gate for the dropped table');
    assert.equal(s.gate?.failed?.table, `${APP_DATABASE}.order_lines`);
    assert.match(s.gate?.waitingFor ?? '', /table app\.order_lines.*does not exist.*create it/);
    assert.match(s.error ?? '', /order_lines/);
    const conn = await env.stack.source.rootConnection(APP_DATABASE);
    const [[row]] = (await conn.query('SHOW CREATE TABLE order_lines')) as unknown as [
      [{ 'Create Table': string }],
    ];
    await conn.end();
    await exec('target', row['Create Table']);
    await retry(handle);

    // 3. A purged binlog: the worker is down while the stream's position is purged on the source.
    await env.worker!.shutdown();
    await closePools();
    const src = await env.stack.source.rootConnection(APP_DATABASE);
    try {
      const [[status]] = (await src.query('SHOW MASTER STATUS')) as unknown as [[{ File: string }]];
      const old = status.File;
      await src.query("INSERT INTO customers (id, name) VALUES (5002, 'while the worker is down')");
      for (let i = 0; ; i++) {
        const [logs] = (await src.query('SHOW BINARY LOGS')) as unknown as [{ Log_name: string }[]];
        if (!logs.some((l) => l.Log_name === old)) break;
        assert.ok(i < 100, `binlog ${old} not purged`);
        await src.query('FLUSH LOGS');
        const [[head]] = (await src.query('SHOW MASTER STATUS')) as unknown as [[{ File: string }]];
        await src.query(`PURGE BINARY LOGS TO '${head.File}'`);
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      await src.end();
    }
    await env.startWorker();
    s = await failedGate(handle, 'a failed gate for the purged binlog');
    assert.equal(s.gate?.failed?.setting, 'binlog retention');
    assert.match(
      s.gate?.waitingFor ?? '',
      /forward CDC stopped.*binlog retention.*Fix: .*binlog_expire_logs_seconds/,
    );

    // From a failed gate the run can still be rolled back entirely.
    await signal(handle, 'abort', { by: 'test', reason: 'binlog gone: start over' });
    const final = (await handle.result()) as MigrationStatus;
    assert.equal(final.state, 'ABORTED');
    assert.equal(final.failure, null);
  },
);
