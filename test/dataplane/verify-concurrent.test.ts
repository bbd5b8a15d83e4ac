import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type mysql from 'mysql2/promise';
import { type Stack } from '../../scripts/localstack/index.js';
import { getPool } from '../../src/activities/db/connections.js';
import { copyTable } from '../../src/activities/copier/copy.js';
import { headPosition } from '../../src/activities/cdc/position.js';
import { recordSyncStart, runSync, waitForSyncPosition } from '../../src/activities/cdc/sync.js';
import { verifyTable } from '../../src/activities/verify/index.js';
import type { SyncStreamSpec, VerifyInput } from '../../src/activities/contracts.js';
import { checksum, rootExec, startPair, stopPair } from './copy-fixtures.js';

let stack: Stack;
const ROWS = 20_000;
const spec: SyncStreamSpec = {
  stream: 'fwd1',
  from: 'source',
  to: 'target',
  tables: [{ name: 'wload' }],
  direction: 'forward',
};

before(async () => {
  stack = await startPair();
  const ddl =
    'CREATE TABLE wload (id INT PRIMARY KEY, v INT NOT NULL, s VARCHAR(40) COLLATE utf8mb4_general_ci, j JSON, d DECIMAL(20,6), t DATETIME(6))';
  await rootExec(
    stack.source,
    ddl,
    `INSERT INTO wload SELECT seq, seq, CONCAT('s', seq), JSON_OBJECT('n', seq), seq / 3, NOW(6) FROM seq_1_to_${ROWS}`,
  );
  await rootExec(stack.target, ddl);
});

after(async () => {
  await stopPair(stack);
});

/** Random updates, inserts and deletes on the source over ids 1..15000 until stopped. */
function writeLoad(stop: AbortSignal): { done: Promise<number> } {
  const worker = async (seed: number): Promise<number> => {
    const conn: mysql.Connection = await stack.source.rootConnection('app');
    let n = 0;
    let x = seed;
    const rnd = (m: number) => {
      x = (x * 1103515245 + 12345) % 2147483648;
      return 1 + (x % m);
    };
    try {
      while (!stop.aborted) {
        const id = rnd(15_000);
        const op = rnd(10);
        if (op <= 6)
          await conn.query(
            "UPDATE wload SET v = v + 1, s = CONCAT('u', ?), j = JSON_OBJECT('n', ?, 'big', 9007199254740993), t = NOW(6) WHERE id = ?",
            [n, n, id],
          );
        else if (op <= 8)
          await conn.query('REPLACE INTO wload VALUES (?, ?, ?, NULL, 1.5, NOW(6))', [
            id,
            n,
            n % 2 ? 'Ab ' : 'ab',
          ]);
        else await conn.query('DELETE FROM wload WHERE id = ?', [id]);
        n++;
      }
    } finally {
      await conn.end();
    }
    return n;
  };
  return { done: Promise.all([1, 2, 3].map(worker)).then((a) => a.reduce((s, v) => s + v, 0)) };
}

async function catchUp(): Promise<void> {
  const position = await headPosition(getPool('source'));
  const r = await waitForSyncPosition({ stream: spec.stream, to: 'target', position, timeoutMs: 60_000 });
  assert.ok(r.reached, 'CDC caught up');
}

const input = (extra: Partial<VerifyInput> = {}): VerifyInput => ({
  source: 'source',
  target: 'target',
  table: { name: 'wload', chunkSize: 1000 },
  authoritative: 'source',
  repair: false,
  ...extra,
});

test('after catch-up, a full verification under a concurrent write load finds zero mismatches without repair', async () => {
  await recordSyncStart(spec);
  const syncStop = new AbortController();
  const sync = runSync(spec, { signal: syncStop.signal }).catch((e: unknown) => e);
  const loadStop = new AbortController();
  const load = writeLoad(loadStop.signal);
  try {
    await copyTable({
      source: 'source',
      target: 'target',
      table: { name: 'wload', chunkSize: 1000 },
      stream: spec.stream,
    });
    await catchUp();
    // A real fault outside the rows the load touches must still be found while the load runs.
    await rootExec(
      stack.target,
      "UPDATE wload SET s = 'S19000' WHERE id = 19000",
      'DELETE FROM wload WHERE id = 19500',
    );
    const withFault = await verifyTable(input({ stream: spec.stream }));
    assert.deepEqual(
      withFault.mismatches,
      { missing: 1, extra: 0, different: 1 },
      JSON.stringify(withFault.sampleKeys),
    );
    await rootExec(stack.target, "UPDATE wload SET s = 's19000' WHERE id = 19000");
    await rootExec(stack.source, 'UPDATE wload SET v = v WHERE id = 19500'); // no-op; the row is repaired below
    await verifyTable(
      input({
        repair: true,
        table: { name: 'wload', chunkSize: 1000 },
        range: { lower: [19499], upper: [19500] },
      }),
    );

    const stats = { transient: 0, drilled: 0 };
    const r = await verifyTable(input({ stream: spec.stream }), {}, { stats });
    assert.deepEqual(r.mismatches, { missing: 0, extra: 0, different: 0 }, JSON.stringify(r.sampleKeys));
    assert.deepEqual(r.repaired, { missing: 0, extra: 0, different: 0 });
    assert.ok(r.rowsCompared >= ROWS * 0.8, String(r.rowsCompared));
    console.log(
      `verify under load: ${r.rowsCompared} rows, ${r.chunks} chunks, ${stats.drilled} chunk(s) drilled into, ${stats.transient} row(s) differing only until CDC caught up, ${r.durationMs} ms`,
    );
  } finally {
    loadStop.abort();
    const writes = await load.done;
    console.log(`write load: ${writes} statements`);
  }
  await catchUp();
  syncStop.abort();
  await sync;
  const quiet = await verifyTable(input());
  assert.deepEqual(quiet.mismatches, { missing: 0, extra: 0, different: 0 });
  assert.equal(await checksum(stack.target, 'wload'), await checksum(stack.source, 'wload'));
});
