import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Stack } from '../../scripts/localstack/index.js';
import type { Problem } from '../../src/activities/contracts.js';
import { closePools } from '../../src/activities/db/connections.js';
import { precheck } from '../../src/activities/schema/precheck.js';
import { dropCreatedTables, prepareTarget } from '../../src/activities/schema/prepare.js';
import { rootExec, rootQuery, startPair, stopPair } from './copy-fixtures.js';

let stack: Stack;
before(async () => {
  stack = await startPair();
  await rootExec(
    stack.source,
    'CREATE TABLE good (id BIGINT UNSIGNED PRIMARY KEY, name VARCHAR(50) NOT NULL, amount DECIMAL(20,6), n INT)',
    'CREATE TABLE nokey (a INT, b INT)',
    'CREATE TABLE places (id INT PRIMARY KEY, spot POINT NULL, area POLYGON NULL)',
    "CREATE USER 'weak'@'127.0.0.1' IDENTIFIED BY 'weakpw'",
    "GRANT SELECT ON app.* TO 'weak'@'127.0.0.1'",
  );
  process.env.MIGRATOR_DB_WEAK = `mysql://weak:weakpw@127.0.0.1:${stack.source.port}/app`;
});
after(() => stopPair(stack));

const find = (problems: Problem[], re: RegExp) =>
  problems.find((p) => re.test(`${p.message} ${p.setting ?? ''}`));

test('a good plan passes and reports keys, estimates and the source position', async () => {
  const report = await precheck({ source: 'source', target: 'target', tables: [{ name: 'good' }] });
  assert.deepEqual(report.problems, []);
  assert.equal(report.ok, true);
  assert.deepEqual(report.tables[0].key, ['id']);
  assert.match(report.sourcePosition.file, /mysql-bin/);
});

test('unknown table, table without a usable key, unknown column: each named with a fix', async () => {
  const report = await precheck({
    source: 'source',
    target: 'target',
    tables: [{ name: 'missing' }, { name: 'nokey' }, { name: 'good', excludeColumns: ['nope'] }],
  });
  assert.equal(report.ok, false);
  const missing = report.problems.find((p) => p.table === 'missing');
  assert.match(missing!.message, /app\.missing does not exist/);
  const nokey = report.problems.find((p) => p.table === 'nokey');
  assert.match(nokey!.message, /no usable key/);
  assert.match(nokey!.fix, /PRIMARY KEY/);
  assert.match(report.problems.find((p) => p.table === 'good')!.message, /column nope does not exist/);
});

test('a spatial column CDC cannot carry exactly is flagged (POINT is fine); excluding it clears the problem', async () => {
  const report = await precheck({ source: 'source', target: 'target', tables: [{ name: 'places' }] });
  assert.deepEqual(
    report.problems.map((p) => [p.table, p.column]),
    [['places', 'area']],
  );
  assert.match(report.problems[0].message, /POLYGON: binlog sync carries only POINT/);
  assert.match(report.problems[0].fix, /excludeColumns/);
  const excluded = await precheck({
    source: 'source',
    target: 'target',
    tables: [{ name: 'places', excludeColumns: ['area'] }],
  });
  assert.deepEqual(excluded.problems, []);
});

test('incompatible target columns are flagged: INT vs VARCHAR, shorter VARCHAR, signedness, DECIMAL precision', async () => {
  await rootExec(
    stack.target,
    'CREATE TABLE good (id BIGINT SIGNED PRIMARY KEY, name VARCHAR(20) NOT NULL, amount DECIMAL(20,2), n VARCHAR(10))',
  );
  try {
    const report = await precheck({ source: 'source', target: 'target', tables: [{ name: 'good' }] });
    const byColumn = new Map(report.problems.map((p) => [p.column, p.message]));
    assert.match(byColumn.get('id')!, /signedness/);
    assert.match(byColumn.get('name')!, /shorter/);
    assert.match(byColumn.get('amount')!, /decimal places/);
    assert.match(byColumn.get('n')!, /type family/);
  } finally {
    await rootExec(stack.target, 'DROP TABLE good');
  }
});

