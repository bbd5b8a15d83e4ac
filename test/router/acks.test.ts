import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startStack, type Stack } from '../../scripts/localstack/index.js';
import { SwitchStore, fencedChange, type WriteMode } from '../../src/switches/index.js';
import type { Router, RouterEvent } from '../../src/router/index.js';
import { createTables, dump, makeRouter, waitFor } from './helpers.js';

const ID = 'acks';
let stack: Stack;
let store: SwitchStore;
const routers: Router[] = [];

before(async () => {
  stack = await startStack();
  await createTables(stack, ['CREATE TABLE t (id INT PRIMARY KEY, v INT)']);
  store = new SwitchStore(stack.redis.url);
  await store.initialise(ID);
});

after(async () => {
  await Promise.all(routers.map((r) => r.end()));
  await store?.close();
  await stack?.stop();
});

test('routers register, ack each version they apply, and drop out of the registry when they end', async () => {
  routers.push(makeRouter(stack, ID, { routerId: 'app-1' }), makeRouter(stack, ID, { routerId: 'app-2' }));
  await waitFor(
    async () => (await store.routers(ID)).filter((r) => r.version === 1).length === 2,
    5000,
    'registered',
  );
  const s = await store.set(ID, { writeMode: 'DUAL_SOURCE_FIRST' }, 'wf');
  const acks = await store.waitForRouterAcks({ migrationId: ID, version: s.version, timeoutMs: 5000 });
  assert.deepEqual(acks, {
    version: s.version,
    acked: ['app-1', 'app-2'],
    pending: [],
    allAcked: true,
    holdMaxMs: { 'app-1': 10_000, 'app-2': 10_000 },
  });
  const ended = routers.pop();
  await ended?.end();
  assert.deepEqual(
    (await store.routers(ID)).map((r) => r.routerId),
    ['app-1'],
  );
});

test('a router does not ack a new version while a transaction begun under an older one is open', async () => {
  const router = routers[0];
  const before = await store.get(ID);
  assert.ok(before);
  const conn = await router.getConnection();
  await conn.beginTransaction();
  await conn.query('INSERT INTO t VALUES (1, 1)');
  const s = await store.set(ID, { writeMode: 'DUAL_TARGET_FIRST' }, 'wf');
  await waitFor(() => router.switches.version === s.version, 3000, 'applied');
  const pending = await store.waitForRouterAcks({ migrationId: ID, version: s.version, timeoutMs: 600 });
  assert.equal(pending.allAcked, false);
  assert.deepEqual(pending.pending, ['app-1']);
  const waiting = store.waitForRouterAcks({ migrationId: ID, version: s.version, timeoutMs: 5000 });
  await sleep(100);
  await conn.commit();
  conn.release();
  const t0 = Date.now();
  const acks = await waiting;
  assert.equal(acks.allAcked, true);
  assert.ok(Date.now() - t0 < 1000);
  // The transaction ran under the old mode (source first) and was mirrored to the target.
  assert.deepEqual(await dump(stack, 'target', 't'), [{ id: 1, v: 1 }]);
});

test('a router that dies without deregistering stops being waited for once its TTL expires', async () => {
  const dying = makeRouter(stack, ID, { routerId: 'app-dying', heartbeatTtlMs: 800 });
  await waitFor(
    async () => (await store.routers(ID)).some((r) => r.routerId === 'app-dying' && r.version > 0),
    5000,
    'registered',
  );
  // Simulate a crash: stop its heartbeats without deregistering.
  await dying.follower['watcher'].stop();
  const s = await store.set(ID, { readPercent: 5 }, 'wf');
  const t0 = Date.now();
  const acks = await store.waitForRouterAcks({ migrationId: ID, version: s.version, timeoutMs: 5000 });
  assert.equal(acks.allAcked, true);
  assert.deepEqual(acks.acked, ['app-1']);
  assert.ok(Date.now() - t0 < 2500, 'waited at most about one TTL');
  await dying.end();
});

test("a fence names the routers that fail a held write before the hold's lease runs out; they say so too", async () => {
  const events: RouterEvent[] = [];
  const short = makeRouter(stack, ID, {
    routerId: 'app-short',
    holdMaxMs: 2500,
    onEvent: (e) => events.push(e),
  });
  try {
    await waitFor(
      async () => (await store.routers(ID)).some((r) => r.routerId === 'app-short' && r.version > 0),
      5000,
      'registered',
    );
    const fence = (writeMode: WriteMode, holdTimeoutMs: number) =>
      fencedChange(store, {
        migrationId: ID,
        change: { writeMode },
        by: 'test',
        holdTimeoutMs,
        expectedRouters: 2,
      });
    // Lease 1000 + 2000 ms: app-short (2500) gives up first, app-1 (the default 10000) does not.
    const r = await fence('DUAL_SOURCE_FIRST', 1000);
    assert.equal(r.calledOff, undefined);
    assert.match(r.warning ?? '', /app-short \(holdMaxMs 2500\).*lease of 3000 ms/);
    assert.doesNotMatch(r.warning ?? '', /app-1/);
    const seen = events.find((e) => e.type === 'hold-outlasts-limit');
    assert.deepEqual(seen, {
      type: 'hold-outlasts-limit',
      version: r.switches.version - 1,
      holdMs: 3000,
      holdMaxMs: 2500,
    });
    // Within the routers' limits: no warning.
    const ok = await fence('DUAL_TARGET_FIRST', 500);
    assert.equal(ok.calledOff, undefined);
    assert.equal(ok.warning, undefined);
  } finally {
    await short.end();
  }
});
