import type { Redis } from 'ioredis';
import type { Switches } from '../shared/switches.js';
import { DEFAULT_SWITCHES } from '../switches/codec.js';
import type { RedisLike } from '../switches/redis.js';
import { releaseExpiredHold } from '../switches/fence.js';
import { removeHeartbeat, writeHeartbeat } from '../switches/routers.js';
import { SwitchWatcher } from '../switches/watch.js';
import { SwitchesStaleError, WritesHeldError } from './switch-errors.js';

export interface FollowerOptions {
  redis: RedisLike;
  migrationId: string;
  routerId: string;
  heartbeatMs: number;
  ttlMs: number;
  /**
   * How long switches confirmed by Redis stay good for writes (0: forever, unsafe). Must be shorter
   * than ttlMs: a router whose heartbeat expired has stopped writing by then.
   */
  leaseMs: number;
  /** Longest a write waits for a write hold to end before it fails. */
  holdMaxMs: number;
  /** Switches used until the first load from Redis. */
  fallback: Switches;
  onChange(next: Switches, previous: Switches): void;
  onRedis(connected: boolean, error?: Error): void;
}

/** The switches `next` carry a write hold that `previous` did not (a new hold, or a new version of one). */
export function startsHold(next: Switches, previous: Switches): boolean {
  return next.hold === true && !(previous.hold && previous.version === next.version);
}

/**
 * The router's view of the switches: starts from the fallback, follows Redis without ever blocking a
 * read, and acknowledges a version only once no write that started under an older version is still
 * running and every repair entry of such a write is in Redis (so the workflow's "all routers acked"
 * means no old-mode write can still commit or still hide a failed mirror).
 *
 * Writes on migrated tables need a lease: switches Redis confirmed less than leaseMs ago. A router cut
 * off from Redis refuses such writes after leaseMs instead of writing under a mode that may have
 * changed meanwhile; its heartbeat (ttlMs > leaseMs) expires only after that, so the workflow never
 * counts it out while it can still write. While the switches hold writes (a fenced mode change), a
 * write waits for the hold to end (at most holdMaxMs). A hold that outlives its lease (the worker
 * running the fence died) is released by a waiting writer, through Redis (fence.ts): writes resume in
 * the mode they had, instead of failing until the workflow's retry.
 */
export class SwitchFollower {
  private current: Switches;
  private loaded = false;
  private confirmedAt = -Infinity;
  private readonly startedAt = performance.now();
  private readonly watcher: SwitchWatcher;
  private readonly inFlight = new Map<number, number>();
  private readonly waiters = new Set<() => void>();
  private lastAcked = -1;
  /** When this router first saw the current hold (its lease is judged by Redis; this only paces asking). */
  private holdSeenAt = 0;
  private releaseAskedAt = -Infinity;
  private timer?: NodeJS.Timeout;
  private beating = false;
  private again = false;
  private stopped = false;

  constructor(private readonly options: FollowerOptions) {
    if (options.leaseMs > 0 && options.leaseMs >= options.ttlMs) {
      throw new Error(
        `router leaseMs (${options.leaseMs}) must be shorter than heartbeatTtlMs (${options.ttlMs})`,
      );
    }
    this.current = options.fallback;
    this.watcher = new SwitchWatcher({
      redis: options.redis,
      migrationId: options.migrationId,
      onChange: (s) => this.apply(s),
      onConfirm: () => {
        this.confirmedAt = performance.now();
        this.wake();
      },
      // No migration in Redis yet (the application deployed the router before the workflow started):
      // the fallback SOURCE_ONLY is then the truth, confirmed. Once this router has seen real switches,
      // an absent hash means Redis lost them, which confirms nothing.
      onAbsent: () => {
        if (this.loaded || this.current.writeMode !== 'SOURCE_ONLY') return;
        this.confirmedAt = performance.now();
        this.wake();
      },
      onError: (err) => options.onRedis(false, err),
    });
  }

  get switches(): Switches {
    return this.current;
  }

  get isLoaded(): boolean {
    return this.loaded;
  }

