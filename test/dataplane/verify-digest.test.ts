// The chunk digest itself (not the row drill-down behind it): which digest a pair of servers gets, and
// that the CRC digest (MariaDB >= 10.8 on both sides) tells apart chunks that differ by one byte, by
// NULL vs '', by values moved between columns of a row, or by the same edit in two rows (which an XOR
// of linear CRCs would cancel), while equal values in different character sets digest equal.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type mysql from 'mysql2/promise';
import type { Stack } from '../../scripts/localstack/index.js';
import { parseServerVersion } from '../../src/activities/db/server.js';
import {
  chunkAggregate,
  crcRowExpr,
  digestKindFor,
  type ColumnPair,
} from '../../src/activities/verify/hashsql.js';
import { loadPair } from '../../src/activities/verify/pair.js';
import { aggregate } from '../../src/activities/verify/rows.js';
import { verifyTable } from '../../src/activities/verify/verifyTable.js';
import { rootConnections, startPair, stopPair } from './copy-fixtures.js';

test('the CRC digest is possible only when both servers are MariaDB >= 10.8, and then used for every table', () => {
  const v = (s: string) => parseServerVersion(s);
  const maria1011 = v('10.11.6-MariaDB-0+deb12u1');
  assert.equal(digestKindFor(maria1011, v('10.8.1-MariaDB')), 'crc');
  assert.equal(digestKindFor(v('11.4.2-MariaDB'), maria1011), 'crc');
  assert.equal(digestKindFor(v('10.6.18-MariaDB'), maria1011), 'md5');
  assert.equal(digestKindFor(maria1011, v('10.7.8-MariaDB')), 'md5');
  assert.equal(digestKindFor(v('8.0.36-0ubuntu0.22.04.1'), maria1011), 'md5');
  assert.equal(digestKindFor(v('8.4.3'), v('8.4.3')), 'md5');
  const col = (dataType: string, columnType: string) =>
    ({ name: 'c', dataType, columnType, charset: 'utf8mb4', nullable: false }) as ColumnPair['source'];
  const pair = (c: ColumnPair['source']): ColumnPair[] => [{ source: c, target: c, json: false }];
  const bounded = pair(col('varchar', 'varchar(10)'));
  const unbounded = pair(col('longtext', 'longtext'));
  const select = (pairs: ColumnPair[], servers: 'crc' | 'md5', force?: 'crc' | 'md5') =>
    chunkAggregate(pairs, 'source', { mariadb: true }, 1000, servers, force).select;
  // Both servers able: the CRC sum, bounded or not. Otherwise (or MD5 forced), bounded chunk text gets
  // the concatenated MD5.
  assert.match(select(bounded, 'crc'), /^COUNT\(\*\) AS n, COALESCE\(SUM\(\(CRC32C\(/);
  assert.doesNotMatch(select(bounded, 'crc'), /GROUP_CONCAT|MD5/);
  assert.match(select(bounded, 'md5'), /MD5\(GROUP_CONCAT/);
  assert.match(select(bounded, 'crc', 'md5'), /MD5\(GROUP_CONCAT/);
  assert.match(
    select(bounded, 'md5', 'crc'),
    /MD5\(GROUP_CONCAT/,
    'CRC is never forced on servers without it',
  );
  // Unbounded (LONGTEXT, JSON, BLOB): the CRC sum where both servers have it, else per-row MD5 XOR.
  assert.match(select(unbounded, 'crc'), /SUM\(\(CRC32C\(/);
  assert.doesNotMatch(select(unbounded, 'crc'), /GROUP_CONCAT|MD5/);
  assert.match(select(unbounded, 'md5'), /BIT_XOR\(.*MD5\(/);
  assert.doesNotMatch(select(unbounded, 'md5'), /CRC32/);
  assert.match(select(unbounded, 'crc', 'md5'), /BIT_XOR\(.*MD5\(/);
});

let stack: Stack;
let src: mysql.Connection;
let tgt: mysql.Connection;

before(async () => {
  stack = await startPair({ redis: false });
  ({ src, tgt } = await rootConnections(stack));
});

after(() => stopPair(stack, src, tgt));

const DDL = (charset: string) =>
  `CREATE TABLE dg (id INT PRIMARY KEY, a VARCHAR(20) CHARACTER SET ${charset} NULL, ` +
  'b VARCHAR(20) CHARACTER SET utf8mb4 NULL, x INT NOT NULL, y INT NOT NULL) ENGINE=InnoDB';
const ROWS =
  "INSERT INTO dg VALUES (1, 'abcdef', 'ghij', 1, 2), (2, 'same', 'same', 10, 20), " +
  "(3, NULL, 'k', 3, 4), (4, '', 'k', 3, 4), (5, 'ab', 'c', 5, 6), (6, 'foo', 'bar', 7, 8), " +
  "(7, 'caf\u00e9', 'x', 9, 9), (8, 'caf\u00e9', 'x', 9, 9)";

/** Whole-table digests of both sides, as a chunk compare sees them (count + digest). */
async function digests(): Promise<{ equal: boolean; source: string; target: string }> {
  const pair = await loadPair({ source: 'source', target: 'target' }, { name: 'dg' });
  const [a, b] = await Promise.all([aggregate(pair.source, {}), aggregate(pair.target, {})]);
  return { equal: a.n === b.n && a.x === b.x, source: a.x, target: b.x };
}

test('CRC digest: equal across charsets; finds one byte, NULL vs empty, values moved between columns, the same edit in two rows', async () => {
  // latin1 on the source, utf8mb4 on the target: the same values (including é) must digest equal.
  await src.query(DDL('latin1'));
  await tgt.query(DDL('utf8mb4'));
  await src.query(ROWS);
  await tgt.query(ROWS);
  const pair = await loadPair({ source: 'source', target: 'target' }, { name: 'dg' });
  assert.match(pair.source.chunk.select, /CRC32C\(/, 'MariaDB 10.11 on both sides: the CRC digest');
  assert.equal((await digests()).equal, true, 'equal values in latin1 and utf8mb4 digest equal');

  const faults: [string, string, string][] = [
    ['one byte', "UPDATE dg SET a = 'abcdeg' WHERE id = 1", "UPDATE dg SET a = 'abcdef' WHERE id = 1"],
    ['one digit', 'UPDATE dg SET x = 11 WHERE id = 2', 'UPDATE dg SET x = 10 WHERE id = 2'],
    ['NULL to empty', "UPDATE dg SET a = '' WHERE id = 3", 'UPDATE dg SET a = NULL WHERE id = 3'],
    [
      'NULL and empty swapped between rows',
      "UPDATE dg SET a = IF(id = 3, '', NULL) WHERE id IN (3, 4)",
      "UPDATE dg SET a = IF(id = 3, NULL, '') WHERE id IN (3, 4)",
    ],
    [
      'strings swapped between columns',
      'UPDATE dg SET a = b, b = a WHERE id = 6',
      "UPDATE dg SET a = 'foo', b = 'bar' WHERE id = 6",
    ],
    [
      'a byte moved across a column boundary',
      "UPDATE dg SET a = 'a', b = 'bc' WHERE id = 5",
      "UPDATE dg SET a = 'ab', b = 'c' WHERE id = 5",
    ],
    [
      'numbers swapped between columns',
      'UPDATE dg SET x = y, y = x WHERE id = 1',
      'UPDATE dg SET x = 1, y = 2 WHERE id = 1',
    ],
    [
      'the same edit in two equal-length rows',
      "UPDATE dg SET a = 'caf\u00e8' WHERE id IN (7, 8)",
      "UPDATE dg SET a = 'caf\u00e9' WHERE id IN (7, 8)",
    ],
    ['trailing space', "UPDATE dg SET b = 'same ' WHERE id = 2", "UPDATE dg SET b = 'same' WHERE id = 2"],
    ['case only', "UPDATE dg SET b = 'Same' WHERE id = 2", "UPDATE dg SET b = 'same' WHERE id = 2"],
  ];
  for (const [what, apply, undo] of faults) {
    await tgt.query(apply);
    const d = await digests();
    assert.equal(d.equal, false, `${what}: the digests must differ (both ${d.source})`);
    await tgt.query(undo);
    assert.equal((await digests()).equal, true, `${what}: undone, the digests are equal again`);
  }

  // And through verifyTable with one chunk: each fault is found as one different row.
  await tgt.query("UPDATE dg SET a = 'abcdeg' WHERE id = 1");
  await tgt.query("UPDATE dg SET a = '' WHERE id = 3");
  await tgt.query('UPDATE dg SET a = b, b = a WHERE id = 6');
  const r = await verifyTable({
    source: 'source',
    target: 'target',
    table: { name: 'dg', chunkSize: 1000 },
    authoritative: 'source',
    repair: false,
  });
  assert.deepEqual(r.mismatches, { missing: 0, extra: 0, different: 3 });
});

test('CRC digest: the CRC input of each row built once (session variable) gives the sum of the two CRCs of every row, statement after statement', async () => {
  // The chunk digest builds a row's CRC input once (CRC32C(@v := text) * CRC32(@v)): the whole row text
  // for bounded rows, the header (strings streamed after it) with a LONGTEXT. This compares it with the
  // same CRCs, the input built for each, summed over the same rows: if the variable were read before it
  // is assigned (the previous row's input, or the previous statement's), they differ.
  for (const [table, s] of [
    ['dgv', 'VARCHAR(20)'],
    ['dgl', 'LONGTEXT'],
  ]) {
    const ddl = `CREATE TABLE ${table} (id INT PRIMARY KEY, s ${s} NULL, n INT NOT NULL, d DATETIME(6) NULL) ENGINE=InnoDB`;
    await Promise.all([src.query(ddl), tgt.query(ddl)]);
    await src.query(
      `INSERT INTO ${table} SELECT seq, IF(seq % 5 = 0, NULL, REPEAT('s', seq % 13)), seq * 7, ` +
        "IF(seq % 3 = 0, NULL, '2024-01-01' + INTERVAL seq MINUTE) FROM seq_1_to_3000",
    );
    const pair = await loadPair({ source: 'source', target: 'target' }, { name: table }, { fresh: true });
    const side = pair.source;
    // The evaluation order is probed per table (describeForVerify), not assumed.
    assert.equal(
      side.info.crcSharedInput,
      true,
      `${table}: this MariaDB evaluates the product left to right`,
    );
    assert.equal(pair.target.info.crcSharedInput, true);
    assert.match(side.chunk.select, /:=/, `${table}: the chunk digest assigns the variable`);
    const unprobed = chunkAggregate(
      pair.pairs,
      'source',
      { ...side.info, crcSharedInput: false },
      5000,
      'crc',
    );
    assert.doesNotMatch(
      unprobed.select,
      /:=/,
      'a server whose order is not left to right builds the input twice',
    );
    const reference = `COALESCE(SUM(${crcRowExpr(pair.pairs, 'source', side.info, { shared: false })}), 0)`;
    assert.doesNotMatch(reference, /:=/);
    for (const [lower, upper] of [
      [0, 1],
      [1, 2],
      [2, 1000],
      [1000, 1001],
      [1001, 3000],
    ]) {
      const got = await aggregate(side, { lower: [lower], upper: [upper] });
      const [rows] = await src.query<mysql.RowDataPacket[]>(
        `SELECT ${reference} AS x FROM ${side.table} WHERE id > ? AND id <= ?`,
        [lower, upper],
      );
      assert.equal(got.x, String(rows[0].x), `${table}: rows (${lower}, ${upper}]`);
    }
  }
});
