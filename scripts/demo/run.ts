import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import mysql from 'mysql2/promise';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { ensureUiBuilt } from '../../packages/devserver-ui/ensure-built.mjs';
import { APP_DATABASE, APP_USER, startStack, workflowRunPage, type Stack } from '../localstack/index.js';
import { defaultPlan } from '../../src/config/index.js';
import { createRouter, type Router, type RouterStats } from '../../src/router/index.js';
import {
  DEFAULT_TASK_QUEUE,
  MIGRATION_WORKFLOW_TYPE,
  migrationWorkflowId,
  type MigrationInput,
  type MigrationPlan,
  type MigrationStatus,
  type Phase,
} from '../../src/workflows/api.js';
import { compareTables, type TableComparison } from './check.js';
import { createDemoData, DEMO_TABLES } from './schema.js';
import { DemoWorkload, type WorkloadStats } from './workload.js';
import { WorkerProcess } from './worker-process.js';

export interface DemoOptions {
  /** Orders to seed (items and accounts follow from it). */
  rows: number;
  /** Application operations per second during the whole migration. */
  rate: number;
  /** Stop at every gate: drive the run with `migrate` or `temporal workflow signal`. */
  manual: boolean;
  /** Auto-advance soak per gate (seconds). */
  soakSeconds: number;
  /** Kill the worker three times, restart Temporal, the target MariaDB and Redis during the run. */
  chaos: boolean;
  /** Called with every status the demo observes (progress display). */
  onStatus?: (status: MigrationStatus, app: WorkloadStats) => void;
  /** After the check, keep the stack (and so the run's history) up until this resolves. */
  holdBeforeStop?: () => Promise<void>;
  /** Aborting stops the run where it is and cleans everything up (Ctrl-C). */
  signal?: AbortSignal;
  /** One-line messages (what the demo is doing). */
  log: (line: string) => void;
}

export interface DemoResult {
  ok: boolean;
  final: MigrationStatus | null;
  comparisons: TableComparison[];
  app: WorkloadStats;
  /** What the application's router did: reads per side, mirrored writes, failures sent to repair. */
  router: RouterStats;
  acknowledged: { checked: number; missing: string[] };
  chaosEvents: string[];
  failures: string[];
  temporalAddress: string;
  workflowId: string;
  /** The run's page in the Temporal Web UI (live while the stack is up: during the run, or with --keep). */
  runPage?: string;
}

const MIGRATION_ID = 'demo';

export function demoPlan(options: Pick<DemoOptions, 'manual' | 'soakSeconds' | 'chaos'>): MigrationPlan {
  return defaultPlan(
    MIGRATION_ID,
    [
      // Throttled so that the copy is watchable (and, in chaos mode, killable) even on small data.
      {
        name: 'orders',
        chunkSize: 500,
        maxRowsPerSecond: options.chaos ? 400 : 20000,
        updatedAtColumn: 'updated_at',
      },
      {
        name: 'order_items',
        chunkSize: 1000,
        maxRowsPerSecond: options.chaos ? 800 : 40000,
        updatedAtColumn: 'updated_at',
      },
      { name: 'accounts', chunkSize: 500, updatedAtColumn: 'updated_at' },
    ],
    {
      gates: {
        default: {
          autoAdvance: !options.manual,
          soakSeconds: options.soakSeconds,
          maxLagSeconds: 5,
          requireNoMismatches: true,
        },
        // FINALIZE is the one irreversible step: it always waits for an explicit confirmation.
        FINALIZE: { autoAdvance: false },
      },
      copy: { parallelism: 3, rangesPerTable: 2 },
      cdc: { catchUpLagSeconds: 2, routerAckTimeoutSeconds: 15 },
      verification: { intervalSeconds: 5, repair: false },
      repairLoop: { mode: 'updated_at', intervalSeconds: 2 },
      temporal: { heartbeatTimeoutSeconds: 10, continueAsNewAfterEvents: 2000, gatePollSeconds: 1 },
    },
  );
}

async function appPool(url: string): Promise<mysql.Pool> {
  return mysql.createPool({
    uri: url,
    connectionLimit: 8,
    supportBigNumbers: true,
    bigNumberStrings: true,
    dateStrings: true,
  });
}

/** Chaos: what to break, once each, when the run reaches a phase (and the copy is under way). */
interface ChaosStep {
  label: string;
  when: (s: MigrationStatus) => boolean;
  act: () => Promise<void>;
}

