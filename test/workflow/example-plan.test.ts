/**
 * examples/plan.yaml, run end to end (issue 11 "the example plan runs"; issue 10 hazard 8): the real
 * workflow on the embedded Temporal server migrates the three tables of the documented plan (a renamed
 * table, a renamed column) while two real routers, configured from the same plan with routerTables(),
 * write and read through every phase up to TARGET_ONLY and FINALIZE. Only timings are overridden (soak,
 * poll and loop intervals): tables, mapping, phases, read steps, copy and loop modes are the file's.
 * With the writes paused in DUAL_WRITE_TARGET_FIRST, and again at the end, both sides hold the same rows
 * through the mapping (every column), and the routers needed no repair (no repair entry, no failure).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import mysql, { type ResultSetHeader, type RowDataPacket } from 'mysql2/promise';
import { parsePlan, parsePlanDocument } from '../../src/config/index.js';
import { createRouter, routerTables, type Router } from '../../src/router/index.js';
import { RepairStream, SwitchStore } from '../../src/switches/index.js';
import type { MigrationPlan, MigrationStatus } from '../../src/workflows/api.js';
import {
  atGate,
  signal,
  startEnv,
  startMigration,
  status,
  summary,
  waitStatus,
  type Env,
} from './helpers.js';

const PLAN_FILE = new URL('../../examples/plan.yaml', import.meta.url);

let env: Env;

before(async () => {
  env = await startEnv();
  const conn = await mysql.createConnection({
    ...env.stack.source.clientOptions(),
    multipleStatements: true,
  });
  try {
    await conn.query(`
      CREATE TABLE customers (id INT AUTO_INCREMENT PRIMARY KEY, fullname VARCHAR(80) NOT NULL, email VARCHAR(100) NULL,
        created_at DATETIME(6) NOT NULL DEFAULT NOW(6));
      CREATE TABLE orders (id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, customer_id INT NOT NULL, amount DECIMAL(12,2) NOT NULL,
        status VARCHAR(20) NOT NULL DEFAULT 'new',
        updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6));
      CREATE TABLE order_items (id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, order_id BIGINT UNSIGNED NOT NULL,
        sku VARCHAR(20) NOT NULL, qty INT NOT NULL, KEY (order_id));
    `);
    for (let i = 1; i <= 200; i++) {
      await conn.query('INSERT INTO customers (fullname, email) VALUES (?, ?)', [`customer ${i}`, `c${i}@x`]);
      await conn.query('INSERT INTO orders (customer_id, amount) VALUES (?, ?), (?, ?)', [
        i,
        i * 1.5,
        i,
        i * 2.25,
      ]);
      await conn.query('INSERT INTO order_items (order_id, sku, qty) VALUES (?, ?, 1), (?, ?, 2)', [
        2 * i,
        `sku-${i}`,
        2 * i - 1,
        `sku-${i}b`,
      ]);
    }
  } finally {
    await conn.end();
  }
});

after(async () => {
  await env?.stop();
});

/** The example plan, with test timings only. */
function examplePlan(): MigrationPlan {
  const raw = parsePlanDocument(readFileSync(PLAN_FILE, 'utf8'), 'examples/plan.yaml') as Record<
    string,
    unknown
  >;
  const gates = raw.gates as Record<string, Record<string, unknown>>;
  for (const g of Object.values(gates)) g.soakSeconds = 1;
  Object.assign(raw, {
    verification: { ...(raw.verification as object), intervalSeconds: 5 },
    repairLoop: { ...(raw.repairLoop as object), intervalSeconds: 2 },
    temporal: { ...(raw.temporal as object), heartbeatTimeoutSeconds: 5, gatePollSeconds: 1 },
    cdc: { ...(raw.cdc as object), routerAckTimeoutSeconds: 5 },
  });
  return parsePlan(raw, 'examples/plan.yaml');
}

interface App {
  routers: Router[];
  errors: string[];
  ops: number;
  pause(): Promise<void>;
  resume(): void;
  stop(): Promise<void>;
}

