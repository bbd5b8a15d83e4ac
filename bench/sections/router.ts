// Router figures: switch-change propagation to 8 router instances (p50/p99), the write stall of a
// fenced write-mode change with 8 writing routers, and the per-query cost of the wrapper in each write
// mode next to a bare mysql2 pool measured in the same run.
import { performance } from 'node:perf_hooks';
import { recordingPool } from '../../test/support/recording-pool.js';
import { recordTarget, type TargetReading } from '../lib/targets.js';
import { commitOrder, type RecordedDualWrite } from '../lib/commit-order.js';
import mysql from 'mysql2/promise';
import { startStack, type Stack } from '../../scripts/localstack/index.js';
import { SwitchStore, fencedChange, type WriteMode } from '../../src/switches/index.js';
import { isDual } from '../../src/shared/switches.js';
import { createRouter, type Router } from '../../src/router/index.js';

const ROUTERS = 8;
const DURABLE_ID = 'bench-durable';
const CHANGES = 200;
const OPS = 1200;
const ROUNDS = 4;

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function pool(stack: Stack, side: 'source' | 'target'): mysql.Pool {
  return mysql.createPool({ uri: stack[side].url('app'), connectionLimit: 4 });
}

async function waitUntil(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timeout');
    await new Promise((r) => setImmediate(r));
  }
}

async function propagation(stack: Stack, store: SwitchStore): Promise<void> {
  const id = 'bench-propagation';
  await store.initialise(id);
  const seenAt = new Map<number, number[]>();
  const routers: Router[] = [];
  for (let i = 0; i < ROUTERS; i++) {
    routers.push(
      createRouter({
        migrationId: id,
        routerId: `bench-${i}`,
        source: pool(stack, 'source'),
        target: pool(stack, 'target'),
        redis: stack.redis.url,
        onEvent: (e) => {
          if (e.type === 'switches')
            seenAt.set(e.switches.version, [...(seenAt.get(e.switches.version) ?? []), performance.now()]);
        },
      }),
    );
  }
  await waitUntil(() => routers.every((r) => r.stats().switchesLoaded));
  const applied: number[] = [];
  const acked: number[] = [];
  for (let i = 0; i < CHANGES; i++) {
    const t0 = performance.now();
    const s = await store.set(id, { readPercent: (i % 100) + 1 }, 'bench');
    await waitUntil(() => (seenAt.get(s.version)?.length ?? 0) === ROUTERS);
    for (const t of seenAt.get(s.version) ?? []) applied.push(t - t0);
    const acks = await store.waitForRouterAcks({
      migrationId: id,
      version: s.version,
      timeoutMs: 5000,
      pollMs: 1,
    });
    if (!acks.allAcked) throw new Error('acks timed out');
    acked.push(performance.now() - t0);
  }
  applied.sort((a, b) => a - b);
  acked.sort((a, b) => a - b);
  console.log(
    `switch change -> applied by each of ${ROUTERS} routers (${applied.length} samples): p50 ${pct(applied, 50).toFixed(2)} ms, p99 ${pct(applied, 99).toFixed(2)} ms`,
  );
  console.log(
    `switch change -> all ${ROUTERS} routers acked (waitForRouterAcks, 1 ms poll): p50 ${pct(acked, 50).toFixed(2)} ms, p99 ${pct(acked, 99).toFixed(2)} ms`,
  );
  await Promise.all(routers.map((r) => r.end()));
}

const FLIPS = 20;

/**
 * Fenced authority flips (DUAL_SOURCE_FIRST <-> DUAL_TARGET_FIRST) while 8 routers each run a writer:
 * the hold each fence took (p50/p99/max) and the longest single write seen by the application, next
 * to the writes' p99 without flips.
 */
