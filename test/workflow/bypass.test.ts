/**
 * Writers that bypass the router (issue 10 hazard 4): the real workflow with the real router writing,
 * plus a direct mysql2 writer on the source while the write mode is DUAL_SOURCE_FIRST. Status must
 * report exactly the direct writes (table, count, keys; router, CDC and repair writes not counted), the
 * gate must not auto-advance while they are unrepaired (a target row lock holds their repair back),
 * and the repair loop, fed by the watcher through the repair stream, must converge them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import mysql from 'mysql2/promise';
import { APP_USER } from '../../scripts/localstack/index.js';
import { createRouter, type Router } from '../../src/router/index.js';
import type { MigrationStatus } from '../../src/workflows/api.js';
import {
  atGate,
  diffSides,
  startMigration,
  status,
  summary,
  testPlan,
  waitStatus,
  type Env,
  useEnv,
} from './helpers.js';

let env: Env;

useEnv(100, (e) => (env = e));

/** Router writes on rows the direct writer never touches: orders/customers 1..40, new orders from 200,000. */
function routerLoad(router: Router): { ops: number; errors: string[]; stop(): Promise<void> } {
  let running = true;
  const state = { ops: 0, errors: [] as string[], stop: async () => {} };
  let next = 200_000;
  const loop = (async () => {
    while (running) {
      const i = state.ops++;
      try {
        if (i % 3 === 0)
          await router.query('INSERT INTO orders (id, customer_id, amount, note) VALUES (?, ?, ?, ?)', [
            next++,
            1,
            '1.00',
            'router',
          ]);
        else if (i % 3 === 1)
          await router.query('UPDATE orders SET amount = amount + 1 WHERE id = ?', [1 + (i % 40)]);
        else await router.query('UPDATE customers SET name = ? WHERE id = ?', [`r${i}`, 1 + (i % 40)]);
      } catch (err) {
        state.errors.push((err as Error).message);
      }
      await sleep(10);
    }
  })();
  state.stop = async () => {
    running = false;
    await loop;
  };
  return state;
}

const keyText = (keys: unknown[][]) => keys.map((k) => k.map(String).join('/')).sort();

