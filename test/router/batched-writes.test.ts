/**
 * One-round-trip dual writes (src/router/batch.ts, sessions.ts): the statement, START TRANSACTION and
 * the image read go to the authoritative side as one multi-statement query; START TRANSACTION and the
 * mirror to the other side likewise, and the two COMMITs together (commit-together.test.ts). What must hold: the round
 * trips are the ones counted here; the application gets the result a bare pool gives; each statement
 * in the binlog still carries the router tag; failures roll back as before; and connections go back to
 * the application's pool with multi-statements off.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { recordingPool } from '../support/recording-pool.js';
import mysql from 'mysql2/promise';
import type { ResultSetHeader } from 'mysql2/promise';
import type { Stack } from '../../scripts/localstack/index.js';
import { SwitchStore } from '../../src/switches/index.js';
import { createRouter, type Router } from '../../src/router/index.js';
import { writerOf } from '../../src/shared/write-tags.js';
import { adminQuery, dump, ITEMS_DDL, pools, setSwitches, startRouterEnv } from './helpers.js';

const ID = 'batched';
let stack: Stack;
let store: SwitchStore;
let router: Router;
let stop: () => Promise<void> = async () => {};

before(async () => {
  ({ stack, store, router, stop } = await startRouterEnv(ID, [
    ITEMS_DDL,
    ITEMS_DDL.replace('items', 'bare_items'),
  ]));
});
after(() => stop());

type Side = 'source' | 'target';

/** A pool whose statements (pool and connection calls alike) are recorded per side. */
function counted(pool: mysql.Pool, side: Side, log: { side: Side; sql: string }[]): mysql.Pool {
  return recordingPool(pool, (sql) => {
    log.push({ side, sql });
  });
}

const header = (r: unknown) => {
  const h = r as ResultSetHeader;
  return {
    affectedRows: h.affectedRows,
    insertId: h.insertId,
    info: h.info,
    warningStatus: h.warningStatus,
    changedRows: h.changedRows,
  };
};

for (const mode of ['DUAL_SOURCE_FIRST', 'DUAL_TARGET_FIRST'] as const) {
  test(`${mode}: a single-row INSERT and an UPDATE by key take one round trip plus COMMIT on each side, the two COMMITs sent together; results as a bare pool's`, async () => {
    const auth: Side = mode === 'DUAL_SOURCE_FIRST' ? 'source' : 'target';
    const other: Side = auth === 'source' ? 'target' : 'source';
    for (const side of ['source', 'target'] as const) {
      await adminQuery(stack, side, 'DELETE FROM items');
      await adminQuery(stack, side, 'DELETE FROM bare_items');
      await adminQuery(stack, side, 'ALTER TABLE items AUTO_INCREMENT = 1');
      await adminQuery(stack, side, 'ALTER TABLE bare_items AUTO_INCREMENT = 1');
    }
    const log: { side: Side; sql: string }[] = [];
    const p = pools(stack);
    const r = createRouter({
      migrationId: ID,
      source: counted(p.source, 'source', log),
      target: counted(p.target, 'target', log),
      redis: stack.redis.url,
      tables: { items: {} },
    });
    const bare = mysql.createPool({ uri: stack[auth].url('app'), connectionLimit: 2 });
    try {
      await setSwitches(store, ID, { writeMode: mode }, [r, router]);
      // Warm-up: metadata and auto-increment settings are read once per router.
      await r.query('INSERT INTO items (sku, qty) VALUES (?, ?)', ['warm', 0]);
      await bare.query('INSERT INTO bare_items (sku, qty) VALUES (?, ?)', ['warm', 0]);
      const calls: [string, unknown[]][] = [
        ['INSERT INTO items (sku, qty, price) VALUES (?, ?, ?)', ['a', 1, '2.5000']],
        ['UPDATE items SET qty = qty + 1, note = ? WHERE id = ?', ['n', 2]],
        ['UPDATE items SET qty = qty WHERE id = ?', [2]], // matched, not changed
        [
          'INSERT INTO items (id, sku, qty) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE qty = qty + 5',
          [2, 'a', 0],
        ],
        ['DELETE FROM items WHERE id = ?', [1]],
      ];
      for (const [sql, values] of calls) {
        log.length = 0;
        const [got] = await r.query(sql, values);
        const [want] = await bare.query(sql.replace('items', 'bare_items'), values);
        assert.deepEqual(header(got), header(want), sql);
        const onAuth = log.filter((l) => l.side === auth);
        assert.equal(onAuth.length, 2, `${sql}: ${JSON.stringify(onAuth)}`);
        assert.match(onAuth[0].sql, /^\/\*migrator-router\*\/ START TRANSACTION\n;/);
        assert.match(onAuth[1].sql, /COMMIT$/);
        // The mirror, in a transaction left open, then its COMMIT sent together with the authoritative one.
        const onOther = log.filter((l) => l.side === other);
        assert.equal(onOther.length, 2, `${sql}: ${JSON.stringify(onOther)}`);
        assert.match(onOther[0].sql, /^\/\*migrator-router\*\/ START TRANSACTION\n;/);
        assert.match(onOther[1].sql, /COMMIT$/);
      }
      const [s, t] = await Promise.all([dump(stack, 'source', 'items'), dump(stack, 'target', 'items')]);
      assert.deepEqual(t, s);
      assert.equal(s.length, 1);
    } finally {
      await r.end();
      await bare.end();
    }
  });
}

