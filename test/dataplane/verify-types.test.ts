import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type mysql from 'mysql2/promise';
import type { Stack } from '../../scripts/localstack/index.js';
import { verifyTable } from '../../src/activities/verify/verifyTable.js';
import type { VerifyInput } from '../../src/activities/contracts.js';
import { rootConnections, startPair, stopPair } from './copy-fixtures.js';

let stack: Stack;
let src: mysql.Connection;
let tgt: mysql.Connection;

before(async () => {
  stack = await startPair();
  ({ src, tgt } = await rootConnections(stack));
});

after(() => stopPair(stack, src, tgt));

async function both(sql: string, params?: unknown[]): Promise<void> {
  await src.query(sql, params);
  await tgt.query(sql, params);
}

const input = (table: string, repair = false, chunkSize = 3): VerifyInput => ({
  source: 'source',
  target: 'target',
  table: { name: table, chunkSize },
  authoritative: 'source',
  repair,
});
const zero = { missing: 0, extra: 0, different: 0 };

const TYPES_DDL =
  'CREATE TABLE types (id BIGINT UNSIGNED PRIMARY KEY, big BIGINT UNSIGNED, dec65 DECIMAL(65,30), dt DATETIME(6), ' +
  'ts TIMESTAMP(6) NULL, js JSON, blb LONGBLOB, emoji VARCHAR(50) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci, ' +
  "en ENUM('red','green','blue'), st SET('a','b','c'), bt BIT(12), s VARCHAR(20) NULL, f FLOAT, d DOUBLE, y YEAR, tm TIME(3), " +
  'bn BINARY(4), g POINT NULL)';

const blob = Buffer.alloc(4 * 1024 * 1024 + 3, 7);
blob.write('start', 0);

function baseRows(): unknown[][] {
  const ids = ['18446744073709551615', '9007199254740993', '9007199254740992', '1', '2', '3', '4'];
  return ids.map((id, i) => [
    id,
    i % 2 ? '18446744073709551614' : '9007199254740993',
    i % 2
      ? '12345678901234567890123456789012345.123456789012345678901234567891'
      : '-0.000000000000000000000000000001',
    `2024-02-29 23:59:59.${String(100000 + i).slice(1)}1`,
    '2038-01-19 03:14:07.999999',
    i % 2 ? '{"n": 12345678901234567890, "x": [1, 2.50, "é"], "a": {"b": null}}' : '[9007199254740993]',
    i === 0 ? blob : Buffer.from([0, 1, 2, 255, i]),
    `👍🏽 emoji ${i} 𝄞`,
    ['red', 'green', 'blue'][i % 3],
    i % 2 ? 'a,c' : '',
    Buffer.from([i, 0x0f]),
    i % 3 === 0 ? null : i % 3 === 1 ? '' : 'x',
    i === 6 ? 16777216 : 0.1 + i,
    1 / 3 + i,
    2000 + i,
    '-838:59:59.000',
    Buffer.from([i, 0, 0, 1]),
    null,
  ]);
}

test('every column type compares equal when equal and repairs exactly', async () => {
  await both(TYPES_DDL);
  for (const conn of [src, tgt]) {
    await conn.query('INSERT INTO types VALUES ?', [baseRows()]);
    await conn.query("UPDATE types SET g = ST_GeomFromText('POINT(1 2)') WHERE id = 3");
  }
  // JSON written with other spacing and key order on the target: the same value.
  await tgt.query(
    `UPDATE types SET js = '{"a":{"b":null},"x":[1,2.50,"é"],"n":12345678901234567890}' WHERE id = 9007199254740993`,
  );
  const clean = await verifyTable(input('types'));
  assert.deepEqual(clean.mismatches, zero, JSON.stringify(clean.sampleKeys));
  assert.equal(clean.rowsCompared, 7);

  // One small change per type, each on its own row.
  const faults: [string, string][] = [
    ['18446744073709551615', "big = '18446744073709551615'"],
    ['9007199254740993', "dec65 = '12345678901234567890123456789012345.123456789012345678901234567892'"],
    ['9007199254740992', "dt = '2024-02-29 23:59:59.000021', js = '[9007199254740992]'"],
    ['1', "blb = X'00010203FF01', emoji = '👍🏿 emoji 3 𝄞'"],
    ['2', "en = 'red', st = 'a', bt = b'111111111111', d = d + 1e-15"],
    ['3', "s = NULL, ts = '2038-01-19 03:14:07.999998', g = ST_GeomFromText('POINT(1 3)')"],
    ['4', "s = '', tm = '-838:59:58.999', bn = X'04000002', f = 16777214"],
  ];
  for (const [id, set] of faults) await tgt.query(`UPDATE types SET ${set} WHERE id = ?`, [id]);
  await tgt.query(
    "UPDATE types SET blb = CONCAT(LEFT(blb, 2000000), 'X', SUBSTRING(blb, 2000002)) WHERE id = 18446744073709551615",
  );
  const found = await verifyTable(input('types', true));
  assert.deepEqual(found.mismatches, { ...zero, different: 7 }, JSON.stringify(found.sampleKeys));
  assert.deepEqual(found.repaired, { ...zero, different: 7 });
  const after = await verifyTable(input('types'));

  // Independent check: the bytes of every column agree.
  const dump = async (c: mysql.Connection) => {
    const [rows] = await c.query<mysql.RowDataPacket[]>(
      'SELECT id, big, dec65, dt, ts, MD5(js) js, MD5(blb) blb, HEX(emoji) emoji, en, st, bt+0 bt, s, CAST(CAST(f AS DOUBLE) AS CHAR) f, CAST(d AS CHAR) d, y, tm, HEX(bn) bn, HEX(g) g FROM types ORDER BY id',
    );
    return rows;
  };
  const [a, b] = await Promise.all([dump(src), dump(tgt)]);
  // JSON text of the row rewritten with other key order stays different as text, equal as a value.
  const strip = (rows: mysql.RowDataPacket[]) =>
    rows.map((r) => ({ ...r, js: String(r.id) === '9007199254740993' ? '' : r.js }));
  assert.deepEqual(strip(b), strip(a));
  assert.deepEqual(after.mismatches, zero, JSON.stringify(after.sampleKeys));
});