async function fenceStall(stack: Stack, store: SwitchStore): Promise<void> {
  const id = 'bench-fence';
  for (const side of [stack.source, stack.target]) {
    const admin = await side.rootConnection('app');
    await admin.query('CREATE TABLE fence_t (id INT PRIMARY KEY, n INT NOT NULL)');
    await admin.query('INSERT INTO fence_t SELECT seq, 0 FROM seq_1_to_800');
    await admin.end();
  }
  await store.set(id, { writeMode: 'DUAL_SOURCE_FIRST' }, 'bench');
  const routers: Router[] = [];
  for (let i = 0; i < ROUTERS; i++) {
    routers.push(
      createRouter({
        migrationId: id,
        routerId: `fence-${i}`,
        source: pool(stack, 'source'),
        target: pool(stack, 'target'),
        redis: stack.redis.url,
        tables: { fence_t: { key: ['id'] } },
        heartbeatMs: 200,
      }),
    );
  }
  await waitUntil(() => routers.every((r) => r.stats().switchesLoaded));
  let flipping = false;
  let running = true;
  const quiet: number[] = [];
  const during: number[] = [];
  const writers = routers.map(async (r, i) => {
    for (let k = 0; running; k++) {
      const t0 = performance.now();
      const wasFlipping = flipping;
      await r.query('UPDATE fence_t SET n = n + 1 WHERE id = ?', [1 + ((i * 100 + k) % 800)]);
      (wasFlipping || flipping ? during : quiet).push(performance.now() - t0);
    }
  });
  // Writes of the first 3 s (no flip yet) are the baseline.
  await new Promise((res) => setTimeout(res, 3000));
  const held: number[] = [];
  let mode: WriteMode = 'DUAL_SOURCE_FIRST';
  for (let i = 0; i < FLIPS; i++) {
    mode = mode === 'DUAL_SOURCE_FIRST' ? 'DUAL_TARGET_FIRST' : 'DUAL_SOURCE_FIRST';
    flipping = true;
    const f = await fencedChange(store, {
      migrationId: id,
      change: { writeMode: mode },
      by: 'bench',
      holdTimeoutMs: 5000,
      expectedRouters: ROUTERS,
    });
    flipping = false;
    if (f.calledOff) throw new Error(`fence called off: ${f.calledOff}`);
    held.push(f.heldMs);
    await new Promise((res) => setTimeout(res, 200));
  }
  running = false;
  await Promise.all(writers);
  held.sort((a, b) => a - b);
  quiet.sort((a, b) => a - b);
  during.sort((a, b) => a - b);
  console.log(
    `fenced write-mode change with ${ROUTERS} writing routers (${FLIPS} flips): write hold p50 ${pct(held, 50)} ms, p99 ${pct(held, 99)} ms, max ${held[held.length - 1]} ms; ` +
      `longest write during a flip ${fmt(during[during.length - 1])} ms (p99 ${fmt(pct(during, 99))} ms) vs p99 ${fmt(pct(quiet, 99))} ms without flips (${quiet.length} writes)`,
  );
  await Promise.all(routers.map((r) => r.end()));
}

const fmt = (v: number | undefined) => (v === undefined ? '-' : v.toFixed(1));

type Runner = { query(sql: string, values?: unknown[]): Promise<unknown> };

/** Wall time and this process's CPU time per op (CPU includes the kernel's loopback socket work). */
async function timeOps(
  runner: Runner,
  kind: 'select' | 'insert' | 'update' | 'ping',
  tag: string,
  ops = OPS,
): Promise<{ us: number; cpuUs: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < ops; i++) {
    if (kind === 'select') await runner.query('SELECT id, sku, qty FROM items WHERE id = ?', [1 + (i % 100)]);
    else if (kind === 'ping') await runner.query('SELECT 1');
    else if (kind === 'insert')
      await runner.query('INSERT INTO items (sku, qty) VALUES (?, ?)', [`${tag}-${i}`, i]);
    else await runner.query('UPDATE items SET qty = qty + 1 WHERE id = ?', [1 + (i % 100)]);
  }
  const c = process.cpuUsage(c0);
  return { us: ((performance.now() - t0) / ops) * 1000, cpuUs: (c.user + c.system) / ops };
}

/** A pool whose statements (pool and connection calls) are logged with their side. */
function counting(p: mysql.Pool, side: 'source' | 'target', log: [string, string][]): mysql.Pool {
  return recordingPool(p, (sql) => {
    log.push([side, sql]);
  });
}

/**
 * Statements (= round trips) each side receives for one dual write, counted at the pools; returns the
 * texts of one dual UPDATE by PK as the router sent them (the router formats its batch and mirror
 * itself), for commitOrder to replay without the router.
 */
