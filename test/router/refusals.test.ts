/**
 * Statements the router cannot mirror are never silent while dual writing (issue 10, hazard 9): CALL,
 * TRUNCATE, several statements in one string and writes the parser rejects are refused with an error
 * that names the statement and the rule, nothing runs on either side, and no repair entry lands under a
 * table name the repair loop skips. Outside the dual modes they run as before.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RowDataPacket } from 'mysql2/promise';
import type { Stack } from '../../scripts/localstack/index.js';
import { RepairStream, type SwitchStore } from '../../src/switches/index.js';
import { UnmirrorableStatementError, type Router } from '../../src/router/index.js';
import { adminQuery, dump, ITEMS_DDL, makeRouter, setSwitches, startRouterEnv } from './helpers.js';

const ID = 'refusals';
let stack: Stack;
let store: SwitchStore;
let router: Router;
let scoped: Router;
let stop: () => Promise<void> = async () => {};

before(async () => {
  ({ stack, store, router, stop } = await startRouterEnv(ID, [
    ITEMS_DDL,
    'CREATE TABLE side_t (id INT PRIMARY KEY, v INT)',
  ]));
  for (const side of ['source', 'target'] as const) {
    await adminQuery(
      stack,
      side,
      "CREATE PROCEDURE bump(IN n INT) MODIFIES SQL DATA UPDATE items SET qty = qty + n WHERE sku LIKE 'r%'",
    );
    // The application may CALL and TRUNCATE here: the refusals come from the router, not from grants.
    const hosts = (await adminQuery(
      stack,
      side,
      "SELECT Host AS h FROM mysql.user WHERE User = 'app'",
    )) as RowDataPacket[];
    for (const { h } of hosts)
      await adminQuery(stack, side, `GRANT EXECUTE, DROP ON app.* TO 'app'@'${String(h)}'`);
  }
  scoped = makeRouter(stack, ID, { tables: { items: {} } });
});

after(async () => {
  await scoped?.end();
  await stop();
});

async function seed(): Promise<void> {
  for (const side of ['source', 'target'] as const) {
    await adminQuery(stack, side, 'DELETE FROM items');
    await adminQuery(stack, side, "INSERT INTO items (id, sku, qty) VALUES (1, 'r1', 1), (2, 'r2', 2)");
  }
}

const UNMIRRORABLE: [string, RegExp][] = [
  ['CALL bump(5)', /CALL while dual writing/],
  ['TRUNCATE TABLE items', /TRUNCATE on a migrated table/],
  [
    "UPDATE items SET qty = 9 WHERE id = 1; DELETE FROM items WHERE sku = 'r2'",
    /several statements in one string/,
  ],
  ['UPDATE LOW_PRIORITY items SET qty = 7 WHERE id = 1', /not understood by the router's parser/],
];

for (const mode of ['DUAL_SOURCE_FIRST', 'DUAL_TARGET_FIRST'] as const) {
  test(`${mode}: CALL, TRUNCATE, multi-statement and unparsed writes are refused; nothing changes on either side`, async () => {
    await seed();
    await setSwitches(store, ID, { writeMode: mode }, [router, scoped]);
    const before = {
      source: await dump(stack, 'source', 'items'),
      target: await dump(stack, 'target', 'items'),
    };
    for (const r of [router, scoped]) {
      for (const [sql, rule] of UNMIRRORABLE) {
        await assert.rejects(r.query(sql), (err: unknown) => {
          assert.ok(err instanceof UnmirrorableStatementError, `${sql}: ${String(err)}`);
          assert.equal(err.code, 'MIGRATOR_UNMIRRORABLE');
          assert.match(err.message, rule);
          assert.ok(err.message.includes(sql.slice(0, 40)), 'the message names the statement');
          return true;
        });
      }
      // The same inside a transaction: refused before it reaches the connection.
      const conn = await r.getConnection();
      await conn.beginTransaction();
      await assert.rejects(conn.query('CALL bump(1)'), UnmirrorableStatementError);
      await conn.rollback();
      conn.release();
    }
    assert.deepEqual(await dump(stack, 'source', 'items'), before.source, 'source unchanged');
    assert.deepEqual(await dump(stack, 'target', 'items'), before.target, 'target unchanged');
    await router.flush();
    const entries = await new RepairStream(store.redis, ID).read();
    assert.deepEqual(
      entries.filter((e) => e.table === '*'),
      [],
      'no repair entry under a table name the repair loop skips',
    );
    assert.equal(router.stats().refused, (UNMIRRORABLE.length + 1) * (mode === 'DUAL_SOURCE_FIRST' ? 1 : 2));
    // Reads, parsed or not, and statements on tables outside the migration still run.
    const [rows] = await router.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM items');
    assert.equal(Number(rows[0]?.n), 2);
    await scoped.query(
      'INSERT LOW_PRIORITY INTO side_t (id, v) VALUES (1, 1) ON DUPLICATE KEY UPDATE v = v + 1',
    );
  });
}

test('outside the dual modes the same statements run on the authoritative side', async () => {
  await seed();
  await setSwitches(store, ID, { writeMode: 'SOURCE_ONLY' }, [router, scoped]);
  await router.query('CALL bump(10)');
  await router.query('UPDATE LOW_PRIORITY items SET qty = 7 WHERE id = 2');
  const rows = await dump(stack, 'source', 'items');
  assert.deepEqual(
    rows.map((r) => r.qty),
    [11, 7],
  );
  await router.query('TRUNCATE TABLE items');
  assert.equal((await dump(stack, 'source', 'items')).length, 0);
  assert.equal((await dump(stack, 'target', 'items')).length, 2, 'the target untouched in SOURCE_ONLY');
});

test('multi-table UPDATE/DELETE: every migrated table it names gets a table-level repair entry; one run on the source only is refused', async () => {
  await seed();
  for (const side of ['source', 'target'] as const) {
    await adminQuery(stack, side, 'DELETE FROM side_t');
    await adminQuery(stack, side, 'INSERT INTO side_t (id, v) VALUES (1, 1), (2, 2)');
  }
  await setSwitches(store, ID, { writeMode: 'DUAL_SOURCE_FIRST' }, [router, scoped]);
  const stream = new RepairStream(store.redis, ID);
  const last = (await stream.read({ count: 100_000 })).at(-1)?.id;
  // Every table migrated (no table list): the statement changes items through a join led by side_t.
  await router.query('UPDATE side_t s JOIN items i ON i.id = s.id SET i.qty = 50, s.v = 5');
  await router.flush();
  const entries = await stream.read({ after: last, count: 100 });
  assert.deepEqual(
    entries.map((e) => [e.table, e.key, e.side]).sort(),
    [
      ['items', null, 'target'],
      ['side_t', null, 'target'],
    ],
    'a table-level entry for each table the statement may have changed',
  );
  // items migrated, side_t not: the statement would run on the source alone, so it is refused.
  await assert.rejects(
    scoped.query('UPDATE side_t s JOIN items i ON i.id = s.id SET i.qty = 60'),
    (err: unknown) => err instanceof UnmirrorableStatementError && /multi-table UPDATE/.test(err.message),
  );
  assert.deepEqual(
    (await dump(stack, 'source', 'items')).map((r) => r.qty),
    [50, 50],
  );
});
