/**
 * Workflow test plumbing: a stack (MariaDB pair, Redis, embedded Temporal), one workflow bundle per
 * content hash, an in-process (or child-process) worker, the application (real routers, router-load.ts),
 * and table comparison over every column.
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import mysql from 'mysql2/promise';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { startStack, type Stack, type StackOptions } from '../../scripts/localstack/index.js';
import { runWorker, type RunningWorker, type RunWorkerOptions } from '../../src/worker.js';
import { defaultPlan } from '../../src/config/index.js';
import {
  MIGRATION_WORKFLOW_TYPE,
  SA_PHASE,
  SA_TABLES,
  migrationWorkflowId,
  type MigrationPlan,
  type MigrationStatus,
  type Phase,
} from '../../src/workflows/api.js';
import { cachedBundle, quietRuntime } from '@migrator/devserver/testing';

const here = dirname(fileURLToPath(import.meta.url));
const workflowsDir = join(here, '..', '..', 'src', 'workflows');

/** Bundles src/workflows once per content hash (shared between test files through a tmp file). */
export async function workflowBundle(): Promise<{ code: string; file: string }> {
  const hash = createHash('sha1');
  for (const f of readdirSync(workflowsDir, { recursive: true, encoding: 'utf8' }).sort()) {
    const path = join(workflowsDir, f);
    if (f.endsWith('.ts')) hash.update(f).update(readFileSync(path));
  }
  const digest = hash.digest('hex').slice(0, 16);
  return cachedBundle(join(workflowsDir, 'index.ts'), digest, 'migration-workflow-bundles');
}

export interface Env {
  stack: Stack;
  client: Client;
  connection: Connection;
  bundle: { code: string; file: string };
  worker?: RunningWorker;
  startWorker(options?: Partial<RunWorkerOptions>): Promise<RunningWorker>;
  stop(): Promise<void>;
}

export async function startEnv(options: { worker?: boolean; stack?: StackOptions } = {}): Promise<Env> {
  quietRuntime();
  const [stack, bundle] = await Promise.all([
    startStack({ temporal: true, ...options.stack }),
    workflowBundle(),
  ]);
  Object.assign(process.env, stack.env);
  const connection = await Connection.connect({ address: stack.env.TEMPORAL_ADDRESS });
  const client = new Client({ connection, namespace: stack.env.TEMPORAL_NAMESPACE ?? 'default' });
  const env: Env = {
    stack,
    client,
    connection,
    bundle,
    async startWorker(extra = {}) {
      const w = await runWorker({ workflowBundle: { code: bundle.code }, ...extra });
      env.worker = w;
      return w;
    },
    async stop() {
      await env.worker?.shutdown().catch(() => undefined);
      await connection.close().catch(() => undefined);
      await stack.stop();
    },
  };
  if (options.worker ?? true) await env.startWorker();
  return env;
}

/**
 * The test file's environment: started before its tests, with the schema holding `rows` rows
 * (createSchema), stopped after them. `set` receives it once started.
 */
export function useEnv(
  rows: number,
  set: (env: Env) => void,
  options: Parameters<typeof startEnv>[0] = {},
): void {
  let env: Env | undefined;
  before(async () => {
    env = await startEnv(options);
    set(env);
    await createSchema(env.stack, rows);
  });
  after(async () => {
    await env?.stop();
  });
}

// ---- schema and data ------------------------------------------------------------------------------------

export const TABLES = ['customers', 'orders', 'order_lines'];

