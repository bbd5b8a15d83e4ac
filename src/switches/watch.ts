import type { Redis } from 'ioredis';
import type { Switches } from '../shared/switches.js';
import { epochOfFields, epochOfMessage, switchesFromFields, switchesFromMessage } from './codec.js';
import { migrationKeys } from './keys.js';
import { BACKGROUND_OPTIONS, newConnection, type RedisLike } from './redis.js';

export interface SwitchWatcherOptions {
  redis: RedisLike;
  migrationId: string;
  /** Called with every newer version (from a message, a re-read after reconnecting, or the poll). */
  onChange: (switches: Switches) => void;
  /**
   * Called whenever Redis has just shown the current switches (a successful re-read, or a published
   * change): the basis of a follower's lease on them.
   */
  onConfirm?: (switches: Switches) => void;
  /** Called when Redis answered a re-read and holds no switches for the migration. */
  onAbsent?: () => void;
  /** Connection problems (the watcher keeps retrying by itself). */
  onError?: (err: Error) => void;
  /** Re-read interval, a safety net for messages missed while disconnected (default 1000 ms). */
  pollMs?: number;
}

/**
 * Follows one migration's switches: subscribes to its channel and re-reads the hash whenever a
 * connection becomes ready and every pollMs, so it resumes by itself after Redis restarts. Only newer
 * versions are reported. Nothing here ever waits for Redis on behalf of a caller.
 */
export class SwitchWatcher {
  /** For the watcher's reads and for the owner's background commands (heartbeats, repair entries). */
  readonly command: Redis;
  private readonly subscriber: Redis;
  private readonly keys;
  private timer?: NodeJS.Timeout;
  private latest?: Switches;
  private epoch = '';
  private stopped = false;

  constructor(private readonly options: SwitchWatcherOptions) {
    this.keys = migrationKeys(options.migrationId);
    this.command = newConnection(options.redis, { ...BACKGROUND_OPTIONS, lazyConnect: true });
    this.subscriber = newConnection(options.redis, {
      ...BACKGROUND_OPTIONS,
      enableOfflineQueue: true,
      autoResubscribe: true,
      lazyConnect: true,
    });
  }

  get current(): Switches | undefined {
    return this.latest;
  }

  start(): void {
    const onError = (err: Error) => this.options.onError?.(err);
    this.command.on('error', onError);
    this.subscriber.on('error', onError);
    this.command.on('ready', () => void this.refresh());
    this.subscriber.on('ready', () => void this.refresh());
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel !== this.keys.channel) return;
      const s = switchesFromMessage(message);
      if (s) {
        this.offer(s, epochOfMessage(message));
        if (this.latest?.version === s.version) this.options.onConfirm?.(this.latest);
      }
    });
    this.command.connect().catch(onError);
    this.subscriber.connect().catch(onError);
    this.subscriber.subscribe(this.keys.channel).catch(onError);
    this.timer = setInterval(() => void this.refresh(), this.options.pollMs ?? 1000);
    this.timer.unref();
  }

  /** Re-reads the switches now; failures are reported to onError and otherwise ignored. */
  async refresh(): Promise<void> {
    if (this.stopped || this.command.status !== 'ready') return;
    try {
      const fields = await this.command.hgetall(this.keys.switches);
      const s = switchesFromFields(fields);
      if (s) {
        this.offer(s, epochOfFields(fields));
        if (this.latest?.version === s.version && this.epoch === epochOfFields(fields))
          this.options.onConfirm?.(this.latest);
      } else if (Object.keys(fields).length === 0) {
        this.options.onAbsent?.();
      }
    } catch (err) {
      this.options.onError?.(err as Error);
    }
  }

  /**
   * Newer versions of the same epoch are reported; a different epoch (the hash was lost and created
   * again, e.g. Redis restarted without persistence) is reported whatever its version.
   */
  private offer(s: Switches, epoch: string): void {
    if (this.stopped) return;
    if (this.latest && epoch === this.epoch && s.version <= this.latest.version) return;
    this.latest = s;
    this.epoch = epoch;
    this.options.onChange(s);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await Promise.allSettled([quit(this.subscriber), quit(this.command)]);
  }
}

async function quit(redis: Redis): Promise<void> {
  if (redis.status === 'ready') {
    try {
      await redis.quit();
      return;
    } catch {
      // fall through
    }
  }
  redis.disconnect();
}