test('NULL vs empty string in a nullable column is a difference in both directions', async () => {
  await both('CREATE TABLE nul (id INT PRIMARY KEY, a VARCHAR(5) NULL, b VARCHAR(5) NULL)');
  await src.query("INSERT INTO nul VALUES (1, NULL, ''), (2, '', NULL), (3, NULL, NULL), (4, '\\\\N', 'N')");
  await tgt.query("INSERT INTO nul VALUES (1, '', ''), (2, '', ''), (3, NULL, NULL), (4, NULL, 'N')");
  const r = await verifyTable(input('nul', true));
  assert.deepEqual(r.mismatches, { ...zero, different: 3 });
  assert.deepEqual((await verifyTable(input('nul'))).mismatches, zero);
});

test('composite keys (int + string + binary) with a value separator inside values', async () => {
  await both(
    'CREATE TABLE comp (tenant INT NOT NULL, code VARCHAR(20) COLLATE utf8mb4_general_ci NOT NULL, tag VARBINARY(8) NOT NULL, ' +
      'a VARCHAR(10), b VARCHAR(10), PRIMARY KEY (tenant, code, tag))',
  );
  const rows: unknown[][] = [];
  for (let t = 1; t <= 4; t++)
    for (const code of ['a', 'B', 'c#', 'é'])
      for (const tag of [Buffer.from([0]), Buffer.from([0xff, 1])]) rows.push([t, code, tag, 'x#', 'y']);
  for (const conn of [src, tgt]) await conn.query('INSERT INTO comp VALUES ?', [rows]);
  assert.deepEqual((await verifyTable(input('comp', false, 5))).mismatches, zero);
  // ('x#', 'y') vs ('x', '#y'): the same text joined with '#', a different row.
  await tgt.query("UPDATE comp SET a = 'x', b = '#y' WHERE tenant = 2 AND code = 'c#' AND tag = X'00'");
  await tgt.query("DELETE FROM comp WHERE tenant = 3 AND code = 'é' AND tag = X'FF01'");
  await tgt.query("INSERT INTO comp VALUES (3, 'zz', X'01', NULL, NULL), (9, 'a', X'00', NULL, NULL)");
  const r = await verifyTable(input('comp', true, 5));
  assert.deepEqual(r.mismatches, { missing: 1, extra: 2, different: 1 }, JSON.stringify(r.sampleKeys));
  assert.deepEqual((await verifyTable(input('comp', false, 5))).mismatches, zero);
  const [[n]] = await tgt.query<mysql.RowDataPacket[]>('SELECT COUNT(*) n FROM comp');
  assert.equal(Number(n.n), rows.length);
});

test('DECIMAL of a different scale on the two sides compares by value', async () => {
  await src.query('CREATE TABLE decs (id INT PRIMARY KEY, v DECIMAL(10,2))');
  await tgt.query('CREATE TABLE decs (id INT PRIMARY KEY, v DECIMAL(12,4))');
  await both('INSERT INTO decs VALUES (1, 1.5), (2, 100), (3, -0.25), (4, 0), (5, NULL)');
  assert.deepEqual((await verifyTable(input('decs'))).mismatches, zero);
  await tgt.query('UPDATE decs SET v = 100.0001 WHERE id = 2');
  assert.deepEqual((await verifyTable(input('decs'))).mismatches, { ...zero, different: 1 });
});
