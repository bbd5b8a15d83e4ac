// The source MariaDB SIGKILLed in the middle of a copy that runs next to CDC (the chaos demo's crash
// during BULK_COPY), at the moment a chunk's SELECT is streaming rows into the target's LOAD DATA. Two
// ways the chunk used to hang while holding the checkpoint's S lock (the copy stalled, the applier could
// not commit, and the activity kept heartbeating):
//  - the driver tells a streaming query nothing when its connection is lost (only the connection emits
//    'error'): the read waited forever (bound exceeded for good);
//  - the rows' stream was destroyed before the LOAD asked for its data (it waited for a lock): the LOAD
//    never heard of it and waited for the server's net_read_timeout (30 s, beyond the bound).
// Once the source is back, the copy must finish within a bound and the target must equal the source
// after CDC drains. Copy and sync are retried as Temporal retries their activities (resuming from their
// last progress).
//
// Deterministic moment: the target table is held with LOCK TABLES ... READ, so the chunk's LOAD waits
// for its metadata lock before asking for its data; the chunk's in-memory buffer fills, the source
// connection is paused, and the source's SELECT stays in flight. Then the source is SIGKILLed and
// restarted, and the target table is unlocked.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Connection, RowDataPacket } from 'mysql2/promise';
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
import { dumpTable, rootExec, sleep, startPair, stopPair } from './copy-fixtures.js';

const ROWS = 20_000;
/** After the source accepts connections again, the copy must be done within this (it needs seconds). */
const BOUND_MS = 20_000;
let stack: Stack;

before(async () => {
  stack = await startPair();
  await rootExec(
    stack.source,
    // ~1.3 KB rows, 10000 per chunk: far more than the chunk buffers before the source is paused.
    'CREATE TABLE t_crash (id INT PRIMARY KEY, v VARCHAR(40) NOT NULL, n INT NOT NULL, pad TEXT NOT NULL)',
    `INSERT INTO t_crash SELECT seq, MD5(seq), seq, REPEAT(MD5(seq), 40) FROM seq_1_to_${ROWS}`,
  );
});
after(() => stopPair(stack));

/** Statements in flight on a server whose text matches `like`. */
async function inFlight(conn: Connection, like: string): Promise<number> {
  const [rows] = await conn.query<RowDataPacket[]>(
    'SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE INFO LIKE ? AND ID <> CONNECTION_ID()',
    [like],
  );
  return Number(rows[0].n);
}

/** Writes on the source until stopped; errors while the source is down are expected and ignored. */
function startLoad() {
  let stop = false;
  let ops = 0;
  let nextId = ROWS + 1;
  const run = (async () => {
    while (!stop) {
      const conn = await stack.source.rootConnection(APP_DATABASE).catch(() => null);
      if (!conn) {
        await sleep(200);
        continue;
      }
      conn.on('error', () => undefined);
      try {
        while (!stop) {
          const r = Math.random();
          const id = 1 + Math.floor(Math.random() * ROWS);
          if (r < 0.3) await conn.query('DELETE FROM t_crash WHERE id = ?', [id]);
          else if (r < 0.6)
            await conn.query('UPDATE t_crash SET v = MD5(RAND()), n = n + 1 WHERE id = ?', [id]);
          else await conn.query("INSERT INTO t_crash VALUES (?, 'new', 0, 'p')", [nextId++]);
          ops++;
          await sleep(5);
        }
      } catch {
        await sleep(200);
      } finally {
        conn.destroy();
      }
    }
  })();
  return {
    ops: () => ops,
    stop: async () => {
      stop = true;
      await run;
    },
  };
}

test(
  'source SIGKILLed while a chunk streams: the copy finishes within a bound after the source is back, target equals source',
  { timeout: 240_000 },
  async () => {
    const table: TableSpec = { name: 't_crash', chunkSize: 10_000 };
    await prepareTarget({ source: 'source', target: 'target', tables: [table] });
    const spec = {
      stream: 'crash',
      from: 'source',
      to: 'target',
      tables: [table],
      direction: 'forward' as const,
    };
    await recordSyncStart(spec);

    const abort = new AbortController();
    const syncErrors: string[] = [];
    // runSync retried like its activity (the binlog reader also reconnects by itself).
    const sync = (async () => {
      while (!abort.signal.aborted) {
        try {
          await runSync(spec, { signal: abort.signal }, { idleCheckpointMs: 200, heartbeatMs: 500 });
        } catch (err) {
          if (abort.signal.aborted) return;
          syncErrors.push(String(err));
          await sleep(1000);
        }
      }
    })();

    const targetRoot = await stack.target.rootConnection(APP_DATABASE);
    const sourceRoot = await stack.source.rootConnection(APP_DATABASE);
    await targetRoot.query('LOCK TABLES t_crash READ');
    let last: CopyProgress | undefined;
    const copyErrors: string[] = [];
    const copy = (async () => {
      for (;;) {
        try {
          return await copyTable(
            // No deferred keys: their DROP INDEX would wait for the table lock too.
            { source: 'source', target: 'target', table, stream: spec.stream, deferSecondaryKeys: false },
            { resume: last, progress: (p) => (last = p) },
          );
        } catch (err) {
          copyErrors.push(String(err));
          await sleep(1000);
        }
      }
    })();

    // A chunk's SELECT in flight on the source, its LOAD waiting on the target.
    const deadline = Date.now() + 30_000;
    while (
      (await inFlight(sourceRoot, '%SELECT%`pad`%FROM%t_crash%')) === 0 ||
      (await inFlight(targetRoot, '%LOAD DATA%t_crash%')) === 0
    ) {
      assert.ok(Date.now() < deadline, `no chunk in flight: ${copyErrors.join(' | ')}`);
      await sleep(20);
    }
    await sourceRoot.end();
    await stack.source.restart('SIGKILL');
    const backAt = Date.now();
    await targetRoot.query('UNLOCK TABLES');
    await targetRoot.end();
    const load = startLoad();

    const result = await Promise.race([copy, sleep(BOUND_MS).then(() => null)]);
    const tookMs = Date.now() - backAt;
    assert.ok(
      result,
      `copy not done ${BOUND_MS / 1000} s after the source came back: ${JSON.stringify(last ?? null)}; ` +
        `copy errors: ${copyErrors.slice(-5).join(' | ')}; sync errors: ${syncErrors.slice(-3).join(' | ')}`,
    );
    await sleep(1000);
    await load.stop();
    assert.ok(load.ops() > 0, 'no writes after the restart');

    const waited = await waitForSyncPosition({
      stream: spec.stream,
      to: 'target',
      position: await currentPosition('source'),
      timeoutMs: 60_000,
    });
    assert.ok(waited.reached, `sync did not drain: ${syncErrors.slice(-3).join(' | ')}`);
    abort.abort();
    await sync;
    const [src, dst] = await Promise.all([
      dumpTable(stack.source, 't_crash', 'id'),
      dumpTable(stack.target, 't_crash', 'id'),
    ]);
    assert.equal(dst.length, src.length, 'row counts differ');
    assert.deepEqual(
      dst.filter((r, i) => r !== src[i]).slice(0, 3),
      [],
      'target differs from source after CDC drained',
    );
    console.log(
      `copy done ${tookMs} ms after the source was back (${copyErrors.length} failed copy attempt(s))`,
    );
  },
);
