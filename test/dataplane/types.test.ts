import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Stack } from '../../scripts/localstack/index.js';
import type { TableSpec } from '../../src/activities/contracts.js';
import { copyTable } from '../../src/activities/copier/copy.js';
import { currentPosition, recordSyncStart, runSync } from '../../src/activities/cdc/sync.js';
import { prepareTarget } from '../../src/activities/schema/prepare.js';
import { checksum, dumpTable, rootExec, rootQuery, startPair, stopPair } from './copy-fixtures.js';

let stack: Stack;
const tables: TableSpec[] = [{ name: 'ty', chunkSize: 2 }];
const spec = { stream: 'types', from: 'source', to: 'target', tables, direction: 'forward' as const };
const counter = async (name: string) =>
  Number((await rootQuery(stack.target, 'SHOW GLOBAL STATUS LIKE ?', [name]))[0].Value);
const DDL = `CREATE TABLE ty (
  id BIGINT NOT NULL PRIMARY KEY,
  u BIGINT UNSIGNED, s BIGINT, d DECIMAL(65,30), dt DATETIME(6), ts TIMESTAMP(6) NULL DEFAULT NULL, dd DATE,
  j JSON, bl LONGBLOB, t TEXT CHARACTER SET utf8mb4, e ENUM('a','b','c d'), st SET('x','y','z'), b BIT(10),
  vb VARBINARY(20), c CHAR(5), f FLOAT, db DOUBLE, tm TIME(6), y YEAR, p POINT NULL,
  l VARCHAR(20) CHARACTER SET latin1, m VARCHAR(20) CHARACTER SET utf8mb3,
  w16 VARCHAR(20) CHARACTER SET utf16, gb VARCHAR(20) CHARACTER SET gbk, sj CHAR(8) CHARACTER SET sjis,
  u2 TEXT CHARACTER SET ucs2, m3t MEDIUMTEXT CHARACTER SET utf8mb3, vb2 VARBINARY(8),
  g BIGINT AS (id * 2) VIRTUAL, gs VARCHAR(40) AS (CONCAT('g', id)) STORED
)`;
const INSERT = `INSERT INTO ty (id, u, s, d, dt, ts, dd, j, bl, t, e, st, b, vb, c, f, db, tm, y, p, l, m, w16, gb, sj, u2, m3t, vb2) VALUES
 (?, 18446744073709551615, -9223372036854775808, '-12345678901234567890123456789012345.123456789012345678901234567891',
  '2024-02-29 23:59:59.123456', '2038-01-19 03:14:07.999999', '1000-01-01',
  '{"big": 123456789012345678901234567890, "n": -9007199254740993, "f": 1.5e300, "s": "é😀"}',
  ?, '😀 emoji and ünïcödé', 'c d', 'x,z', b'1010101010', x'00ff0010', 'ab', 16777215, 3.3333333333333335, '-838:59:59.000001', 2155,
  ST_GeomFromText('POINT(1.5 -2.25)'), 'Ünï\tc\\\\ö\n', ?, ?, ?, ?, ?, ?, x'ff00c3a9'),
 (?, 9007199254740993, 9223372036854775807, '0.000000000000000000000000000001', '9999-12-31 23:59:59.999999',
  '1970-01-01 00:00:01.000001', '9999-12-31', '[]', '', '', NULL, '', b'0', '', '', -0, 1.7976931348623157e308, '00:00:00', 1901, NULL, '', '\\\\N', '', '', '', '', '', ''),
 (?, NULL, NULL, NULL, '0000-00-00 00:00:00.000000', '0000-00-00 00:00:00.000000', '0000-00-00', NULL, NULL, NULL, 'a', 'x,y,z', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`;

/**
 * Values for w16 (utf16, with a supplementary character), gb (gbk), sj (sjis), u2 (ucs2), m3t (utf8mb3).
 * They and vb2 (VARBINARY) follow a POINT column: MariaDB's binlog charset list counts it (charsets.ts).
 */
