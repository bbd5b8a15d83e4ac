import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Stack } from '../../scripts/localstack/index.js';
import type { CopyProgress, TableSpec } from '../../src/activities/contracts.js';
import { copyTable } from '../../src/activities/copier/copy.js';
import { CopyCancelledError } from '../../src/activities/copier/errors.js';
import { splitKeyRanges } from '../../src/activities/copier/split.js';
import { truncateTargetTables } from '../../src/activities/copier/truncate.js';
import {
  recordSyncStart,
  runSync,
  currentPosition,
  waitForSyncPosition,
} from '../../src/activities/cdc/sync.js';
import { prepareTarget } from '../../src/activities/schema/prepare.js';
import { rangeCondition } from '../../src/activities/schema/keyset.js';
import { checksum, dumpTable, rootExec, rootQuery, sleep, startPair, stopPair } from './copy-fixtures.js';

const ROWS = 6000;
let stack: Stack;

before(async () => {
  stack = await startPair();
  await rootExec(
    stack.source,
    'CREATE TABLE t_int (id INT PRIMARY KEY, v VARCHAR(40) NOT NULL, n INT NOT NULL, u INT NULL, UNIQUE KEY uu (u))',
    'CREATE TABLE t_comp (a INT NOT NULL, b VARCHAR(20) NOT NULL, payload VARCHAR(100), PRIMARY KEY (a, b))',
    'CREATE TABLE t_str (k VARCHAR(60) NOT NULL PRIMARY KEY, n BIGINT NOT NULL, note TEXT)',
    `INSERT INTO t_int SELECT seq, MD5(seq), seq, seq FROM seq_1_to_${ROWS}`,
    `INSERT INTO t_comp SELECT seq % 50, CONCAT('b', seq), REPEAT('p', seq % 90) FROM seq_1_to_${ROWS}`,
    `INSERT INTO t_str SELECT CONCAT('key-', MD5(seq)), seq, IF(seq % 7 = 0, NULL, '') FROM seq_1_to_${ROWS}`,
    'CREATE TABLE t_resume (id INT PRIMARY KEY, v VARCHAR(10))',
    'INSERT INTO t_resume SELECT seq, seq FROM seq_1_to_5000',
  );
});
after(() => stopPair(stack));

const tables: TableSpec[] = [
  { name: 't_int', chunkSize: 300 },
  { name: 't_comp', chunkSize: 300 },
  { name: 't_str', chunkSize: 300 },
];

function rnd(n: number): number {
  return Math.floor(Math.random() * n);
}

/** Concurrent writes: random inserts/updates/deletes, plus deletes/updates aimed just ahead of the copier. */
function startLoad(cursor: () => number) {
  let stop = false;
  let ops = 0;
  let nextId = ROWS + 1;
  const worker = async (aimed: boolean) => {
    const conn = await stack.source.rootConnection('app');
    try {
      while (!stop) {
        const r = Math.random();
        try {
          if (aimed) {
            // Just ahead of the copier's committed position: rows that are being read right now.
            const id = cursor() + 1 + rnd(900);
            if (r < 0.5) await conn.query('DELETE FROM t_int WHERE id = ?', [id]);
            else await conn.query('UPDATE t_int SET v = MD5(RAND()), n = n + 1 WHERE id = ?', [id]);
          } else if (r < 0.2) {
            const id = nextId++;
            await conn.query('INSERT INTO t_int VALUES (?, ?, ?, ?)', [id, 'new', id, rnd(1000) + ROWS * 2]);
          } else if (r < 0.35) {
            // Moves a unique value from one row to another: REPLACE must converge.
            await conn.query('UPDATE t_int SET u = NULL WHERE u = ?', [rnd(ROWS)]);
            await conn
              .query('UPDATE t_int SET u = ? WHERE id = ?', [rnd(ROWS), rnd(ROWS)])
              .catch(() => undefined);
          } else if (r < 0.5) {
            await conn.query(
              "INSERT INTO t_comp VALUES (?, ?, 'x') ON DUPLICATE KEY UPDATE payload = CONCAT(payload, 'y')",
              [rnd(60), `b${rnd(ROWS * 2)}`],
            );
          } else if (r < 0.6) {
            await conn.query('DELETE FROM t_comp WHERE a = ? ORDER BY b LIMIT 3', [rnd(50)]);
          } else if (r < 0.75) {
            await conn.query(
              'UPDATE t_str SET n = n + 1, note = CONCAT(COALESCE(note, ""), "z") WHERE n = ?',
              [rnd(ROWS)],
            );
          } else if (r < 0.85) {
            await conn.query('DELETE FROM t_str WHERE n = ?', [rnd(ROWS)]);
          } else if (r < 0.9) {
            // Primary key change.
            await conn.query(
              "UPDATE t_str SET k = CONCAT('moved-', k) WHERE n = ? AND k NOT LIKE 'moved-%'",
              [rnd(ROWS)],
            );
          } else {
            await conn.query('INSERT INTO t_str VALUES (?, ?, NULL)', [`ins-${nextId++}`, -1]);
          }
          ops++;
        } catch (err) {
          if ((err as { errno?: number }).errno !== 1062) throw err;
        }
      }
    } finally {
      await conn.end();
    }
  };
  const done = Promise.all([worker(false), worker(false), worker(true)]);
  return {
    get ops() {
      return ops;
    },
    async stop() {
      stop = true;
      await done;
    },
  };
}

