import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type mysql from 'mysql2/promise';
import type { Stack } from '../../scripts/localstack/index.js';
import { reverseScanDeletes, verifyUpdatedSince } from '../../src/activities/verify/index.js';
import type { VerifyInput } from '../../src/activities/contracts.js';
import { rootConnections, startPair, stopPair } from './copy-fixtures.js';

let stack: Stack;
let src: mysql.Connection;
let tgt: mysql.Connection;

before(async () => {
  stack = await startPair();
  ({ src, tgt } = await rootConnections(stack));
  for (const c of [src, tgt]) {
    await c.query("SET time_zone = '+00:00'");
    await c.query(
      'CREATE TABLE inc (id INT PRIMARY KEY, v VARCHAR(20), updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6), KEY (updated_at))',
    );
    await c.query(
      "INSERT INTO inc (id, v, updated_at) SELECT seq, CONCAT('v', seq), '2024-01-01 00:00:00' FROM seq_1_to_20000",
    );
  }
});

after(() => stopPair(stack, src, tgt));

const base = (repair = false): VerifyInput => ({
  source: 'source',
  target: 'target',
  table: { name: 'inc', chunkSize: 1000, updatedAtColumn: 'updated_at' },
  authoritative: 'source',
  repair,
});

test('updated_at window finds a changed row (and one changed on the other side), and only looks at the window', async () => {
  await src.query("UPDATE inc SET v = 'new', updated_at = '2024-06-01 10:00:00' WHERE id = 123"); // not applied to the target
  await tgt.query("UPDATE inc SET v = 'rogue', updated_at = '2024-06-01 11:00:00' WHERE id = 456"); // behind the source's back
  await tgt.query("UPDATE inc SET v = 'old-rogue' WHERE id = 789"); // outside any window: not seen
  await tgt.query("UPDATE inc SET updated_at = '2024-01-01 00:00:00' WHERE id = 789");
  const w = { ...base(), column: 'updated_at', since: '2024-06-01 00:00:00', until: '2024-06-02 00:00:00' };
  const r = await verifyUpdatedSince(w);
  assert.deepEqual(r.mismatches, { missing: 0, extra: 0, different: 2 });
  assert.equal(r.rowsCompared, 1);
  assert.deepEqual(new Set(r.sampleKeys.map((s) => s.key[0])), new Set([123, 456]));
  const fixed = await verifyUpdatedSince({ ...w, repair: true });
  assert.deepEqual(fixed.repaired, { missing: 0, extra: 0, different: 2 });
  const [[row]] = await tgt.query<mysql.RowDataPacket[]>('SELECT v FROM inc WHERE id = 123');
  assert.equal(row.v, 'new');
  assert.deepEqual((await verifyUpdatedSince(w)).mismatches, { missing: 0, extra: 0, different: 0 });
  // Rows inserted on the source in the window but missing on the target are found too.
  await src.query("INSERT INTO inc VALUES (30000, 'ins', '2024-06-01 12:00:00')");
  assert.deepEqual((await verifyUpdatedSince({ ...w, repair: true })).mismatches, {
    missing: 1,
    extra: 0,
    different: 0,
  });
});

test('reverse scan finds rows deleted on the authoritative side (and rows missing), with key-only checksums', async () => {
  await src.query('DELETE FROM inc WHERE id IN (5, 15000)');
  await tgt.query("INSERT INTO inc VALUES (40000, 'only-target', NOW(6))");
  await tgt.query('DELETE FROM inc WHERE id = 777');
  const r = await reverseScanDeletes(base(true));
  assert.deepEqual(r.mismatches, { missing: 1, extra: 3, different: 0 });
  assert.deepEqual(r.repaired, { missing: 1, extra: 3, different: 0 });
  assert.ok(r.chunksDiffering <= 4 && r.chunks >= 4, JSON.stringify(r));
  const [[n]] = await tgt.query<mysql.RowDataPacket[]>(
    'SELECT COUNT(*) n FROM inc WHERE id IN (5, 15000, 40000, 777)',
  );
  assert.equal(Number(n.n), 1);
  assert.deepEqual((await reverseScanDeletes(base())).mismatches, { missing: 0, extra: 0, different: 0 });
  // Value differences are not its business.
  await tgt.query("UPDATE inc SET v = 'x' WHERE id = 1");
  assert.deepEqual((await reverseScanDeletes(base())).mismatches, { missing: 0, extra: 0, different: 0 });
});
