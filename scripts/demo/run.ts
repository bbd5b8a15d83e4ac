import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { loadTemporalConnection } from '../../src/temporal/connection.js';
import { ensureUiBuilt } from '../../packages/devserver-ui/ensure-built.mjs';
import { APP_DATABASE, APP_USER, startStack, workflowRunPage, type Stack } from '../localstack/index.js';
import { defaultPlan } from '../../src/config/index.js';
import type { RouterStats } from '../../src/router/index.js';
import {
  DEFAULT_TASK_QUEUE,
  MIGRATION_WORKFLOW_TYPE,
  migrationWorkflowId,
  type MigrationInput,
  type MigrationPlan,
  type MigrationStatus,
  type Phase,
} from '../../src/workflows/api.js';
import { AppFleet, totalRouter, totalWorkload } from './app-fleet.js';
import type { AppStats } from './app.js';
import { chaosSteps, type ChaosOutcome, type ChaosStep, type Outage } from './chaos.js';
import { compareTables, independentCheck, type IndependentCheck, type TableComparison } from './check.js';
import { RepairWatch, type RepairReport } from './repairs.js';
import { createDemoData, DEMO_TABLES } from './schema.js';
import type { WorkloadStats } from './workload.js';
import { WorkerProcess } from './worker-process.js';
import { stallReport } from './stall-report.js';

export interface DemoOptions {
  /** Orders to seed (items and accounts follow from it). */
  rows: number;
  /** Application operations per second during the whole migration (all app processes together). */
  rate: number;
  /** Stop at every gate: drive the run with `migrate` or `temporal workflow signal`. */
  manual: boolean;
  /** Auto-advance soak per gate (seconds). */
  soakSeconds: number;
  /**
   * Crash things during the run (SIGKILL): the worker three times, the source MariaDB during the copy,
   * the embedded Temporal server, the target MariaDB while dual writing, Redis; assert the run recovers.
   */
  chaos: boolean;
  /** Application processes, each with its own router (default 2); 0 runs one app inside this process. */
  apps?: number;
  /** Called with every status the demo observes (progress display). */
  onStatus?: (status: MigrationStatus, app: WorkloadStats) => void;
  /** Give up (an error naming where the run stands) when the migration has not ended by then. */
  timeoutSeconds?: number;
  /** Tests: runs after the application stopped and the migration ended, just before the independent check. */
  beforeCheck?: (stack: Stack) => Promise<void>;
  /** After the check, keep the stack (and so the run's history) up until this resolves. */
  holdBeforeStop?: (stack: Stack) => Promise<void>;
  /** Aborting stops the run where it is and cleans everything up (Ctrl-C). */
  signal?: AbortSignal;
  /** One-line messages (what the demo is doing). */
  log: (line: string) => void;
}

export interface DemoResult {
  ok: boolean;
  final: MigrationStatus | null;
  /** Row counts and CHECKSUM TABLE per table on both servers. */
  comparisons: TableComparison[];
  /** Every row, every column, on both servers against the application's ledger. */
  independent: IndependentCheck;
  /** What the product's verification and repair had to fix ("lost, then fixed"). */
  repairs: RepairReport;
  /** Application processes (routers) that ran, and their summed counters. */
  apps: number;
  app: WorkloadStats;
  /** Application errors inside an injected outage of the side it writes to (expected), and outside. */
  outageErrors: number;
  router: RouterStats;
  chaos: ChaosOutcome[];
  failures: string[];
  temporalAddress: string;
  workflowId: string;
  /** The run's page in the Temporal Web UI (live while the stack is up: during the run, or with --keep). */
  runPage?: string;
}

const MIGRATION_ID = 'demo';