test('copy and sync together under concurrent writes (incl. deletes aimed at rows being copied) end identical', async () => {
  const prepared = await prepareTarget({ source: 'source', target: 'target', tables });
  assert.deepEqual(prepared.created.sort(), ['t_comp', 't_int', 't_str']);
  const spec = { stream: 'fwd', from: 'source', to: 'target', tables, direction: 'forward' as const };
  await recordSyncStart(spec);
  const abort = new AbortController();
  const sync = runSync(spec, { signal: abort.signal }).catch((e: Error) => e);

  let intCursor = 0;
  const load = startLoad(() => intCursor);
  await sleep(300);
  const snapshotsBehind: number[] = [];
  await Promise.all(
    tables.map((t) =>
      copyTable(
        { source: 'source', target: 'target', table: t, stream: 'fwd' },
        {
          progress: (p: CopyProgress) => {
            if (t.name === 't_int' && p.lastKey) intCursor = Number(p.lastKey[0]);
          },
        },
        {
          concurrency: 3,
          onChunk: (_job, outcome) => {
            if (outcome.snapshot) snapshotsBehind.push(outcome.snapshot.pos);
          },
        },
      ),
    ),
  );
  await sleep(500);
  await load.stop();
  assert.ok(load.ops > 300, `load ran only ${load.ops} ops`);
  const head = await currentPosition('source');
  const waited = await waitForSyncPosition({
    stream: 'fwd',
    to: 'target',
    position: head,
    timeoutMs: 30_000,
  });
  assert.ok(waited.reached, `sync did not reach ${JSON.stringify(head)}: ${JSON.stringify(waited.applied)}`);
  abort.abort();
  const syncResult = await sync;
  assert.equal((syncResult as Error).name, 'SyncCancelledError');
  assert.ok(snapshotsBehind.length > 10);

  for (const [table, order] of [
    ['t_int', 'id'],
    ['t_comp', 'a, b'],
    ['t_str', 'k'],
  ] as const) {
    const [src, dst] = await Promise.all([
      dumpTable(stack.source, table, order),
      dumpTable(stack.target, table, order),
    ]);
    assert.equal(dst.length, src.length, `${table}: row counts differ`);
    assert.deepEqual(dst, src, `${table}: contents differ`);
    assert.equal(
      await checksum(stack.target, table),
      await checksum(stack.source, table),
      `${table}: CHECKSUM TABLE differs`,
    );
  }
});

