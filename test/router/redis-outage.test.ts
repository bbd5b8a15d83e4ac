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

test('Redis stopped mid-load: requests keep succeeding with the last switches; after restart, changes reach the router', async () => {
  let ok = 0;
  let failed = 0;
  let running = true;
  const load = (async () => {
    for (let i = 0; running; i++) {
      try {
        await router.query('INSERT INTO items (sku, qty) VALUES (?, ?)', [`load-${i}`, i]);
        await router.query({ sql: 'SELECT COUNT(*) AS n FROM items', routingKey: `k${i}` });
        ok++;
      } catch {
        failed++;
      }
    }
  })();
  await sleep(300);
  await stack.redis.stop();
  const okAtStop = ok;
  await sleep(1500);
  assert.ok(ok - okAtStop > 20, `requests served while Redis was down: ${ok - okAtStop}`);
  assert.equal(router.switches.writeMode, 'DUAL_SOURCE_FIRST');
  assert.equal(router.stats().redisConnected, false);
  await stack.redis.start();
  await waitFor(() => router.stats().redisConnected, 10_000, 'router reconnected');
  // Redis came back empty (no persistence): the next change creates a new epoch, which the router follows.
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
  running = false;
  await load;
  assert.equal(failed, 0);
  const [s, t] = await Promise.all([dump(stack, 'source', 'items'), dump(stack, 'target', 'items')]);
  assert.equal(s.length, t.length, 'dual writes continued while Redis was down');
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
