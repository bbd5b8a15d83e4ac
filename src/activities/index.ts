/**
 * The activities: the data plane's plain functions wrapped for Temporal (heartbeats, resume,
 * cancellation, non-retryable configuration errors), plus switch, schedule and checkpoint activities.
 * Arguments name connections and tables; credentials are resolved from this worker's environment.
 */
import type { Client } from '@temporalio/client';
import { Redis } from 'ioredis';
import type {
  CopyProgress,
  RepairLoopProgress,
  RouterAcks,
  RunContext,
  Switches,
  SyncProgress,
  VerifyProgress,
  VerifyResult,
} from './contracts.js';
import { getPool, redisOptions } from './db/connections.js';
import { deleteCheckpoint } from './cdc/checkpoint.js';
import { SwitchStore, fencedChange, migrationKeys } from '../switches/index.js';
import { drainFailedWrites } from './repair/drain.js';
import { copyDependencies, precheck, prepareTarget, dropCreatedTables } from './schema/index.js';
import { copyTable, splitKeyRanges, truncateTargetTables } from './copier/index.js';
import { currentPosition, recordSyncStart, runSync, syncStatus, waitForSyncPosition } from './cdc/index.js';
import { verifyTable, verifyUpdatedSince, reverseScanDeletes } from './verify/index.js';
import { runRepairLoop } from './repair/index.js';
import { bypassActivities } from './bypass/index.js';
import { deltas, type WorkerMetrics } from './metrics.js';
import { activityRun } from './temporal/context.js';
import { RedisCheckpoints } from './temporal/checkpoints.js';
import { classify } from './temporal/errors.js';
import { fullRepairLoop } from './temporal/repair-loop.js';
import { healthActivities } from './temporal/health.js';
import { migrationHealth } from './temporal/migration-health.js';
import { verificationReportActivities } from './temporal/verification-reports.js';
import { scheduleActivities } from './temporal/schedules.js';
import type { FencedWriteModeResult, MigrationActivities } from './temporal/types.js';

export type { MigrationActivities } from './temporal/types.js';

/** Runs a resumable data-plane function with the activity's heartbeat/resume/cancellation context. */
async function withRun<P, R>(fn: (ctx: RunContext<P>) => Promise<R>): Promise<R> {
  const run = await activityRun<P>();
  try {
    return await run.watched(() => fn(run.ctx));
  } finally {
    await run.close();
  }
}

export interface ActivityOptions {
  /** Client for the schedule activities (the worker's connection). */
  client?: Client;
  /** Prometheus metrics fed from progress and results (metrics.ts). */
  metrics?: WorkerMetrics;
}

/** The same context, with every progress report also shown to `on` (metrics). */
function observed<P>(ctx: RunContext<P>, on: (p: P) => void): RunContext<P> {
  return {
    ...ctx,
    progress: (p) => {
      on(p);
      ctx.progress?.(p);
    },
  };
}

