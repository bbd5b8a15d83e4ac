import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ColumnMidpoint, digitsBetween } from '../../src/activities/copier/split-midpoint.js';
import type { ColumnInfo } from '../../src/activities/schema/types.js';
import type { Pool } from 'mysql2/promise';

/** Lexicographic order, a proper prefix first (how the server orders strings digit by digit). */
function compare(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

test('digitsBetween: always strictly between, undefined only when nothing lies between', () => {
  const base = 5;
  const random = () =>
    Array.from({ length: Math.floor(Math.random() * 4) }, () => Math.floor(Math.random() * base));
  for (let n = 0; n < 20_000; n++) {
    let [a, b] = [random(), random()];
    if (compare(a, b) === 0) continue;
    if (compare(a, b) > 0) [a, b] = [b, a];
    const m = digitsBetween(a, b, base);
    if (m === undefined) {
      // Nothing lies between a and a followed by the lowest digit.
      assert.deepEqual(b, [...a, 0], `${a} .. ${b}`);
    } else {
      assert.ok(compare(a, m) < 0 && compare(m, b) < 0, `${a} < ${m} < ${b}`);
    }
  }
});

const column = (dataType: string): ColumnInfo => ({
  name: 'k',
  dataType,
  columnType: dataType,
  nullable: false,
  generated: false,
  autoIncrement: false,
  charset: null,
  collation: null,
  ordinal: 1,
});
const pool = {} as Pool; // only text columns ask the server

test('ColumnMidpoint: integers beyond 2^53, temporal values and bytes', async () => {
  const int = ColumnMidpoint.for(pool, column('bigint'));
  assert.equal(await int.between('18446744073709551000', '18446744073709551614'), '18446744073709551307');
  assert.equal(await int.between('7', '8'), undefined);
  const dt = ColumnMidpoint.for(pool, column('datetime'));
  assert.equal(await dt.between('2024-01-01 00:00:00', '2024-01-03 00:00:00'), '2024-01-02 00:00:00.000000');
  assert.equal(await dt.between('0001-01-01', '0001-01-01 00:00:00.000002'), '0001-01-01 00:00:00.000001');
  const bin = ColumnMidpoint.for(pool, column('varbinary'));
  assert.deepEqual(await bin.between(Buffer.from([1, 255]), Buffer.from([3])), Buffer.from([2]));
});
