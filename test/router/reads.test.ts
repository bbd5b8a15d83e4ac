import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RowDataPacket } from 'mysql2/promise';
import { startStack, type Stack } from '../../scripts/localstack/index.js';
import { SwitchStore } from '../../src/switches/index.js';
import { bucketOf, readsTarget, type Router, type RouterEvent } from '../../src/router/index.js';
import { adminQuery, createTables, makeRouter, setSwitches } from './helpers.js';

const ID = 'reads';
let stack: Stack;
let store: SwitchStore;
let router: Router;
const events: RouterEvent[] = [];

before(async () => {
  stack = await startStack();
  await createTables(stack, ['CREATE TABLE side_marker (id INT PRIMARY KEY, side VARCHAR(10))']);
  await adminQuery(stack, 'source', "INSERT INTO side_marker VALUES (1, 'source')");
  await adminQuery(stack, 'target', "INSERT INTO side_marker VALUES (1, 'target')");
  store = new SwitchStore(stack.redis.url);
  router = makeRouter(stack, ID, { onEvent: (e) => events.push(e) });
});

after(async () => {
  await router?.end();
  await store?.close();
  await stack?.stop();
});

const KEYS = Array.from({ length: 10_000 }, (_, i) => `user-${i}`);

test('bucketing: shares within 2 points over 10,000 keys; raising the percentage only moves keys to the target', () => {
  let previous = new Set<string>();
  for (const p of [1, 5, 25, 50, 75, 99]) {
    const onTarget = new Set(KEYS.filter((k) => readsTarget(p, k, ID)));
    assert.ok(Math.abs((onTarget.size / KEYS.length) * 100 - p) <= 2, `${p}%: ${onTarget.size}`);
    for (const k of previous) assert.ok(onTarget.has(k), `${k} moved back to the source at ${p}%`);
    previous = onTarget;
  }
  assert.equal(bucketOf('user-1', ID), bucketOf('user-1', ID));
});

async function sideOf(routingKey: string): Promise<string> {
  const [rows] = await router.query<RowDataPacket[]>({
    sql: 'SELECT side FROM side_marker WHERE id = ?',
    values: [1],
    routingKey,
  });
  return String(rows[0].side);
}

async function sidesFor(keys: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (let i = 0; i < keys.length; i += 50) {
    const part = keys.slice(i, i + 50);
    const sides = await Promise.all(part.map(sideOf));
    part.forEach((k, j) => out.set(k, sides[j]));
  }
  return out;
}

test('real reads over 10,000 routing keys follow the percentage, stay sticky, and only move source -> target', async () => {
  await setSwitches(store, ID, { writeMode: 'DUAL_SOURCE_FIRST', readPercent: 30 }, [router]);
  const first = await sidesFor(KEYS);
  const share = ([...first.values()].filter((s) => s === 'target').length / KEYS.length) * 100;
  assert.ok(Math.abs(share - 30) <= 2, `target share ${share}`);
  const again = await sidesFor(KEYS.slice(0, 2000));
  for (const [k, s] of again) assert.equal(s, first.get(k), `${k} flipped`);
  await setSwitches(store, ID, { readPercent: 60 }, [router]);
  const raised = await sidesFor(KEYS.slice(0, 3000));
  for (const [k, s] of raised) if (first.get(k) === 'target') assert.equal(s, 'target', `${k} moved back`);
  const raisedShare = ([...raised.values()].filter((s) => s === 'target').length / raised.size) * 100;
  assert.ok(Math.abs(raisedShare - 60) <= 3.5, `raised share ${raisedShare}`);
  // withRoutingKey: the same key from async context, no options needed.
  const viaContext = await router.withRoutingKey('user-7', async () => {
    const [rows] = await router.query<RowDataPacket[]>('SELECT side FROM side_marker WHERE id = 1');
    return String(rows[0].side);
  });
  assert.equal(viaContext, await sideOf('user-7'));
  // Without a routing key: random, roughly the percentage.
  let target = 0;
  for (let i = 0; i < 400; i++) {
    const [rows] = await router.query<RowDataPacket[]>('SELECT side FROM side_marker WHERE id = 1');
    if (rows[0].side === 'target') target++;
  }
  assert.ok(target > 160 && target < 320, `random reads to target: ${target}/400`);
  const stats = router.stats();
  assert.ok(stats.reads.target > 0 && stats.reads.source > 0);
});

test('shadow reads compare both sides: mismatches counted and reported, matches not', async () => {
  await setSwitches(store, ID, { readPercent: 0, shadowRead: true }, [router]);
  const base = router.stats();
  await router.query('SELECT id FROM side_marker');
  await router.query('SELECT side FROM side_marker WHERE id = ?', [1]);
  await router.flush();
  const after1 = router.stats();
  assert.equal(after1.shadowReads - base.shadowReads, 2);
  assert.equal(after1.shadowMismatches - base.shadowMismatches, 1);
  const mismatch = events.find((e) => e.type === 'shadow-mismatch');
  assert.ok(mismatch && mismatch.type === 'shadow-mismatch' && mismatch.primary === 'source');
  // The caller gets the primary (source) answer.
  const [rows] = await router.query<RowDataPacket[]>('SELECT side FROM side_marker WHERE id = 1');
  assert.equal(rows[0].side, 'source');
  await router.flush();
  await setSwitches(store, ID, { shadowRead: false }, [router]);
});
