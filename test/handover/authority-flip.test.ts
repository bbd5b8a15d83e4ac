/**
 * Hazard: the authority flip with routers in mixed modes (issue 10 #1). Three application processes,
 * each with its own real router, write concurrently (auto-increment inserts, increments of hot rows,
 * deletes); one reaches Redis through a proxy that delays every byte by 150 ms, so it sees switch
 * changes late. Authority flips DUAL_SOURCE_FIRST <-> DUAL_TARGET_FIRST six times through the fence
 * the workflow's activity uses (src/switches/fence.ts). Afterwards every acknowledged write is there,
 * exactly once, on both sides, and the two sides are equal row by row, every column.
 * FENCE_SABOTAGE=1 flips the old way (write the mode, wait for acks) to show the test fails without it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startStack, type Stack } from '../../scripts/localstack/index.js';
import { SwitchStore, fencedChange } from '../../src/switches/index.js';
import type { WriteMode } from '../../src/shared/switches.js';
import { startApp, stopApp } from './apps.js';
import { APP_TABLES, RedisProxy } from './redis-proxy.js';
import { createTables, dump, waitFor } from '../router/helpers.js';

const ID = 'flip-stress';
const HOT = 8;
const sabotage = process.env.FENCE_SABOTAGE === '1';

let stack: Stack;
let store: SwitchStore;
let proxy: RedisProxy | undefined;

before(async () => {
  stack = await startStack();
  await createTables(stack, APP_TABLES);
  for (const side of [stack.source, stack.target]) {
    const c = await side.rootConnection('app');
    for (let i = 1; i <= HOT; i++)
      await c.query(`INSERT INTO accounts (id, balance, updated_at) VALUES (?, 0, '2020-01-01')`, [i]);
    await c.end();
  }
  store = new SwitchStore(stack.redis.url);
  await store.set(ID, { writeMode: 'DUAL_SOURCE_FIRST' }, 'test');
});

after(async () => {
  proxy?.close();
  await store?.close();
  await stack?.stop();
});

async function flip(to: WriteMode): Promise<number> {
  if (sabotage) {
    const s = await store.set(ID, { writeMode: to }, 'test');
    await store.waitForRouterAcks({ migrationId: ID, version: s.version, timeoutMs: 10_000, minRouters: 3 });
    return 0;
  }
  const r = await fencedChange(store, {
    migrationId: ID,
    change: { writeMode: to },
    by: 'test',
    holdTimeoutMs: 5000,
    expectedRouters: 3,
  });
  assert.equal(r.calledOff, undefined, `fence called off: ${r.calledOff}`);
  return r.heldMs;
}

test('authority flips back and forth under three routers (one late) lose no acknowledged write', async () => {
  proxy = await RedisProxy.start(stack.redis.port, 150);
  const apps = [
    startApp(stack, ID, 'app-a', stack.redis.url, HOT),
    startApp(stack, ID, 'app-b', stack.redis.url, HOT),
    startApp(stack, ID, 'app-late', proxy.url, HOT),
  ];
  await Promise.all(apps.map((a) => a.ready));
  await waitFor(
    async () => (await store.routers(ID)).filter((r) => r.version > 0).length === 3,
    15_000,
    'three routers registered',
  );
  const held: number[] = [];
  let mode: WriteMode = 'DUAL_SOURCE_FIRST';
  for (let i = 0; i < 6; i++) {
    await sleep(700);
    mode = mode === 'DUAL_SOURCE_FIRST' ? 'DUAL_TARGET_FIRST' : 'DUAL_SOURCE_FIRST';
    held.push(await flip(mode));
  }
  await sleep(700);
  const results = await Promise.all(apps.map((a) => stopApp(a.child)));
  const ledgers = results.map((r) => r.ledger);
  console.log(
    `writes: ${ledgers.map((l) => `${l.routerId} ${l.inserted.length} inserts, ${l.deleted.length} deletes, ${Object.values(l.increments).reduce((a, b) => a + b, 0)} increments, ${l.errors.length} errors`).join('; ')}; ` +
      `write hold per flip (ms): ${held.join(', ')}`,
  );
  for (const l of ledgers) assert.deepEqual(l.errors.slice(0, 3), [], `${l.routerId} had failed writes`);

  // Every acknowledged insert got its own id.
  const byId = new Map<number, string>();
  const dupes: string[] = [];
  for (const l of ledgers)
    for (const ins of l.inserted) {
      const prior = byId.get(ins.id);
      if (prior) dupes.push(`id ${ins.id}: ${prior} and ${ins.payload}`);
      byId.set(ins.id, ins.payload);
    }
  assert.deepEqual(dupes.slice(0, 5), [], `${dupes.length} ids handed to two acknowledged inserts`);
  for (const l of ledgers) for (const id of l.deleted) byId.delete(id);

  for (const side of ['source', 'target'] as const) {
    const events = new Map((await dump(stack, side, 'events')).map((r) => [Number(r.id), String(r.payload)]));
    const missing = [...byId].filter(([id, payload]) => events.get(id) !== payload);
    assert.deepEqual(
      missing.slice(0, 5),
      [],
      `${side}: ${missing.length} acknowledged inserts missing or changed`,
    );
    assert.equal(events.size, byId.size, `${side}: rows beyond the acknowledged inserts`);
    const accounts = await dump(stack, side, 'accounts');
    const expected = (id: number) => ledgers.reduce((n, l) => n + (l.increments[id] ?? 0), 0);
    const wrong = accounts.filter((a) => Number(a.balance) !== expected(Number(a.id)));
    assert.deepEqual(
      wrong.map((a) => `account ${String(a.id)}: ${String(a.balance)} != ${expected(Number(a.id))}`),
      [],
      `${side}: acknowledged increments lost`,
    );
  }
  for (const table of ['events', 'accounts']) {
    assert.deepEqual(
      await dump(stack, 'target', table),
      await dump(stack, 'source', table),
      `${table} differs`,
    );
  }
});
