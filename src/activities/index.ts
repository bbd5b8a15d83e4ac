/**
 * The activities: the data plane's plain functions wrapped for Temporal (heartbeats, resume,
 * cancellation, non-retryable configuration errors), plus switch, schedule and checkpoint activities.
 * Arguments name connections and tables; credentials are resolved from this worker's environment.
 */
import type { Client } from '@temporalio/client';
import { Redis } from 'ioredis';
import type {
  BinlogPosition,
  CopyInput,
  CopyProgress,
  CopyResult,
  KeyRange,
  MigrationEndpoints,
  PrecheckReport,
  PrepareTargetResult,
  RepairLoopInput,
  RepairLoopProgress,
  RouterAcks,
  RunContext,
  Switches,
  SyncProgress,
  SyncStatus,
  SyncStreamSpec,
  TableSpec,
  VerifyInput,
  VerifyProgress,
  VerifyResult,
  VerifyWindowInput,
} from './contracts.js';
import { redisUrl } from './db/connections.js';
import { SwitchStore } from '../switches/index.js';
import { activityRun } from './temporal/context.js';
import { RedisCheckpoints } from './temporal/checkpoints.js';
import { dataPlane } from './temporal/dataplane.js';
import { classify } from './temporal/errors.js';
import { fullRepairLoop } from './temporal/repair-loop.js';
import { scheduleActivities } from './temporal/schedules.js';
import type { MigrationActivities } from './temporal/types.js';

export type { MigrationActivities } from './temporal/types.js';

const SCHEMA = ['../schema/index.js', '../schema/precheck.js', '../schema/prepare.js'];
const COPIER = ['../copier/index.js', '../copier/copy.js', '../copier/split.js', '../copier/truncate.js'];
const CDC = [
  '../cdc/index.js',
  '../cdc/sync.js',
  '../cdc/apply.js',
  '../cdc/status.js',
  '../cdc/position.js',
];
const VERIFY = ['../verify/index.js', '../verify/verifyTable.js'];
const VERIFY_INCREMENTAL = ['../verify/index.js', '../verify/incremental.js'];
const REPAIR = ['../repair/index.js', '../repair/loop.js', '../repair/runRepairLoop.js'];

export interface ActivityOptions {
  /** Client for the schedule activities (the worker's connection). */
  client?: Client;
}

