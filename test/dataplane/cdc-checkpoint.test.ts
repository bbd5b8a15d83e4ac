import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Stack } from '../../scripts/localstack/index.js';
import type { TableSpec } from '../../src/activities/contracts.js';
import { currentPosition, recordSyncStart, runSync } from '../../src/activities/cdc/sync.js';
import { readCheckpoint } from '../../src/activities/cdc/checkpoint.js';
import { getPool } from '../../src/activities/db/connections.js';
import { prepareTarget } from '../../src/activities/schema/prepare.js';
import { dumpTable, rootExec, rootQuery, startPair, stopPair } from './copy-fixtures.js';

// The applier moves the checkpoint with the batch's first statement (lock, concurrent-applier check and
// move in one round trip) and commits it with the rows: these tests hold it to what that must keep.

let stack: Stack;

before(async () => {
  stack = await startPair();
});
after(() => stopPair(stack));

test('a batch the sink refuses leaves the checkpoint after the last applied transaction; resumed, nothing is missing', async () => {
  const tables: TableSpec[] = [{ name: 'narrow' }];
  await rootExec(stack.source, 'CREATE TABLE narrow (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL)');
  await prepareTarget({ source: 'source', target: 'target', tables });
  // The sink's column is too short for one value of the second transaction (strict mode: an error).
  await rootExec(stack.target, 'ALTER TABLE narrow MODIFY v VARCHAR(5) NOT NULL');
  const spec = { stream: 'narrow1', from: 'source', to: 'target', tables, direction: 'forward' as const };
  await recordSyncStart(spec);
  await rootExec(stack.source, "INSERT INTO narrow SELECT seq, 'ok' FROM seq_1_to_50");
  const afterFirst = await currentPosition('source');
  await rootExec(
    stack.source,
    "INSERT INTO narrow SELECT seq, IF(seq = 75, 'much too long', 'ok') FROM seq_51_to_100",
  );
  await rootExec(stack.source, "UPDATE narrow SET v = 'up' WHERE id <= 10");
  const stopAt = await currentPosition('source');

  // One source transaction per batch: the first commits, the second fails on the sink.
  await assert.rejects(runSync({ ...spec, stopAt }, {}, { maxBatchTransactions: 1 }));
  const cp = await readCheckpoint(getPool('target'), spec.stream);
  assert.equal(cp?.position.file, afterFirst.file);
  assert.equal(cp?.position.pos, afterFirst.pos, 'the checkpoint names the last applied transaction');
  assert.equal(cp?.transactions, 1);
  const [count] = await rootQuery<{ n: number }>(stack.target, 'SELECT COUNT(*) AS n FROM narrow');
  assert.equal(Number(count.n), 50, 'nothing of the refused transaction is on the sink');

  // Fixed, the next run resumes from the checkpoint and ends equal to the source.
  await rootExec(stack.target, 'ALTER TABLE narrow MODIFY v VARCHAR(20) NOT NULL');
  const done = await runSync({ ...spec, stopAt }, {}, { maxBatchTransactions: 1 });
  assert.equal(done.transactions, 2, 'the second run applies the two transactions after the checkpoint');
  assert.equal((await readCheckpoint(getPool('target'), spec.stream))?.transactions, 3);
  assert.deepEqual(
    await dumpTable(stack.target, 'narrow', 'id'),
    await dumpTable(stack.source, 'narrow', 'id'),
  );
});

