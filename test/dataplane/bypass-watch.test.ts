/**
 * The bypass watcher on its own (src/activities/bypass): tagged router and product writes are not
 * counted, foreign ones are (keys handed to the repair stream once each), and a watcher stopped and
 * restarted from its last progress misses nothing written while it was down and counts nothing twice.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type mysql from 'mysql2/promise';
import { Redis } from 'ioredis';
import type { Stack } from '../../scripts/localstack/index.js';
import { runBypassWatch, type BypassProgress } from '../../src/activities/bypass/index.js';
import { getPool } from '../../src/activities/db/connections.js';
import { RepairStream } from '../../src/switches/index.js';
import { ROUTER_TAG } from '../../src/shared/write-tags.js';
import { rootConnections, startPair, stopPair } from './copy-fixtures.js';

let stack: Stack;
let src: mysql.Connection;
let tgt: mysql.Connection;
let redis: Redis;

before(async () => {
  stack = await startPair({ redis: true });
  ({ src, tgt } = await rootConnections(stack));
  redis = new Redis(stack.redis.url);
  for (const c of [src, tgt]) {
    await c.query('CREATE TABLE bw (id INT PRIMARY KEY, v VARCHAR(20))');
    await c.query("INSERT INTO bw SELECT seq, 'v' FROM seq_1_to_50");
  }
});

after(async () => {
  redis?.disconnect();
  await stopPair(stack, src, tgt);
});

const input = {
  migrationId: 'bw',
  side: 'source' as const,
  source: 'source',
  target: 'target',
  tables: [{ name: 'bw' }],
};

/** Runs a watcher until `stop()`; `latest` is its last progress. */
function start(resume?: BypassProgress) {
  const ac = new AbortController();
  const run: { latest?: BypassProgress; done: Promise<unknown>; stop(): Promise<void> } = {
    latest: resume,
    done: Promise.resolve(),
    stop: async () => {
      ac.abort(new Error('stop'));
      await run.done;
    },
  };
  run.done = runBypassWatch(
    input,
    { resume, signal: ac.signal, progress: (p) => (run.latest = p) },
    { redis, confirmEveryMs: 200 },
  ).catch((err: unknown) => err);
  return run;
}

async function until(what: string, cond: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

test('only foreign writes are counted and handed over; a restarted watcher resumes without gap or double count', async () => {
  const stream = new RepairStream(redis, 'bw');
  const first = start();
  await until('the watcher started', () => first.latest?.position != null);
  // Router-tagged, product (data plane pool) and foreign writes.
  await src.query(`${ROUTER_TAG}UPDATE bw SET v = 'router' WHERE id IN (1, 2)`);
  await getPool('source').query("UPDATE bw SET v = 'product' WHERE id = 3");
  await src.query("UPDATE bw SET v = 'cron' WHERE id = 10");
  await src.query("INSERT INTO bw VALUES (100, 'cron')");
  await until('two foreign changes seen', () => (first.latest?.changes.foreign ?? 0) >= 2);
  const p1 = first.latest!;
  assert.deepEqual(p1.changes, { router: 2, product: 1, foreign: 2 });
  assert.deepEqual(
    p1.tables.map((t) => [t.table, t.count, t.firstKeys.map(String)]),
    [['bw', 2, ['10', '100']]],
  );
  await first.stop();

  // Written while no watcher runs.
  await src.query('DELETE FROM bw WHERE id = 20');
  await src.query(`${ROUTER_TAG}DELETE FROM bw WHERE id = 21`);
  const second = start(first.latest);
  await until('the write made while stopped', () => (second.latest?.changes.foreign ?? 0) >= 3);
  await sleep(500); // nothing else may arrive (no double count)
  const p2 = second.latest!;
  assert.deepEqual(p2.changes, { router: 3, product: 1, foreign: 3 });
  assert.deepEqual(p2.tables[0].firstKeys.map(String), ['10', '100', '20']);
  // Each foreign key handed to the repair stream exactly once.
  const entries = await stream.read();
  assert.deepEqual(entries.map((e) => `${e.table}:${e.key?.join('/')}:${e.op}:${e.side}`).sort(), [
    'bw:100:insert:target',
    'bw:10:update:target',
    'bw:20:delete:target',
  ]);
  // Unrepaired until the target holds the same rows, then seen repaired.
  assert.equal(p2.tables[0].unrepairedKeys.length, 3);
  await tgt.query("UPDATE bw SET v = 'cron' WHERE id = 10");
  await tgt.query("INSERT INTO bw VALUES (100, 'cron')");
  await tgt.query('DELETE FROM bw WHERE id = 20');
  await until('seen repaired', () => second.latest?.tables[0].unrepairedKeys.length === 0);
  await second.stop();
});
