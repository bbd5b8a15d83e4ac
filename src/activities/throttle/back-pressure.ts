import { setTimeout as sleep } from 'node:timers/promises';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { serverInfo, statementsFor } from '../db/server.js';

/** One signal that the copy should wait: null when healthy, else why not. */
export interface LoadProbe {
  check(): Promise<string | null>;
}

/** Seconds a replica is behind, or null when its replication is not running. */
export async function readReplicaLag(replica: Pool): Promise<number | null> {
  // SHOW REPLICA STATUS and its Replica_*/Source columns on MySQL 8.0.22+ (db/server.ts).
  const { replicaStatus, replicaColumns: c } = statementsFor(await serverInfo(replica));
  const [rows] = await replica.query<RowDataPacket[]>(replicaStatus);
  const status = rows[0];
  if (!status) return null;
  const running = status[c.ioRunning] === 'Yes' && status[c.sqlRunning] === 'Yes';
  const behind = status[c.secondsBehind];
  return running && behind !== null && behind !== undefined ? Number(behind) : null;
}

/** A replica of the source more than maxLagSeconds behind, or stopped (lag unknown), means wait. */
export function replicaLagProbe(replica: Pool, maxLagSeconds: number): LoadProbe {
  return {
    async check() {
      const lag = await readReplicaLag(replica);
      if (lag === null) return 'source replica is not replicating';
      return lag > maxLagSeconds ? `source replica is ${lag} s behind (max ${maxLagSeconds} s)` : null;
    },
  };
}

/** More than maxThreadsRunning statements executing on the target at once means wait. */
export function targetLoadProbe(target: Pool, maxThreadsRunning: number): LoadProbe {
  return {
    async check() {
      const [rows] = await target.query<RowDataPacket[]>("SHOW GLOBAL STATUS LIKE 'Threads_running'");
      const running = Number(rows[0]?.Value ?? 0);
      return running > maxThreadsRunning
        ? `target has ${running} statements running (max ${maxThreadsRunning})`
        : null;
    },
  };
}

export interface BackPressureOptions {
  /** Check at most this often while healthy (default 1 s); while waiting, poll at this period too. */
  checkEveryMs?: number;
  /** Told at every check that finds a reason to wait (e.g. to heartbeat while waiting). */
  onWaiting?: (reason: string) => void;
}

/**
 * Back-pressure on the copy: before each chunk, wait while any probe reports a reason (a lagging
 * replica of the source, a busy target). Checks are rate-limited so a healthy copy pays one status
 * query per second at most.
 */
export class BackPressure {
  private checkedAt = 0;
  private readonly checkEveryMs: number;

  constructor(
    private readonly probes: LoadProbe[],
    private readonly options: BackPressureOptions = {},
  ) {
    this.checkEveryMs = options.checkEveryMs ?? 1000;
  }

  /** Resolves when every probe is healthy; returns the milliseconds waited. */
  async wait(signal?: AbortSignal): Promise<number> {
    if (this.probes.length === 0 || Date.now() - this.checkedAt < this.checkEveryMs) return 0;
    const started = Date.now();
    for (;;) {
      const reasons = (await Promise.all(this.probes.map((p) => p.check()))).filter((r) => r !== null);
      this.checkedAt = Date.now();
      if (reasons.length === 0) return Date.now() - started;
      this.options.onWaiting?.(reasons.join('; '));
      await sleep(this.checkEveryMs, undefined, { signal });
    }
  }
}
