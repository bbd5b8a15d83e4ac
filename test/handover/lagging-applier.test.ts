/**
 * Hazard: the CDC -> dual-write hand-over with a lagging applier (issue 10 #2). The applier has a
 * backlog of 80k row events on 2000 rows when three router processes switch to DUAL_SOURCE_FIRST and
 * keep incrementing those rows; the source head is recorded after the fence, CDC runs past it and
 * stops, exactly as the workflow's DUAL_WRITE_SOURCE_FIRST step does. No repair loop runs. When CDC
 * has stopped (and the routers' last writes are done) both sides must be equal and every row must
 * hold exactly the acknowledged increments. REREAD_SABOTAGE=1 runs the applier in its image mode.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Stack } from '../../scripts/localstack/index.js';
import {
  currentPosition,
  recordSyncStart,
  runSync,
  syncStatus,
  waitForSyncPosition,
} from '../../src/activities/cdc/sync.js';
import type { TableSpec } from '../../src/activities/contracts.js';
import { SwitchStore, fencedChange } from '../../src/switches/index.js';
import { startPair, stopPair } from '../dataplane/copy-fixtures.js';
import { createTables, dump, waitFor } from '../router/helpers.js';
import { increments, startApp, stopApp } from './apps.js';
import { APP_TABLES } from './redis-proxy.js';

const ID = 'lagging-applier';
const ROWS = 2000;
const ROUNDS = 40;
const reread = process.env.REREAD_SABOTAGE !== '1';
const tables: TableSpec[] = [{ name: 'events' }, { name: 'accounts' }];
const spec = { stream: 'handover', from: 'source', to: 'target', tables, direction: 'forward' as const };

let stack: Stack;
let store: SwitchStore;

before(async () => {
  stack = await startPair({ redis: true });
  await createTables(stack, APP_TABLES);
  for (const side of [stack.source, stack.target]) {
    const c = await side.rootConnection('app');
    await c.query(
      `INSERT INTO accounts (id, balance, updated_at) SELECT seq, 0, '2020-01-01' FROM seq_1_to_${ROWS}`,
    );
    await c.end();
  }
  store = new SwitchStore(stack.redis.url);
  await store.initialise(ID);
});

after(async () => {
  await store?.close();
  await stopPair(stack);
});

test('a lagging applier at the dual-write hand-over leaves both sides equal when CDC stops', async () => {
  await recordSyncStart(spec);
  // The backlog: every row changed ROUNDS times on the source before the hand-over.
  const src = await stack.source.rootConnection('app');
  for (let i = 0; i < ROUNDS; i++) await src.query('UPDATE accounts SET balance = balance + 1');
  await src.end();

  const apps = ['app-a', 'app-b', 'app-c'].map((r) => startApp(stack, ID, r, stack.redis.url, ROWS));
  await Promise.all(apps.map((a) => a.ready));
  await waitFor(
    async () => (await store.routers(ID)).filter((r) => r.version > 0).length === 3,
    15_000,
    'three routers registered',
  );
  const stop = new AbortController();
  const sync = runSync({ ...spec, reread }, { signal: stop.signal }).catch((err: Error) => {
    if (err.name !== 'SyncCancelledError') throw err;
  });
  await sleep(300);
  const fence = await fencedChange(store, {
    migrationId: ID,
    change: { writeMode: 'DUAL_SOURCE_FIRST' },
    by: 'test',
    holdTimeoutMs: 5000,
    expectedRouters: 3,
  });
  assert.equal(fence.calledOff, undefined);
  const acks = await store.waitForRouterAcks({
    migrationId: ID,
    version: fence.switches.version,
    timeoutMs: 10_000,
    minRouters: 3,
  });
  assert.ok(acks.allAcked, 'every router writes both sides');
  const handOver = await currentPosition('source');
  const lag = await syncStatus(spec.stream, 'source', 'target');
  const reached = await waitForSyncPosition({
    stream: spec.stream,
    from: 'source',
    to: 'target',
    position: handOver,
    timeoutMs: 120_000,
  });
  assert.ok(reached.reached, 'CDC passed the hand-over position');
  stop.abort();
  await sync;
  const ledgers = (await Promise.all(apps.map((a) => stopApp(a.child)))).map((r) => r.ledger);
  console.log(
    `applier lag at the hand-over: ${lag.lagSeconds} s (${lag.lagBytes} bytes); ` +
      `router writes: ${ledgers.map((l) => `${l.routerId} ${Object.values(l.increments).reduce((a, b) => a + b, 0)} increments, ${l.errors.length} errors`).join('; ')}`,
  );
  for (const l of ledgers) assert.deepEqual(l.errors.slice(0, 3), [], `${l.routerId} had failed writes`);
  const [s, t] = await Promise.all([dump(stack, 'source', 'accounts'), dump(stack, 'target', 'accounts')]);
  const stale = t.filter((row, i) => row.balance !== s[i].balance);
  assert.deepEqual(
    stale
      .slice(0, 5)
      .map(
        (r, i) =>
          `account ${String(r.id)}: target ${String(r.balance)}, source ${String(stale[i] && s.find((x) => x.id === r.id)?.balance)}`,
      ),
    [],
    `${stale.length} rows stale on the target when CDC stopped`,
  );
  const wrong = s.filter((r) => Number(r.balance) !== ROUNDS + increments(ledgers, Number(r.id)));
  assert.equal(wrong.length, 0, `${wrong.length} rows on the source do not hold the acknowledged increments`);
  assert.deepEqual(t, s, 'accounts equal row by row');
  assert.deepEqual(
    await dump(stack, 'target', 'events'),
    await dump(stack, 'source', 'events'),
    'events equal',
  );
});
