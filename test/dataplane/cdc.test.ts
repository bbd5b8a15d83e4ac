import { after, before, test } from 'node:test';
import type mysql from 'mysql2/promise';
import assert from 'node:assert/strict';
import type { Stack } from '../../scripts/localstack/index.js';
import type { SyncProgress, TableSpec } from '../../src/activities/contracts.js';
import {
  currentPosition,
  recordSyncStart,
  runSync,
  syncStatus,
  waitForSyncPosition,
} from '../../src/activities/cdc/sync.js';
import type { BinlogTransaction } from '../../src/activities/cdc/events.js';
import { openBinlogStream } from '../../src/activities/cdc/stream.js';
import { prepareTarget } from '../../src/activities/schema/prepare.js';
import { checksum, dumpTable, rootExec, sleep, startPair, stopPair } from './copy-fixtures.js';

let stack: Stack;
const tables: TableSpec[] = [{ name: 'acct' }];
const spec = { stream: 'cdc1', from: 'source', to: 'target', tables, direction: 'forward' as const };

before(async () => {
  stack = await startPair();
  await rootExec(
    stack.source,
    'CREATE TABLE acct (id INT PRIMARY KEY, bal BIGINT NOT NULL, note VARCHAR(30))',
    'CREATE TABLE other (id INT PRIMARY KEY)',
  );
  await prepareTarget({ source: 'source', target: 'target', tables });
});
after(() => stopPair(stack));

/**
 * Autocommit writes, one transaction each; counts those that changed a row (each is one binlog
 * transaction), and those whose outcome is unknown: the server went down with the statement sent, so it
 * may have committed without the client hearing of it.
 */
function startLoad() {
  let stop = false;
  let changed = 0;
  let unknown = 0;
  const run = async () => {
    let conn = await stack.source.rootConnection('app').catch(() => null);
    while (!stop) {
      let sent = false;
      try {
        conn ??= await stack.source.rootConnection('app');
        const id = Math.floor(Math.random() * 300);
        const r = Math.random();
        sent = true;
        const [res] = await conn.query(
          r < 0.5
            ? 'INSERT INTO acct VALUES (?, 1, "n") ON DUPLICATE KEY UPDATE bal = bal + 1'
            : r < 0.8
              ? 'UPDATE acct SET bal = bal * 2 + 1 WHERE id = ?'
              : 'DELETE FROM acct WHERE id = ?',
          [id],
        );
        if ((res as { affectedRows: number }).affectedRows > 0) changed++;
      } catch {
        // the server is restarting: reconnect
        if (sent) unknown++;
        await conn?.end().catch(() => undefined);
        conn = null;
        await sleep(100);
      }
    }
    await conn?.end().catch(() => undefined);
  };
  const done = Promise.all([run(), run()]);
  return {
    get changed() {
      return changed;
    },
    get unknown() {
      return unknown;
    },
    async stop() {
      stop = true;
      await done;
    },
  };
}

test('a sync killed and restarted, and a source server restarted, lose and duplicate nothing', async () => {
  await recordSyncStart(spec);
  assert.deepEqual(await recordSyncStart(spec), await recordSyncStart(spec), 'recordSyncStart is idempotent');
  const applied: string[] = [];
  const onApplied = (batch: readonly BinlogTransaction[]) => {
    for (const tx of batch) if (tx.changes.length) applied.push(tx.gtid ?? '');
  };
  const load = startLoad();
  let last: SyncProgress | undefined;
  // Run 1: killed (aborted) mid-load.
  let abort = new AbortController();
  let run = runSync(spec, { signal: abort.signal, progress: (p) => (last = p) }, { onApplied }).catch(
    (e: Error) => e,
  );
  await sleep(1500);
  abort.abort();
  assert.equal(((await run) as Error).name, 'SyncCancelledError');
  const afterKill = applied.length;
  assert.ok(afterKill > 0);
  // Run 2: restarted from the checkpoint; meanwhile the source restarts.
  abort = new AbortController();
  let reconnects = 0;
  run = runSync(
    spec,
    { signal: abort.signal, resume: last, progress: (p) => (last = p) },
    { onApplied, heartbeatMs: 300, onReconnect: () => reconnects++ },
  ).catch((e: Error) => e);
  await sleep(1000);
  await stack.source.restart();
  await sleep(1500);
  await load.stop();
  const head = await currentPosition('source');
  const waited = await waitForSyncPosition({
    stream: 'cdc1',
    to: 'target',
    position: head,
    timeoutMs: 30_000,
  });
  assert.ok(waited.reached, `not caught up: ${JSON.stringify(waited)} vs ${JSON.stringify(head)}`);
  const status = await syncStatus('cdc1', 'source', 'target');
  assert.equal(status.lagBytes, 0);
  assert.equal(status.running, true);
  abort.abort();
  await run;
  assert.ok(reconnects >= 1, 'the stream reconnected after the source restart');
  assert.equal(new Set(applied).size, applied.length, 'no source transaction applied twice');
  // Every acknowledged change applied once; a write whose acknowledgement the restart cut off may be in
  // the binlog or not (the target must still equal the source below, whichever it was).
  assert.ok(
    applied.length >= load.changed && applied.length <= load.changed + load.unknown,
    `every changing source transaction applied once: ${applied.length} applied, ${load.changed} acknowledged, ${load.unknown} of unknown outcome`,
  );
  assert.deepEqual(await dumpTable(stack.target, 'acct', 'id'), await dumpTable(stack.source, 'acct', 'id'));
  assert.equal(await checksum(stack.target, 'acct'), await checksum(stack.source, 'acct'));
});

