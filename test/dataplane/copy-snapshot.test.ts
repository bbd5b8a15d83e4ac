// Hazard: a chunk's snapshot behind the applier (P < A). The source writes a transaction to its binlog
// (where the applier reads it) before the engine commit makes it visible to new snapshots. Semi-sync
// replication in AFTER_SYNC mode with no semi-sync replica holds every commit in exactly that window
// for rpl_semi_sync_master_timeout, so the hazard is provoked for real, not simulated.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Stack } from '../../scripts/localstack/index.js';
import { APP_DATABASE } from '../../scripts/localstack/index.js';
import type { CopyProgress, TableSpec } from '../../src/activities/contracts.js';
import { copyTable } from '../../src/activities/copier/copy.js';
import {
  currentPosition,
  recordSyncStart,
  runSync,
  waitForSyncPosition,
} from '../../src/activities/cdc/sync.js';
import { prepareTarget } from '../../src/activities/schema/prepare.js';
import { dumpTable, rootExec, rootQuery, sleep, startPair, stopPair } from './copy-fixtures.js';

const HOLD_MS = 3000;
let stack: Stack;

before(async () => {
  stack = await startPair();
  await rootExec(
    stack.source,
    'CREATE TABLE t_snap (id INT PRIMARY KEY, v INT NOT NULL)',
    'INSERT INTO t_snap SELECT seq, 0 FROM seq_1_to_500',
  );
});
after(async () => {
  await rootExec(stack.source, 'SET GLOBAL rpl_semi_sync_master_enabled = OFF').catch(() => undefined);
  await stopPair(stack);
});

test('a chunk whose snapshot misses a transaction the applier already applied is read again (P < A)', async () => {
  const table: TableSpec = { name: 't_snap', chunkSize: 1000 };
  await prepareTarget({ source: 'source', target: 'target', tables: [table] });
  const spec = {
    stream: 'snap',
    from: 'source',
    to: 'target',
    tables: [table],
    direction: 'forward' as const,
  };
  await recordSyncStart(spec);
  const abort = new AbortController();
  const sync = runSync(spec, { signal: abort.signal }, { idleCheckpointMs: 200 }).catch((e: Error) => e);

  // Hold the next commit between its binlog write and its engine commit.
  await rootExec(
    stack.source,
    "SET GLOBAL rpl_semi_sync_master_wait_point = 'AFTER_SYNC'",
    `SET GLOBAL rpl_semi_sync_master_timeout = ${HOLD_MS}`,
    'SET GLOBAL rpl_semi_sync_master_enabled = ON',
  );
  const writer = await stack.source.rootConnection(APP_DATABASE);
  const held = Date.now();
  const update = writer.query('UPDATE t_snap SET v = 1 WHERE id = 250');
  // The applier applies it (A passes it) while no new snapshot on the source can see it yet.
  for (;;) {
    const [row] = await rootQuery<{ v: number }>(stack.target, 'SELECT v FROM t_snap WHERE id = 250');
    if (row?.v === 1) break;
    assert.ok(Date.now() - held < HOLD_MS - 500, 'the applier did not receive the held transaction');
    await sleep(20);
  }
  const [seen] = await rootQuery<{ v: number }>(stack.source, 'SELECT v FROM t_snap WHERE id = 250');
  assert.equal(seen.v, 0, 'the held transaction is already visible: the window was not provoked');

  let last: CopyProgress | undefined;
  const result = await copyTable(
    { source: 'source', target: 'target', table, stream: 'snap' },
    { progress: (p) => (last = p) },
  );
  await update;
  await writer.end();
  await rootExec(stack.source, 'SET GLOBAL rpl_semi_sync_master_enabled = OFF');
  assert.ok(Date.now() - held >= HOLD_MS - 100, 'the commit was not held');

  // CDC drained: the target must equal the source now (no repair loop exists in this test).
  const head = await currentPosition('source');
  const waited = await waitForSyncPosition({
    stream: 'snap',
    to: 'target',
    position: head,
    timeoutMs: 20_000,
  });
  assert.ok(waited.reached, 'sync did not drain');
  abort.abort();
  await sync;
  const [src, dst] = await Promise.all([
    dumpTable(stack.source, 't_snap', 'id'),
    dumpTable(stack.target, 't_snap', 'id'),
  ]);
  assert.deepEqual(
    dst.filter((r, i) => r !== src[i]),
    [],
    'stale rows on the target after CDC drained',
  );
  assert.ok((result.snapshotRetries ?? 0) >= 1, `no chunk was retried: ${JSON.stringify(result)}`);
  assert.equal(last?.snapshotRetries, result.snapshotRetries);
});
