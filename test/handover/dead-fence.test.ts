/**
 * Hazard: the worker running a fenced write-mode change dies while the routers hold writes (the
 * chaos run once SIGKILLed it there: the application's writes failed with "held for a switch change"
 * until the workflow's retry, 30 s later). The rule: a hold carries a lease; once it has run out,
 * a waiting router releases the hold in Redis and writes resume in the mode they had. The fence's
 * own commit is compare-and-set on the hold's version, so a change whose hold was released never
 * applies late; the workflow's retry then makes it.
 * Here the fence runs in its own process (test/support/fence-child.ts), which is SIGKILLed inside
 * the hold, while two application processes write through real routers. A second test freezes a
 * fence past its lease: the router releases the hold, and the fence's late commit is refused.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { startStack, type Stack } from '../../scripts/localstack/index.js';
import { HOLD_LEASE_MARGIN_MS, SwitchStore, fencedChange } from '../../src/switches/index.js';
import type { Ledger } from '../support/router-app.js';
import { adminQuery, createTables, makeRouter, waitFor } from '../router/helpers.js';
import { startApp, stopApp } from './apps.js';
import { APP_TABLES } from './redis-proxy.js';

const ID = 'dead-fence';
const HOT = 4;
const HOLD_TIMEOUT_MS = 2000;
const FENCE_CHILD = fileURLToPath(new URL('../support/fence-child.ts', import.meta.url));

let stack: Stack;
let store: SwitchStore;

before(async () => {
  stack = await startStack();
  await createTables(stack, APP_TABLES);
  for (const side of ['source', 'target'] as const)
    for (let i = 1; i <= HOT; i++)
      await adminQuery(stack, side, `INSERT INTO accounts (id, balance) VALUES (${i}, 0)`);
  store = new SwitchStore(stack.redis.url);
  await store.initialise(ID);
});

after(async () => {
  await store?.close();
  await stack?.stop();
});

async function sourceEvents(): Promise<number> {
  const [row] = (await adminQuery(stack, 'source', 'SELECT COUNT(*) AS n FROM events')) as { n: number }[];
  return Number(row.n);
}

test('a fence SIGKILLed while writes are held: routers release the hold after its lease, no write fails', async () => {
  const apps = [
    startApp(stack, ID, 'app-a', stack.redis.url, HOT),
    startApp(stack, ID, 'app-b', stack.redis.url, HOT),
  ];
  await Promise.all(apps.map((a) => a.ready));
  await waitFor(
    async () => (await store.routers(ID)).filter((r) => r.version > 0).length === 2,
    15_000,
    'two routers registered',
  );

  const fence = fork(FENCE_CHILD, [], {
    execArgv: ['--import', 'tsx'],
    env: {
      ...process.env,
      FENCE_CHILD: JSON.stringify({
        redis: stack.redis.url,
        migrationId: ID,
        writeMode: 'DUAL_SOURCE_FIRST',
        holdTimeoutMs: HOLD_TIMEOUT_MS,
        expectedRouters: 2,
      }),
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await new Promise<void>((resolve, reject) => {
    fence.once('message', () => resolve());
    fence.once('exit', (code) => reject(new Error(`fence process exited with ${code} before holding`)));
  });
  const held = await store.get(ID);
  assert.equal(held?.hold, true, 'writes are held, every router acknowledged');
  assert.equal(held?.holdMs, HOLD_TIMEOUT_MS + HOLD_LEASE_MARGIN_MS);
  const heldAt = Date.now();
  fence.kill('SIGKILL');

  await waitFor(async () => (await store.get(ID))?.hold === false, 15_000, 'the hold released');
  const releasedAfter = Date.now() - heldAt;
  const released = await store.get(ID);
  assert.equal(released?.writeMode, 'SOURCE_ONLY', 'released in the mode writes had');
  assert.match(
    released?.updatedBy ?? '',
    /^router app-[ab]: hold of version \d+ outlived its 4000 ms lease$/,
  );
  assert.ok(
    releasedAfter < (held?.holdMs ?? 0) + 2500,
    `released ${releasedAfter} ms after the hold, lease ${held?.holdMs} ms`,
  );
  const before = await sourceEvents();
  await waitFor(async () => (await sourceEvents()) > before + 10, 5000, 'writes resumed');

  // The workflow's retry of the change, now with a live fence.
  const retry = await fencedChange(store, {
    migrationId: ID,
    change: { writeMode: 'DUAL_SOURCE_FIRST' },
    by: 'retry',
    holdTimeoutMs: HOLD_TIMEOUT_MS,
    expectedRouters: 2,
  });
  assert.equal(retry.calledOff, undefined, `retry called off: ${retry.calledOff}`);
  assert.equal(retry.switches.writeMode, 'DUAL_SOURCE_FIRST');
  await sleep(500);

  const ledgers: Ledger[] = [];
  for (const a of apps) ledgers.push((await stopApp(a.child)).ledger);
  for (const l of ledgers) assert.deepEqual(l.errors, [], `${l.routerId} saw write errors`);
  const kept = new Set(
    ((await adminQuery(stack, 'source', 'SELECT id FROM events')) as { id: number }[]).map((r) =>
      Number(r.id),
    ),
  );
  for (const l of ledgers) {
    const gone = new Set(l.deleted);
    const lost = l.inserted.filter((r) => !gone.has(r.id) && !kept.has(r.id));
    assert.deepEqual(lost, [], `${l.routerId}: acknowledged inserts missing on the source`);
  }
});

test('a fence that outlives its lease is called off: its change never applies after a router released the hold', async () => {
  const id = 'slow-fence';
  await store.initialise(id);
  const router = makeRouter(stack, id, { tables: { accounts: { key: ['id'] } } });
  try {
    await waitFor(() => router.stats().switchesLoaded, 5000, 'router loaded');
    await waitFor(async () => (await store.routers(id)).length === 1, 5000, 'router registered');
    let write: Promise<unknown> | undefined;
    const r = await fencedChange(store, {
      migrationId: id,
      change: { writeMode: 'DUAL_SOURCE_FIRST' },
      by: 'slow',
      holdTimeoutMs: 300,
      expectedRouters: 1,
      // Stalls past the lease (300 + 2000 ms) whatever its signal says, as a fence whose process froze.
      whileHeld: async () => {
        write = router.query('UPDATE accounts SET balance = balance + 1 WHERE id = 1');
        await sleep(300 + HOLD_LEASE_MARGIN_MS + 1000);
      },
    });
    await write;
    assert.match(r.calledOff ?? '', /^the write hold was released before the change \(by router /);
    assert.equal(r.switches.writeMode, 'SOURCE_ONLY');
    assert.equal((await store.get(id))?.writeMode, 'SOURCE_ONLY', 'the late change was not applied');
  } finally {
    await router.end();
  }
});
