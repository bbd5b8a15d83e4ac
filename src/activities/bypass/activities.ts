/** The watcher as Temporal activities: the long-running watch and the report the workflow polls. */
import type { Redis } from 'ioredis';
import type { RepairLoopProgress, Side } from '../contracts.js';
import { activityRun } from '../temporal/context.js';
import type { RedisCheckpoints } from '../temporal/checkpoints.js';
import { toReport } from './tally.js';
import type { BypassProgress, BypassReport, BypassWatchInput } from './types.js';
import { runBypassWatch } from './watch.js';

/** Where a watcher's progress is kept (outside Temporal, so a restarted watcher resumes). */
export function bypassCheckpointKey(migrationId: string, side: Side): string {
  return `${migrationId}:bypass:${side}`;
}

export interface BypassActivities {
  /** Tails one side's binlog until cancelled (heartbeats its progress). */
  runBypassWatch(input: BypassWatchInput): Promise<void>;
  /** The latest progress of each side's watcher that ever ran. */
  bypassReports(input: { migrationId: string }): Promise<BypassReport[]>;
}

export function bypassActivities(redis: () => Redis, checkpoints: RedisCheckpoints): BypassActivities {
  return {
    async runBypassWatch(input) {
      const run = await activityRun<BypassProgress>({
        store: checkpoints,
        checkpointKey: bypassCheckpointKey(input.migrationId, input.side),
      });
      try {
        await run.watched(() =>
          runBypassWatch(input, run.ctx, {
            redis: redis(),
            repairCursor: async () =>
              (
                await checkpoints.load<RepairLoopProgress>(
                  `${input.migrationId}:repairloop:${input.migrationId}-repair`,
                )
              )?.redisLastId,
          }),
        );
      } finally {
        await run.close();
      }
    },
    async bypassReports({ migrationId }) {
      const out: BypassReport[] = [];
      for (const side of ['source', 'target'] as const) {
        const p = await checkpoints.load<BypassProgress>(bypassCheckpointKey(migrationId, side));
        if (p) out.push(toReport(p));
      }
      return out;
    },
  };
}
