import type { Redis } from 'ioredis';
import type { Switches } from '../shared/switches.js';
import { DEFAULT_SWITCHES } from '../switches/codec.js';
import type { RedisLike } from '../switches/redis.js';
import { removeHeartbeat, writeHeartbeat } from '../switches/routers.js';
import { SwitchWatcher } from '../switches/watch.js';

export interface FollowerOptions {
  redis: RedisLike;
  migrationId: string;
  routerId: string;
  heartbeatMs: number;
  ttlMs: number;
  /** Switches used until the first load from Redis. */
  fallback: Switches;
  onChange(next: Switches, previous: Switches): void;
  onRedis(connected: boolean, error?: Error): void;
}

/**
 * The router's view of the switches: starts from the fallback, follows Redis without ever blocking a
 * query, and acknowledges a version only once no write that started under an older version is still
 * running (so the workflow's "all routers acked" means no old-mode write can still commit).
 */
export class SwitchFollower {
  private current: Switches;
  private loaded = false;
  private readonly watcher: SwitchWatcher;
  private readonly inFlight = new Map<number, number>();
  private lastAcked = -1;
  private timer?: NodeJS.Timeout;
  private beating = false;
  private again = false;
  private stopped = false;

  constructor(private readonly options: FollowerOptions) {
    this.current = options.fallback;
    this.watcher = new SwitchWatcher({
      redis: options.redis,
      migrationId: options.migrationId,
      onChange: (s) => this.apply(s),
      onError: (err) => options.onRedis(false, err),
    });
  }

  get switches(): Switches {
    return this.current;
  }

  get isLoaded(): boolean {
    return this.loaded;
  }

  /** The background connection (heartbeats, repair entries): commands fail fast while Redis is down. */
  get redis(): Redis {
    return this.watcher.command;
  }

  start(): void {
    this.watcher.command.on('ready', () => {
      this.options.onRedis(true);
      this.beat();
    });
    this.watcher.command.on('close', () => this.options.onRedis(false));
    this.watcher.start();
    this.timer = setInterval(() => this.beat(), this.options.heartbeatMs);
    this.timer.unref();
  }

  private apply(next: Switches): void {
    // The watcher reports only newer states (or a re-created hash); the fallback is always replaced.
    const previous = this.current;
    this.current = next;
    this.loaded = true;
    this.options.onChange(next, previous);
    this.beat();
  }

  /** Marks a write (or transaction) as started under the current switches; returns them. */
  beginWrite(): Switches {
    const s = this.current;
    this.inFlight.set(s.version, (this.inFlight.get(s.version) ?? 0) + 1);
    return s;
  }

  endWrite(s: Switches): void {
    const n = (this.inFlight.get(s.version) ?? 1) - 1;
    if (n <= 0) this.inFlight.delete(s.version);
    else this.inFlight.set(s.version, n);
    if (this.ackVersion() !== this.lastAcked) this.beat();
  }

  /** The version this router can vouch for: 0 until loaded; never above the oldest running write. */
  ackVersion(): number {
    if (!this.loaded) return 0;
    let v = this.current.version;
    for (const running of this.inFlight.keys()) v = Math.min(v, running);
    return v;
  }

  private beat(): void {
    if (this.stopped) return;
    if (this.beating) {
      this.again = true;
      return;
    }
    if (this.watcher.command.status !== 'ready') return;
    this.beating = true;
    const version = this.ackVersion();
    let failed = false;
    writeHeartbeat(
      this.watcher.command,
      this.options.migrationId,
      { routerId: this.options.routerId, version },
      this.options.ttlMs,
    )
      .then(() => {
        this.lastAcked = version;
      })
      .catch((err: Error) => {
        failed = true;
        this.options.onRedis(false, err);
      })
      .finally(() => {
        this.beating = false;
        if (!failed && (this.again || this.ackVersion() !== this.lastAcked)) {
          this.again = false;
          this.beat();
        }
      });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.watcher.command.status === 'ready') {
      await removeHeartbeat(this.watcher.command, this.options.migrationId, this.options.routerId).catch(
        () => undefined,
      );
    }
    await this.watcher.stop();
  }
}

export function fallbackSwitches(partial: Partial<Switches> = {}): Switches {
  return { ...DEFAULT_SWITCHES, updatedAt: '', updatedBy: 'router-fallback', ...partial, version: 0 };
}
