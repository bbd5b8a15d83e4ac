import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { RouterAcks, SwitchChange, Switches } from '../shared/switches.js';
import { changeToFields, switchesFromFields, validateChange } from './codec.js';
import { assertMigrationId, migrationKeys } from './keys.js';
import type { Redis } from 'ioredis';
import { openRedis, type OwnedRedis, type RedisLike } from './redis.js';
import { listRouters, waitForRouterAcks, type RouterHeartbeat, type WaitForAcksOptions } from './routers.js';
import { SET_SWITCHES } from './scripts.js';

const HISTORY_MAX_LEN = 1000;

export interface SetResult {
  switches: Switches;
  /** False when the change equalled the current values or was refused (nothing written, no new version). */
  changed: boolean;
  /** True when a condition (ifVersion, onlyIfHoldExpired) did not hold; `switches` is the current state. */
  refused: boolean;
}

/** Conditions and lease of one change (see scripts.ts). */
export interface SetOptions {
  /** Apply only while the switches are at this version (compare-and-set). */
  ifVersion?: number;
  /** With hold: true, the hold's lease: after it, anyone may release the hold (releaseExpiredHold). */
  holdMs?: number;
  /** Apply only while the switches hold writes under a lease that has run out. */
  onlyIfHoldExpired?: boolean;
}

export interface SwitchHistoryEntry {
  id: string;
  version: number;
  writeMode: string;
  readPercent: number;
  shadowRead: boolean;
  at: string;
  by: string;
}

/**
 * The switches of every migration, in Redis. Writes are atomic (one Lua script), versioned and
 * published; identical values are a no-op, so compensations can set the same state again safely.
 */
export class SwitchStore {
  private readonly conn: OwnedRedis;

  constructor(redis: RedisLike) {
    this.conn = openRedis(redis);
  }

  get redis() {
    return this.conn.redis;
  }

  /** The current switches, or undefined when the migration has none. */
  async get(migrationId: string): Promise<Switches | undefined> {
    const fields = await this.conn.redis.hgetall(migrationKeys(migrationId).switches);
    return switchesFromFields(fields);
  }

  /** Creates SOURCE_ONLY / 0 % / no shadow reads at version 1 when absent; returns the current state. */
  async initialise(migrationId: string, actor = 'system'): Promise<Switches> {
    return (await this.apply(migrationId, {}, actor)).switches;
  }

  /** Applies a change; returns the state after it. */
  async set(
    migrationId: string,
    change: SwitchChange,
    actor: string,
    options: SetOptions = {},
  ): Promise<Switches> {
    return (await this.apply(migrationId, change, actor, options)).switches;
  }

  /** Like set(), with conditions; tells whether anything changed or the change was refused. */
  async apply(
    migrationId: string,
    change: SwitchChange,
    actor: string,
    options: SetOptions = {},
  ): Promise<SetResult> {
    return applySwitchChange(this.conn.redis, migrationId, change, actor, options);
  }

  /** The most recent real changes, newest first. */
  async history(migrationId: string, count = 100): Promise<SwitchHistoryEntry[]> {
    const entries = await this.conn.redis.xrevrange(
      migrationKeys(migrationId).history,
      '+',
      '-',
      'COUNT',
      count,
    );
    return entries.map(([id, flat]) => {
      const f: Record<string, string> = {};
      for (let i = 0; i + 1 < flat.length; i += 2) f[flat[i]] = flat[i + 1];
      return {
        id,
        version: Number(f.version),
        writeMode: f.writeMode,
        readPercent: Number(f.readPercent),
        shadowRead: f.shadowRead === '1',
        at: f.at,
        by: f.by,
      };
    });
  }

  /**
   * Deletes the migration's switches, history and router registry (and its repair stream unless
   * keepRepairs). Routers keep serving with the last switches they knew.
   */
  async remove(migrationId: string, options: { keepRepairs?: boolean } = {}): Promise<void> {
    const keys = migrationKeys(assertMigrationId(migrationId));
    const routerIds = await this.conn.redis.zrange(keys.routers, 0, -1);
    const toDelete = [keys.switches, keys.history, keys.routers, ...routerIds.map((r) => keys.router(r))];
    if (!options.keepRepairs) toDelete.push(keys.repairs);
    await this.conn.redis.del(...toDelete);
  }

  /** Live routers (heartbeat within its TTL) and the version each has applied. */
  routers(migrationId: string): Promise<RouterHeartbeat[]> {
    return listRouters(this.conn.redis, migrationId);
  }

  /** Waits until every live router has acknowledged `version` (or later), or the timeout. */
  waitForRouterAcks(options: WaitForAcksOptions): Promise<RouterAcks> {
    return waitForRouterAcks(this.conn.redis, options);
  }

  async close(): Promise<void> {
    await this.conn.release();
  }
}

/** The default router id: host, pid and a random suffix (one process may run several routers). */
export function defaultRouterId(): string {
  const host =
    hostname()
      .replace(/[^A-Za-z0-9_.-]/g, '_')
      .slice(0, 100) || 'host';
  return `${host}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

/** One change through the set script (see scripts.ts), on any Redis connection. */
export async function applySwitchChange(
  redis: Redis,
  migrationId: string,
  change: SwitchChange,
  actor: string,
  options: SetOptions = {},
): Promise<SetResult> {
  if (typeof actor !== 'string' || actor.length === 0 || actor.length > 200) {
    throw new Error('actor must be a non-empty string of at most 200 characters');
  }
  const keys = migrationKeys(migrationId);
  const f = changeToFields(validateChange(change));
  const reply = (await redis.eval(
    SET_SWITCHES,
    2,
    keys.switches,
    keys.history,
    f.writeMode,
    f.readPercent,
    f.shadowRead,
    actor,
    new Date().toISOString(),
    keys.channel,
    String(HISTORY_MAX_LEN),
    randomUUID(),
    f.hold,
    options.ifVersion === undefined ? '' : String(options.ifVersion),
    options.holdMs === undefined ? '' : String(Math.max(1, Math.round(options.holdMs))),
    options.onlyIfHoldExpired ? '1' : '',
  )) as [string, string, string, string, string, string, number, string, string, string];
  const [writeMode, readPercent, shadowRead, version, updatedAt, updatedBy, changed, epoch, hold, holdMs] =
    reply;
  if (changed === -1 && version === '') {
    throw new Error(`switches of ${migrationId} are absent in Redis: a conditional change cannot apply`);
  }
  const switches = switchesFromFields({
    writeMode,
    readPercent,
    shadowRead,
    hold,
    holdMs,
    version,
    updatedAt,
    updatedBy,
    epoch,
  });
  if (!switches) throw new Error(`switches of ${migrationId} are malformed in Redis`);
  return { switches, changed: changed === 1, refused: changed === -1 };
}