export function demoPlan(
  options: Pick<DemoOptions, 'manual' | 'soakSeconds' | 'chaos'> & { apps?: number },
): MigrationPlan {
  return defaultPlan(
    MIGRATION_ID,
    [
      // Throttled so that the copy is watchable (and, in chaos mode, killable) even on small data.
      {
        name: 'orders',
        chunkSize: 500,
        maxRowsPerSecond: options.chaos ? 200 : 20000,
        updatedAtColumn: 'updated_at',
      },
      {
        name: 'order_items',
        chunkSize: 1000,
        maxRowsPerSecond: options.chaos ? 400 : 40000,
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
      // Every write-mode change is fenced and must be acknowledged by each application's router.
      routers: { expected: options.apps ?? 2, holdTimeoutSeconds: 3 },
      verification: { intervalSeconds: 5, repair: false },
      repairLoop: { mode: 'updated_at', intervalSeconds: 2 },
      temporal: { heartbeatTimeoutSeconds: 10, continueAsNewAfterEvents: 2000, gatePollSeconds: 1 },
    },
  );
}

/**
 * The whole main job: local stack, sample data, an application (router processes) writing at a steady
 * rate, a worker process, and a migration through every phase; then an independent check.
 */
export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const { log } = options;
  const failures: string[] = [];
  ensureUiBuilt({ quiet: true, log });
  log('starting the local stack: source and target MariaDB, Redis, embedded Temporal server and its Web UI');
  // The embedded server runs as its own process (as a real one would), so chaos can SIGKILL it.
  const stack = await startStack({ temporal: true, temporalPersistent: true, temporalProcess: true });
  if (stack.temporal?.uiUrl) log(`Temporal Web UI: ${stack.temporal.uiUrl}`);
  Object.assign(process.env, stack.env);
  const temporalAddress = stack.temporal?.address ?? '';
  const workflowId = migrationWorkflowId(MIGRATION_ID);
  const logDir = join(stack.dir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const appCount = options.apps ?? 2;
  let apps: AppFleet | undefined;
  let worker: WorkerProcess | undefined;
  let connection: Connection | undefined;
  try {
    const admin = await stack.source.rootConnection(APP_DATABASE);
    const seed = await createDemoData(admin, options.rows);
    await admin.end();
    log(
      `source seeded: ${Object.entries(seed.counts)
        .map(([t, n]) => `${t} ${n}`)
        .join(', ')}`,
    );

    apps = new AppFleet({
      processes: appCount,
      lanesPerApp: 4,
      dir: logDir,
      owner: stack,
      migrationId: MIGRATION_ID,
      sourceUrl: stack.source.url(APP_USER),
      targetUrl: stack.target.url(APP_USER),
      redisUrl: stack.redis.url,
      ratePerSecond: options.rate / Math.max(1, appCount),
      accounts: seed.counts.accounts,
    });
    apps.start();
    log(
      appCount > 0
        ? `demo application running: ${appCount} processes (routers ${apps.routerIds.join(', ')}), ${options.rate} ops/s in all`
        : `demo application running in this process: ${options.rate} ops/s through the router`,
    );

    worker = new WorkerProcess(stack.env, join(logDir, 'worker.log'), stack);
    log('starting a worker process (bundles the workflow code)');
    await worker.start();

    // As the worker does: the profile file and TEMPORAL_* (the stack's address when it runs the server).
    const temporal = loadTemporalConnection({ env: process.env });
    connection = await Connection.connect(temporal.connectionOptions);
    const client = new Client({ connection, namespace: temporal.namespace });
    const plan = demoPlan({ ...options, apps: appCount });
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

    const repairs = new RepairWatch();
    const outages: Outage[] = [];
    const chaos = options.chaos
      ? chaosSteps({
          stack,
          worker,
          apps,
          repairs,
          migrationId: MIGRATION_ID,
          log,
          outage: (o) => outages.push(o),
        })
      : [];
    const driven = await driveToCompletion(handle, options, apps, repairs, chaos, at, [
      { label: 'worker log', path: join(logDir, 'worker.log') },
      ...(stack.temporal?.logFile ? [{ label: 'Temporal server log', path: stack.temporal.logFile }] : []),
    ]);
    const final = driven.final;

    const stats = driven.appStats;
    const app = totalWorkload(stats);
    const router = totalRouter(stats);
    const inOutage = (t: number) => outages.some((o) => t >= o.from && t <= o.to);
    const outageErrors = app.errorTimes.filter(inOutage).length;
    if (final.state !== 'COMPLETED') failures.push(`migration ended ${final.state}: ${final.error ?? ''}`);
    if (app.errors > outageErrors) {
      const outside = app.errorSamples.filter((e) => !inOutage(e.at));
      // Name the server behind a port in connection errors (ECONNREFUSED 127.0.0.1:<port>).
      const servers: [number, string][] = [
        [stack.source.port, 'source MariaDB'],
        [stack.target.port, 'target MariaDB'],
        [stack.redis.port, 'Redis'],
      ];
      const named = (m: string) =>
        servers.reduce((t, [port, name]) => t.replace(`:${port}`, `:${port} (${name})`), m);
      failures.push(
        `application saw ${app.errors - outageErrors} errors outside injected outages:\n    ${outside
          .slice(0, 5)
          .map((e) => `${new Date(e.at).toISOString()} ${named(e.message)}`)
          .join('\n    ')}`,
      );
    }

    await options.beforeCheck?.(stack);
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
      const independent = await independentCheck(
        src,
        tgt,
        seed.rows,
        driven.reports.flatMap((r) => r.ledger),
      );
      if (independent.idsHandedOutTwice.length)
        failures.push(
          `${independent.idsHandedOutTwice.length} generated ids were handed out to two acknowledged inserts (one row each is lost): ${independent.idsHandedOutTwice.slice(0, 5).join('; ')}`,
        );
      if (independent.problems.length)
        failures.push(
          `independent check: ${independent.problems.length} rows differ from what the application wrote, e.g.\n    ${independent.problems.slice(0, 5).join('\n    ')}`,
        );
      const report = repairs.report();
      failures.push(...repairFailures(report, router));
      const happened = driven.chaos.filter((c) => c.happened);
      for (const c of driven.chaos) {
        if (c.happened && c.recovered === undefined)
          failures.push(`chaos: no recovery seen after "${c.label}"`);
      }
      if (options.chaos) {
        const impossible = driven.chaos.filter((c) => !c.happened);
        if (happened.length + impossible.length < chaos.length)
          failures.push(
            `only ${happened.length} of ${chaos.length} chaos events happened: ${happened.map((c) => c.label).join(', ')}`,
          );
      }
      if (failures.length && driven.chaos.length)
        failures.push(
          `chaos timeline: ${driven.chaos.map((c) => `${c.label} ${c.at}${c.back ? ` -> ${c.back}` : ''}`).join('; ')}`,
        );
      return {
        ok: failures.length === 0,
        final,
        comparisons,
        independent,
        repairs: report,
        apps: Math.max(1, appCount),
        app,
        outageErrors,
        router,
        chaos: driven.chaos,
        failures,
        temporalAddress,
        workflowId,
        runPage,
      };
    } finally {
      await Promise.all([src.end(), tgt.end()]);
    }
  } finally {
    await apps?.stop().catch(() => apps?.kill());
    await options.holdBeforeStop?.(stack);
    await worker?.stop();
    await connection?.close();
    await stack.stop();
  }
}