const MULTIBYTE = ['ü€漢😀', 'ü漢中文', 'ｱ漢字かな', 'ü€漢ÿ', 'ü€漢 text'];

function blob(seed: number): Buffer {
  const b = Buffer.alloc(3 * 1024 * 1024 + seed);
  for (let i = 0; i < b.length; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

before(async () => {
  stack = await startPair();
  await rootExec(stack.source, "SET GLOBAL sql_mode = 'NO_ENGINE_SUBSTITUTION'", DDL);
  await rootExec(stack.target, "SET GLOBAL sql_mode = 'NO_ENGINE_SUBSTITUTION'");
});
after(() => stopPair(stack));

async function insertRows(base: number) {
  const conn = await stack.source.rootConnection('app');
  try {
    await conn.query("SET SESSION time_zone = '+00:00'");
    // Non-ASCII text in every multibyte charset, through the copy (base 0) and through CDC (base 100).
    const m = base ? 'ü€漢' : 'ß€\0x';
    await conn.query(INSERT, [base + 1, blob(base), m, ...MULTIBYTE, base + 2, base + 3]);
  } finally {
    await conn.end();
  }
}

test('every column type round-trips exactly through copy and through CDC; generated columns are skipped', async () => {
  await insertRows(0);
  assert.deepEqual((await prepareTarget({ source: 'source', target: 'target', tables })).created, ['ty']);
  await recordSyncStart(spec);
  const copied = await copyTable({ source: 'source', target: 'target', table: tables[0], stream: 'types' });
  assert.equal(copied.rowsCopied, 3);
  // Rows that only CDC carries: inserts, an update of every column, a key change, and deletes.
  await insertRows(100);
  await rootExec(
    stack.source,
    "UPDATE ty SET u = u - 1, d = -d, dt = '2000-01-01 00:00:00.000001', j = '{\"x\": 18446744073709551615}', b = b'1', e = 'b', st = '' WHERE id = 101",
    'UPDATE ty SET id = 200 WHERE id = 102',
    'DELETE FROM ty WHERE id = 3',
  );
  const stopAt = await currentPosition('source');
  const [loads0, replaces0] = [await counter('Com_load'), await counter('Com_replace')];
  const progress = await runSync({ ...spec, stopAt }, {});
  assert.ok(progress.rowsApplied >= 6);
  assert.ok((await counter('Com_load')) > loads0, 'the applier wrote no row image through LOAD DATA');
  assert.equal(await counter('Com_replace'), replaces0);
  const order = 'id';
  const [src, dst] = await Promise.all([
    dumpTable(stack.source, 'ty', order),
    dumpTable(stack.target, 'ty', order),
  ]);
  assert.equal(dst.length, 5);
  // Compared without the 3 MB blob first, so a difference prints readably.
  const short = (row: string) =>
    row
      .split('"hex:')
      .map((p) => (p.length > 2000 ? `${p.length}` : p))
      .join('"hex:');
  for (let i = 0; i < src.length; i++) assert.equal(short(dst[i]), short(src[i]));
  for (let i = 0; i < src.length; i++) assert.equal(dst[i], src[i]);
  assert.equal(await checksum(stack.target, 'ty'), await checksum(stack.source, 'ty'));
  // Spot checks on the exact values.
  const [r] = await rootQuery(
    stack.target,
    'SELECT u, d, dt, ts, j, HEX(b) AS b, LENGTH(bl) AS n, t, g, gs, HEX(l) AS l, m FROM ty WHERE id = 1',
  );
  assert.equal(r.u, '18446744073709551615');
  assert.equal(r.d, '-12345678901234567890123456789012345.123456789012345678901234567891');
  assert.equal(r.dt, '2024-02-29 23:59:59.123456');
  assert.match(String(r.j), /123456789012345678901234567890/);
  assert.equal(Number(r.n), 3 * 1024 * 1024);
  assert.equal(r.t, '😀 emoji and ünïcödé');
  assert.equal(String(r.g), '2');
  assert.equal(r.gs, 'g1');
  assert.equal(r.l, Buffer.from('Ünï\tc\\ö\n', 'latin1').toString('hex').toUpperCase());
  assert.equal(r.m, 'ß€\0x');
  // The same text replicated by CDC (row 101 inserted after the copy, row 200 updated), byte for byte.
  for (const id of [101, 200]) {
    const sql =
      'SELECT HEX(m) AS m, HEX(w16) AS w16, HEX(gb) AS gb, HEX(sj) AS sj, HEX(u2) AS u2, HEX(m3t) AS m3t, HEX(vb2) AS vb2 FROM ty WHERE id = ?';
    const [want] = await rootQuery(stack.source, sql, [id]);
    const [got] = await rootQuery(stack.target, sql, [id]);
    assert.deepEqual(got, want, `row ${id}`);
  }
  const [cdc] = await rootQuery(stack.target, 'SELECT m, w16, gb, sj, u2, m3t FROM ty WHERE id = 101');
  assert.deepEqual(Object.values(cdc), ['ü€漢', ...MULTIBYTE]);
});

test('a target that refuses LOAD DATA LOCAL (local_infile=OFF) gets REPLACE statements with the same values, from the copier and from CDC', async () => {
  await rootExec(stack.target, 'TRUNCATE TABLE ty', 'SET GLOBAL local_infile = 0');
  try {
    const before = await rootQuery(stack.target, "SHOW GLOBAL STATUS LIKE 'Com_replace'");
    const copied = await copyTable({
      source: 'source',
      target: 'target',
      table: { name: 'ty', chunkSize: 2 },
    });
    const after = await rootQuery(stack.target, "SHOW GLOBAL STATUS LIKE 'Com_replace'");
    assert.equal(copied.rowsCopied, 5);
    assert.ok(Number(after[0].Value) > Number(before[0].Value), 'no REPLACE statement ran');
    const [src, dst] = await Promise.all([
      dumpTable(stack.source, 'ty', 'id'),
      dumpTable(stack.target, 'ty', 'id'),
    ]);
    assert.deepEqual(dst, src);
    // The CDC applier falls back the same way: rows only CDC carries, through REPLACE statements.
    await insertRows(300);
    const replaces0 = await counter('Com_replace');
    await runSync({ ...spec, stopAt: await currentPosition('source') }, {});
    assert.ok((await counter('Com_replace')) > replaces0, 'the applier ran no REPLACE statement');
    const [src2, dst2] = await Promise.all([
      dumpTable(stack.source, 'ty', 'id'),
      dumpTable(stack.target, 'ty', 'id'),
    ]);
    assert.equal(dst2.length, 8);
    assert.deepEqual(dst2, src2);
  } finally {
    await rootExec(stack.target, 'SET GLOBAL local_infile = 1');
  }
});

test('binlog rows older than a schema change of a table with a spatial column stop the stream (no guessing charsets)', async () => {
  await rootExec(
    stack.source,
    'CREATE TABLE gm (id INT PRIMARY KEY, p POINT NULL, t VARCHAR(10) CHARACTER SET utf8mb3)',
  );
  const gm = { ...spec, stream: 'gm', tables: [{ name: 'gm' }] };
  await prepareTarget({ source: 'source', target: 'target', tables: gm.tables });
  await recordSyncStart(gm);
  await rootExec(
    stack.source,
    "INSERT INTO gm VALUES (1, NULL, 'ü')",
    'ALTER TABLE gm ADD COLUMN x INT FIRST', // the binlog's row above has the old columns
  );
  await rootExec(stack.target, 'ALTER TABLE gm ADD COLUMN x INT FIRST');
  await assert.rejects(runSync({ ...gm, stopAt: await currentPosition('source') }, {}), {
    name: 'RowImageError',
    message: /differ from the table's current columns/,
  });
});
