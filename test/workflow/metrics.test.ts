/**
 * Prometheus metrics scraped over HTTP from the worker during a real migration (rows copied per table
 * while the copy runs, the current phase, CDC lag and applied transactions, verification mismatches)
 * and from a router (reads per side, switch version).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import mysql from 'mysql2/promise';
import { Registry } from 'prom-client';
import { APP_DATABASE, APP_USER } from '../../scripts/localstack/index.js';
import { createRouter, routerMetrics } from '../../src/router/index.js';
import { atGate, createSchema, startEnv, startMigration, testPlan, waitStatus, type Env } from './helpers.js';

let env: Env;
let port = 0;

before(async () => {
  env = await startEnv({ worker: false });
  await createSchema(env.stack, 300);
  const w = await env.startWorker({ metricsPort: 0 });
  assert.ok(w.metrics, 'the worker serves metrics');
  port = w.metrics.port;
});

after(async () => {
  await env?.stop();
});

/** Samples of one metric: label set (as text) -> value. */
function samples(text: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`).exec(line);
    if (m) out.set(m[1] ?? '', Number(m[2]));
  }
  return out;
}

async function scrape(): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(res.status, 200);
  return res.text();
}

test(
  'the worker metrics follow a migration: copy per table, phase, CDC, verification',
  { timeout: 170_000 },
  async () => {
    const plan = testPlan('metrics');
    plan.tables = plan.tables.map((t) =>
      t.name === 'orders' ? { ...t, chunkSize: 20, maxRowsPerSecond: 100 } : t,
    );
    const handle = await startMigration(env, plan);
    await waitStatus(handle, (s) => s.phase === 'BULK_COPY', 'bulk copy', 60_000);

    // During the copy: orders has rows copied but not all of them, and the phase gauge says BULK_COPY.
    let during = '';
    for (let i = 0; ; i++) {
      during = await scrape();
      const orders = samples(during, 'migrator_rows_copied_total').get('{table="orders"}') ?? 0;
      const phase = samples(during, 'migrator_phase').get(
        '{workflow_id="migration-metrics",phase="BULK_COPY"}',
      );
      if (orders > 0 && orders < 300 && phase === 1) break;
      assert.ok(
        i < 100,
        `no mid-copy scrape: ${during
          .split('\n')
          .filter((l) => l.startsWith('migrator_'))
          .join(' | ')}`,
      );
      await sleep(100);
    }

    await atGate(handle, 'DUAL_WRITE_SOURCE_FIRST', undefined, 120_000);
    const root = await env.stack.source.rootConnection(APP_DATABASE);
    await root.query(
      "INSERT INTO orders (id, customer_id, amount, note) VALUES (700001, 1, '1.00', 'metrics')",
    );
    await root.end();
    for (let i = 0; ; i++) {
      const text = await scrape();
      const copied = samples(text, 'migrator_rows_copied_total');
      // The forward stream's name carries its epoch (metrics-forward-<run>.<n>).
      const forward = (m: Map<string, number>) =>
        [...m].find(([labels]) => labels.startsWith('{stream="metrics-forward'))?.[1];
      const applied = forward(samples(text, 'migrator_cdc_transactions_applied_total')) ?? 0;
      const lag = forward(samples(text, 'migrator_cdc_lag_seconds'));
      const mismatches = samples(text, 'migrator_verification_mismatches');
      const phase = samples(text, 'migrator_phase');
      if (applied >= 1 && lag !== undefined) {
        assert.deepEqual(
          [
            copied.get('{table="customers"}'),
            copied.get('{table="orders"}'),
            copied.get('{table="order_lines"}'),
          ],
          [300, 300, 600],
        );
        assert.equal(mismatches.get('{table="orders",kind="missing"}'), 0);
        assert.equal(mismatches.get('{table="customers",kind="different"}'), 0);
        assert.ok(lag >= 0);
        assert.equal(phase.get('{workflow_id="migration-metrics",phase="CATCH_UP_VERIFY"}'), 1, text);
        break;
      }
      assert.ok(i < 100, `CDC metrics missing: applied ${applied}, lag ${lag}`);
      await sleep(200);
    }
  },
);

test('router metrics: reads per side and the switch version', async () => {
  const [source, target] = [env.stack.source, env.stack.target].map((side) =>
    mysql.createPool({ ...side.clientOptions(APP_USER), connectionLimit: 2 }),
  );
  const router = createRouter({
    migrationId: 'metrics',
    source,
    target,
    redis: env.stack.redis.clientOptions(),
    routerId: 'metrics-test',
  });
  try {
    const registry = routerMetrics(router, new Registry(), { migration: 'metrics' });
    for (let i = 0; i < 3; i++) await router.query('SELECT * FROM customers WHERE id = ?', [i + 1]);
    for (let i = 0; ; i++) {
      const text = await registry.metrics();
      const reads = samples(text, 'migrator_router_reads_total');
      const version = samples(text, 'migrator_router_switch_version').get('{migration="metrics"}') ?? 0;
      if (version >= 1) {
        assert.equal(reads.get('{migration="metrics",side="source"}'), 3);
        assert.equal(reads.get('{migration="metrics",side="target"}'), 0);
        break;
      }
      assert.ok(i < 50, `the router never loaded the switches: ${text}`);
      await sleep(100);
    }
  } finally {
    await router.end();
  }
});