/**
 * "Lost, then fixed" is not "never lost": the product may repair rows only where a router reported a
 * failed dual write (the repair stream's purpose). The catch-up verification must find nothing (the
 * design's bar), and any other repair means a row was wrong on one side without anyone knowing.
 */
function repairFailures(r: RepairReport, router: RouterStats): string[] {
  const out: string[] = [];
  if (r.catchUp && r.catchUp.mismatches > 0)
    out.push(`the catch-up verification found ${r.catchUp.mismatches} mismatches (the bar is zero)`);
  const reported = router.dualWriteFailures + router.tableLevelRepairs;
  if (r.afterCatchUp > reported)
    out.push(
      `the product repaired ${r.afterCatchUp} rows during dual writes (${r.byPhase
        .map((p) => `${p.phase}: loop ${p.loop}, verification ${p.verification}, drain ${p.drain}`)
        .join('; ')}) but the routers reported only ${reported} failed writes: rows were lost, then fixed`,
    );
  return out;
}

interface Driven {
  final: MigrationStatus;
  chaos: ChaosOutcome[];
  appStats: AppStats[];
  reports: Awaited<ReturnType<AppFleet['stop']>>;
}

const RECOVERY_TIMEOUT_MS = 180_000;
const QUERY_DEADLINE_MS = 15_000;