test('runSync stops at stopAt; DDL on a migrated table stops the stream with a clear error', async () => {
  await rootExec(stack.source, 'INSERT INTO acct VALUES (1000, 5, "x")', 'INSERT INTO other VALUES (1)');
  const stopAt = await currentPosition('source');
  const p = await runSync({ ...spec, stopAt });
  assert.ok(p.applied && p.applied.pos >= 0);
  await rootExec(stack.source, 'ALTER TABLE acct ADD COLUMN extra INT', 'INSERT INTO other VALUES (2)');
  // With the target left behind, the applier refuses to start (column mapping) ...
  await assert.rejects(runSync(spec, {}), /has no column extra/);
  // ... and with both sides altered, the stream still stops at the DDL event itself.
  await rootExec(stack.target, 'ALTER TABLE acct ADD COLUMN extra INT');
  await assert.rejects(runSync(spec, {}), (e: Error) => {
    assert.equal(e.name, 'DdlOnWatchedTableError');
    assert.match(e.message, /DDL on migrated table acct/);
    assert.match(e.message, /ADD COLUMN extra/);
    return true;
  });
});

test('openBinlogStream delivers grouped row changes of watched tables with their GTID', async () => {
  const stream = await openBinlogStream({
    connection: 'source',
    tables: ['other'],
    from: 'head',
    heartbeatMs: 200,
  });
  try {
    await rootExec(stack.source, 'INSERT INTO other VALUES (3)');
    const it = stream[Symbol.asyncIterator]();
    let tx = await it.next();
    while (!tx.value.changes.length) tx = await it.next();
    assert.deepEqual(tx.value.changes[0], { kind: 'insert', table: 'other', after: { id: 3 } });
    assert.match(tx.value.gtid ?? '', /^0-1-\d+$/);
  } finally {
    await stream.close();
  }
});

