import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Stack } from '../../scripts/localstack/index.js';
import { getPool } from '../../src/activities/db/connections.js';
import { quoteTable } from '../../src/activities/db/identifiers.js';
import {
  describeTable,
  decodeKey,
  encodeKey,
  keysetSelect,
  NoUsableKeyError,
  TableNotFoundError,
} from '../../src/activities/schema/index.js';
import { rootExec, startPair, stopPair } from './copy-fixtures.js';

let stack: Stack;
before(async () => {
  stack = await startPair();
  await rootExec(
    stack.source,
    'CREATE TABLE t_int (id INT PRIMARY KEY, v VARCHAR(10), g INT AS (id * 2) VIRTUAL, s INT AS (id + 1) STORED)',
    'CREATE TABLE t_comp (a INT NOT NULL, b VARCHAR(20) NOT NULL, v INT, PRIMARY KEY (a, b))',
    'CREATE TABLE t_uk (x INT NULL, code VARBINARY(16) NOT NULL, n INT NOT NULL, UNIQUE KEY ux (x), UNIQUE KEY uc (code, n))',
    'CREATE TABLE t_nokey (a INT, b INT, KEY (a))',
    'CREATE TABLE t_prefix (a VARCHAR(100) NOT NULL, UNIQUE KEY up (a(10)))',
    "INSERT INTO t_comp SELECT seq % 100, CONCAT('x', seq), seq FROM seq_1_to_20000",
    'ANALYZE TABLE t_comp',
  );
});
after(() => stopPair(stack));

test('describeTable: primary key, generated columns listed separately', async () => {
  const info = await describeTable(getPool('source'), 'app', 't_int');
  assert.deepEqual(info.key, { index: 'PRIMARY', columns: ['id'] });
  assert.deepEqual(
    info.columns.map((c) => c.name),
    ['id', 'v'],
  );
  assert.deepEqual(info.generatedColumns, ['g', 's']);
  assert.equal(info.columns[1].dataType, 'varchar');
  assert.equal(info.columns[1].nullable, true);
});

test('describeTable: composite key, unique key over NOT NULL columns when there is no primary key', async () => {
  assert.deepEqual((await describeTable(getPool('source'), 'app', 't_comp')).key.columns, ['a', 'b']);
  const uk = await describeTable(getPool('source'), 'app', 't_uk');
  assert.deepEqual(uk.key, { index: 'uc', columns: ['code', 'n'] });
});

test('describeTable: clear errors for a missing table and a table without a usable key', async () => {
  await assert.rejects(describeTable(getPool('source'), 'app', 'nope'), TableNotFoundError);
  await assert.rejects(describeTable(getPool('source'), 'app', 't_nokey'), (e: Error) => {
    assert.ok(e instanceof NoUsableKeyError);
    assert.match(e.message, /app\.t_nokey/);
    assert.match(e.message, /PRIMARY KEY/);
    return true;
  });
  await assert.rejects(describeTable(getPool('source'), 'app', 't_prefix'), /prefix/);
  await assert.rejects(describeTable(getPool('source'), 'app', 't_uk', ['x']), /nullable/);
});

test('key codec round-trips binary, big integers and strings through JSON', () => {
  const key = encodeKey([Buffer.from([0, 255, 1]), '18446744073709551615', 'é😀', 42, null]);
  const back = decodeKey(JSON.parse(JSON.stringify(key)));
  assert.deepEqual(back, [Buffer.from([0, 255, 1]), '18446744073709551615', 'é😀', 42, null]);
});

test('keyset query over a composite key is an index range (EXPLAIN) and pages correctly', async () => {
  const pool = getPool('source');
  const q = keysetSelect({
    from: quoteTable('app', 't_comp'),
    columns: ['a', 'b', 'v'],
    key: ['a', 'b'],
    range: { lower: [5, 'x505'], upper: [7, 'x9'] },
    limit: 100,
  });
  const [plan] = await pool.query<import('mysql2/promise').RowDataPacket[]>(`EXPLAIN ${q.sql}`, q.params);
  assert.equal(plan[0].type, 'range', `expected a range scan, got ${JSON.stringify(plan[0])}`);
  assert.equal(plan[0].key, 'PRIMARY');
  // Full pagination visits every row exactly once, in order.
  let lower: (string | number)[] | undefined;
  let seen = 0;
  let prev = '';
  for (;;) {
    const page = keysetSelect({
      from: quoteTable('app', 't_comp'),
      columns: ['a', 'b'],
      key: ['a', 'b'],
      range: { lower },
      limit: 3000,
    });
    const [rows] = await pool.query<import('mysql2/promise').RowDataPacket[]>(page.sql, page.params);
    if (rows.length === 0) break;
    for (const r of rows) {
      const cur = `${String(r.a).padStart(3, '0')}|${r.b}`;
      assert.ok(cur > prev);
      prev = cur;
    }
    seen += rows.length;
    const last = rows[rows.length - 1];
    lower = [last.a, last.b];
  }
  assert.equal(seen, 20000);
});