function chaosSteps(stack: Stack, worker: WorkerProcess, log: (l: string) => void): ChaosStep[] {
  const killWorker = (where: string) => async () => {
    log(`chaos: SIGKILL the worker (${where})`);
    await worker.kill();
    await sleep(500);
    await worker.start();
    log('chaos: a new worker is polling');
  };
  const copying = (s: MigrationStatus) =>
    s.phase === 'BULK_COPY' && s.tables.some((t) => t.rowsCopied > 0 && t.state !== 'done');
  return [
    { label: 'worker killed during the copy', when: copying, act: killWorker('bulk copy') },
    {
      label: 'worker killed while CDC runs',
      when: (s) =>
        s.phase === 'CATCH_UP_VERIFY' || (s.phase === 'DUAL_WRITE_SOURCE_FIRST' && s.gate === null),
      act: killWorker('CDC running'),
    },
    {
      label: 'Temporal server restarted from its state file',
      when: (s) => s.phase === 'DUAL_WRITE_SOURCE_FIRST' || s.phase === 'REPAIR_LOOP',
      act: async () => {
        log('chaos: restart the Temporal server (state file)');
        await stack.temporal?.restart();
      },
    },
    {
      label: 'worker killed during the repair loop',
      when: (s) => s.phase === 'REPAIR_LOOP' || (s.phase === 'READ_SWITCH' && s.repair.passes > 0),
      act: killWorker('repair loop'),
    },
    {
      label: 'target MariaDB restarted',
      // Dual writing, source authoritative: target writes go to the repair stream, reads fall back.
      when: (s) =>
        s.switches.writeMode === 'DUAL_SOURCE_FIRST' &&
        (s.phase === 'REPAIR_LOOP' || s.phase === 'READ_SWITCH'),
      act: async () => {
        log('chaos: restart the target MariaDB');
        await stack.target.restart();
      },
    },
    {
      label: 'Redis restarted',
      when: (s) => s.phase === 'READ_SWITCH' && s.switches.readPercent >= 5,
      act: async () => {
        log('chaos: restart Redis (switches survive in the routers; the workflow re-applies them)');
        await stack.redis.restart();
      },
    },
  ];
}

/**
 * The whole main job: local stack, sample data, an application writing through the router, a worker
 * process, and a migration through every phase; then an independent check.
 */