/** Two application processes' worth of routers, writing and reading the plan's tables in source SQL. */
function startApp(plan: MigrationPlan): App {
  const routers = [0, 1].map((i) =>
    createRouter({
      migrationId: plan.id,
      routerId: `example-app-${i}`,
      source: mysql.createPool({ uri: env.stack.source.url('app'), connectionLimit: 4 }),
      target: mysql.createPool({ uri: env.stack.target.url('app'), connectionLimit: 4 }),
      redis: env.stack.redis.url,
      tables: routerTables(plan),
      heartbeatMs: 200,
    }),
  );
  let running = true;
  let paused = false;
  let inFlight = 0;
  const app: App = {
    routers,
    errors: [],
    ops: 0,
    pause: async () => {},
    resume: () => {},
    stop: async () => {},
  };
  const loops = routers.map(async (db, n) => {
    // Writes wait for the router to have confirmed the migration's switches (its lease).
    while (running && !db.stats().switchesLoaded) await sleep(20);
    for (let i = 0; running; i++) {
      if (paused) {
        await sleep(20);
        continue;
      }
      inFlight++;
      try {
        const [c] = await db.query<ResultSetHeader>('INSERT INTO customers (fullname, email) VALUES (?, ?)', [
          `app${n} ${i}`,
          `a${n}-${i}@x`,
        ]);
        const [o] = await db.query<ResultSetHeader>(
          'INSERT INTO orders (customer_id, amount) VALUES (?, ?)',
          [c.insertId, (i % 90) + 0.5],
        );
        await db.query('INSERT INTO order_items (order_id, sku, qty) VALUES (?, ?, ?), (?, ?, ?)', [
          o.insertId,
          `s${i}`,
          1,
          o.insertId,
          `t${i}`,
          2,
        ]);
        const hot = 1 + ((i * 7 + n * 13) % 200);
        await db.query('UPDATE customers SET fullname = CONCAT(?, fullname) WHERE id = ?', ['*', hot]);
        await db.query("UPDATE orders SET amount = amount + 1, status = 'paid' WHERE customer_id = ?", [hot]);
        await db.query('DELETE FROM order_items WHERE order_id = ? AND sku LIKE ?', [2 * hot, 't%']);
        if (i % 5 === 0) await db.query('DELETE FROM customers WHERE id = ?', [c.insertId]);
        const conn = await db.getConnection();
        try {
          await conn.beginTransaction();
          await conn.query('UPDATE order_items SET qty = qty + 1 WHERE order_id = ?', [o.insertId]);
          await conn.query("UPDATE customers SET email = CONCAT('tx-', ?) WHERE id = ?", [i, hot]);
          await conn.commit();
        } finally {
          conn.release();
        }
        // Reads: routed by the read switch, rewritten on the target, shadowed when the plan says so.
        const [rows] = await db.query<RowDataPacket[]>(
          'SELECT c.fullname, COUNT(*) AS n, SUM(o.amount) AS total FROM customers c JOIN orders o ON o.customer_id = c.id WHERE c.id = ? GROUP BY c.fullname',
          [hot],
        );
        if (rows.length > 0 && typeof rows[0].fullname !== 'string')
          app.errors.push('fullname missing in a read');
        const [items] = await db.query<RowDataPacket[]>('SELECT * FROM order_items WHERE order_id = ?', [
          o.insertId,
        ]);
        if (items.length !== 2 || !('sku' in items[0]))
          app.errors.push(`order_items read: ${JSON.stringify(items)}`);
        app.ops++;
      } catch (err) {
        app.errors.push((err as Error).message);
      } finally {
        inFlight--;
      }
      await sleep(10);
    }
  });
  app.pause = async () => {
    paused = true;
    while (inFlight > 0) await sleep(10);
    await Promise.all(routers.map((r) => r.flush()));
  };
  app.resume = () => {
    paused = false;
  };
  app.stop = async () => {
    running = false;
    await Promise.all(loops);
    await Promise.all(routers.map((r) => r.end()));
  };
  return app;
}

/** Every row of both sides through the plan's mapping, all columns. */
async function mappedDiffs(plan: MigrationPlan): Promise<string[]> {
  const out: string[] = [];
  const src = await mysql.createConnection({ ...env.stack.source.clientOptions(), dateStrings: true });
  const tgt = await mysql.createConnection({ ...env.stack.target.clientOptions(), dateStrings: true });
  try {
    for (const t of plan.tables) {
      const [a] = await src.query<RowDataPacket[]>(`SELECT * FROM \`${t.name}\` ORDER BY id`);
      const [b] = await tgt.query<RowDataPacket[]>(`SELECT * FROM \`${t.targetName ?? t.name}\` ORDER BY id`);
      const rename = (r: RowDataPacket) =>
        JSON.stringify(Object.fromEntries(Object.entries(r).map(([k, v]) => [t.columnMap?.[k] ?? k, v])));
      const left = new Map(a.map((r) => [String(r.id), rename(r)]));
      const right = new Map(b.map((r) => [String(r.id), JSON.stringify(r)]));
      for (const [k, v] of left)
        if (right.get(k) !== v) out.push(`${t.name} ${k}: source ${v} target ${right.get(k)}`);
      for (const k of right.keys()) if (!left.has(k)) out.push(`${t.name} ${k}: extra on the target`);
      if (a.length === 0) out.push(`${t.name}: no rows`);
    }
  } finally {
    await src.end();
    await tgt.end();
  }
  return out;
}

