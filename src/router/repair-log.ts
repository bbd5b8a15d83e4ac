import type { Redis } from 'ioredis';
import { RepairStream, type RepairEntry } from '../switches/repairs.js';

/**
 * Buffers repair entries in memory and writes them to the repair stream in the background, so a
 * request never waits for Redis. While Redis is unreachable entries accumulate (up to maxPending;
 * beyond that they collapse to one table-level entry per table) and are written when it returns.
 */
export class RepairLog {
  private readonly stream: RepairStream;
  private pending: RepairEntry[] = [];
  private readonly overflow = new Map<string, RepairEntry>();
  private flushing?: Promise<void>;
  private timer?: NodeJS.Timeout;
  private callbacks: (() => void)[] = [];
  written = 0;

  constructor(
    redis: Redis,
    migrationId: string,
    private readonly onError: (err: Error, pending: number) => void,
    private readonly maxPending = 100_000,
  ) {
    this.stream = new RepairStream(redis, migrationId);
  }

  get size(): number {
    return this.pending.length + this.overflow.size;
  }

  /** Queues entries; onWritten runs once they (and everything queued before them) are in Redis. */
  add(entries: readonly RepairEntry[], onWritten?: () => void): void {
    if (onWritten) this.callbacks.push(onWritten);
    for (const e of entries) {
      if (this.pending.length < this.maxPending) this.pending.push(e);
      else this.overflow.set(e.table, { ...e, key: null, error: `repair log overflow; ${e.error}` });
    }
    void this.flush();
  }

  /** Writes what is pending; resolves when done or when Redis refused (a retry is scheduled). */
  flush(): Promise<void> {
    if (!this.flushing) {
      this.flushing = this.drain().finally(() => {
        this.flushing = undefined;
      });
    }
    return this.flushing;
  }

  private async drain(): Promise<void> {
    while (this.size > 0) {
      const batch = this.pending.slice(0, 500);
      const extra = batch.length < 500 ? [...this.overflow.values()] : [];
      try {
        await this.stream.append([...batch, ...extra]);
      } catch (err) {
        this.onError(err as Error, this.size);
        this.scheduleRetry();
        return;
      }
      this.pending.splice(0, batch.length);
      for (const e of extra) this.overflow.delete(e.table);
      this.written += batch.length + extra.length;
    }
    const done = this.callbacks;
    this.callbacks = [];
    for (const fn of done) fn();
  }

  private scheduleRetry(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
  }
}