export async function createSchema(stack: Stack, rows = 300): Promise<void> {
  const conn = await mysql.createConnection({ ...stack.source.clientOptions(), multipleStatements: true });
  try {
    await conn.query(`
      CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(60) NOT NULL, email VARCHAR(100) NULL,
        updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6));
      CREATE TABLE orders (id BIGINT UNSIGNED PRIMARY KEY, customer_id INT NOT NULL, amount DECIMAL(12,2) NOT NULL,
        note VARCHAR(200) NULL, updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6));
      CREATE TABLE order_lines (order_id BIGINT UNSIGNED NOT NULL, line INT NOT NULL, sku VARCHAR(20) NOT NULL, qty INT NOT NULL,
        updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6), PRIMARY KEY (order_id, line));
    `);
    for (let i = 1; i <= rows; i++) {
      await conn.query('INSERT INTO customers (id, name, email) VALUES (?, ?, ?)', [
        i,
        `customer ${i}`,
        i % 7 ? `c${i}@example.com` : null,
      ]);
      await conn.query('INSERT INTO orders (id, customer_id, amount, note) VALUES (?, ?, ?, ?)', [
        i,
        (i % 50) + 1,
        (i * 3.17).toFixed(2),
        `order ${i}`,
      ]);
      await conn.query(
        'INSERT INTO order_lines (order_id, line, sku, qty) VALUES (?, 1, ?, ?), (?, 2, ?, ?)',
        [i, `sku-${i}`, i % 5, i, `sku-${i + 1}`, 1],
      );
    }
  } finally {
    await conn.end();
  }
}

export function testPlan(id: string, overrides: Record<string, unknown> = {}): MigrationPlan {
  return defaultPlan(
    id,
    [
      { name: 'customers', chunkSize: 50, updatedAtColumn: 'updated_at' },
      { name: 'orders', chunkSize: 64 },
      { name: 'order_lines', chunkSize: 100 },
    ],
    {
      gates: { default: { soakSeconds: 1, maxLagSeconds: 5 } },
      cdc: { catchUpLagSeconds: 2, routerAckTimeoutSeconds: 5 },
      verification: { intervalSeconds: 5 },
      repairLoop: { mode: 'full', intervalSeconds: 2 },
      temporal: { heartbeatTimeoutSeconds: 5, gatePollSeconds: 1 },
      ...overrides,
    },
  );
}

/** Rows of a table on one side, keyed, as comparable text. */
export async function tableRows(side: mysql.ConnectionOptions, table: string): Promise<Map<string, string>> {
  const conn = await mysql.createConnection({
    ...side,
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
  });
  try {
    const key = table === 'order_lines' ? 'order_id, line' : 'id';
    // (tables other than the three of createSchema have an `id` key)
    const [rows] = await conn.query<mysql.RowDataPacket[]>(`SELECT * FROM \`${table}\` ORDER BY ${key}`);
    const out = new Map<string, string>();
    // Every column, updated_at included: each mechanism carries the row image, never a re-evaluated default.
    for (const r of rows)
      out.set(table === 'order_lines' ? `${r.order_id}/${r.line}` : String(r.id), JSON.stringify(r));
    return out;
  } finally {
    await conn.end();
  }
}

/** Differences between source and target for every table (empty: equal). */
export async function diffSides(stack: Stack, tables = TABLES): Promise<string[]> {
  const out: string[] = [];
  for (const t of tables) {
    const [a, b] = await Promise.all([
      tableRows(stack.source.clientOptions(), t),
      tableRows(stack.target.clientOptions(), t),
    ]);
    for (const [k, v] of a)
      if (b.get(k) !== v) out.push(`${t} ${k}: source ${v} target ${b.get(k) ?? 'missing'}`);
    for (const k of b.keys()) if (!a.has(k)) out.push(`${t} ${k}: extra on target`);
  }
  return out;
}

// ---- the application: real routers (router-load.ts) ----------------------------------------------------

import { ledgerProblems, type Load } from './router-load.js';
export { startLoad, ledgerProblems, loadRouters, type Load } from './router-load.js';

/**
 * Where the design says both sides are equal at once (routers dual writing, no CDC in between): holds
 * the application until every acknowledged write is done, compares every row and column right away (no
 * waiting, no repair), checks the ledger on both sides, and releases.
 */
export async function assertEqualNow(stack: Stack, load: Load, what: string): Promise<void> {
  await load.hold();
  try {
    const diffs = await diffSides(stack);
    assert.deepEqual(diffs.slice(0, 10), [], `${what}: ${diffs.length} row(s) differ`);
    for (const side of [stack.source, stack.target]) {
      const lost = await ledgerProblems(side.clientOptions(), load.ledger);
      assert.deepEqual(lost.slice(0, 10), [], `${what}: acknowledged writes missing`);
    }
  } finally {
    load.release();
  }
}

