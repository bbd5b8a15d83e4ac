/**
 * Redis key naming for one migration, in one place. Every key of a migration starts with
 * `migrator:<migrationId>:`, so a migration's state can be listed with one SCAN pattern.
 */
const ID = /^[A-Za-z0-9_-]{1,100}$/;
const ROUTER_ID = /^[A-Za-z0-9_.:-]{1,200}$/;

export class InvalidIdError extends Error {
  override name = 'InvalidIdError';
}

/** Migration ids: 1-100 letters, digits, '-' or '_'. */
export function assertMigrationId(migrationId: string): string {
  if (typeof migrationId !== 'string' || !ID.test(migrationId)) {
    throw new InvalidIdError(
      `invalid migration id ${JSON.stringify(migrationId)}: use 1-100 letters, digits, '-' or '_'`,
    );
  }
  return migrationId;
}

/** Router ids: 1-200 letters, digits, '-', '_', '.' or ':'. */
export function assertRouterId(routerId: string): string {
  if (typeof routerId !== 'string' || !ROUTER_ID.test(routerId)) {
    throw new InvalidIdError(
      `invalid router id ${JSON.stringify(routerId)}: use 1-200 letters, digits, '-', '_', '.' or ':'`,
    );
  }
  return routerId;
}

export const KEY_PREFIX = 'migrator';

export interface MigrationKeys {
  /** Hash: writeMode, readPercent, shadowRead ('1'/'0'), version, updatedAt, updatedBy. */
  switches: string;
  /** Stream of every real switch change (capped), for audit. */
  history: string;
  /** Pub/sub channel: the JSON Switches after every real change. */
  channel: string;
  /** Sorted set of router ids that ever sent a heartbeat (score: last heartbeat, ms). */
  routers: string;
  /** Stream of failed dual writes, consumed by the repair loop. */
  repairs: string;
  /** Heartbeat key of one router (string, JSON RouterHeartbeat, with a TTL). */
  router(routerId: string): string;
}

export function migrationKeys(migrationId: string): MigrationKeys {
  const base = `${KEY_PREFIX}:${assertMigrationId(migrationId)}`;
  return {
    switches: `${base}:switches`,
    history: `${base}:switches:history`,
    channel: `${base}:switches:changed`,
    routers: `${base}:routers`,
    repairs: `${base}:repairs`,
    router: (routerId: string) => `${base}:router:${assertRouterId(routerId)}`,
  };
}