async function roundTrips(stack: Stack, store: SwitchStore, id: string): Promise<RecordedDualWrite> {
  const log: [string, string][] = [];
  const router = createRouter({
    migrationId: id,
    routerId: 'bench-round-trips',
    source: counting(pool(stack, 'source'), 'source', log),
    target: counting(pool(stack, 'target'), 'target', log),
    redis: stack.redis.url,
  });
  const s = await store.set(id, { writeMode: 'DUAL_SOURCE_FIRST', readPercent: 0 }, 'bench');
  await waitUntil(() => router.switches.version === s.version);
  await router.query('INSERT INTO items (sku, qty) VALUES (?, ?)', ['rt-warm', 0]); // metadata, once
  await router.query('UPDATE items SET qty = qty + 1 WHERE id = ?', [1]);
  const count = async (sql: string, values: unknown[]) => {
    log.length = 0;
    await router.query(sql, values);
    const on = (side: string) => log.filter(([x]) => x === side).map(([, text]) => text);
    return { on, shown: `${on('source').length} on the source + ${on('target').length} on the target` };
  };
  const ins = await count('INSERT INTO items (sku, qty) VALUES (?, ?)', ['rt-1', 1]);
  const upd = await count('UPDATE items SET qty = qty + 1 WHERE id = ?', [1]);
  console.log(
    `round trips per dual write (DUAL_SOURCE_FIRST, counted at the pools): INSERT 1 row ${ins.shown}, UPDATE by PK ${upd.shown} (a bare write: 1)`,
  );
  await router.end();
  return { source: upd.on('source'), target: upd.on('target') };
}

const ALL_MODES: [WriteMode, number][] = [
  ['SOURCE_ONLY', 0],
  ['DUAL_SOURCE_FIRST', 0],
  ['DUAL_SOURCE_FIRST', 50],
  ['DUAL_TARGET_FIRST', 100],
  ['TARGET_ONLY', 100],
];

