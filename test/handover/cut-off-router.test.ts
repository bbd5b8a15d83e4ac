/**
 * Hazard: router liveness (issue 10 #3). A router cut off from Redis (its connection frozen by a
 * proxy that stops relaying, like a network partition) while the workflow fences SOURCE_ONLY ->
 * DUAL_SOURCE_FIRST. The rule: it stops writing migrated tables (lease) before its heartbeat expires,
 * so by the time the registry no longer lists it, it has no acknowledged write left; and the fence is
 * not acknowledged while fewer routers than the plan expects acknowledged it.
 * LEASE_SABOTAGE=1 turns the lease off (leaseMs 0) to show the cut-off router writing on.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startStack, type Stack } from '../../scripts/localstack/index.js';
import { SwitchStore, fencedChange } from '../../src/switches/index.js';
import { createTables, waitFor } from '../router/helpers.js';
import { startApp, stopApp } from './apps.js';
import { APP_TABLES, RedisProxy } from './redis-proxy.js';

const ID = 'cut-off';
const sabotage = process.env.LEASE_SABOTAGE === '1';
let stack: Stack;
let store: SwitchStore;
let proxy: RedisProxy | undefined;

before(async () => {
  stack = await startStack();
  await createTables(stack, APP_TABLES);
  store = new SwitchStore(stack.redis.url);
  await store.initialise(ID);
});

after(async () => {
  proxy?.close();
  await store?.close();
  await stack?.stop();
});

test('a router cut off from Redis stops writing before the workflow stops waiting for it', async () => {
  proxy = await RedisProxy.start(stack.redis.port);
  const ok = startApp(stack, ID, 'app-ok', stack.redis.url, 1);
  const cut = startApp(stack, ID, 'app-cut', proxy.url, 1, sabotage ? { leaseMs: 0 } : {});
  await Promise.all([ok.ready, cut.ready]);
  await waitFor(async () => (await store.routers(ID)).length === 2, 15_000, 'two routers registered');
  proxy.frozen = true;
  const frozenAt = Date.now();

  // The fence cannot be acknowledged: one router is unreachable, and once its heartbeat expired,
  // one router is fewer than the two the plan expects.
  const attempts: string[] = [];
  let droppedAt = 0;
  for (let i = 0; i < 3; i++) {
    const r = await fencedChange(store, {
      migrationId: ID,
      change: { writeMode: 'DUAL_SOURCE_FIRST' },
      by: 'test',
      holdTimeoutMs: 2000,
      expectedRouters: 2,
    });
    attempts.push(r.calledOff ?? 'made');
    if (!droppedAt && !(await store.routers(ID)).some((x) => x.routerId === 'app-cut'))
      droppedAt = Date.now();
    await sleep(1000);
  }
  await waitFor(
    async () => !(await store.routers(ID)).some((x) => x.routerId === 'app-cut'),
    10_000,
    'cut-off router dropped from the registry',
  );
  droppedAt ||= Date.now();
  const [okLedger, cutLedger] = (await Promise.all([stopApp(ok.child), stopApp(cut.child)])).map(
    (r) => r.ledger,
  );
  console.log(
    `fence attempts: ${attempts.join(' | ')}; cut-off router: last acknowledged write ${cutLedger.lastAckAt - frozenAt} ms after the cut, ` +
      `dropped from the registry after ${droppedAt - frozenAt} ms, ${cutLedger.errors.length} writes refused; other router: ${okLedger.inserted.length} inserts`,
  );
  assert.ok(
    attempts.every((a) => a !== 'made'),
    'no fence acknowledged without every expected router',
  );
  assert.equal((await store.get(ID))?.writeMode, 'SOURCE_ONLY');
  assert.ok(
    cutLedger.lastAckAt < droppedAt,
    `the cut-off router wrote ${cutLedger.lastAckAt - droppedAt} ms after the registry stopped listing it`,
  );
  assert.ok(
    cutLedger.errors.length > 0 && cutLedger.errors.every((e) => /cannot confirm the switches/.test(e)),
    `refusals name the reason: ${cutLedger.errors[0]}`,
  );
});