export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const { log } = options;
  const failures: string[] = [];
  const chaosEvents: string[] = [];
  ensureUiBuilt({ quiet: true, log });
  log('starting the local stack: source and target MariaDB, Redis, embedded Temporal server and its Web UI');
  const stack = await startStack({ temporal: true, temporalPersistent: true });
  if (stack.temporal?.uiUrl) log(`Temporal Web UI: ${stack.temporal.uiUrl}`);
  Object.assign(process.env, stack.env);
  const temporalAddress = stack.temporal?.address ?? '';
  const workflowId = migrationWorkflowId(MIGRATION_ID);
  let router: Router | undefined;
  let workload: DemoWorkload | undefined;
  let worker: WorkerProcess | undefined;
  let connection: Connection | undefined;
  try {
    const admin = await stack.source.rootConnection(APP_DATABASE);
    const counts = await createDemoData(admin, options.rows);
    await admin.end();
    log(
      `source seeded: ${Object.entries(counts)
        .map(([t, n]) => `${t} ${n}`)
        .join(', ')}`,
    );

    const [sourcePool, targetPool] = await Promise.all([
      appPool(stack.source.url(APP_USER)),
      appPool(stack.target.url(APP_USER)),
    ]);
    router = createRouter({
      migrationId: MIGRATION_ID,
      source: sourcePool,
      target: targetPool,
      redis: stack.redis.url,
      routerId: 'demo-app',
      switchCacheFile: join(stack.dir, 'demo-app-switches.json'),
    });
    workload = new DemoWorkload(router, { ratePerSecond: options.rate, accounts: counts.accounts });
    workload.start();
    log(`demo application running: ${options.rate} ops/s through the router`);

    const logDir = join(stack.dir, 'logs');
    mkdirSync(logDir, { recursive: true });
    worker = new WorkerProcess(stack.env, join(logDir, 'worker.log'), stack);
    log('starting a worker process (bundles the workflow code)');
    await worker.start();

    connection = await Connection.connect({ address: temporalAddress });
    const client = new Client({ connection, namespace: stack.temporal?.namespace ?? 'default' });
    const plan = demoPlan(options);
    const input: MigrationInput = { plan };
    const handle = await client.workflow.start(MIGRATION_WORKFLOW_TYPE, {
      taskQueue: DEFAULT_TASK_QUEUE,
      workflowId,
      args: [input],
    });
    const runPage = stack.temporal?.uiUrl
      ? workflowRunPage(
          stack.temporal.uiUrl,
          stack.temporal.namespace,
          workflowId,
          handle.firstExecutionRunId,
        )
      : undefined;
    const at = runPage ? `  ${runPage}` : '';
    log(`migration started: workflow ${workflowId}; watch and steer it in Temporal UI:${at}`);
    log(`   or  temporal workflow describe --address ${temporalAddress} --workflow-id ${workflowId}`);
    if (options.manual) {
      log(`manual mode: advance each gate with  npm run migrate -- advance ${MIGRATION_ID}`);
      log(
        `   or  temporal workflow signal --address ${temporalAddress} --workflow-id ${workflowId} --name advance --input '{}'`,
      );
    }

    const chaos = options.chaos ? chaosSteps(stack, worker, log) : [];
    const final = await driveToCompletion(handle, options, workload, chaos, chaosEvents, at);

    const afterStats = { ...workload.stats };
    if (final.state !== 'COMPLETED') failures.push(`migration ended ${final.state}: ${final.error ?? ''}`);
    if (afterStats.errors > 0)
      failures.push(`application saw ${afterStats.errors} errors (last: ${afterStats.lastError})`);

    const [src, tgt] = await Promise.all([
      stack.source.rootConnection(APP_DATABASE),
      stack.target.rootConnection(APP_DATABASE),
    ]);
    try {
      const comparisons = await compareTables(src, tgt, DEMO_TABLES);
      for (const c of comparisons)
        if (!c.equal)
          failures.push(
            `${c.table}: source ${c.sourceRows} rows / ${c.sourceChecksum}, target ${c.targetRows} rows / ${c.targetChecksum}`,
          );
      const acknowledged = await workload.verifyLedger(tgt);
      if (acknowledged.missing.length)
        failures.push(
          `${acknowledged.missing.length} acknowledged writes not on the target, e.g. ${acknowledged.missing.slice(0, 3).join('; ')}`,
        );
      if (options.chaos && chaosEvents.length < chaos.length) {
        failures.push(
          `only ${chaosEvents.length} of ${chaos.length} chaos events happened: ${chaosEvents.join(', ')}`,
        );
      }
      return {
        ok: failures.length === 0,
        final,
        comparisons,
        app: afterStats,
        router: router.stats(),
        acknowledged,
        chaosEvents,
        failures,
        temporalAddress,
        workflowId,
        runPage,
      };
    } finally {
      await Promise.all([src.end(), tgt.end()]);
    }
  } finally {
    await workload?.stop();
    await options.holdBeforeStop?.();
    await router?.end();
    await worker?.stop();
    await connection?.close();
    await stack.stop();
  }
}

async function driveToCompletion(
  handle: WorkflowHandle,
  options: DemoOptions,
  workload: DemoWorkload,
  chaos: ChaosStep[],
  chaosEvents: string[],
  /** Appended to the lines about the run: its page in the Web UI (or ''). */
  at: string,
): Promise<MigrationStatus> {
  let finalizing = false;
  let lastPhase: Phase | undefined;
  for (;;) {
    options.signal?.throwIfAborted();
    const description = await handle.describe().catch(() => null);
    if (description && description.status.name !== 'RUNNING') {
      return (await handle.result()) as MigrationStatus;
    }
    const status = await handle.query<MigrationStatus>('status').catch(() => null);
    if (!status) {
      await sleep(1000);
      continue;
    }
    options.onStatus?.(status, workload.stats);
    if (status.phase !== lastPhase) {
      lastPhase = status.phase;
      options.log(`phase ${status.phase}${at}`);
    }
    const next = chaos.find((c) => !chaosEvents.includes(c.label) && c.when(status));
    if (next) {
      chaosEvents.push(next.label);
      await next.act();
      continue;
    }
    if (!finalizing && status.gate?.next === 'FINALIZE' && status.gate.requiresConfirmation) {
      // After FINALIZE nothing syncs back to the source: the application stops first, so that the
      // independent check can compare two quiet databases.
      finalizing = true;
      options.log(`at the FINALIZE gate: stopping the application${at}`);
      await workload.stop();
      if (options.manual) {
        options.log(`confirm with  npm run migrate -- finalize ${MIGRATION_ID} --confirm${at}`);
      } else {
        options.log('confirming the irreversible step (finalize {"confirm": true})');
        await handle.executeUpdate('finalize', {
          args: [{ confirm: true, by: 'demo', reason: 'demo: every gate healthy' }],
        });
      }
    }
    await sleep(500);
  }
}
