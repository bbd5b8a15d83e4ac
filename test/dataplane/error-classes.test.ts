/**
 * Fatal vs transient, on errors caused for real on MariaDB: a purged binlog, a dropped table, a revoked
 * privilege and a statement the server rejects are fatal and name the table/setting and the fix; a
 * statement timeout, a lock wait timeout and a refused connection are transient. The activity
 * wrapper's failure (toFailure) is non-retryable exactly for the fatal ones.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Stack } from '../../scripts/localstack/index.js';
import { MIGRATION_USER } from '../../scripts/localstack/index.js';
import type { TableSpec } from '../../src/activities/contracts.js';
import { assertNotPurged } from '../../src/activities/cdc/position.js';
import { currentPosition, recordSyncStart, runSync } from '../../src/activities/cdc/sync.js';
import { copyTable } from '../../src/activities/copier/index.js';
import { classifyError, type ErrorClass } from '../../src/activities/db/classify.js';
import { closePools, getPool } from '../../src/activities/db/connections.js';
import { prepareTarget } from '../../src/activities/schema/prepare.js';
import { toFailure } from '../../src/activities/temporal/errors.js';
import { rootExec, sleep, startPair, stopPair } from './copy-fixtures.js';

// Every statement of the worker's pools is limited to 1 s in this file (set before the first pool).
process.env.MIGRATOR_STATEMENT_TIMEOUT = '1';

let stack: Stack;

before(async () => {
  stack = await startPair();
  await rootExec(
    stack.source,
    'CREATE TABLE acct (id INT PRIMARY KEY, note VARCHAR(40) NOT NULL)',
    "INSERT INTO acct VALUES (1, 'a'), (2, 'b'), (3, 'longer than ten characters')",
  );
});
after(() => stopPair(stack));

async function failureOf(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  assert.fail('expected a failure');
}

function assertFatal(err: unknown, type: string, check: (c: ErrorClass) => void): void {
  const c = classifyError(err);
  assert.equal(c.kind, 'fatal', `${String(err)} -> ${JSON.stringify(c)}`);
  assert.equal(c.type, type);
  assert.ok(c.fix, 'a fatal error names the fix');
  check(c);
  const failure = toFailure(err, 'someActivity');
  assert.equal(failure.nonRetryable, true);
  assert.equal(failure.type, type);
  assert.match(failure.message, /^someActivity: .*Fix: /);
}

function assertTransient(err: unknown, type: string): void {
  const c = classifyError(err);
  assert.equal(c.kind, 'transient', `${String(err)} -> ${JSON.stringify(c)}`);
  assert.equal(c.type, type);
  assert.equal(toFailure(err, 'someActivity').nonRetryable, false);
}

test('a purged binlog (1236) is fatal: binlog retention, with the fix', async () => {
  const spec = {
    stream: 'purged',
    from: 'source',
    to: 'target',
    tables: [{ name: 'acct' }] as TableSpec[],
    direction: 'forward' as const,
  };
  await prepareTarget({ source: 'source', target: 'target', tables: spec.tables });
  const cp = await recordSyncStart(spec);
  // A transaction after the checkpoint, then its binlog purged: the stream can no longer resume.
  // MariaDB keeps a binlog until InnoDB has checkpointed its transactions: purge until it is gone.
  await rootExec(stack.source, "INSERT INTO acct VALUES (10, 'x')");
  for (let i = 0; ; i++) {
    const [logs] = (await getPool('source').query('SHOW BINARY LOGS')) as unknown as [{ Log_name: string }[]];
    if (!logs.some((l) => l.Log_name === cp.file)) break;
    assert.ok(i < 100, `binlog ${cp.file} was not purged: ${JSON.stringify(logs)}`);
    const [[head]] = (await getPool('source').query('SHOW MASTER STATUS')) as unknown as [[{ File: string }]];
    await rootExec(stack.source, 'FLUSH LOGS', `PURGE BINARY LOGS TO '${head.File}'`);
    await sleep(100);
  }
  // Checked before the stream connects (MariaDB can answer a GTID request for a purged position with silence).
  await assert.rejects(assertNotPurged(getPool('source'), cp), { name: 'BinlogPurgedError', errno: 1236 });
  await assertNotPurged(getPool('source'), await currentPosition('source'));
  // Bounded: a stream that does not fail would otherwise wait for binlog events forever.
  const err = await failureOf(runSync(spec, { signal: AbortSignal.timeout(15_000) }));
  assert.equal((err as { errno?: number }).errno, 1236);
  assertFatal(err, 'BinlogPurged', (c) => {
    assert.equal(c.setting, 'binlog retention');
    assert.match(c.fix!, /binlog_expire_logs_seconds/);
  });
});

test('a dropped table (1146) is fatal and names the table', async () => {
  await rootExec(stack.target, 'CREATE TABLE gone (id INT PRIMARY KEY)');
  const pool = getPool('target');
  await rootExec(stack.target, 'DROP TABLE gone');
  const err = await failureOf(pool.query('SELECT * FROM gone'));
  assertFatal(err, 'TableMissing', (c) => assert.equal(c.table, 'app.gone'));
});

test('a revoked privilege (1142) is fatal and names the privilege and the table', async () => {
  await rootExec(
    stack.target,
    'CREATE TABLE IF NOT EXISTS acct (id INT PRIMARY KEY, note VARCHAR(40) NOT NULL)',
  );
  const revoke = (verb: 'REVOKE' | 'GRANT') =>
    rootExec(
      stack.target,
      ...['127.0.0.1', 'localhost'].map(
        (h) => `${verb} INSERT ON app.* ${verb === 'REVOKE' ? 'FROM' : 'TO'} '${MIGRATION_USER}'@'${h}'`,
      ),
    );
  await revoke('REVOKE');
  // Database-level privileges are cached per session until its next USE: new sessions see the revoke.
  await closePools();
  try {
    const err = await failureOf(copyTable({ source: 'source', target: 'target', table: { name: 'acct' } }));
    assertFatal(err, 'PrivilegeMissing', (c) => {
      assert.equal(c.setting, 'privilege INSERT');
      assert.equal(c.table, 'app.acct');
      assert.match(c.fix!, /GRANT INSERT ON app.acct/);
    });
  } finally {
    await revoke('GRANT');
    await closePools();
  }
});

test('a statement the server rejects (data too long, 1406) is fatal and names the column', async () => {
  await rootExec(
    stack.target,
    'DROP TABLE IF EXISTS acct',
    'CREATE TABLE acct (id INT PRIMARY KEY, note VARCHAR(10) NOT NULL)',
  );
  const err = await failureOf(copyTable({ source: 'source', target: 'target', table: { name: 'acct' } }));
  assertFatal(err, 'StatementRejected', (c) => assert.equal(c.setting, 'column note'));
});

test('a statement past the statement timeout (max_statement_time, 1969) is transient', async () => {
  const holder = await stack.target.rootConnection('app');
  try {
    await holder.query('CREATE TABLE IF NOT EXISTS locked (id INT PRIMARY KEY)');
    await holder.query('LOCK TABLES locked WRITE');
    const started = Date.now();
    const err = await failureOf(
      Promise.race([
        getPool('target').query('SELECT * FROM locked'),
        sleep(5000).then(() => assert.fail('the statement was not ended by the statement timeout')),
      ]),
    );
    assert.ok(Date.now() - started < 3000, 'the server ended the statement after about 1 s');
    assertTransient(err, 'StatementTimeout');
  } finally {
    await holder.end();
  }
});

test('a lock wait timeout (1205) and a refused connection are transient', async () => {
  const holder = await stack.target.rootConnection('app');
  const conn = await getPool('target').getConnection();
  try {
    await holder.query('CREATE TABLE IF NOT EXISTS rowlock (id INT PRIMARY KEY, v INT)');
    await holder.query('INSERT IGNORE INTO rowlock VALUES (1, 0)');
    await holder.query('START TRANSACTION');
    await holder.query('UPDATE rowlock SET v = v + 1 WHERE id = 1');
    await conn.query('SET SESSION innodb_lock_wait_timeout = 1, max_statement_time = 0');
    const err = await failureOf(conn.query('UPDATE rowlock SET v = v + 1 WHERE id = 1'));
    assertTransient(err, 'LockWaitTimeout');
  } finally {
    conn.release();
    await holder.end();
  }
  process.env.MIGRATOR_DB_NOWHERE = 'mysql://u:p@127.0.0.1:1/app';
  assertTransient(await failureOf(getPool('nowhere').query('SELECT 1')), 'ConnectionError');
});
