import { setTimeout as sleep } from 'node:timers/promises';
import type { Pool, RowDataPacket } from 'mysql2/promise';

/** What a lag check saw: seconds behind, or null when replication is not running. */
export type ReplicaLag = number | null;

export async function readReplicaLag(replica: Pool): Promise<ReplicaLag> {
  const [rows] = await replica.query<RowDataPacket[]>('SHOW SLAVE STATUS');
  const status = rows[0];
  if (!status) return null;
  const running = status.Slave_IO_Running === 'Yes' && status.Slave_SQL_Running === 'Yes';
  const behind = status.Seconds_Behind_Master;
  return running && behind !== null && behind !== undefined ? Number(behind) : null;
}

export interface ReplicaLagGuardOptions {
  maxLagSeconds: number;
  /** Re-check at most this often while healthy (default 1 s); while waiting, poll at this period too. */
  checkEveryMs?: number;
  /** Told at every check that finds the replica behind (e.g. to heartbeat while waiting). */
  onLagging?: (lag: ReplicaLag) => void;
}

/**
 * Back-pressure from a replica of the source: before each chunk, if the replica is more than
 * maxLagSeconds behind (or its replication is stopped), wait until it has caught up. A copy that
 * outruns the replicas would make their readers see stale data and risk a failover onto a lagging one.
 */
export class ReplicaLagGuard {
  private checkedAt = 0;
  private readonly checkEveryMs: number;

  constructor(
    private readonly replica: Pool,
    private readonly options: ReplicaLagGuardOptions,
  ) {
    this.checkEveryMs = options.checkEveryMs ?? 1000;
  }

  /** Resolves when the replica is within the limit; returns the milliseconds waited. */
  async wait(signal?: AbortSignal): Promise<number> {
    if (Date.now() - this.checkedAt < this.checkEveryMs) return 0;
    const started = Date.now();
    for (;;) {
      const lag = await readReplicaLag(this.replica);
      this.checkedAt = Date.now();
      if (lag !== null && lag <= this.options.maxLagSeconds) return Date.now() - started;
      this.options.onLagging?.(lag);
      await sleep(this.checkEveryMs, undefined, { signal });
    }
  }
}