export function createActivities(
  options: ActivityOptions = {},
): MigrationActivities & { closeActivities(): Promise<void> } {
  let redis: Redis | undefined;
  let switches: SwitchStore | undefined;
  const getRedis = () => {
    if (!redis) {
      redis = new Redis(redisUrl(), { maxRetriesPerRequest: 3 });
      // Errors surface on the commands that fail (and retry as activities); no unhandled 'error' events.
      redis.on('error', () => undefined);
    }
    return redis;
  };
  const store = () => (switches ??= new SwitchStore(getRedis()));
  const checkpoints = new RedisCheckpoints(getRedis);

  const verifyFn = () =>
    dataPlane<(i: VerifyInput, c?: RunContext<VerifyProgress>) => Promise<VerifyResult>>(
      'verifyTable',
      VERIFY,
    );

  const schedules = options.client ? scheduleActivities(options.client) : undefined;
  const noClient = () => {
    throw new Error(
      'this worker has no Temporal client for schedule activities (createActivities({ client }))',
    );
  };

  const activities: MigrationActivities = {
    precheck: (input: MigrationEndpoints) =>
      classify(async () => {
        const fn = await dataPlane<(i: MigrationEndpoints) => Promise<PrecheckReport>>('precheck', SCHEMA);
        return fn(input);
      }),
    prepareTarget: (input: MigrationEndpoints) =>
      classify(async () => {
        const fn = await dataPlane<(i: MigrationEndpoints) => Promise<PrepareTargetResult>>(
          'prepareTarget',
          SCHEMA,
        );
        return fn(input);
      }),
    dropCreatedTables: (input) =>
      classify(async () => {
        const fn = await dataPlane<
          (i: { target: string; tables: string[] }) => Promise<{ dropped?: string[] } | void>
        >('dropCreatedTables', SCHEMA);
        const r = await fn(input);
        return { dropped: (r && r.dropped) ?? input.tables };
      }),

    initSwitches: ({ migrationId }) => classify(() => store().initialise(migrationId, 'migration-workflow')),
    setSwitches: ({ migrationId, change, by }): Promise<Switches> =>
      classify(() => store().set(migrationId, change, by)),
    waitForRouterAcks: ({ migrationId, version, timeoutMs }): Promise<RouterAcks> =>
      classify(() => store().waitForRouterAcks({ migrationId, version, timeoutMs, pollMs: 100 })),

    currentPosition: ({ connection }) =>
      classify(async () => {
        const fn = await dataPlane<(c: string) => Promise<BinlogPosition>>('currentPosition', CDC);
        return fn(connection);
      }),
    recordSyncStart: ({ spec }) =>
      classify(async () => {
        const fn = await dataPlane<(s: SyncStreamSpec) => Promise<BinlogPosition>>('recordSyncStart', CDC);
        return fn(spec);
      }),
    runSync: (spec) =>
      classify(async () => {
        const fn = await dataPlane<(s: SyncStreamSpec, c: RunContext<SyncProgress>) => Promise<unknown>>(
          'runSync',
          CDC,
        );
        const run = await activityRun<SyncProgress>();
        try {
          await fn(spec, run.ctx);
        } finally {
          await run.close();
        }
      }),
    syncStatus: (spec) =>
      classify(async () => {
        const fn = await dataPlane<(stream: string, from: string, to: string) => Promise<SyncStatus>>(
          'syncStatus',
          CDC,
        );
        return fn(spec.stream, spec.from, spec.to);
      }),
    waitForSyncPosition: ({ spec, position, timeoutMs }) =>
      classify(async () => {
        type Wait = (i: {
          stream: string;
          from?: string;
          to: string;
          position: BinlogPosition;
          timeoutMs: number;
          signal?: AbortSignal;
        }) => Promise<{
          reached: boolean;
          applied: BinlogPosition | null;
        }>;
        const fn = await dataPlane<Wait>('waitForSyncPosition', CDC);
        const run = await activityRun<never>();
        try {
          const r = await fn({
            stream: spec.stream,
            from: spec.from,
            to: spec.to,
            position,
            timeoutMs,
            signal: run.ctx.signal,
          });
          return { reached: r.reached, applied: r.applied };
        } finally {
          await run.close();
        }
      }),

    splitKeyRanges: ({ source, table, ranges }) =>
      classify(async () => {
        const fn = await dataPlane<
          (i: { source: string; table: TableSpec; parts: number }) => Promise<KeyRange[]>
        >('splitKeyRanges', COPIER);
        return fn({ source, table, parts: ranges });
      }),
    copyTable: (input) =>
      classify(async () => {
        const fn = await dataPlane<(i: CopyInput, c: RunContext<CopyProgress>) => Promise<CopyResult>>(
          'copyTable',
          COPIER,
        );
        const run = await activityRun<CopyProgress>({
          store: checkpoints,
          checkpointKey: input.checkpointKey,
        });
        try {
          const { checkpointKey: _unused, ...copyInput } = input;
          void _unused;
          return await fn(copyInput, run.ctx);
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
        const fn = await dataPlane<(i: { target: string; tables: TableSpec[] }) => Promise<unknown>>(
          'truncateTargetTables',
          COPIER,
        );
        await fn(input);
      }),

    verifyTable: (input) =>
      classify(async () => {
        const fn = await verifyFn();
        const run = await activityRun<VerifyProgress>();
        try {
          return await fn(input, run.ctx);
        } finally {
          await run.close();
        }
      }),
    verifyUpdatedSince: (input) =>
      classify(async () => {
        const fn = await dataPlane<
          (i: VerifyWindowInput, c?: RunContext<VerifyProgress>) => Promise<VerifyResult>
        >('verifyUpdatedSince', VERIFY_INCREMENTAL);
        const run = await activityRun<VerifyProgress>();
        try {
          return await fn(input, run.ctx);
        } finally {
          await run.close();
        }
      }),
    reverseScanDeletes: (input) =>
      classify(async () => {
        const fn = await dataPlane<(i: VerifyInput, c?: RunContext<VerifyProgress>) => Promise<VerifyResult>>(
          'reverseScanDeletes',
          VERIFY_INCREMENTAL,
        );
        const run = await activityRun<VerifyProgress>();
        try {
          return await fn(input, run.ctx);
        } finally {
          await run.close();
        }
      }),
    runRepairLoop: (input) =>
      classify(async () => {
        const progressKey = `${input.migrationId}:repairloop:${input.stream}`;
        const run = await activityRun<RepairLoopProgress>({ store: checkpoints, checkpointKey: progressKey });
        try {
          let loop: ((i: RepairLoopInput, c: RunContext<RepairLoopProgress>) => Promise<unknown>) | undefined;
          if (input.mode !== 'full') {
            try {
              loop = await dataPlane<
                (i: RepairLoopInput, c: RunContext<RepairLoopProgress>) => Promise<unknown>
              >('runRepairLoop', REPAIR);
            } catch {
              loop = undefined;
            }
          }
          if (loop && input.mode !== 'full') {
            await loop(
              {
                stream: input.stream,
                source: input.source,
                target: input.target,
                tables: input.tables,
                authoritative: input.authoritative,
                mode: input.mode,
                intervalMs: input.intervalMs,
                redisFailureStream: `migrator:${input.migrationId}:repairs`,
              },
              run.ctx,
            );
          } else {
            const verify = await verifyFn();
            await fullRepairLoop(input, run.ctx, (i) => verify(i));
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

    createVerificationSchedule: (input) =>
      classify(async () => (schedules ? schedules.createVerificationSchedule(input) : noClient())),
    deleteVerificationSchedule: (input) =>
      classify(async () => (schedules ? schedules.deleteVerificationSchedule(input) : noClient())),
  };

  return {
    ...activities,
    async closeActivities() {
      await switches?.close();
      redis?.disconnect();
    },
  };
}