  /** Whether the switches in memory were confirmed by Redis within the lease. */
  get fresh(): boolean {
    return this.options.leaseMs <= 0 || performance.now() - this.confirmedAt <= this.options.leaseMs;
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
    if (startsHold(next, previous)) this.holdSeenAt = performance.now();
    this.current = next;
    this.loaded = true;
    this.confirmedAt = performance.now();
    this.options.onChange(next, previous);
    this.wake();
    this.beat();
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  /**
   * Marks a write (or transaction) as started under the current switches and returns them. A guarded
   * write (one that may touch a migrated table) first needs the lease and no write hold: it waits for a
   * hold to end and fails with WritesHeldError after holdMaxMs, or with SwitchesStaleError when the
   * switches cannot be confirmed.
   */
  async beginWrite(guarded = true): Promise<Switches> {
    if (guarded) await this.admit();
    return this.enter();
  }

  /** Like beginWrite(false): never waits (statements that cannot touch a migrated table). */
  enter(): Switches {
    const s = this.current;
    this.inFlight.set(s.version, (this.inFlight.get(s.version) ?? 0) + 1);
    return s;
  }

  private async admit(): Promise<void> {
    if (!this.fresh) {
      // Just started: the first answer from Redis is usually a few ms away; wait for it (within the lease).
      if (this.confirmedAt === -Infinity && performance.now() - this.startedAt < this.options.leaseMs)
        await this.until(() => this.fresh || performance.now() - this.startedAt >= this.options.leaseMs);
      if (!this.fresh) throw this.stale();
    }
    if (!this.current.hold) return;
    const started = performance.now();
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!this.current.hold) done(resolve);
        else if (!this.fresh) done(() => reject(this.stale()));
        else if (performance.now() - started >= this.options.holdMaxMs)
          done(() =>
            reject(
              new WritesHeldError(
                `writes to migrated tables of migration ${this.options.migrationId} are held for a switch change ` +
                  `(version ${this.current.version}) for more than ${this.options.holdMaxMs} ms; ` +
                  'the migration worker that holds them may be down: check the workflow',
              ),
            ),
          );
        else if (this.leaseRunOut()) this.releaseHold();
      };
      const timer = setInterval(check, 50);
      const done = (fn: () => void) => {
        clearInterval(timer);
        this.waiters.delete(check);
        fn();
      };
      this.waiters.add(check);
    });
  }

  private leaseRunOut(): boolean {
    const { hold, holdMs } = this.current;
    return hold === true && holdMs !== undefined && performance.now() - this.holdSeenAt >= holdMs;
  }

  /** Asks Redis to release the current hold if its lease has run out there (at most every 250 ms). */
  private releaseHold(): void {
    const now = performance.now();
    if (now - this.releaseAskedAt < 250) return;
    this.releaseAskedAt = now;
    const { version, holdMs } = this.current;
    const actor = `router ${this.options.routerId}: hold of version ${version} outlived its ${holdMs} ms lease`;
    releaseExpiredHold(this.watcher.command, this.options.migrationId, version, actor.slice(0, 200)).catch(
      (err: Error) => this.options.onRedis(false, err),
    );
  }

  /** Resolves once cond() holds (checked on every confirmation/change and every 20 ms). */
  private until(cond: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (!cond() && !this.stopped) return;
        clearInterval(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setInterval(check, 20);
      this.waiters.add(check);
    });
  }

  private stale(): SwitchesStaleError {
    const age = performance.now() - this.confirmedAt;
    return new SwitchesStaleError(
      `router ${this.options.routerId} cannot confirm the switches of migration ${this.options.migrationId} ` +
        (Number.isFinite(age) ? `(last confirmed ${Math.round(age)} ms ago` : '(never confirmed') +
        `, lease ${this.options.leaseMs} ms): writes to migrated tables are refused until Redis answers, ` +
        'so that no write runs under a write mode that may have changed',
    );
  }

  endWrite(s: Switches): void {
    const n = (this.inFlight.get(s.version) ?? 1) - 1;
    if (n <= 0) this.inFlight.delete(s.version);
    else this.inFlight.set(s.version, n);
    if (this.ackVersion() !== this.lastAcked) this.beat();
  }

  /** Keeps `s` unacknowledged (like a running write) until the returned function is called. */
  pin(s: Switches): () => void {
    this.inFlight.set(s.version, (this.inFlight.get(s.version) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.endWrite(s);
    };
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
      {
        routerId: this.options.routerId,
        version,
        epoch: this.current.epoch ?? '',
        holdMaxMs: this.options.holdMaxMs,
      },
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
    this.wake();
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