test('each statement of a batch carries the router tag in the binlog (the bypass watcher counts them as router writes)', async () => {
  await setSwitches(store, ID, { writeMode: 'DUAL_SOURCE_FIRST' }, [router]);
  const [status] = (await adminQuery(stack, 'source', 'SHOW MASTER STATUS')) as {
    File: string;
    Position: number;
  }[];
  const [ins] = await router.query('INSERT INTO items (sku, qty) VALUES (?, ?)', ['tagged', 1]);
  const id = (ins as ResultSetHeader).insertId;
  await router.query('UPDATE items SET qty = 2 WHERE id = ?', [id]);
  await router.query('DELETE FROM items WHERE id = ?', [id]);
  const events = (await adminQuery(
    stack,
    'source',
    `SHOW BINLOG EVENTS IN '${status.File}' FROM ${status.Position}`,
  )) as { Event_type: string; Info: string }[];
  const annotations = events.filter((e) => e.Event_type === 'Annotate_rows').map((e) => e.Info);
  assert.equal(annotations.length, 3, JSON.stringify(events));
  for (const a of annotations) assert.equal(writerOf(a), 'router', a);
});

test('a failing statement rolls the batch back and reports the statement (not the batch)', async () => {
  await setSwitches(store, ID, { writeMode: 'DUAL_SOURCE_FIRST' }, [router]);
  await router.query('INSERT INTO items (sku, qty) VALUES (?, ?)', ['dup', 1]);
  const before = await dump(stack, 'target', 'items');
  await assert.rejects(
    router.query('INSERT INTO items (sku, qty) VALUES (?, ?)', ['dup', 2]),
    (err: { code?: string; sql?: string }) => {
      assert.equal(err.code, 'ER_DUP_ENTRY');
      assert.equal(err.sql, "/*migrator-router*/ INSERT INTO items (sku, qty) VALUES ('dup', 2)");
      return true;
    },
  );
  assert.deepEqual(await dump(stack, 'target', 'items'), before);
  const [s, t] = await Promise.all([dump(stack, 'source', 'items'), dump(stack, 'target', 'items')]);
  assert.deepEqual(t, s);
});

test('a statement the server refuses gives its connection back: 20 duplicate keys open no new connection', async () => {
  await setSwitches(store, ID, { writeMode: 'DUAL_SOURCE_FIRST' }, [router]);
  await router.query('INSERT INTO items (sku, qty) VALUES (?, ?)', ['refused', 1]).catch(() => undefined);
  for (const batchDualWrites of [true, false]) {
    const p = pools(stack);
    const r = createRouter({
      migrationId: ID,
      source: p.source,
      target: p.target,
      redis: stack.redis.url,
      batchDualWrites,
    });
    try {
      await setSwitches(store, ID, { writeMode: 'DUAL_SOURCE_FIRST' }, [r, router]);
      // Warm-up (metadata, auto-increment settings, connections), then its connections are back in the pool.
      await r.query('INSERT INTO items (sku, qty) VALUES (?, ?)', ['refused', -1]).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 50));
      let opened = 0;
      p.source.on('connection', () => opened++);
      for (let i = 0; i < 20; i++) {
        await assert.rejects(r.query('INSERT INTO items (sku, qty) VALUES (?, ?)', ['refused', i]), {
          code: 'ER_DUP_ENTRY',
        });
      }
      assert.equal(opened, 0, `connections opened on the source (batchDualWrites: ${batchDualWrites})`);
      // The connection kept is in no transaction: the next write commits and is mirrored.
      await r.query('UPDATE items SET qty = 42 WHERE sku = ?', ['refused']);
      const [s, t] = await Promise.all([dump(stack, 'source', 'items'), dump(stack, 'target', 'items')]);
      assert.deepEqual(t, s);
    } finally {
      await r.end();
    }
  }
});

