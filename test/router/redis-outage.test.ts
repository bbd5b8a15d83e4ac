import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RowDataPacket } from 'mysql2/promise';
import { startStack, type Stack } from '../../scripts/localstack/index.js';
import { SwitchStore } from '../../src/switches/index.js';
import type { Router } from '../../src/router/index.js';
import { createTables, dump, ITEMS_DDL, makeRouter, pools, setSwitches, waitFor } from './helpers.js';
import { createRouter } from '../../src/router/index.js';

const ID = 'redis-outage';
let stack: Stack;
let store: SwitchStore;
let router: Router;

before(async () => {
  stack = await startStack();
  await createTables(stack, [ITEMS_DDL]);
  store = new SwitchStore(stack.redis.url);
  router = makeRouter(stack, ID);
  await setSwitches(store, ID, { writeMode: 'DUAL_SOURCE_FIRST', readPercent: 50 }, [router]);
});

after(async () => {
  await router?.end();
  await store?.close();
  await stack?.stop();
});

test('Redis stopped mid-load: reads go on; writes go on within the lease, then are refused until the switches are confirmed again', async () => {
  const counts = { reads: 0, readErrors: 0, writes: 0, stale: 0, otherErrors: 0 };
  let running = true;
  const load = (async () => {
    for (let i = 0; running; i++) {
      try {
        await router.query('INSERT INTO items (sku, qty) VALUES (?, ?)', [`load-${i}`, i]);
        counts.writes++;
      } catch (err) {
        if ((err as { code?: string }).code === 'MIGRATOR_SWITCHES_STALE') counts.stale++;
        else counts.otherErrors++;
        await sleep(20);
      }
      try {
        await router.query({ sql: 'SELECT COUNT(*) AS n FROM items', routingKey: `k${i}` });
        counts.reads++;
      } catch {
        counts.readErrors++;
      }
    }
  })();
  await sleep(300);
  await stack.redis.stop();
  const atStop = { ...counts };
  await sleep(4000); // longer than the lease (3 s)
  assert.ok(
    counts.reads - atStop.reads > 20,
    `reads served while Redis was down: ${counts.reads - atStop.reads}`,
  );
  assert.ok(counts.stale > 0, 'writes refused once the lease ran out');
  assert.equal(router.switches.writeMode, 'DUAL_SOURCE_FIRST');
  assert.equal(router.stats().redisConnected, false);
  await stack.redis.start();
  await waitFor(() => router.stats().redisConnected, 10_000, 'router reconnected');
  // Redis came back empty (no persistence): writes stay refused until the workflow writes the switches
  // again (a new epoch), which the router follows and acknowledges; then writes resume.
  const refusedBefore = counts.stale;
  await sleep(500);
  assert.ok(counts.stale > refusedBefore, 'still refused while Redis holds no switches');
  const fresh = new SwitchStore(stack.redis.url);
  try {
    await fresh.set(ID, { writeMode: 'DUAL_SOURCE_FIRST', readPercent: 10 }, 'after-restart');
    await waitFor(() => router.switches.readPercent === 10, 5000, 'change after restart applied');
    await waitFor(
      async () =>
        (await fresh.routers(ID)).some(
          (r) => r.routerId === router.routerId && r.version === router.switches.version,
        ),
      5000,
      'ack after restart',
    );
  } finally {
    await fresh.close();
  }
  const writesAfter = counts.writes;
  await waitFor(() => counts.writes > writesAfter + 10, 5000, 'writes resumed');
  running = false;
  await load;
  assert.equal(counts.readErrors, 0);
  assert.equal(counts.otherErrors, 0);
  const [s, t] = await Promise.all([dump(stack, 'source', 'items'), dump(stack, 'target', 'items')]);
  assert.deepEqual(t, s, 'every accepted write reached both sides');
});

test('a router started while Redis is down serves at once with the fallback switches, then follows Redis', async () => {
  await stack.redis.stop();
  const p = pools(stack);
  const late = createRouter({
    migrationId: ID,
    source: p.source,
    target: p.target,
    redis: stack.redis.url,
    heartbeatMs: 200,
  });
  try {
    const t0 = Date.now();
    const [rows] = await late.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM items');
    assert.ok(Number(rows[0].n) > 0);
    assert.ok(Date.now() - t0 < 1000, 'not blocked on Redis');
    assert.equal(late.switches.writeMode, 'SOURCE_ONLY');
    assert.equal(late.stats().switchesLoaded, false);
    await stack.redis.start();
    const fresh = new SwitchStore(stack.redis.url);
    try {
      await fresh.set(ID, { writeMode: 'DUAL_SOURCE_FIRST', readPercent: 20 }, 'x');
      await waitFor(() => late.switches.readPercent === 20, 8000, 'late router loaded switches');
      assert.equal(late.stats().switchesLoaded, true);
    } finally {
      await fresh.close();
    }
  } finally {
    await late.end();
  }
});

test('a router deployed before the migration exists writes as usual (no switches in Redis confirm SOURCE_ONLY)', async () => {
  const early = makeRouter(stack, 'not-started-yet', { tables: { items: { key: ['id'] } } });
  try {
    await waitFor(
      async () => {
        try {
          await early.query('INSERT INTO items (sku, qty) VALUES (?, ?)', ['before-the-migration', 1]);
          return true;
        } catch (err) {
          if ((err as { code?: string }).code !== 'MIGRATOR_SWITCHES_STALE') throw err;
          return false;
        }
      },
      5000,
      'write accepted',
    );
    assert.equal(early.switches.writeMode, 'SOURCE_ONLY');
  } finally {
    await early.end();
  }
});