test('a copy cancelled mid-table resumes from its checkpoint, redoing at most one chunk', async () => {
  await prepareTarget({ source: 'source', target: 'target', tables: [{ name: 't_resume' }] });
  const spec: TableSpec = { name: 't_resume', chunkSize: 200 };
  const abort = new AbortController();
  let last: CopyProgress | undefined;
  const firstLowers: string[] = [];
  await assert.rejects(
    copyTable(
      { source: 'source', target: 'target', table: spec },
      {
        signal: abort.signal,
        progress: (p) => {
          last = p;
          if (p.chunks >= 5) abort.abort();
        },
      },
      { concurrency: 2, onChunk: (job) => firstLowers.push(JSON.stringify(job.range.lower ?? null)) },
    ),
    CopyCancelledError,
  );
  assert.ok(last && last.chunks >= 5 && last.chunks < 25, `cancelled after ${last?.chunks} chunks`);
  const copiedBefore = Number(
    (await rootQuery<{ n: number }>(stack.target, 'SELECT COUNT(*) AS n FROM t_resume'))[0].n,
  );
  assert.equal(copiedBefore, last!.rowsCopied);
  const resumedLowers: string[] = [];
  const result = await copyTable(
    { source: 'source', target: 'target', table: spec },
    { resume: last },
    { concurrency: 2, onChunk: (job) => resumedLowers.push(JSON.stringify(job.range.lower ?? null)) },
  );
  const redone = resumedLowers.filter((l) => firstLowers.includes(l));
  assert.ok(redone.length <= 1, `chunks redone: ${redone.join(' ')}`);
  assert.equal(result.rowsCopied - last!.rowsCopied + copiedBefore, 5000 + redone.length * 200);
  assert.deepEqual(
    await dumpTable(stack.target, 't_resume', 'id'),
    await dumpTable(stack.source, 't_resume', 'id'),
  );
});

test('splitKeyRanges covers the table; ranges copied separately add up; truncate undoes the copy', async () => {
  await rootExec(stack.target, 'TRUNCATE TABLE t_resume');
  const ranges = await splitKeyRanges({ source: 'source', table: { name: 't_resume' }, parts: 4 });
  assert.equal(ranges.length, 4);
  assert.equal(ranges[0].lower, undefined);
  assert.equal(ranges[3].upper, undefined);
  const results = await Promise.all(
    ranges.map((range) =>
      copyTable({ source: 'source', target: 'target', table: { name: 't_resume', chunkSize: 500 }, range }),
    ),
  );
  assert.equal(
    results.reduce((a, r) => a + r.rowsCopied, 0),
    5000,
  );
  assert.deepEqual(
    await dumpTable(stack.target, 't_resume', 'id'),
    await dumpTable(stack.source, 't_resume', 'id'),
  );
  await truncateTargetTables({ target: 'target', tables: [{ name: 't_resume' }, 'no_such_table'] });
  await truncateTargetTables({ target: 'target', tables: [{ name: 't_resume' }] });
  assert.equal(
    Number((await rootQuery<{ n: number }>(stack.target, 'SELECT COUNT(*) AS n FROM t_resume'))[0].n),
    0,
  );
});

test('splitKeyRanges: integer and string keys split into about even parts (index dives, no scan); both cover every row once', async () => {
  const ints = await splitKeyRanges({ source: 'source', table: { name: 't_resume' }, parts: 3 });
  assert.equal(ints.length, 3);
  const perRange: number[] = [];
  for (const r of ints) {
    const where = rangeCondition(['id'], r);
    const [{ n }] = await rootQuery<{ n: number }>(
      stack.source,
      `SELECT COUNT(*) AS n FROM t_resume WHERE ${where.sql}`,
      where.params,
    );
    perRange.push(Number(n));
  }
  assert.equal(
    perRange.reduce((a, n) => a + n, 0),
    5000,
  );
  assert.ok(
    perRange.every((n) => n > 5000 / 3 / 2 && n < (5000 / 3) * 1.5),
    perRange.join(' + '),
  );
  await rootExec(stack.target, 'TRUNCATE TABLE t_str');
  const strs = await splitKeyRanges({ source: 'source', table: { name: 't_str' }, parts: 3 });
  assert.equal(strs.length, 3);
  const results = await Promise.all(
    strs.map((range) =>
      copyTable({ source: 'source', target: 'target', table: { name: 't_str', chunkSize: 700 }, range }),
    ),
  );
  const [{ n }] = await rootQuery<{ n: number }>(stack.source, 'SELECT COUNT(*) AS n FROM t_str');
  assert.equal(
    results.reduce((a, r) => a + r.rowsCopied, 0),
    Number(n),
  );
  assert.deepEqual(await dumpTable(stack.target, 't_str', 'k'), await dumpTable(stack.source, 't_str', 'k'));
});