export function createActivities(
  options: ActivityOptions = {},
): MigrationActivities & { closeActivities(): Promise<void> } {
  let redis: Redis | undefined;
  let switches: SwitchStore | undefined;
  const getRedis = () => {
    if (!redis) {
      redis = new Redis({ ...redisOptions(), maxRetriesPerRequest: 3 });
      // Errors surface on the commands that fail (and retry as activities); no unhandled 'error' events.
      redis.on('error', () => undefined);
    }
    return redis;
  };
  const store = () => (switches ??= new SwitchStore(getRedis()));
  const checkpoints = new RedisCheckpoints(getRedis);
  const bypass = bypassActivities(getRedis, checkpoints);

  const metrics = options.metrics;
  const verified = (r: VerifyResult) => {
    metrics?.verified(r);
    return r;
  };
  const schedules = options.client ? scheduleActivities(options.client) : undefined;
  const health = options.client ? healthActivities(options.client) : undefined;
  const reports = options.client ? verificationReportActivities(options.client) : undefined;
  const noClient = () => {
    throw new Error(
      'this worker has no Temporal client for schedule activities (createActivities({ client }))',
    );
  };

  const activities: MigrationActivities = {
    precheck: (input) => classify(() => precheck(input)),
    prepareTarget: (input) => classify(() => prepareTarget(input)),
    copyDependencies: (input) => classify(() => copyDependencies(input)),
    dropCreatedTables: (input) =>
      classify(async () => {
        const r = await dropCreatedTables(input);
        return { dropped: r.dropped };
      }),

    initSwitches: ({ migrationId }) => classify(() => store().initialise(migrationId, 'migration-workflow')),
    setSwitches: ({ migrationId, change, by }): Promise<Switches> =>
      classify(() => store().set(migrationId, change, by)),
    waitForRouterAcks: ({ migrationId, version, timeoutMs, expectedRouters }): Promise<RouterAcks> =>
      classify(() =>
        store().waitForRouterAcks({
          migrationId,
          version,
          timeoutMs,
          pollMs: 100,
          minRouters: expectedRouters ?? 0,
        }),
      ),
    fencedWriteMode: (input) =>
      classify(async () => {
        let drained: FencedWriteModeResult['drained'];
        const drain = input.drain;
        const loop = drain?.loopStream
          ? await checkpoints.load<RepairLoopProgress>(`${input.migrationId}:repairloop:${drain.loopStream}`)
          : null;
        const r = await fencedChange(store(), {
          migrationId: input.migrationId,
          change: input.change,
          by: input.by,
          holdTimeoutMs: input.holdTimeoutMs,
          expectedRouters: input.expectedRouters,
          whileHeld: drain
            ? async (signal) => {
                drained = await drainFailedWrites(
                  getRedis(),
                  { migrationId: input.migrationId, ...drain, after: loop?.redisLastId },
                  signal,
                );
                if (drained.entries > 0) metrics?.repaired(drained.repaired);
              }
            : undefined,
        });
        return { ...r, drained };
      }),

    currentPosition: ({ connection }) => classify(() => currentPosition(connection)),
    recordSyncStart: ({ spec }) => classify(() => recordSyncStart(spec)),
    runSync: (spec) =>
      classify(async () => {
        await withRun<SyncProgress, unknown>((ctx) => {
          const d = deltas(ctx.resume, (p: SyncProgress) => [p.transactions, p.rowsApplied]);
          return runSync(
            spec,
            observed(ctx, (p) => {
              const [tx, rows] = d(p);
              metrics?.applied(spec.stream, tx, rows);
            }),
          );
        });
      }),
    syncStatus: (spec) =>
      classify(async () => {
        const st = await syncStatus(spec.stream, spec.from, spec.to);
        metrics?.lag(st);
        return st;
      }),
    waitForSyncPosition: ({ spec, position, timeoutMs }) =>
      classify(async () => {
        const run = await activityRun<never>();
        try {
          const r = await run.watched(() =>
            waitForSyncPosition({
              stream: spec.stream,
              from: spec.from,
              to: spec.to,
              position,
              timeoutMs,
              signal: run.ctx.signal,
            }),
          );
          return { reached: r.reached, applied: r.applied };
        } finally {
          await run.close();
        }
      }),

    splitKeyRanges: ({ source, table, ranges }) =>
      classify(() => splitKeyRanges({ source, table, parts: ranges })),
    copyTable: (input) =>
      classify(async () => {
        const run = await activityRun<CopyProgress>({
          store: checkpoints,
          checkpointKey: input.checkpointKey,
        });
        try {
          const { checkpointKey: _unused, ...copyInput } = input;
          void _unused;
          const d = deltas(run.ctx.resume, (p: CopyProgress) => [p.rowsCopied]);
          const ctx = observed(run.ctx, (p) => metrics?.copied(input.table.name, d(p)[0]));
          return await run.watched(() => copyTable(copyInput, ctx));
        } finally {
          await run.close();
        }
      }),
    clearCopyCheckpoints: ({ prefix }) =>
      classify(async () => {
        await checkpoints.clear(prefix);
      }),
    truncateTargetTables: (input) =>
      classify(async () => {
        await truncateTargetTables(input);
      }),

    verifyTable: (input) =>
      classify(() =>
        withRun<VerifyProgress, VerifyResult>(async (ctx) => verified(await verifyTable(input, ctx))),
      ),
    verifyUpdatedSince: (input) =>
      classify(() =>
        withRun<VerifyProgress, VerifyResult>(async (ctx) => verified(await verifyUpdatedSince(input, ctx))),
      ),
    reverseScanDeletes: (input) =>
      classify(() =>
        withRun<VerifyProgress, VerifyResult>(async (ctx) => verified(await reverseScanDeletes(input, ctx))),
      ),
    runRepairLoop: (input) =>
      classify(async () => {
        const progressKey = `${input.migrationId}:repairloop:${input.stream}`;
        const run = await activityRun<RepairLoopProgress>({ store: checkpoints, checkpointKey: progressKey });
        const d = deltas(run.ctx.resume, (p: RepairLoopProgress) => [
          p.repaired.missing,
          p.repaired.extra,
          p.repaired.different,
        ]);
        const loopCtx = observed(run.ctx, (p) => {
          const [missing, extra, different] = d(p);
          metrics?.repaired({ missing, extra, different });
        });
        try {
          const mode = input.mode;
          if (mode === 'full') {
            await run.watched(() => fullRepairLoop(input, loopCtx, (i) => verifyTable(i)));
          } else {
            await run.watched(() =>
              runRepairLoop(
                {
                  stream: input.stream,
                  source: input.source,
                  target: input.target,
                  tables: input.tables,
                  authoritative: input.authoritative,
                  mode,
                  intervalMs: input.intervalMs,
                  redisFailureStream: migrationKeys(input.migrationId).repairs,
                },
                loopCtx,
              ),
            );
          }
        } finally {
          await run.close();
        }
      }),
    repairLoopProgress: ({ migrationId, stream }) =>
      classify(
        async () =>
          (await checkpoints.load<RepairLoopProgress>(`${migrationId}:repairloop:${stream}`)) ?? null,
      ),

    // The bypass watcher (bypass/README.md).
    runBypassWatch: (input) => classify(() => bypass.runBypassWatch(input)),
    bypassReports: (input) => classify(() => bypass.bypassReports(input)),

    createVerificationSchedule: (input) =>
      classify(async () => (schedules ? schedules.createVerificationSchedule(input) : noClient())),
    deleteVerificationSchedule: (input) =>
      classify(async () => (schedules ? schedules.deleteVerificationSchedule(input) : noClient())),
    activityHealth: (input) => classify(async () => (health ? health.activityHealth(input) : noClient())),
    migrationHealth: (input) =>
      classify(() =>
        migrationHealth(input, {
          syncStatus: async (spec) => {
            const st = await syncStatus(spec.stream, spec.from, spec.to);
            metrics?.lag(st);
            return st;
          },
          repairProgress: (key) => checkpoints.load<RepairLoopProgress>(key).then((p) => p ?? null),
          activityHealth: health ? (workflowId) => health.activityHealth({ workflowId }) : undefined,
        }),
      ),
    dropSyncCheckpoint: ({ spec }) =>
      classify(async () => {
        await deleteCheckpoint(getPool(spec.to), spec.stream);
      }),
    confirmVerificationReport: (input) =>
      classify(async () => (reports ? reports.confirmVerificationReport(input) : noClient())),
  };

  return {
    ...activities,
    async closeActivities() {
      await switches?.close();
      redis?.disconnect();
    },
  };
}
