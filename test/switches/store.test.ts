import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { startStack, type Stack } from '../../scripts/localstack/index.js';
import {
  RepairStream,
  SwitchStore,
  SwitchWatcher,
  releaseExpiredHold,
  encodeKey,
  decodeKeyValue,
  migrationKeys,
  writeHeartbeat,
  removeHeartbeat,
  type Switches,
} from '../../src/switches/index.js';

let stack: Stack;
let store: SwitchStore;

before(async () => {
  stack = await startStack({ mariadb: false });
  store = new SwitchStore(stack.redis.url);
});

after(async () => {
  await store.close();
  await stack.stop();
});

test('initialise creates SOURCE_ONLY / 0 % / no shadow at version 1, once', async () => {
  assert.equal(await store.get('m-init'), undefined);
  const first = await store.initialise('m-init', 'tester');
  assert.deepEqual(
    {
      writeMode: first.writeMode,
      readPercent: first.readPercent,
      shadowRead: first.shadowRead,
      version: first.version,
    },
    { writeMode: 'SOURCE_ONLY', readPercent: 0, shadowRead: false, version: 1 },
  );
  await store.set('m-init', { readPercent: 5 }, 'tester');
  const again = await store.initialise('m-init', 'someone-else');
  assert.equal(again.version, 2);
  assert.equal(again.readPercent, 5);
  assert.equal(again.updatedBy, 'tester');
});

test('set versions every real change; identical values are a no-op returning the current state', async () => {
  const id = 'm_version';
  await store.initialise(id);
  const a = await store.set(id, { writeMode: 'DUAL_SOURCE_FIRST' }, 'alice');
  assert.equal(a.version, 2);
  assert.equal(a.writeMode, 'DUAL_SOURCE_FIRST');
  assert.equal(a.updatedBy, 'alice');
  const same = await store.apply(id, { writeMode: 'DUAL_SOURCE_FIRST', readPercent: 0 }, 'bob');
  assert.equal(same.changed, false);
  assert.deepEqual(same.switches, a);
  const b = await store.set(id, { readPercent: 25, shadowRead: true }, 'bob');
  assert.equal(b.version, 3);
  assert.deepEqual([b.writeMode, b.readPercent, b.shadowRead], ['DUAL_SOURCE_FIRST', 25, true]);
  assert.deepEqual(await store.get(id), b);
  const history = await store.history(id);
  assert.deepEqual(
    history.map((h) => [h.version, h.by]),
    [
      [3, 'bob'],
      [2, 'alice'],
      [1, 'system'],
    ],
  );
});

test('set on an absent migration starts from the defaults at version 1', async () => {
  const s = await store.set('m-absent', { readPercent: 1 }, 'x');
  assert.equal(s.version, 2);
  const noop = await store.set('m-absent2', { writeMode: 'SOURCE_ONLY' }, 'x');
  assert.equal(noop.version, 1);
});

test('invalid ids and values are rejected before touching Redis', async () => {
  await assert.rejects(store.get('bad id'), /invalid migration id/);
  await assert.rejects(store.get('a:b'), /invalid migration id/);
  await assert.rejects(store.set('ok', { readPercent: 101 }, 'x'), /readPercent/);
  await assert.rejects(store.set('ok', { readPercent: Number.NaN }, 'x'), /readPercent/);
  await assert.rejects(store.set('ok', { writeMode: 'BOTH' as never }, 'x'), /writeMode/);
  await assert.rejects(store.set('ok', { shadowRead: 'yes' as never }, 'x'), /shadowRead/);
  await assert.rejects(store.set('ok', {}, ''), /actor/);
  assert.equal(await store.get('ok'), undefined);
});

test('concurrent changes are atomic: every real change gets its own version', async () => {
  const id = 'm-concurrent';
  await store.initialise(id);
  const others = Array.from({ length: 5 }, () => new SwitchStore(stack.redis.url));
  try {
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        others[i % others.length].set(id, { readPercent: i + 1 }, `w${i}`),
      ),
    );
    const versions = results.map((r) => r.version).sort((x, y) => x - y);
    assert.deepEqual(
      versions,
      Array.from({ length: 40 }, (_, i) => i + 2),
    );
    assert.equal((await store.get(id))?.version, 41);
  } finally {
    await Promise.all(others.map((o) => o.close()));
  }
});

