/** The copier backs off while a replica of the source lags (or its replication is stopped). */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type mysql from 'mysql2/promise';
import { startStack, type MariaDbInstance, type Stack } from '../../scripts/localstack/index.js';
import { closePools, getPool } from '../../src/activities/db/connections.js';
import { copyTable } from '../../src/activities/copier/index.js';
import { prepareTarget } from '../../src/activities/schema/index.js';
import { readReplicaLag } from '../../src/activities/throttle/back-pressure.js';
import type { CopyProgress } from '../../src/activities/contracts.js';

let stack: Stack;
let replica: MariaDbInstance;

async function count(side: MariaDbInstance, table: string): Promise<number> {
  const conn = await side.rootConnection('app');
  try {
    const [rows] = await conn.query<mysql.RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${table}`);
    return Number(rows[0].n);
  } finally {
    await conn.end();
  }
}

async function onReplica(sql: string): Promise<void> {
  const conn = await replica.rootConnection();
  try {
    await conn.query(sql);
  } finally {
    await conn.end();
  }
}

before(async () => {
  stack = await startStack({ redis: false, sourceReplica: true });
  Object.assign(process.env, stack.env);
  replica = stack.sourceReplica as MariaDbInstance;
  const src = await stack.source.rootConnection('app');
  await src.query('CREATE TABLE lagged (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL)');
  await src.query("INSERT INTO lagged SELECT seq, CONCAT('v', seq) FROM seq_1_to_2000");
  await src.end();
  await replica.waitForReplica(stack.source);
  await prepareTarget({ source: 'source', target: 'target', tables: [{ name: 'lagged' }] });
});

after(async () => {
  await closePools();
  await stack?.stop();
});

test('replica lag is read from SHOW SLAVE STATUS; a stopped replication counts as lagging', async () => {
  assert.equal(await readReplicaLag(getPool('source_replica')), 0);
  await onReplica('STOP SLAVE SQL_THREAD');
  assert.equal(await readReplicaLag(getPool('source_replica')), null);
  await onReplica('START SLAVE SQL_THREAD');
});

test('the copy waits (heartbeating) while the replica is stopped, and finishes once it has caught up', async () => {
  await onReplica('STOP SLAVE SQL_THREAD');
  const reports: CopyProgress[] = [];
  const copy = copyTable(
    {
      source: 'source',
      target: 'target',
      table: { name: 'lagged', chunkSize: 200 },
      replica: 'source_replica',
      maxReplicaLagSeconds: 2,
    },
    { progress: (p) => reports.push(p) },
  );
  await new Promise((r) => setTimeout(r, 2500));
  assert.equal(await count(stack.target, 'lagged'), 0, 'nothing copied while the replica is stopped');
  assert.ok(reports.length >= 2, `progress reported while waiting (${reports.length})`);

  await onReplica('START SLAVE SQL_THREAD');
  const result = await copy;
  assert.equal(result.rowsCopied, 2000);
  assert.equal(await count(stack.target, 'lagged'), 2000);
});

test('the copy waits while the target is busy (Threads_running above the limit)', async () => {
  const src = await stack.source.rootConnection('app');
  await src.query('CREATE TABLE busy (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL)');
  await src.query("INSERT INTO busy SELECT seq, CONCAT('v', seq) FROM seq_1_to_1000");
  await src.end();
  await prepareTarget({ source: 'source', target: 'target', tables: [{ name: 'busy' }] });

  // Five long statements on the target: Threads_running is at least 6 while they run.
  const sleepers = await Promise.all(Array.from({ length: 5 }, () => stack.target.rootConnection()));
  const sleeping = Promise.all(sleepers.map((c) => c.query('SELECT SLEEP(3)')));
  await new Promise((r) => setTimeout(r, 200));
  const started = Date.now();
  const copy = copyTable({
    source: 'source',
    target: 'target',
    table: { name: 'busy', chunkSize: 200 },
    maxTargetThreadsRunning: 3,
  });
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(await count(stack.target, 'busy'), 0, 'nothing copied while the target is busy');
  await sleeping;
  await Promise.all(sleepers.map((c) => c.end()));
  const result = await copy;
  assert.equal(result.rowsCopied, 1000);
  assert.ok(Date.now() - started >= 2500, 'the copy waited for the load to pass');
  assert.equal(await count(stack.target, 'busy'), 1000);
});