test('connections go back to the application pool with multi-statements off (idle, and at router.end())', async () => {
  await setSwitches(store, ID, { writeMode: 'DUAL_SOURCE_FIRST' }, [router]);
  const p = pools(stack);
  const r = createRouter({
    migrationId: ID,
    source: p.source,
    target: p.target,
    redis: stack.redis.url,
    endPools: false,
  });
  const multiRefused = async (pool: mysql.Pool) => {
    // LIFO pool: the connection handed out is the one the router gave back last.
    const conn = await pool.getConnection();
    try {
      await assert.rejects(conn.query('SELECT 1; SELECT 2'), { code: 'ER_PARSE_ERROR' });
    } finally {
      conn.release();
    }
  };
  try {
    await setSwitches(store, ID, { writeMode: 'DUAL_SOURCE_FIRST' }, [r]);
    await r.query('INSERT INTO items (sku, qty) VALUES (?, ?)', ['idle-1', 1]);
    await new Promise((res) => setTimeout(res, 200));
    await multiRefused(p.source);
    // Kept by the router between writes, then given back by end().
    await r.query('UPDATE items SET qty = qty + 1 WHERE sku = ?', ['idle-1']);
    await r.end();
    await multiRefused(p.source);
    const [s, t] = await Promise.all([dump(stack, 'source', 'items'), dump(stack, 'target', 'items')]);
    assert.deepEqual(t, s);
  } finally {
    await r.end();
    await Promise.all([p.source.end(), p.target.end()]);
  }
});

test('a statement with RETURNING is not batched: the application gets its rows', async () => {
  await setSwitches(store, ID, { writeMode: 'DUAL_SOURCE_FIRST' }, [router]);
  const [rows] = await router.query('INSERT INTO items (sku, qty) VALUES (?, ?) RETURNING sku, qty', [
    'ret',
    7,
  ]);
  assert.deepEqual(rows, [{ sku: 'ret', qty: 7 }]);
});

test('a statement ending with a semicolon (and a comment) is written and mirrored as without', async () => {
  await setSwitches(store, ID, { writeMode: 'DUAL_SOURCE_FIRST' }, [router]);
  const [h] = await router.query('INSERT INTO items (sku, qty) VALUES (?, ?); -- done', ['semi', 1]);
  await router.query('UPDATE items SET qty = 2 WHERE id = ?;', [(h as ResultSetHeader).insertId]);
  const [s, t] = await Promise.all([dump(stack, 'source', 'items'), dump(stack, 'target', 'items')]);
  assert.deepEqual(t, s);
  assert.equal(s.find((r) => r.sku === 'semi')?.qty, 2);
});

test('batchDualWrites: false keeps START TRANSACTION, the statement, the image read and COMMIT separate', async () => {
  const log: { side: Side; sql: string }[] = [];
  const p = pools(stack);
  const r = createRouter({
    migrationId: ID,
    source: counted(p.source, 'source', log),
    target: counted(p.target, 'target', log),
    redis: stack.redis.url,
    batchDualWrites: false,
  });
  try {
    await setSwitches(store, ID, { writeMode: 'DUAL_SOURCE_FIRST' }, [r, router]);
    await r.query('INSERT INTO items (sku, qty) VALUES (?, ?)', ['unbatched-warm', 0]);
    log.length = 0;
    await r.query('INSERT INTO items (sku, qty) VALUES (?, ?)', ['unbatched', 1]);
    const onSource = log
      .filter((l) => l.side === 'source')
      .map((l) => l.sql.replace(/^\/\*migrator-router\*\/ /, ''));
    assert.equal(onSource.length, 4, JSON.stringify(onSource));
    assert.deepEqual([onSource[0], onSource[3]], ['START TRANSACTION', 'COMMIT']);
    const [s, t] = await Promise.all([dump(stack, 'source', 'items'), dump(stack, 'target', 'items')]);
    assert.deepEqual(t, s);
  } finally {
    await r.end();
  }
});