test('two appliers on one stream: the second to move the checkpoint stops with ConcurrentApplierError', async () => {
  const tables: TableSpec[] = [{ name: 'counted' }];
  await rootExec(stack.source, 'CREATE TABLE counted (id INT PRIMARY KEY, n INT NOT NULL)');
  await prepareTarget({ source: 'source', target: 'target', tables });
  const spec = { stream: 'counted1', from: 'source', to: 'target', tables, direction: 'forward' as const };
  await recordSyncStart(spec);
  const statements = ['INSERT INTO counted SELECT seq, 0 FROM seq_1_to_20'];
  for (let i = 0; i < 200; i++) statements.push(`UPDATE counted SET n = n + 1 WHERE id = ${1 + (i % 20)}`);
  await rootExec(stack.source, ...statements);
  const stopAt = await currentPosition('source');

  const options = { maxBatchTransactions: 5 };
  const results = await Promise.allSettled([
    runSync({ ...spec, stopAt }, {}, options),
    runSync({ ...spec, stopAt }, {}, options),
  ]);
  const failed = results.filter((r) => r.status === 'rejected');
  assert.equal(failed.length, 1, JSON.stringify(results.map((r) => r.status)));
  assert.equal(((failed[0] as PromiseRejectedResult).reason as Error).name, 'ConcurrentApplierError');
  const cp = await readCheckpoint(getPool('target'), spec.stream);
  assert.equal(cp?.transactions, 201, 'each source transaction counted once');
  assert.deepEqual(
    await dumpTable(stack.target, 'counted', 'id'),
    await dumpTable(stack.source, 'counted', 'id'),
  );
});

test('the next batch is taken and prepared while the sink applies the current one: every transaction applied once, in order; an image that cannot be written fails its own batch only', async () => {
  const tables: TableSpec[] = [{ name: 'ahead' }];
  await rootExec(stack.source, 'CREATE TABLE ahead (id INT PRIMARY KEY, n INT NOT NULL, g GEOMETRY NULL)');
  await prepareTarget({ source: 'source', target: 'target', tables });
  const spec = { stream: 'ahead1', from: 'source', to: 'target', tables, direction: 'forward' as const };
  await recordSyncStart(spec);
  // 301 transactions on 20 rows: order matters (each sets n to its own number).
  const statements = ['INSERT INTO ahead SELECT seq, 0, NULL FROM seq_1_to_20'];
  for (let i = 1; i <= 300; i++) statements.push(`UPDATE ahead SET n = ${i} WHERE id = ${1 + (i % 20)}`);
  await rootExec(stack.source, ...statements);
  const good = await currentPosition('source');
  // Then a value the applier cannot write (only POINT geometry is carried): RowImageError.
  await rootExec(stack.source, 'UPDATE ahead SET g = ST_GeomFromText("LINESTRING(0 0, 1 1)") WHERE id = 1');
  await rootExec(stack.source, 'UPDATE ahead SET n = -1 WHERE id = 2');
  const stopAt = await currentPosition('source');

  const applied: string[] = [];
  const aheadBatches: number[] = [];
  await assert.rejects(
    runSync(
      { ...spec, stopAt },
      {},
      {
        maxBatchTransactions: 1, // the bad transaction is a batch of its own
        onApplied: (b) => applied.push(...b.map((t) => `${t.position.file}:${t.position.pos}`)),
        onLookAhead: (b) => aheadBatches.push(b.length),
      },
    ),
    { name: 'RowImageError' },
  );
  assert.ok(aheadBatches.length > 10, `batches taken ahead: ${aheadBatches.length}`);
  assert.equal(applied.length, 301, 'every transaction before the bad one, once');
  assert.equal(new Set(applied).size, 301);
  const cp = await readCheckpoint(getPool('target'), spec.stream);
  assert.equal(cp?.transactions, 301);
  assert.deepEqual(cp?.position && [cp.position.file, cp.position.pos], [good.file, good.pos]);
  // The source's state at `good`: each row holds the last transaction's number that set it.
  const expected = new Map<number, number>();
  for (let i = 1; i <= 300; i++) expected.set(1 + (i % 20), i);
  const rows = await rootQuery<{ id: number; n: number }>(
    stack.target,
    'SELECT id, n FROM ahead ORDER BY id',
  );
  assert.deepEqual(
    rows.map((r) => [Number(r.id), Number(r.n)]),
    [...expected].sort((a, b) => a[0] - b[0]),
  );
});
