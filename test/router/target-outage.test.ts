import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { startStack, type Stack } from '../../scripts/localstack/index.js';
import { RepairStream, SwitchStore } from '../../src/switches/index.js';
import type { Router, RouterEvent } from '../../src/router/index.js';
import { createTables, dump, ITEMS_DDL, makeRouter, setSwitches } from './helpers.js';

const ID = 'outage';
let stack: Stack;
let store: SwitchStore;
let router: Router;
const events: RouterEvent[] = [];

before(async () => {
  stack = await startStack();
  await createTables(stack, [ITEMS_DDL]);
  store = new SwitchStore(stack.redis.url);
  router = makeRouter(stack, ID, { onEvent: (e) => events.push(e), mirrorTimeoutMs: 2000 });
  await setSwitches(store, ID, { writeMode: 'DUAL_SOURCE_FIRST' }, [router]);
});

after(async () => {
  await router?.end();
  await store?.close();
  await stack?.stop();
});

test('DUAL_SOURCE_FIRST with the target down: every request succeeds and every missed write is in the repair stream', async () => {
  await router.query('INSERT INTO items (sku, qty) VALUES (?, ?), (?, ?), (?, ?)', [
    'keep',
    1,
    'upd',
    2,
    'del',
    3,
  ]);
  const before = await dump(stack, 'source', 'items');
  const id = (sku: string) => String(before.find((r) => r.sku === sku)?.id);
  assert.deepEqual(await dump(stack, 'target', 'items'), before);

  await stack.target.stop();
  const inserted: string[] = [];
  const started = Date.now();
  for (let i = 0; i < 20; i++) {
    const [r] = await router.query<ResultSetHeader>('INSERT INTO items (sku, qty) VALUES (?, ?)', [
      `during-${i}`,
      i,
    ]);
    inserted.push(String(r.insertId));
  }
  const [multi] = await router.query<ResultSetHeader>('INSERT INTO items (sku, qty) VALUES (?, 1), (?, 2)', [
    'm1',
    'm2',
  ]);
  inserted.push(String(multi.insertId), String(multi.insertId + 1));
  await router.query('UPDATE items SET qty = 100 WHERE id = ?', [id('upd')]);
  await router.query("UPDATE items SET note = 'bulk' WHERE sku LIKE 'during-1%'");
  await router.query('DELETE FROM items WHERE sku = ?', ['del']);
  const conn = await router.getConnection();
  await conn.beginTransaction();
  const [txIns] = await conn.query<ResultSetHeader>('INSERT INTO items (sku, qty) VALUES (?, ?)', [
    'in-tx',
    7,
  ]);
  await conn.query('UPDATE items SET qty = qty + 1 WHERE id = ?', [id('keep')]);
  await conn.commit();
  conn.release();
  const elapsed = Date.now() - started;

  // Reads routed to the target (100 %) are answered by the source while the target is down.
  await setSwitches(store, ID, { readPercent: 100 }, [router]);
  for (let i = 0; i < 5; i++) {
    const [rows] = await router.query<RowDataPacket[]>('SELECT qty FROM items WHERE id = ?', [id('upd')]);
    assert.equal(String(rows[0].qty), '100');
  }
  assert.equal(router.stats().readFallbacks, 5);
  assert.equal(router.stats().reads.source, 5);
  assert.ok(events.some((e) => e.type === 'read-fallback' && e.failed === 'target'));
  await setSwitches(store, ID, { readPercent: 0 }, [router]);

  await router.flush();
  const entries = await new RepairStream(store.redis, ID).read({ count: 1000 });
  const has = (op: string, key: string) =>
    entries.some(
      (e) => e.op === op && e.side === 'target' && e.table === 'items' && String(e.key?.[0]) === key,
    );
  for (const k of inserted) assert.ok(has('insert', k), `insert ${k} logged`);
  assert.ok(has('update', id('upd')), 'update by key logged');
  const bulk = (await dump(stack, 'source', 'items'))
    .filter((r) => r.note === 'bulk')
    .map((r) => String(r.id));
  assert.equal(bulk.length, 11);
  for (const k of bulk) assert.ok(has('update', k), `bulk update of ${k} logged with its key`);
  assert.ok(has('delete', id('del')), 'delete logged');
  assert.ok(has('insert', String(txIns.insertId)) && has('update', id('keep')), 'transaction writes logged');
  assert.ok(entries.every((e) => e.error.length > 0 && e.at.length > 0));
  const stats = router.stats();
  assert.equal(stats.dualWriteFailures, 25);
  assert.ok(events.some((e) => e.type === 'dual-write-failed'));
  assert.ok(elapsed < 20_000, `failures are fast (${elapsed} ms)`);

  // The source has everything; after the target comes back, dual writes reach it again.
  assert.equal((await dump(stack, 'source', 'items')).length, 2 + 22 + 1);
  await stack.target.start();
  await router.query('INSERT INTO items (sku, qty) VALUES (?, ?)', ['after', 1]);
  const target = await dump(stack, 'target', 'items');
  assert.deepEqual(target.map((r) => r.sku).sort(), ['after', 'del', 'keep', 'upd']);
  assert.equal(router.stats().dualWriteFailures, 25);
});