async function assertNoRouterRepairs(app: App, plan: MigrationPlan, when: string): Promise<void> {
  const entries = await new RepairStream(app.routers[0].follower.redis, plan.id).read();
  assert.deepEqual(entries.slice(0, 5), [], `${when}: repair entries`);
  for (const r of app.routers) {
    const s = r.stats();
    assert.deepEqual(
      [s.dualWriteFailures, s.tableLevelRepairs, s.refused, s.unmappedReads],
      [0, 0, 0, 0],
      `${when}: ${r.routerId} failures / table-level repairs / refused / unmapped reads`,
    );
  }
}

test(
  'examples/plan.yaml migrates to TARGET_ONLY and FINALIZE with two real routers writing through the mapping',
  { timeout: 240_000 },
  async () => {
    const plan = examplePlan();
    assert.deepEqual(
      plan.tables.map((t) => [t.name, t.targetName ?? t.name, t.columnMap ?? {}]),
      [
        ['orders', 'orders', {}],
        ['customers', 'customers', { fullname: 'full_name' }],
        ['order_items', 'order_lines', {}],
      ],
      'the example plan maps what this test expects',
    );
    const handle = await startMigration(env, plan);
    // The application starts once the workflow has created the migration's switches (PRECHECK).
    const store = new SwitchStore(env.stack.redis.url);
    try {
      for (let i = 0; !(await store.get(plan.id)); i++) {
        if (i > 600) throw new Error('switches never created');
        await sleep(50);
      }
    } finally {
      await store.close();
    }
    const app = startApp(plan);
    let s: MigrationStatus;
    try {
      // DUAL_WRITE_SOURCE_FIRST and every READ_SWITCH step advance by themselves (the file's gates).
      s = await atGate(handle, 'DUAL_WRITE_TARGET_FIRST', undefined, 150_000);
      assert.equal(s.switches.readPercent, 100, JSON.stringify(summary(s)));
      assert.deepEqual(app.errors.slice(0, 3), [], 'application errors through READ_SWITCH');
      assert.ok(
        app.routers.every((r) => r.stats().reads.target > 0),
        'reads answered by the target',
      );
      await signal(handle, 'advance', { by: 'test' });
      s = await atGate(handle, 'TARGET_ONLY');
      assert.equal(s.switches.writeMode, 'DUAL_TARGET_FIRST');
      // The repair loop ran meanwhile (it is not turned off): it had nothing to repair.
      assert.deepEqual(s.repair.repaired, { missing: 0, extra: 0, different: 0 }, JSON.stringify(s.repair));
      // Writes paused (none in flight, mirrors done): the sides are equal now, without repair.
      await app.pause();
      assert.deepEqual((await mappedDiffs(plan)).slice(0, 5), [], 'equal in DUAL_WRITE_TARGET_FIRST');
      await assertNoRouterRepairs(app, plan, 'DUAL_WRITE_TARGET_FIRST');
      app.resume();
      await signal(handle, 'advance', { by: 'test' });
      s = await atGate(handle, 'FINALIZE');
      assert.equal(s.switches.writeMode, 'TARGET_ONLY');
      await sleep(1000); // writes in TARGET_ONLY (target only; reverse sync follows on the source)
      await app.pause();
    } finally {
      await app.stop();
    }
    assert.deepEqual(app.errors.slice(0, 5), [], 'application errors');
    assert.ok(app.ops > 20, `application rounds: ${app.ops}`);
    await signal(handle, 'finalize', { confirm: true, by: 'test' });
    const final = (await handle.result()) as MigrationStatus;
    assert.equal(final.state, 'COMPLETED', JSON.stringify(summary(final)));
    assert.deepEqual((await mappedDiffs(plan)).slice(0, 5), [], 'equal at the end');
    await waitStatus(handle, (x) => x.phase === 'DONE', 'done', 5000).catch(() => status(handle));
  },
);