/** Phases in which every write goes through the routers' dual writes: none needs a repair. */
const DUAL_WRITE_PHASES: readonly Phase[] = [
  'DUAL_WRITE_SOURCE_FIRST',
  'REPAIR_LOOP',
  'READ_SWITCH',
  'DUAL_WRITE_TARGET_FIRST',
];

/** No repair (loop, verification, drain) was reported in a phase where routers dual write. */
export function assertNoDualWriteRepairs(s: MigrationStatus): void {
  console.log(`repairs by phase: ${JSON.stringify(s.repair.byPhase)}`);
  const made = s.repair.byPhase
    .filter((r) => DUAL_WRITE_PHASES.includes(r.phase))
    .map((r) => ({ phase: r.phase, repairs: r.loop + r.verification + r.drain }))
    .filter((r) => r.repairs > 0);
  assert.deepEqual(made, []);
}

// ---- workflow helpers -----------------------------------------------------------------------------------

export async function startMigration(env: Env, plan: MigrationPlan): Promise<WorkflowHandle> {
  return env.client.workflow.start(MIGRATION_WORKFLOW_TYPE, {
    workflowId: migrationWorkflowId(plan.id),
    taskQueue: 'migrations',
    args: [{ plan }],
    typedSearchAttributes: [
      { key: SA_PHASE, value: 'PRECHECK' },
      { key: SA_TABLES, value: plan.tables.map((t) => t.name) },
    ],
  });
}

export async function status(handle: WorkflowHandle): Promise<MigrationStatus> {
  return handle.query<MigrationStatus>('status');
}

/** Polls the status query until pred holds; fails with the last status on timeout. */
export async function waitStatus(
  handle: WorkflowHandle,
  pred: (s: MigrationStatus) => boolean,
  what: string,
  timeoutMs = 60_000,
): Promise<MigrationStatus> {
  const deadline = Date.now() + timeoutMs;
  let last: MigrationStatus | undefined;
  for (;;) {
    try {
      last = await status(handle);
      if (pred(last)) return last;
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out waiting for ${what}; last status: ${JSON.stringify(summary(last), null, 1)}`,
      );
    }
    await sleep(250);
  }
}

export function summary(s: MigrationStatus | undefined): unknown {
  if (!s) return null;
  return {
    phase: s.phase,
    readStep: s.readStep,
    state: s.state,
    activity: s.activity,
    gate: s.gate?.waitingFor,
    switches: s.switches,
    blockers: s.gate?.blockers,
    verification: [s.lastVerification, s.lastScheduledVerification].map(
      (v) =>
        v && `${v.origin}: ${v.totalMismatches} mismatches, ${v.totalRepaired} repaired, ${v.finishedAt}`,
    ),
    repairs: s.repair.byPhase,
    error: s.error,
    warnings: s.warnings.slice(-5),
    frames: s.compensation.map((f) => `${f.phase}${f.readPercent !== undefined ? '@' + f.readPercent : ''}`),
  };
}

/** Waits at the gate leading to `next` (and read percent). */
export function atGate(
  handle: WorkflowHandle,
  next: Phase,
  percent?: number,
  timeoutMs = 90_000,
): Promise<MigrationStatus> {
  return waitStatus(
    handle,
    (s) =>
      s.state === 'WAITING' &&
      s.gate?.next === next &&
      (percent === undefined || s.gate.nextReadPercent === percent),
    `gate before ${next}${percent !== undefined ? ` ${percent}%` : ''}`,
    timeoutMs,
  );
}

/** Sends a signal by NAME with a JSON payload, the way `temporal workflow signal --name X --input '{...}'` does. */
export async function signal(
  handle: WorkflowHandle,
  name: string,
  payload: Record<string, unknown> = {},
): Promise<void> {
  await handle.signal(name, payload);
}

/** Waits until source and target hold the same rows (CDC / dual writes / repair converge). */
export async function waitEqual(stack: Stack, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const diffs = await diffSides(stack);
    if (diffs.length === 0) return;
    if (Date.now() > deadline)
      throw new Error(`${what}: sides differ (${diffs.length}): ${diffs.slice(0, 5).join('; ')}`);
    await sleep(500);
  }
}