test('every real change is published once, as JSON Switches; no-ops publish nothing', async () => {
  const id = 'm-publish';
  await store.initialise(id);
  const sub = new Redis(stack.redis.url);
  const messages: Switches[] = [];
  try {
    await sub.subscribe(migrationKeys(id).channel);
    sub.on('message', (_c: string, m: string) => messages.push(JSON.parse(m) as Switches));
    await store.set(id, { writeMode: 'DUAL_SOURCE_FIRST' }, 'a');
    await store.set(id, { writeMode: 'DUAL_SOURCE_FIRST' }, 'a');
    await store.set(id, { readPercent: 12.5 }, 'a');
    await sleep(100);
    assert.deepEqual(
      messages.map((m) => [m.version, m.writeMode, m.readPercent, m.shadowRead]),
      [
        [2, 'DUAL_SOURCE_FIRST', 0, false],
        [3, 'DUAL_SOURCE_FIRST', 12.5, false],
      ],
    );
  } finally {
    sub.disconnect();
  }
});

test('waitForRouterAcks: all live routers must ack; dead routers drop out when their TTL expires', async () => {
  const id = 'm-acks';
  const redis = store.redis;
  const s = await store.set(id, { writeMode: 'DUAL_SOURCE_FIRST' }, 'wf');
  // No router at all: vacuously acknowledged unless minRouters asks for some.
  assert.equal(
    (await store.waitForRouterAcks({ migrationId: id, version: s.version, timeoutMs: 0 })).allAcked,
    true,
  );
  assert.equal(
    (await store.waitForRouterAcks({ migrationId: id, version: s.version, timeoutMs: 50, minRouters: 1 }))
      .allAcked,
    false,
  );

  await writeHeartbeat(redis, id, { routerId: 'r1', version: 1 }, 5000);
  await writeHeartbeat(redis, id, { routerId: 'r2', version: 1 }, 5000);
  await writeHeartbeat(redis, id, { routerId: 'dying', version: 1 }, 400);
  const timedOut = await store.waitForRouterAcks({ migrationId: id, version: s.version, timeoutMs: 100 });
  assert.deepEqual(timedOut, { version: 2, acked: [], pending: ['dying', 'r1', 'r2'], allAcked: false });

  const waiting = store.waitForRouterAcks({ migrationId: id, version: s.version, timeoutMs: 5000 });
  await sleep(50);
  await writeHeartbeat(redis, id, { routerId: 'r1', version: 2 }, 5000);
  await writeHeartbeat(redis, id, { routerId: 'r2', version: 3 }, 5000);
  const started = Date.now();
  const result = await waiting;
  // 'dying' never acked: the wait ends when its heartbeat expires.
  assert.deepEqual(result, { version: 2, acked: ['r1', 'r2'], pending: [], allAcked: true });
  assert.ok(Date.now() - started < 1000);
  const live = await store.routers(id);
  assert.deepEqual(live.map((r) => r.routerId).sort(), ['r1', 'r2']);
  assert.equal(live[0].pid, process.pid);

  await removeHeartbeat(redis, id, 'r1');
  assert.deepEqual(
    (await store.routers(id)).map((r) => r.routerId),
    ['r2'],
  );
});

test('repair stream: entries round-trip with binary and composite keys and table-level entries', async () => {
  const repairs = new RepairStream(store.redis, 'm-repairs');
  const at = new Date().toISOString();
  const ids = await repairs.append([
    {
      table: 'orders',
      key: encodeKey([42]),
      op: 'insert',
      side: 'target',
      error: 'connect ECONNREFUSED',
      at,
    },
    {
      table: 'blobs',
      key: encodeKey([Buffer.from([0, 255, 1]), 'x', null]),
      op: 'update',
      side: 'source',
      error: 'e',
      at,
    },
    { table: 'orders', key: null, op: 'delete', side: 'target', error: 'keys unknown', at },
  ]);
  assert.equal(ids.length, 3);
  const raw = await store.redis.xrange(migrationKeys('m-repairs').repairs, '-', '+');
  assert.deepEqual(raw[0][1], [
    'table',
    'orders',
    'key',
    '[42]',
    'op',
    'insert',
    'side',
    'target',
    'error',
    'connect ECONNREFUSED',
    'at',
    at,
  ]);
  const all = await repairs.read();
  assert.deepEqual(
    all.map((r) => [r.table, r.key, r.op, r.side]),
    [
      ['orders', [42], 'insert', 'target'],
      ['blobs', [{ b64: 'AP8B' }, 'x', null], 'update', 'source'],
      ['orders', null, 'delete', 'target'],
    ],
  );
  assert.deepEqual(decodeKeyValue(all[1].key![0]), Buffer.from([0, 255, 1]));
  const rest = await repairs.read({ after: all[0].id, count: 10 });
  assert.equal(rest.length, 2);
  assert.equal(await repairs.delete([all[0].id]), 1);
  assert.equal(await repairs.length(), 2);
});