async function overhead(
  stack: Stack,
  store: SwitchStore,
  { modes = ALL_MODES, ops = OPS, id = 'bench-overhead' } = {},
): Promise<void> {
  for (const side of [stack.source, stack.target]) {
    const admin = await side.rootConnection('app');
    await admin.query(
      'CREATE TABLE items (id BIGINT AUTO_INCREMENT PRIMARY KEY, sku VARCHAR(40) NOT NULL UNIQUE, qty INT NOT NULL)',
    );
    await admin.query("INSERT INTO items (sku, qty) SELECT CONCAT('seed-', seq), seq FROM seq_1_to_100");
    await admin.end();
  }
  await store.initialise(id);
  const bare = pool(stack, 'source');
  const router = createRouter({
    migrationId: id,
    source: pool(stack, 'source'),
    target: pool(stack, 'target'),
    redis: stack.redis.url,
  });
  // The same router without the one-round-trip batch (5 round trips per dual write, as before it),
  // measured in the same rounds: the batch's effect under the same load.
  const unbatched = createRouter({
    migrationId: id,
    routerId: 'bench-unbatched',
    source: pool(stack, 'source'),
    target: pool(stack, 'target'),
    redis: stack.redis.url,
    batchDualWrites: false,
  });
  const kinds = ['select', 'insert', 'update'] as const;
  const widths = [46, 26, 26, 26];
  const line = (cells: string[]) => console.log(cells.map((c, i) => c.padEnd(widths[i])).join(' '));
  console.log(
    `per-query latency, sequential; bare pool and router measured in alternating rounds (${ROUNDS} x ${ops / ROUNDS} ops each):`,
  );
  line(['', 'SELECT by PK', 'INSERT 1 row', 'UPDATE by PK']);
  await timeOps(bare, 'select', 'warm');
  let serial = 0;
  const cpu: string[] = [];
  const targets: TargetReading[] = [];
  for (const [mode, readPercent] of modes) {
    const s = await store.set(id, { writeMode: mode, readPercent }, 'bench');
    const compare = isDual(mode) && (readPercent === 0 || readPercent === 100);
    const runners: [string, Router][] = [[`${mode}, reads ${readPercent}% to target`, router]];
    if (compare) runners.push([`  same, batchDualWrites: false`, unbatched]);
    await waitUntil(() => runners.every(([, r]) => r.switches.version === s.version));
    for (const [, r] of runners) {
      await timeOps(r, 'select', `warm-${mode}-${readPercent}`, 200);
      await timeOps(r, 'update', `warm-${mode}-${readPercent}`, 200);
    }
    const cells: string[][] = runners.map(() => []);
    for (const k of kinds) {
      let bareUs = 0;
      let bareCpu = 0;
      const us = runners.map(() => 0);
      const cpuUs = runners.map(() => 0);
      for (let round = 0; round < ROUNDS; round++) {
        const b = await timeOps(bare, k, `b${serial++}`, ops / ROUNDS);
        bareUs += b.us;
        bareCpu += b.cpuUs;
        for (let i = 0; i < runners.length; i++) {
          const o = await timeOps(runners[i][1], k, `r${serial++}`, ops / ROUNDS);
          us[i] += o.us;
          cpuUs[i] += o.cpuUs;
        }
      }
      runners.forEach((_, i) =>
        cells[i].push(
          `${(us[i] / ROUNDS).toFixed(0)} vs ${(bareUs / ROUNDS).toFixed(0)} us (x${(us[i] / bareUs).toFixed(2)})`,
        ),
      );
      if (mode === 'DUAL_SOURCE_FIRST' && readPercent === 0 && k !== 'select')
        targets.push({
          what: `router, DUAL_SOURCE_FIRST ${k === 'insert' ? 'INSERT 1 row' : 'UPDATE by PK'} / bare write${id === DURABLE_ID ? ', servers flushing at commit' : ''}`,
          value: us[0] / bareUs,
          shown: `x${(us[0] / bareUs).toFixed(2)}`,
          kind: 'max',
          goal: 2.5,
          goalShown: 'x2.5',
        });
      if (mode === 'DUAL_SOURCE_FIRST' && readPercent === 0 && k !== 'select')
        cpu.push(
          `${k.toUpperCase()} ${(cpuUs[0] / ROUNDS).toFixed(0)} (unbatched ${(cpuUs[1] / ROUNDS).toFixed(0)}) vs ${(bareCpu / ROUNDS).toFixed(0)} us`,
        );
    }
    runners.forEach(([label], i) => line([label, ...cells[i]]));
  }
  const st = router.stats();
  console.log(
    `router stats: reads ${JSON.stringify(st.reads)}, writes ${JSON.stringify(st.writes)}, mirrored ${st.mirrored}, dual-write failures ${st.dualWriteFailures}`,
  );
  // Where a dual write's time goes: round trips (counted), one round trip's cost, the client's CPU.
  const rtt = await timeOps(bare, 'ping', 'rtt');
  const write = await timeOps(bare, 'insert', 'rtt');
  console.log(
    `one round trip (SELECT 1) ${rtt.us.toFixed(0)} us, a bare autocommit INSERT ${write.us.toFixed(0)} us; ` +
      `node CPU per op (incl. loopback socket work), DUAL_SOURCE_FIRST router vs bare: ${cpu.join(', ')}`,
  );
  await Promise.all([router.end(), unbatched.end()]);
  await bare.end();
  const recorded = await roundTrips(stack, store, id);
  // What no router code can go below: the router's own statements sent on bare connections.
  const floor = await commitOrder(stack, recorded);
  const shown = `x${(floor.togetherUs / floor.bareUs).toFixed(2)}`;
  for (const t of targets)
    recordTarget({
      ...t,
      floor: `${t.what.includes('UPDATE') ? 'its' : "the UPDATE's"} statements on bare mysql2: ${shown}`,
    });
}

export async function run(): Promise<void> {
  const stack = await startStack();
  const store = new SwitchStore(stack.redis.url);
  // ROUTER_BENCH=overhead runs the per-query part only (quicker repeated measurements).
  const only = process.env.ROUTER_BENCH;
  try {
    if (!only || only === 'propagation') await propagation(stack, store);
    if (!only || only === 'fence') await fenceStall(stack, store);
    if (!only || only === 'overhead') await overhead(stack, store);
  } finally {
    await store.close();
    await stack.stop();
  }
  if (only && only !== 'durable') return;
  // The stack's servers skip the log flush at commit (innodb_flush_log_at_trx_commit=2, sync_binlog=0):
  // commits are cheap and round trips dominate. Servers that flush at every commit (MariaDB's default
  // for the redo log, and sync_binlog=1 as MySQL's default) make a commit cost a flush on each side.
  console.log(
    '\nsame, on servers that flush at every commit (innodb_flush_log_at_trx_commit=1, sync_binlog=1):',
  );
  const durable = await startStack({
    mariadbArgs: ['--innodb-flush-log-at-trx-commit=1', '--sync-binlog=1'],
  });
  const durableStore = new SwitchStore(durable.redis.url);
  try {
    await overhead(durable, durableStore, {
      modes: [['DUAL_SOURCE_FIRST', 0]],
      ops: 400,
      id: DURABLE_ID,
    });
  } finally {
    await durableStore.close();
    await durable.stop();
  }
}