test(
  'writes that bypass the router: reported exactly, hold the gate until repaired, then both sides equal',
  { timeout: 120_000 },
  async () => {
    const plan = testPlan('bypass', {
      gates: {
        default: { autoAdvance: true, soakSeconds: 1, maxLagSeconds: 5, requireNoMismatches: false },
        // Long enough to see the hold (the soak restarts only once the bypass writes are repaired).
        READ_SWITCH: { soakSeconds: 4 },
        FINALIZE: { autoAdvance: false },
      },
      // updated_at windows are far apart: within this test only the watcher's repair-stream entries
      // (read at once by the loop) repair the direct writes.
      repairLoop: { mode: 'updated_at', intervalSeconds: 600 },
    });
    const [srcPool, tgtPool] = [env.stack.source, env.stack.target].map((side) =>
      mysql.createPool({ ...side.clientOptions(APP_USER), connectionLimit: 4 }),
    );
    const router = createRouter({
      migrationId: plan.id,
      source: srcPool,
      target: tgtPool,
      redis: env.stack.redis.clientOptions(),
      routerId: 'bypass-test-router',
      tables: {
        orders: { key: ['id'] },
        customers: { key: ['id'] },
        order_lines: { key: ['order_id', 'line'] },
      },
    });
    let load: ReturnType<typeof routerLoad> | undefined;
    const direct = await mysql.createConnection(env.stack.source.clientOptions(APP_USER));
    const locker = await mysql.createConnection(env.stack.target.clientOptions(APP_USER));
    try {
      const handle = await startMigration(env, plan);
      // A router writes only once it has confirmed the switches (the workflow creates them at PRECHECK).
      for (let i = 0; !router.stats().switchesLoaded; i++) {
        assert.ok(i < 300, 'the router never loaded the switches');
        await sleep(100);
      }
      load = routerLoad(router);
      await atGate(handle, 'READ_SWITCH', undefined, 90_000);

      // Hold back the repair of three of the keys: a target transaction locks their rows.
      await locker.query('START TRANSACTION');
      await locker.query('SELECT id FROM orders WHERE id IN (80, 81, 90) FOR UPDATE');
      // The direct writer: 2 updates, 2 inserts, 1 delete on orders, 1 update on customers.
      await direct.query("UPDATE orders SET note = 'cron' WHERE id IN (80, 81)");
      await direct.query(
        "INSERT INTO orders (id, customer_id, amount, note) VALUES (900001, 1, 5, 'cron'), (900002, 2, 6, 'cron')",
      );
      await direct.query('DELETE FROM orders WHERE id = 90');
      await direct.query("UPDATE customers SET email = 'dba@example.com' WHERE id = 85");

      // Status reports exactly the direct writes.
      const seen = await waitStatus(
        handle,
        (s) => {
          const src = s.bypass.find((r) => r.side === 'source');
          return (src?.tables.reduce((n, t) => n + t.count, 0) ?? 0) >= 6;
        },
        'the direct writes reported in status',
        20_000,
      );
      const src = seen.bypass.find((r) => r.side === 'source');
      assert.ok(src, JSON.stringify(seen.bypass));
      const byTable = new Map(src.tables.map((t) => [t.table, t]));
      assert.deepEqual([...byTable.keys()].sort(), ['customers', 'orders'], JSON.stringify(src.tables));
      assert.equal(byTable.get('orders')?.count, 5);
      assert.deepEqual(
        keyText(byTable.get('orders')?.firstKeys ?? []),
        keyText([[80], [81], [900001], [900002], [90]]),
      );
      assert.equal(byTable.get('customers')?.count, 1);
      assert.deepEqual(keyText(byTable.get('customers')?.firstKeys ?? []), ['85']);
      // Router writes were seen and not counted, on both sides (mirrors and CDC/repair writes on the target).
      assert.ok(src.changes.router > 0, JSON.stringify(src.changes));
      assert.equal(src.changes.foreign, 6);
      const tgt = seen.bypass.find((r) => r.side === 'target');
      assert.ok(tgt && tgt.changes.router > 0, JSON.stringify(seen.bypass));
      assert.deepEqual(tgt.tables, [], 'no foreign writes on the target');

      // Temporal UI shows them in the workflow's current details (the built-in metadata query).
      const meta = await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
      assert.match(meta.currentDetails ?? '', /Bypass writes \(source\) orders: 5 row change\(s\)/);
      assert.match(meta.currentDetails ?? '', /Bypass writes \(source\) customers: 1 row change\(s\)/);

      // The gate holds while the three locked keys are unrepaired: longer than the soak, blocker listed.
      const holdUntil = Date.now() + 8500;
      let blocked: MigrationStatus | undefined;
      while (Date.now() < holdUntil) {
        const s = await status(handle);
        assert.equal(
          s.gate?.next,
          'READ_SWITCH',
          `advanced while bypass writes were unrepaired: ${JSON.stringify(summary(s))}`,
        );
        if (s.gate.blockers.some((b) => /bypassed the router/.test(b))) blocked = s;
        await sleep(300);
      }
      assert.ok(blocked, 'the bypass writes were listed as a gate blocker');
      const ordersLeft = blocked.bypass
        .find((r) => r.side === 'source')
        ?.tables.find((t) => t.table === 'orders');
      // (at least the three locked keys; others handed in the same repair batch wait with them)
      assert.ok((ordersLeft?.unrepaired ?? 0) >= 3, JSON.stringify(blocked.bypass));
      assert.match(
        blocked.gate?.blockers.join('\n') ?? '',
        /\d+ write\(s\) to orders that bypassed the router \(source binlog\)/,
      );

      // Release: the repair loop converges them, the gate advances.
      await locker.query('ROLLBACK');
      await waitStatus(handle, (s) => s.phase === 'READ_SWITCH', 'auto-advance after the repair', 30_000);
      const after = await status(handle);
      // The repair writes on the target are the product's: recognised, not foreign.
      assert.ok(
        (after.bypass.find((r) => r.side === 'target')?.changes.product ?? 0) > 0,
        JSON.stringify(after.bypass),
      );
      assert.deepEqual(after.bypass.find((r) => r.side === 'target')?.tables, []);
      assert.ok(
        after.bypass.every((r) => r.tables.every((t) => t.unrepaired === 0)),
        JSON.stringify(after.bypass),
      );
      assert.ok(
        after.repair.repaired.different + after.repair.repaired.missing + after.repair.repaired.extra >= 5,
        JSON.stringify(after.repair),
      );
      await load.stop();
      await router.flush();
      assert.deepEqual(load.errors, []);
      assert.ok(load.ops > 100, `router writes: ${load.ops}`);
      assert.deepEqual(await diffSides(env.stack, ['orders', 'customers']), []);
      await handle.terminate('test done');
    } finally {
      await load?.stop();
      await locker.end().catch(() => undefined);
      await direct.end().catch(() => undefined);
      await router.end();
    }
  },
);
