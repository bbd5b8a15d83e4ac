import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { Stack } from '../../scripts/localstack/index.js';
import type { CopyInput, CopyResult, TableSpec } from '../../src/activities/contracts.js';
import { splitKeyRanges } from '../../src/activities/copier/split.js';
import {
  currentPosition,
  recordSyncStart,
  runSync,
  waitForSyncPosition,
} from '../../src/activities/cdc/sync.js';
import { prepareTarget } from '../../src/activities/schema/prepare.js';
import { checksum, dumpTable, rootExec, sleep, startPair, stopPair } from './copy-fixtures.js';

let stack: Stack;
const ROWS = 20_000;

before(async () => {
  stack = await startPair();
  await rootExec(
    stack.source,
    'CREATE TABLE t_wide (id INT PRIMARY KEY, v VARCHAR(40) NOT NULL, n INT NOT NULL, KEY (n))',
    `INSERT INTO t_wide SELECT seq, MD5(seq), seq FROM seq_1_to_${ROWS}`,
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
