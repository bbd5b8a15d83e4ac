/**
 * One activity per health refresh of a migration (the workflow calls it on a steady cadence): the
 * status of each running CDC stream, the repair loop's counters and the workflow's pending activities
 * (attempt, last failure, time since progress). Each part is read on its own: a part that cannot be
 * read comes back as an error text (the workflow shows it, and an unknown lag blocks gates) instead of
 * failing the whole refresh.
 */
import type { RepairLoopProgress, SyncStatus, SyncStreamSpec } from '../contracts.js';
import { errorText } from './verification-reports.js';
import type { ActivityHealth } from './types.js';

export interface MigrationHealthInput {
  workflowId: string;
  streams: SyncStreamSpec[];
  /** The repair loop's checkpoint key, when a loop runs. */
  repairKey: string | null;
}

export interface MigrationHealth {
  streams: { stream: string; status: SyncStatus | null; error: string | null }[];
  repair: { progress: RepairLoopProgress | null; error: string | null } | null;
  activities: ActivityHealth[] | null;
  activitiesError: string | null;
}

export interface MigrationHealthDeps {
  syncStatus(spec: SyncStreamSpec): Promise<SyncStatus>;
  repairProgress(key: string): Promise<RepairLoopProgress | null>;
  activityHealth?: (workflowId: string) => Promise<ActivityHealth[]>;
}

export async function migrationHealth(
  input: MigrationHealthInput,
  deps: MigrationHealthDeps,
): Promise<MigrationHealth> {
  const [streams, repair, activities] = await Promise.all([
    Promise.all(
      input.streams.map(async (spec) => {
        try {
          return { stream: spec.stream, status: await deps.syncStatus(spec), error: null };
        } catch (err) {
          return { stream: spec.stream, status: null, error: errorText(err) };
        }
      }),
    ),
    input.repairKey === null
      ? null
      : deps.repairProgress(input.repairKey).then(
          (progress) => ({ progress, error: null }),
          (err: unknown) => ({ progress: null, error: errorText(err) }),
        ),
    deps.activityHealth
      ? deps.activityHealth(input.workflowId).then(
          (a) => ({ list: a, error: null }),
          (err: unknown) => ({ list: null, error: errorText(err) }),
        )
      : { list: null, error: 'this worker has no Temporal client' },
  ]);
  return {
    streams,
    repair,
    // The health refresh itself is always pending while it runs: not worth showing.
    activities: activities.list?.filter((a) => a.activity !== 'migrationHealth') ?? null,
    activitiesError: activities.error,
  };
}