test('remove deletes switches, history, registry and repairs', async () => {
  const id = 'm-remove';
  await store.set(id, { readPercent: 3 }, 'x');
  await writeHeartbeat(store.redis, id, { routerId: 'r', version: 2 });
  await new RepairStream(store.redis, id).append([
    { table: 't', key: [1], op: 'insert', side: 'target', error: 'e', at: '' },
  ]);
  await store.remove(id);
  assert.deepEqual(await store.redis.keys(`migrator:${id}:*`), []);
  assert.equal(await store.get(id), undefined);
});

test('SwitchWatcher follows changes, and resumes after Redis restarts', async () => {
  const id = 'm-watch';
  await store.initialise(id);
  const seen: number[] = [];
  const watcher = new SwitchWatcher({
    redis: stack.redis.url,
    migrationId: id,
    onChange: (s) => seen.push(s.version),
    onError: () => {},
  });
  watcher.start();
  try {
    await waitFor(() => seen.includes(1));
    await store.set(id, { readPercent: 10 }, 'x');
    await waitFor(() => seen.includes(2));
    await stack.redis.stop();
    await sleep(300);
    assert.equal(watcher.current?.version, 2);
    await stack.redis.start();
    // Redis lost everything (no persistence): the workflow writes the state again. Versions restart
    // (version 2 again, not above what the watcher knew) under a new epoch, and are followed.
    const fresh = new SwitchStore(stack.redis.url);
    try {
      const again = await fresh.set(id, { readPercent: 40 }, 'x');
      assert.equal(again.version, 2);
      await waitFor(() => watcher.current?.readPercent === 40, 5000);
    } finally {
      await fresh.close();
    }
  } finally {
    await watcher.stop();
  }
  // Store's own connection reconnects by itself too.
  assert.equal((await store.get(id))?.readPercent, 40);
});

async function waitFor(cond: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}

test('a hold with a lease: released only at the held version, only once the lease has run out by Redis', async () => {
  const id = 'm_lease';
  await store.initialise(id);
  const first = await store.set(id, { hold: true }, 'fence', { holdMs: 400 });
  assert.equal(first.hold, true);
  assert.equal(first.holdMs, 400);
  // Taken again (a retried fence over its dead attempt's hold): a new hold, a new version, a new lease.
  const held = await store.set(id, { hold: true }, 'fence', { holdMs: 400 });
  assert.equal(held.version, first.version + 1);
  assert.equal(await releaseExpiredHold(store.redis, id, held.version, 'router r1'), false, 'lease running');
  await sleep(500);
  assert.equal(await releaseExpiredHold(store.redis, id, first.version, 'router r1'), false, 'old hold');
  assert.equal(await releaseExpiredHold(store.redis, id, held.version, 'router r1'), true);
  const released = await store.get(id);
  assert.deepEqual(
    [released?.hold, released?.holdMs, released?.writeMode, released?.version, released?.updatedBy],
    [false, undefined, 'SOURCE_ONLY', held.version + 1, 'router r1'],
  );
  // The fence's commit after that is refused: the change never applies on a released hold.
  const late = await store.apply(id, { writeMode: 'DUAL_SOURCE_FIRST', hold: false }, 'fence', {
    ifVersion: held.version,
  });
  assert.deepEqual([late.refused, late.changed, late.switches.writeMode], [true, false, 'SOURCE_ONLY']);
  // A hold without a lease is never released by anyone but its setter.
  const plain = await store.set(id, { hold: true }, 'fence');
  await sleep(50);
  assert.equal(plain.holdMs, undefined);
  assert.equal(await releaseExpiredHold(store.redis, id, plain.version, 'router r1'), false);
  await store.set(id, { hold: false }, 'fence');
});