async function driveToCompletion(
  handle: WorkflowHandle,
  options: DemoOptions,
  apps: AppFleet,
  repairs: RepairWatch,
  chaos: ChaosStep[],
  /** Appended to the lines about the run: its page in the Web UI (or ''). */
  at: string,
  /** The worker's and the Temporal server's logs, quoted when the run stalls. */
  logs: { label: string; path: string }[],
): Promise<Driven> {
  const outcomes: ChaosOutcome[] = [];
  let reports: Driven['reports'] | null = null;
  let finalizeSent = false;
  let waitingLogged = false;
  let appStats: AppStats[] = [];
  let lastPhase: Phase | undefined;
  const deadline = options.timeoutSeconds ? Date.now() + options.timeoutSeconds * 1000 : Infinity;
  let last: MigrationStatus | null = null;
  const answers = { lastAnsweredAt: null as number | null, lastError: null as string | null };
  const checkDeadline = async () => {
    if (Date.now() < deadline) return;
    const where = last
      ? `${last.phase} ${last.state}${last.gate ? `, gate ${last.gate.next}: ${[last.gate.waitingFor, ...last.gate.blockers].join('; ')}` : ''}${last.error ? `, error: ${last.error}` : ''}`
      : 'no status';
    throw new Error(
      `the migration did not end within ${options.timeoutSeconds} s (${where})\n${await stallReport(handle, answers, logs)}`,
    );
  };
  const query = async (): Promise<MigrationStatus | null> => {
    // A bounded query: one routed to a worker that just died would otherwise hold the driver for the
    // server's two minutes.
    const status = await handle.client.connection
      .withDeadline(Date.now() + QUERY_DEADLINE_MS, () => handle.query<MigrationStatus>('status'))
      .catch((err: Error) => {
        answers.lastError = `${new Date().toISOString()} ${err.message}`;
        return null;
      });
    if (status) {
      answers.lastAnsweredAt = Date.now();
      last = status;
      repairs.observe(status);
      if (!reports) appStats = apps.stats();
      options.onStatus?.(status, totalWorkload(appStats));
    }
    return status;
  };
  for (;;) {
    options.signal?.throwIfAborted();
    await checkDeadline();
    const description = await handle.describe().catch(() => null);
    if (description && description.status.name !== 'RUNNING') {
      const final = (await handle.result()) as MigrationStatus;
      repairs.observe(final);
      reports ??= await apps.stop();
      return { final, chaos: outcomes, appStats: reports, reports };
    }
    const status = await query();
    if (!status) {
      await sleep(1000);
      continue;
    }
    if (status.phase !== lastPhase) {
      lastPhase = status.phase;
      options.log(`phase ${status.phase}${at}`);
    }
    const next = chaos.find((c) => !outcomes.some((o) => o.label === c.label) && c.when(status));
    if (next) {
      const outcome: ChaosOutcome = { label: next.label, happened: false, at: new Date().toISOString() };
      outcomes.push(outcome);
      const r = await next.act(status);
      if (!r.happened) {
        outcome.why = r.why;
        options.log(`chaos: "${next.label}" did not happen: ${r.why} (not counted)`);
        continue;
      }
      outcome.happened = true;
      outcome.back = new Date().toISOString();
      // Recovery is asserted now, from the workflow's status, not only at the end of the run.
      const since = Date.now();
      while (Date.now() - since < RECOVERY_TIMEOUT_MS && outcome.recovered === undefined) {
        options.signal?.throwIfAborted();
        await checkDeadline();
        const s = await query();
        const evidence = s ? await next.recovered(s) : null;
        if (evidence) {
          outcome.recovered = evidence;
          outcome.recoveredAfterSeconds = Math.round((Date.now() - since) / 100) / 10;
          options.log(`chaos: recovered after ${outcome.recoveredAfterSeconds} s: ${evidence}`);
        } else await sleep(500);
      }
      if (outcome.recovered === undefined)
        options.log(
          `chaos: no recovery seen within ${RECOVERY_TIMEOUT_MS / 1000} s after "${next.label}"\n${await stallReport(handle, answers, logs)}`,
        );
      continue;
    }
    if (!finalizeSent && status.gate?.next === 'FINALIZE' && status.gate.requiresConfirmation) {
      if (!reports) {
        // After FINALIZE nothing syncs back to the source: the application stops first, so that the
        // independent check can compare two quiet databases.
        options.log(`at the FINALIZE gate: stopping the application${at}`);
        reports = await apps.stop();
        appStats = reports;
        if (options.manual)
          options.log(`confirm with  npm run migrate -- finalize ${MIGRATION_ID} --confirm${at}`);
      }
      const blockers = status.gate.blockers ?? [];
      if (options.manual) {
        finalizeSent = true;
      } else if (blockers.length > 0) {
        // e.g. a scheduled verification that found mismatches the repair loop fixes meanwhile: the
        // demo confirms only what the gate would pass without force.
        if (!waitingLogged)
          options.log(`FINALIZE waits for its gate's blockers to clear: ${blockers.join('; ')}`);
        waitingLogged = true;
      } else {
        finalizeSent = true;
        options.log('confirming the irreversible step (finalize {"confirm": true})');
        await handle.executeUpdate('finalize', {
          args: [{ confirm: true, by: 'demo', reason: 'demo: every gate healthy' }],
        });
      }
    }
    await sleep(500);
  }
}
