/**
 * A dual write's mirror is applied on the other side in a transaction left open, and that transaction
 * commits together with the authoritative one (src/router/apply.ts `openOps`, `commitTogether`): on
 * servers that flush at every commit the two flushes overlap instead of following each other. What must
 * hold, with the mirror's COMMIT held back at the other side's pool:
 *  - the authoritative side commits meanwhile (the two COMMITs are in flight together);
 *  - a second writer of the row, free on the authoritative side once the first committed there, waits
 *    on the other side for the first mirror's commit: the other side ends with the second write (the
 *    order between writers now rests on the other side's row lock too);
 *  - a repair of the row meanwhile neither rewrites it nor counts it as repaired (it reads the other
 *    side LOCK IN SHARE MODE, src/activities/repair/repairKeys.ts).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type mysql from 'mysql2/promise';
import type { ResultSetHeader } from 'mysql2/promise';
import type { Stack } from '../../scripts/localstack/index.js';
import { closePools } from '../../src/activities/db/connections.js';
import { repairKeys } from '../../src/activities/repair/repairKeys.js';
import { encodeKey } from '../../src/activities/schema/keycodec.js';
import { loadPair, sides } from '../../src/activities/verify/pair.js';
import { SwitchStore } from '../../src/switches/index.js';
import { createRouter, type Router } from '../../src/router/index.js';
import { adminQuery, ITEMS_DDL, pools, setSwitches, startRouterEnv } from './helpers.js';
import { recordingPool } from '../support/recording-pool.js';

const ID = 'commit-together';
let stack: Stack;
let store: SwitchStore;
let router: Router;
let stop: () => Promise<void> = async () => {};

/** Holds the next COMMIT sent through a pool until opened; `reached` resolves once it is held. */
class CommitGate {
  private armed?: { reached: () => void; open: Promise<void> };
  reached!: Promise<void>;
  open!: () => void;

  arm(): void {
    let reached!: () => void;
    let open!: () => void;
    this.reached = new Promise((r) => (reached = r));
    const opened = new Promise<void>((r) => (open = r));
    this.open = open;
    this.armed = { reached, open: opened };
  }

  /** The pool with every COMMIT (through the pool or its connections) passing this gate. */
  pool(pool: mysql.Pool): mysql.Pool {
    return recordingPool(pool, (sql) => {
      const held = this.armed;
      if (!held || !/COMMIT$/.test(sql)) return;
      this.armed = undefined;
      held.reached();
      return held.open;
    });
  }
}

const gate = new CommitGate();
let gated: Router;

before(async () => {
  ({ stack, store, router, stop } = await startRouterEnv(ID, [ITEMS_DDL]));
  Object.assign(process.env, stack.env); // the repair's named connections
  const p = pools(stack);
  gated = createRouter({
    migrationId: ID,
    source: p.source,
    target: gate.pool(p.target),
    redis: stack.redis.url,
    tables: { items: {} },
  });
  await setSwitches(store, ID, { writeMode: 'DUAL_SOURCE_FIRST' }, [gated, router]);
});
after(async () => {
  await gated?.end();
  await closePools();
  await stop();
});

async function qty(side: 'source' | 'target', id: number): Promise<number | undefined> {
  const rows = (await adminQuery(stack, side, `SELECT qty FROM items WHERE id = ${id}`)) as { qty: number }[];
  return rows[0]?.qty;
}

async function newRow(sku: string): Promise<number> {
  const [h] = await gated.query('INSERT INTO items (sku, qty) VALUES (?, 0)', [sku]);
  return (h as ResultSetHeader).insertId;
}

/** Whether a promise is still pending after `ms`. */
async function pendingAfter(p: Promise<unknown>, ms: number): Promise<boolean> {
  const pending = Symbol('pending');
  const first = await Promise.race([p, new Promise((r) => setTimeout(() => r(pending), ms))]);
  return first === pending;
}

test('a second writer of the row waits on the other side for the first mirror, committed together with the authoritative COMMIT', async () => {
  const id = await newRow('order');
  gate.arm();
  const first = gated.query('UPDATE items SET qty = 1 WHERE id = ?', [id]);
  await gate.reached;
  // The mirror's COMMIT is held: the authoritative side committed meanwhile, the other has not.
  assert.equal(await qty('source', id), 1, 'the authoritative COMMIT waited for the mirror');
  assert.equal(await qty('target', id), 0);
  const second = gated.query('UPDATE items SET qty = 2 WHERE id = ?', [id]);
  assert.ok(await pendingAfter(second, 500), 'the second write did not wait for the first mirror');
  assert.ok(await pendingAfter(first, 0));
  gate.open();
  await Promise.all([first, second]);
  assert.equal(await qty('source', id), 2);
  assert.equal(await qty('target', id), 2, 'the first mirror landed after the second');
});

test('a repair of a row whose mirror is not committed yet neither rewrites it nor counts it', async () => {
  const id = await newRow('repair');
  const pair = await loadPair({ source: 'source', target: 'target' }, { name: 'items' });
  const { auth, other } = sides(pair, 'source');
  gate.arm();
  const write = gated.query('UPDATE items SET qty = 1 WHERE id = ?', [id]);
  await gate.reached;
  assert.equal(await qty('target', id), 0);
  const repaired = repairKeys(auth, other, [{ kind: 'different', key: encodeKey([id]) }]);
  assert.ok(await pendingAfter(repaired, 500), 'the repair did not wait for the open mirror');
  gate.open();
  await write;
  assert.deepEqual(await repaired, { missing: 0, extra: 0, different: 0 });
  assert.equal(await qty('target', id), 1);
});