test('a non-empty target table not created by us is refused; prepareTarget/dropCreatedTables create and drop only ours', async () => {
  await rootExec(
    stack.target,
    'CREATE TABLE good (id BIGINT UNSIGNED PRIMARY KEY, name VARCHAR(50) NOT NULL, amount DECIMAL(20,6), n INT)',
    'INSERT INTO good VALUES (1, "x", 1, 1)',
  );
  let report = await precheck({ source: 'source', target: 'target', tables: [{ name: 'good' }] });
  assert.ok(find(report.problems, /already holds rows/));
  const dropForeign = await dropCreatedTables({ target: 'target', tables: ['good'] });
  assert.deepEqual(dropForeign.keptNotOurs, ['good']);
  await rootExec(stack.target, 'DROP TABLE good');

  const spec = { name: 'good', targetName: 'good_v2', columnMap: { n: 'count' } };
  const prepared = await prepareTarget({ source: 'source', target: 'target', tables: [spec] });
  assert.deepEqual(prepared.created, ['good_v2']);
  assert.deepEqual((await prepareTarget({ source: 'source', target: 'target', tables: [spec] })).created, []);
  const cols = await rootQuery<{ COLUMN_NAME: string }>(
    stack.target,
    "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='app' AND TABLE_NAME='good_v2' ORDER BY ORDINAL_POSITION",
  );
  assert.deepEqual(
    cols.map((c) => c.COLUMN_NAME),
    ['id', 'name', 'amount', 'count'],
  );
  report = await precheck({ source: 'source', target: 'target', tables: [spec] });
  assert.deepEqual(report.problems, []);
  await rootExec(stack.target, 'INSERT INTO good_v2 VALUES (1, "x", 1, 1)');
  assert.deepEqual((await dropCreatedTables({ target: 'target', tables: ['good_v2'] })).keptNotEmpty, [
    'good_v2',
  ]);
  await rootExec(stack.target, 'DELETE FROM good_v2');
  assert.deepEqual((await dropCreatedTables({ target: 'target', tables: ['good_v2'] })).dropped, ['good_v2']);
  assert.deepEqual((await dropCreatedTables({ target: 'target', tables: ['good_v2'] })).dropped, ['good_v2']);
});

test('binlog in STATEMENT format and missing privileges are reported with the setting to change', async () => {
  await rootExec(
    stack.source,
    "SET GLOBAL binlog_format='STATEMENT'",
    "SET GLOBAL binlog_row_image='MINIMAL'",
  );
  try {
    await closePools(); // new sessions see the new global values
    const report = await precheck({ source: 'source', target: 'target', tables: [{ name: 'good' }] });
    assert.match(report.problems.find((p) => p.setting === 'binlog_format')!.message, /STATEMENT/);
    assert.ok(report.problems.find((p) => p.setting === 'binlog_row_image'));
  } finally {
    await rootExec(stack.source, "SET GLOBAL binlog_format='ROW'", "SET GLOBAL binlog_row_image='FULL'");
  }
  const weak = await precheck({ source: 'weak', target: 'target', tables: [{ name: 'good' }] });
  assert.ok(weak.problems.find((p) => p.setting === 'privilege REPLICATION SLAVE'));
  assert.ok(weak.problems.find((p) => p.setting === 'privilege BINLOG MONITOR'));
  const weakTarget = await precheck({ source: 'source', target: 'weak', tables: [{ name: 'good' }] });
  assert.match(
    weakTarget.problems.find((p) => p.side === 'target' && /privilege/.test(p.setting ?? ''))!.setting!,
    /INSERT, UPDATE, DELETE, CREATE/,
  );
});

test('statement annotations off (the bypass watcher could not tell router writes) are reported with the fix, on both sides', async () => {
  const ok = await precheck({ source: 'source', target: 'target', tables: [{ name: 'good' }] });
  assert.equal(
    ok.problems.find((p) => p.setting === 'binlog_annotate_row_events'),
    undefined,
  );
  await rootExec(stack.source, 'SET GLOBAL binlog_annotate_row_events = OFF');
  await rootExec(stack.target, 'SET GLOBAL binlog_annotate_row_events = OFF');
  try {
    const report = await precheck({ source: 'source', target: 'target', tables: [{ name: 'good' }] });
    const found = report.problems.filter((p) => p.setting === 'binlog_annotate_row_events');
    assert.deepEqual(found.map((p) => p.side).sort(), ['source', 'target']);
    assert.match(found[0].fix, /SET GLOBAL binlog_annotate_row_events = ON/);
  } finally {
    await rootExec(stack.source, 'SET GLOBAL binlog_annotate_row_events = ON');
    await rootExec(stack.target, 'SET GLOBAL binlog_annotate_row_events = ON');
  }
});
