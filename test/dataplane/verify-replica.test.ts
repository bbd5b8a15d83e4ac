/**
 * Replica-first verification: chunk aggregates are read from the source's replica; only chunks where
 * the replica disagrees are double-checked on the primaries, which decide.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type mysql from 'mysql2/promise';
import { startStack, type MariaDbInstance, type Stack } from '../../scripts/localstack/index.js';
import { closePools } from '../../src/activities/db/connections.js';
import { verifyTable } from '../../src/activities/verify/verifyTable.js';
import type { VerifyInput } from '../../src/activities/contracts.js';

let stack: Stack;
let src: mysql.Connection;
let tgt: mysql.Connection;
let replica: MariaDbInstance;

before(async () => {
  stack = await startStack({ redis: false, sourceReplica: true });
  Object.assign(process.env, stack.env);
  replica = stack.sourceReplica as MariaDbInstance;
  src = await stack.source.rootConnection('app');
  tgt = await stack.target.rootConnection('app');
  for (const conn of [src, tgt]) {
    await conn.query('CREATE TABLE r (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL)');
    await conn.query("INSERT INTO r SELECT seq, CONCAT('v', seq) FROM seq_1_to_3000");
  }
  await replica.waitForReplica(stack.source);
});

after(async () => {
  await closePools();
  await Promise.all([src?.end(), tgt?.end()]);
  await stack?.stop();
});

const input: VerifyInput = {
  source: 'source',
  target: 'target',
  sourceReplica: 'source_replica',
  table: { name: 'r', chunkSize: 500 },
  authoritative: 'source',
  repair: false,
};

async function selectsOn(side: MariaDbInstance): Promise<number> {
  const conn = await side.rootConnection();
  try {
    const [rows] = await conn.query<mysql.RowDataPacket[]>("SHOW GLOBAL STATUS LIKE 'Com_select'");
    return Number(rows[0].Value);
  } finally {
    await conn.end();
  }
}

test('equal tables are verified on the replica, without a second pass on the source primary', async () => {
  const [replicaBefore, primaryBefore] = await Promise.all([selectsOn(replica), selectsOn(stack.source)]);
  const result = await verifyTable(input);
  const [replicaAfter, primaryAfter] = await Promise.all([selectsOn(replica), selectsOn(stack.source)]);
  assert.deepEqual(result.mismatches, { missing: 0, extra: 0, different: 0 });
  assert.equal(result.rowsCompared, 3000);
  assert.ok(replicaAfter - replicaBefore >= result.chunks, `replica answered the chunk aggregates`);
  // The primary only serves the key walk (one boundary query per chunk), never the aggregates.
  assert.ok(
    primaryAfter - primaryBefore <= result.chunks + 2,
    `primary: ${primaryAfter - primaryBefore} selects`,
  );
});

test('a lagging replica does not produce mismatches: the primaries decide; a real difference is still found', async () => {
  const conn = await replica.rootConnection();
  try {
    await conn.query('STOP SLAVE');
    for (const c of [src, tgt]) await c.query("UPDATE r SET v = 'changed' WHERE id IN (10, 1500, 2999)");
    let result = await verifyTable(input);
    assert.deepEqual(
      result.mismatches,
      { missing: 0, extra: 0, different: 0 },
      'replica lag is not a mismatch',
    );

    await tgt.query("UPDATE r SET v = 'drift' WHERE id = 1501");
    result = await verifyTable(input);
    assert.deepEqual(result.mismatches, { missing: 0, extra: 0, different: 1 });
    assert.deepEqual(
      result.sampleKeys.map((k) => k.key),
      [[1501]],
    );
  } finally {
    await conn.query('START SLAVE');
    await conn.end();
  }
});
