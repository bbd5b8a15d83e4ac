import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import type { RouterAcks } from '../shared/switches.js';
import { migrationKeys } from './keys.js';

/** What a router tells the registry with each heartbeat. */
export interface RouterHeartbeat {
  routerId: string;
  /** The switch version the router applies (0: it has not loaded any switches yet). */
  version: number;
  /** The epoch of the switch hash that version belongs to ('' from routers that do not report it). */
  epoch: string;
  pid: number;
  host: string;
  /** ISO time of this heartbeat. */
  seenAt: string;
  /** How long the router lets a write wait on a hold before failing it (absent: not reported). */
  holdMaxMs?: number;
}

export const DEFAULT_ROUTER_TTL_MS = 5000;

/** Records a heartbeat: the router's key lives for ttlMs unless renewed. */
export async function writeHeartbeat(
  redis: Redis,
  migrationId: string,
  beat: {
    routerId: string;
    version: number;
    epoch?: string;
    pid?: number;
    host?: string;
    holdMaxMs?: number;
  },
  ttlMs: number = DEFAULT_ROUTER_TTL_MS,
): Promise<void> {
  const keys = migrationKeys(migrationId);
  const value: RouterHeartbeat = {
    routerId: beat.routerId,
    version: beat.version,
    epoch: beat.epoch ?? '',
    pid: beat.pid ?? process.pid,
    host: beat.host ?? hostname(),
    seenAt: new Date().toISOString(),
    ...(beat.holdMaxMs !== undefined ? { holdMaxMs: beat.holdMaxMs } : {}),
  };
  await redis
    .multi()
    .set(keys.router(beat.routerId), JSON.stringify(value), 'PX', Math.max(1, Math.round(ttlMs)))
    .zadd(keys.routers, Date.now(), beat.routerId)
    .exec();
}

/** Removes a router from the registry at once (a clean shutdown). */
export async function removeHeartbeat(redis: Redis, migrationId: string, routerId: string): Promise<void> {
  const keys = migrationKeys(migrationId);
  await redis.multi().del(keys.router(routerId)).zrem(keys.routers, routerId).exec();
}

/** Live routers: those whose heartbeat key has not expired. Expired ones are dropped from the index. */
export async function listRouters(redis: Redis, migrationId: string): Promise<RouterHeartbeat[]> {
  const keys = migrationKeys(migrationId);
  const ids = await redis.zrange(keys.routers, 0, -1);
  if (ids.length === 0) return [];
  const values = await redis.mget(...ids.map((id) => keys.router(id)));
  const live: RouterHeartbeat[] = [];
  const dead: string[] = [];
  values.forEach((v, i) => {
    const beat = v ? parseHeartbeat(v) : undefined;
    if (beat) live.push(beat);
    else dead.push(ids[i]);
  });
  // A router that heartbeats again re-adds itself; removing an id whose key is gone is safe.
  if (dead.length > 0) await redis.zrem(keys.routers, ...dead);
  return live;
}

function parseHeartbeat(text: string): RouterHeartbeat | undefined {
  try {
    const v = JSON.parse(text) as Partial<RouterHeartbeat>;
    if (typeof v.routerId !== 'string' || typeof v.version !== 'number') return undefined;
    return {
      routerId: v.routerId,
      version: v.version,
      epoch: typeof v.epoch === 'string' ? v.epoch : '',
      pid: typeof v.pid === 'number' ? v.pid : 0,
      host: typeof v.host === 'string' ? v.host : '',
      seenAt: typeof v.seenAt === 'string' ? v.seenAt : '',
      ...(typeof v.holdMaxMs === 'number' ? { holdMaxMs: v.holdMaxMs } : {}),
    };
  } catch {
    return undefined;
  }
}

export interface WaitForAcksOptions {
  migrationId: string;
  version: number;
  timeoutMs: number;
  /** Polling interval (default 25 ms). */
  pollMs?: number;
  /**
   * Not satisfied while fewer routers than this acknowledged (default 0). The plan's expected router
   * count: with it, "no router registered" is not "all acknowledged".
   */
  minRouters?: number;
}

/** The acknowledgement state right now. */
export async function routerAcks(
  redis: Redis,
  migrationId: string,
  version: number,
  minRouters = 0,
): Promise<RouterAcks> {
  const [live, epoch] = await Promise.all([
    listRouters(redis, migrationId),
    redis.hget(migrationKeys(migrationId).switches, 'epoch'),
  ]);
  // A version counts only under the hash's current epoch: after Redis lost the switches and they were
  // written again, versions restart, and an old "v5" says nothing about the new v5.
  const acks = (r: RouterHeartbeat) => r.version >= version && (r.epoch === '' || r.epoch === (epoch ?? ''));
  const acked = live
    .filter(acks)
    .map((r) => r.routerId)
    .sort();
  const pending = live
    .filter((r) => !acks(r))
    .map((r) => r.routerId)
    .sort();
  const state: RouterAcks = {
    version,
    acked,
    pending,
    allAcked: pending.length === 0 && acked.length >= minRouters,
  };
  const limits = live.filter((r) => r.holdMaxMs !== undefined);
  if (limits.length) state.holdMaxMs = Object.fromEntries(limits.map((r) => [r.routerId, r.holdMaxMs!]));
  if (epoch === null) {
    state.allAcked = false;
    state.switchesAbsent = true;
  }
  return state;
}

/**
 * Polls until every live router has acknowledged `version` or later. A router that dies drops out
 * when its heartbeat TTL expires, so it delays the wait by at most that TTL. Returns the last state
 * seen (allAcked false on timeout); never throws on timeout.
 */
export async function waitForRouterAcks(redis: Redis, options: WaitForAcksOptions): Promise<RouterAcks> {
  const deadline = Date.now() + options.timeoutMs;
  const pollMs = options.pollMs ?? 25;
  for (;;) {
    const state = await routerAcks(redis, options.migrationId, options.version, options.minRouters ?? 0);
    // Lost switches (Redis restarted without them) acknowledge nothing until written again: say so now.
    if (state.allAcked || state.switchesAbsent || Date.now() >= deadline) return state;
    await sleep(Math.min(pollMs, Math.max(1, deadline - Date.now())));
  }
}
