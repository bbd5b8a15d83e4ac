import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { Stack } from '../../scripts/localstack/index.js';
import type { CopyInput, CopyResult, KeyRange, TableSpec } from '../../src/activities/contracts.js';
import { splitKeyRanges } from '../../src/activities/copier/split.js';
import {
  currentPosition,
  recordSyncStart,
  runSync,
  waitForSyncPosition,
} from '../../src/activities/cdc/sync.js';
import { prepareTarget } from '../../src/activities/schema/prepare.js';
import { decodeKey } from '../../src/activities/schema/keycodec.js';
import { rangeCondition } from '../../src/activities/schema/keyset.js';
import { checksum, dumpTable, rootExec, rootQuery, sleep, startPair, stopPair } from './copy-fixtures.js';

let stack: Stack;
const ROWS = 20_000;
/** Rows of the composite-key table the no-scan proof splits. */
const COMP_ROWS = 200_000;

before(async () => {
  stack = await startPair();
  await rootExec(
    stack.source,
    'CREATE TABLE t_wide (id INT PRIMARY KEY, v VARCHAR(40) NOT NULL, n INT NOT NULL, KEY (n))',
    `INSERT INTO t_wide SELECT seq, MD5(seq), seq FROM seq_1_to_${ROWS}`,
    // Skewed integer key: 45,000 dense ids, 5,000 spread over the whole BIGINT UNSIGNED range.
    'CREATE TABLE t_skew (id BIGINT UNSIGNED PRIMARY KEY, v INT NOT NULL)',
    'INSERT INTO t_skew SELECT seq, seq FROM seq_1_to_45000',
    'INSERT INTO t_skew SELECT CAST(seq AS UNSIGNED) * 3000000000000000, seq FROM seq_1_to_5000',
    // Case- and accent-insensitive string key: 'apfel' = 'Äpfel', 'zebra' = 'Zebra' to the server.
    'CREATE TABLE t_ci (k VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci PRIMARY KEY, n INT NOT NULL)',
    "INSERT INTO t_ci SELECT CONCAT(ELT(1 + seq % 6, 'apfel', 'Äpfel', 'Zebra', 'zebra', 'éclair', 'Eclair'), " +
      "'-', IF(seq % 2, UPPER(MD5(seq)), MD5(seq))), seq FROM seq_1_to_60000",
    // Composite key whose first column has few values, 80% of the rows under one of them.
    'CREATE TABLE t_comp (tenant INT NOT NULL, name VARCHAR(40) CHARACTER SET latin1 NOT NULL, ' +
      'v INT NOT NULL, PRIMARY KEY (tenant, name))',
    `INSERT INTO t_comp SELECT IF(seq % 10 < 8, 7, seq % 50), CONCAT('user', seq), seq FROM seq_1_to_${COMP_ROWS}`,
    'ANALYZE TABLE t_skew, t_ci, t_comp',
  );
});
after(() => stopPair(stack));

/** Runs copyTable for one range in a separate Node process (scripts/copy-range.ts). */
interface ProcessRun {
  startedAt: number;
  endedAt: number;
  result: CopyResult;
  pid: number;
}

function copyInProcess(input: CopyInput, startAt: number): Promise<ProcessRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'scripts/copy-range.ts', JSON.stringify(input), String(startAt)],
      {
        env: { ...process.env, ...stack.env },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) =>
      code === 0
        ? resolve({ ...(JSON.parse(out) as Omit<ProcessRun, 'pid'>), pid: child.pid ?? 0 })
        : reject(new Error(`copy process exited with ${code}`)),
    );
  });
}