test('a batch coalesced per key keeps the net effect: key moves, re-inserts, unique values moving between rows; collation-compared keys keep their order', async () => {
  const t: TableSpec[] = [{ name: 'co_int' }, { name: 'co_ci' }];
  await rootExec(
    stack.source,
    'CREATE TABLE co_int (id INT PRIMARY KEY, u INT NULL, v VARCHAR(10), UNIQUE KEY uu (u))',
    'CREATE TABLE co_ci (k VARCHAR(10) COLLATE utf8mb4_general_ci PRIMARY KEY, v INT)',
    'INSERT INTO co_int VALUES (1, 1, "a"), (2, 2, "b"), (3, 3, "c"), (4, 4, "d")',
    "INSERT INTO co_ci VALUES ('a', 1), ('b', 2)",
  );
  await prepareTarget({ source: 'source', target: 'target', tables: t });
  const s = { stream: 'coalesce', from: 'source', to: 'target', tables: t, direction: 'forward' as const };
  await recordSyncStart(s);
  await runSync({ ...s, stopAt: await currentPosition('source') }, {});
  // One source transaction (so one target batch) with every case in it.
  await rootExec(
    stack.source,
    'START TRANSACTION',
    'UPDATE co_int SET u = NULL WHERE id = 1',
    'UPDATE co_int SET u = 1 WHERE id = 2', // u=1 moves from row 1 to row 2
    'UPDATE co_int SET id = 10 WHERE id = 3', // key move
    'UPDATE co_int SET id = 11 WHERE id = 1', // key move of a row no unique value collides with (u is NULL)
    'DELETE FROM co_int WHERE id = 4',
    'INSERT INTO co_int VALUES (4, 40, "again")', // deleted, then inserted again
    'UPDATE co_int SET v = "x" WHERE id = 4',
    'INSERT INTO co_int VALUES (5, 5, "new")',
    'DELETE FROM co_int WHERE id = 5', // inserted, then deleted
    "UPDATE co_ci SET k = 'A' WHERE k = 'a'", // same row, other spelling
    "DELETE FROM co_ci WHERE k = 'b'",
    "INSERT INTO co_ci VALUES ('B', 3)",
    "UPDATE co_ci SET v = 4 WHERE k = 'B'",
    "DELETE FROM co_ci WHERE k = 'A'",
    "INSERT INTO co_ci VALUES ('a', 5)",
    'COMMIT',
  );
  const batches: number[] = [];
  await runSync(
    { ...s, stopAt: await currentPosition('source') },
    {},
    { onApplied: (b) => batches.push(b.length) },
  );
  for (const [table, order] of [
    ['co_int', 'id'],
    ['co_ci', 'k'],
  ] as const) {
    assert.deepEqual(
      await dumpTable(stack.target, table, order),
      await dumpTable(stack.source, table, order),
      table,
    );
  }
});

test('a big source transaction streams through in fragments and lands in one target transaction at its commit', async () => {
  const t: TableSpec[] = [{ name: 'big' }];
  await rootExec(stack.source, 'CREATE TABLE big (id INT PRIMARY KEY, v INT NOT NULL)');
  await prepareTarget({ source: 'source', target: 'target', tables: t });
  const s = { stream: 'bigtx', from: 'source', to: 'target', tables: t, direction: 'forward' as const };
  await recordSyncStart(s);
  const from = await currentPosition('source');
  await rootExec(
    stack.source,
    'START TRANSACTION',
    'INSERT INTO big SELECT seq, seq FROM seq_1_to_3000',
    'UPDATE big SET v = v + 1 WHERE id % 2 = 0',
    'DELETE FROM big WHERE id % 5 = 0',
    'COMMIT',
  );
  const stopAt = await currentPosition('source');
  // The reader hands it over in pieces, none holding the whole transaction.
  const stream = await openBinlogStream({ connection: 'source', tables: ['big'], from, fragmentRows: 500 });
  const sizes: { n: number; partial: boolean }[] = [];
  for await (const tx of stream) {
    if (tx.changes.length || sizes.length) sizes.push({ n: tx.changes.length, partial: tx.partial === true });
    if (sizes.length && !tx.partial) break;
  }
  await stream.close();
  // A fragment closes at the first row event that takes it to 500 rows or more (~900 rows a event here).
  assert.ok(sizes.length >= 5, JSON.stringify(sizes));
  assert.ok(
    sizes.every((x) => x.n < 1500),
    JSON.stringify(sizes),
  );
  assert.ok(sizes.slice(0, -1).every((x) => x.partial) && !sizes[sizes.length - 1].partial);
  assert.equal(
    sizes.reduce((a, x) => a + x.n, 0),
    3000 + 1500 + 600,
  );
  // Applied in fragments, the target shows nothing of it until it shows all of it.
  const seen = new Set<number>();
  const conn = await stack.target.rootConnection('app');
  let polling = true;
  const poll = (async () => {
    while (polling) {
      const [[r]] = await conn.query<mysql.RowDataPacket[]>('SELECT COUNT(*) AS n FROM big');
      seen.add(Number(r.n));
    }
  })();
  const batches: number[] = [];
  await runSync({ ...s, stopAt }, {}, { fragmentRows: 200, onApplied: (b) => batches.push(b.length) });
  polling = false;
  await poll;
  await conn.end();
  assert.deepEqual(
    [...seen].filter((n) => n !== 0 && n !== 2400),
    [],
  );
  assert.deepEqual(await dumpTable(stack.target, 'big', 'id'), await dumpTable(stack.source, 'big', 'id'));
});
