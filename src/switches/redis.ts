import { Redis, type RedisOptions } from 'ioredis';

/** A Redis connection the caller owns, or options/URL from which one is made (and then owned). */
export type RedisLike = Redis | RedisOptions | string;

export interface OwnedRedis {
  redis: Redis;
  /** Closes the connection if it was created here; leaves a caller's connection alone. */
  release(): Promise<void>;
}

export function openRedis(source: RedisLike, overrides: RedisOptions = {}): OwnedRedis {
  if (source instanceof Redis) return { redis: source, release: async () => {} };
  const redis =
    typeof source === 'string' ? new Redis(source, overrides) : new Redis({ ...source, ...overrides });
  // Connection errors surface as rejected commands; the event itself only needs a listener.
  redis.on('error', () => {});
  return {
    redis,
    release: async () => {
      try {
        await redis.quit();
      } catch {
        redis.disconnect();
      }
    },
  };
}

/**
 * A new connection with the caller's settings plus overrides (a caller's Redis is duplicated, never
 * shared: pub/sub needs its own connection and a background connection has its own queueing policy).
 */
export function newConnection(source: RedisLike, overrides: RedisOptions = {}): Redis {
  if (source instanceof Redis) return source.duplicate(overrides);
  return typeof source === 'string' ? new Redis(source, overrides) : new Redis({ ...source, ...overrides });
}

/**
 * Settings for connections that must never make their user wait while Redis is down: commands fail
 * at once instead of queueing, and reconnection is retried every second at most.
 */
export const BACKGROUND_OPTIONS: RedisOptions = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  commandTimeout: 2000,
  connectTimeout: 2000,
  retryStrategy: (times: number) => Math.min(50 * times, 1000),
};