test('two processes copy the two halves of one table at once, next to CDC under writes; the target ends equal', async () => {
  const tables: TableSpec[] = [{ name: 't_wide', chunkSize: 500 }];
  await prepareTarget({ source: 'source', target: 'target', tables });
  const spec = { stream: 'scale', from: 'source', to: 'target', tables, direction: 'forward' as const };
  await recordSyncStart(spec);
  const abort = new AbortController();
  const sync = runSync(spec, { signal: abort.signal }).catch((e: Error) => e);
  let stop = false;
  const writer = (async () => {
    const conn = await stack.source.rootConnection('app');
    for (let i = 0; !stop; i++) {
      const id = 1 + Math.floor(Math.random() * ROWS);
      if (i % 3 === 0) await conn.query('DELETE FROM t_wide WHERE id = ?', [id]);
      else await conn.query('REPLACE INTO t_wide VALUES (?, MD5(RAND()), ?)', [id, i]);
    }
    await conn.end();
  })();
  const ranges = await splitKeyRanges({ source: 'source', table: tables[0], parts: 2 });
  assert.equal(ranges.length, 2);
  const startAt = Date.now() + 3000; // both processes loaded by then
  const runs = await Promise.all(
    ranges.map((range) =>
      copyInProcess(
        { source: 'source', target: 'target', table: tables[0], range, stream: spec.stream },
        startAt,
      ),
    ),
  );
  assert.notEqual(runs[0].pid, runs[1].pid);
  // The two copies ran at the same time.
  assert.ok(
    Math.max(runs[0].startedAt, runs[1].startedAt) < Math.min(runs[0].endedAt, runs[1].endedAt),
    JSON.stringify(runs),
  );
  assert.ok(
    runs.every((r) => r.result.rowsCopied > ROWS / 4),
    JSON.stringify(runs.map((r) => r.result)),
  );
  await sleep(300);
  stop = true;
  await writer;
  const head = await currentPosition('source');
  assert.ok(
    (await waitForSyncPosition({ stream: spec.stream, to: 'target', position: head, timeoutMs: 30_000 }))
      .reached,
  );
  abort.abort();
  await sync;
  assert.deepEqual(
    await dumpTable(stack.target, 't_wide', 'id'),
    await dumpTable(stack.source, 't_wide', 'id'),
  );
  assert.equal(await checksum(stack.target, 't_wide'), await checksum(stack.source, 't_wide'));
});

/** Rows per range, counted by the server (its collation decides where each key falls). */
async function rowsPerRange(table: string, key: string[], ranges: KeyRange[]): Promise<number[]> {
  const counts: number[] = [];
  for (const range of ranges) {
    const where = rangeCondition(key, range);
    const [{ n }] = await rootQuery<{ n: number }>(
      stack.source,
      `SELECT COUNT(*) AS n FROM ${table} WHERE ${where.sql}`,
      where.params,
    );
    counts.push(Number(n));
  }
  return counts;
}

/**
 * The ranges partition the table: every range holds rows (so consecutive bounds increase in the
 * server's order and no two ranges overlap) and together they hold every row; each holds 0.7 to
 * 1.3 times an even share.
 */
async function assertEvenPartition(table: string, key: string[], ranges: KeyRange[], parts: number) {
  assert.equal(ranges.length, parts, JSON.stringify(ranges));
  const counts = await rowsPerRange(table, key, ranges);
  const [{ n }] = await rootQuery<{ n: number }>(stack.source, `SELECT COUNT(*) AS n FROM ${table}`);
  const total = Number(n);
  const shown = `${table}: ${counts.join(' + ')} of ${total}; bounds ${JSON.stringify(ranges.map((r) => r.upper && decodeKey(r.upper)))}`;
  console.log(`${table}: ${counts.join(' + ')} of ${total}`);
  assert.equal(
    counts.reduce((a, c) => a + c, 0),
    total,
    shown,
  );
  for (const c of counts) assert.ok(c >= (0.7 * total) / parts && c <= (1.3 * total) / parts, shown);
}

test('splitKeyRanges: skewed integer, case/accent-insensitive string and low-cardinality composite keys split evenly, each key in one range', async () => {
  await assertEvenPartition(
    't_skew',
    ['id'],
    await splitKeyRanges({ source: 'source', table: 't_skew', parts: 4 }),
    4,
  );
  await assertEvenPartition(
    't_ci',
    ['k'],
    await splitKeyRanges({ source: 'source', table: 't_ci', parts: 5 }),
    5,
  );
  await assertEvenPartition(
    't_comp',
    ['tenant', 'name'],
    await splitKeyRanges({ source: 'source', table: 't_comp', parts: 8 }),
    8,
  );
});

async function readCounters(): Promise<Record<string, number>> {
  const rows = await rootQuery<{ Variable_name: string; Value: string }>(
    stack.source,
    "SHOW GLOBAL STATUS WHERE Variable_name IN ('Rows_read', 'Handler_read_next', 'Handler_read_prev')",
  );
  return Object.fromEntries(rows.map((r) => [r.Variable_name, Number(r.Value)]));
}

test('splitKeyRanges reads a handful of rows, not the index: row-read counters stay far below the table size', async () => {
  const before = await readCounters();
  const ranges = await splitKeyRanges({ source: 'source', table: 't_comp', parts: 16 });
  const after = await readCounters();
  const read = after.Rows_read - before.Rows_read;
  const stepped =
    after.Handler_read_next - before.Handler_read_next + after.Handler_read_prev - before.Handler_read_prev;
  const shown = `${ranges.length} ranges of ${COMP_ROWS} rows: Rows_read +${read}, Handler_read_next/prev +${stepped}`;
  console.log(shown);
  assert.equal(ranges.length, 16, shown);
  assert.ok(read < COMP_ROWS / 100, shown);
  assert.ok(stepped < COMP_ROWS / 100, shown);
});
