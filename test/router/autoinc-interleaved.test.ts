// innodb_autoinc_lock_mode=2 (interleaved; MySQL 8's default): a single-row INSERT's generated id is
// still insertId, so the router mirrors it with the same id; a multi-row INSERT's ids may not be
// consecutive, so (without a unique key to find the rows again) it becomes a table-level repair entry.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ResultSetHeader } from 'mysql2/promise';
import type { Stack } from '../../scripts/localstack/index.js';
import type { SwitchStore } from '../../src/switches/index.js';
import type { Router } from '../../src/router/index.js';
import { adminQuery, dump, setSwitches, startRouterEnv } from './helpers.js';

const ID = 'interleaved';
let stack: Stack;
let store: SwitchStore;
let router: Router;
let stop: () => Promise<void> = async () => {};

before(async () => {
  ({ stack, store, router, stop } = await startRouterEnv(
    ID,
    ['CREATE TABLE notes (id BIGINT AUTO_INCREMENT PRIMARY KEY, body VARCHAR(50))'],
    { mariadbArgs: ['--innodb-autoinc-lock-mode=2'] },
  ));
});

after(() => stop());

test('lock mode 2: single-row inserts keep their ids on both sides; multi-row inserts go to repair', async () => {
  const [mode] = (await adminQuery(stack, 'source', 'SELECT @@innodb_autoinc_lock_mode AS m')) as {
    m: number;
  }[];
  assert.equal(Number(mode.m), 2);
  await setSwitches(store, ID, { writeMode: 'DUAL_SOURCE_FIRST' }, [router]);
  // Different counters on the two sides: re-running the statement would give different ids.
  await adminQuery(stack, 'source', 'ALTER TABLE notes AUTO_INCREMENT = 1000');
  const [one] = await router.query<ResultSetHeader>('INSERT INTO notes (body) VALUES (?)', ['one']);
  await router.query('INSERT INTO notes (body) VALUES (?)', ['two']);
  assert.ok(one.insertId >= 1000);
  assert.deepEqual(await dump(stack, 'target', 'notes'), await dump(stack, 'source', 'notes'));
  assert.equal(router.stats().tableLevelRepairs, 0);

  await router.query("INSERT INTO notes (body) VALUES ('a'), ('b')");
  assert.equal(router.stats().tableLevelRepairs, 1, 'ids of a multi-row insert are not inferred in mode 2');
});
