import type { RouterAcks, SwitchChange, Switches } from '../shared/switches.js';
import type { Redis } from 'ioredis';
import { applySwitchChange, type SwitchStore } from './store.js';

/**
 * How long a hold outlives its bound before anyone may release it. The fence itself releases or
 * commits within holdTimeoutMs plus one Redis round trip; the margin keeps a slow but live fence from
 * losing its commit to a router, which would only call the change off (safe, but a retry).
 */
export const HOLD_LEASE_MARGIN_MS = 2000;

export interface FenceOptions {
  migrationId: string;
  /** The full desired state after the change (writeMode and readPercent). */
  change: SwitchChange;
  by: string;
  /** Bound on the hold: router acks plus `whileHeld` (the longest write stall the change may cause). */
  holdTimeoutMs: number;
  /** The plan's router count: the hold is not acknowledged while fewer routers acknowledged it. */
  expectedRouters: number;
  /** Work done while no router writes (e.g. repairing failed mirrors of the old mode). */
  whileHeld?: (signal: AbortSignal) => Promise<void>;
  pollMs?: number;
}

export interface FenceResult {
  switches: Switches;
  /** Why the change was not made (the switches were released unchanged); absent when it was made. */
  calledOff?: string;
  /** How long writes were held. */
  heldMs: number;
  acks: RouterAcks;
  /** Routers that give up on a held write before the hold's lease runs out (see holdLimitWarning). */
  warning?: string;
}

/**
 * A router fails a write that waited on a hold for its holdMaxMs. Below the hold's bound, a slow but
 * healthy change fails application writes; below the lease, writes that wait on a dead fence's hold
 * fail before any router may release it. Neither loses a write (the application gets the error), but
 * the operator should align the settings: the workflow does not know the routers' options otherwise.
 */
export function holdLimitWarning(acks: RouterAcks, holdTimeoutMs: number): string | undefined {
  const leaseMs = holdTimeoutMs + HOLD_LEASE_MARGIN_MS;
  const short = Object.entries(acks.holdMaxMs ?? {})
    .filter(([, ms]) => ms < leaseMs)
    .sort(([a], [b]) => a.localeCompare(b));
  if (short.length === 0) return undefined;
  return (
    `router(s) ${short.map(([id, ms]) => `${id} (holdMaxMs ${ms})`).join(', ')} fail a held write before ` +
    `the hold's lease of ${leaseMs} ms (routers.holdTimeoutSeconds ${holdTimeoutMs / 1000} s + ` +
    `${HOLD_LEASE_MARGIN_MS / 1000} s) runs out: their writes can fail during a switch change. ` +
    `Set the routers' holdMaxMs to at least ${leaseMs}, or lower routers.holdTimeoutSeconds`
  );
}

/**
 * A write-mode change no router can straddle. 1) hold: the switches keep their mode and gain
 * `hold`; each router stops starting writes on migrated tables and acknowledges the hold's version
 * once its running writes (and their repair entries) are done. 2) With every router acknowledged (at
 * least the expected number, within the bound), nothing writes: `whileHeld` runs. 3) The new mode and
 * the release are one versioned change: a write started after the hold starts under the new mode.
 * When the routers do not all acknowledge in time, or `whileHeld` fails, the hold is released with the
 * mode unchanged and the result says why (the caller tries again later). Idempotent: a change already
 * in force returns at once.
 *
 * The hold has a lease (holdTimeoutMs + HOLD_LEASE_MARGIN_MS). If the process running this dies while
 * writes are held, a waiting router releases the hold once the lease has run out (releaseExpiredHold),
 * so the application's writes resume in the old mode instead of waiting for the activity's retry.
 * The commit and the release are compare-and-set on the hold's version: of a router's release and
 * this change, exactly one applies, and a change whose hold was released is called off.
 */
export async function fencedChange(store: SwitchStore, o: FenceOptions): Promise<FenceResult> {
  const current = await store.get(o.migrationId);
  if (
    current &&
    !current.hold &&
    (o.change.writeMode ?? current.writeMode) === current.writeMode &&
    (o.change.readPercent ?? current.readPercent) === current.readPercent
  ) {
    const acks = await store.waitForRouterAcks({
      migrationId: o.migrationId,
      version: current.version,
      timeoutMs: 0,
      minRouters: 0,
    });
    return { switches: current, heldMs: 0, acks };
  }
  const started = performance.now();
  const held = await store.set(o.migrationId, { hold: true }, o.by, {
    holdMs: o.holdTimeoutMs + HOLD_LEASE_MARGIN_MS,
  });
  const cas = { ifVersion: held.version };
  let done: Switches | undefined;
  let calledOff: string | undefined;
  let acks: RouterAcks = { version: held.version, acked: [], pending: [], allAcked: false };
  try {
    acks = await store.waitForRouterAcks({
      migrationId: o.migrationId,
      version: held.version,
      timeoutMs: o.holdTimeoutMs,
      minRouters: o.expectedRouters,
      pollMs: o.pollMs ?? 10,
    });
    if (acks.switchesAbsent) {
      calledOff = 'Redis lost the switches during the hold';
    } else if (!acks.allAcked) {
      calledOff =
        acks.pending.length > 0
          ? `routers ${acks.pending.join(', ')} did not acknowledge the write hold within ${o.holdTimeoutMs} ms`
          : `${acks.acked.length} router(s) acknowledged the write hold, the plan expects ${o.expectedRouters}`;
    } else if (o.whileHeld) {
      const left = Math.max(1, Math.round(o.holdTimeoutMs - (performance.now() - started)));
      try {
        await o.whileHeld(AbortSignal.timeout(left));
      } catch (err) {
        calledOff = `while writes were held: ${(err as Error).message}`;
      }
    }
    if (!calledOff) {
      const r = await store.apply(o.migrationId, { ...o.change, hold: false }, o.by, cas);
      if (r.refused) calledOff = `the write hold was released before the change (by ${r.switches.updatedBy})`;
      done = r.switches;
    }
  } finally {
    // Released unchanged on every other path (including an error thrown above); a state that is no
    // longer this hold's (released by a router, or held by a newer attempt) is left alone.
    if (!done) done = (await store.apply(o.migrationId, { hold: false }, o.by, cas)).switches;
  }
  const warning = holdLimitWarning(acks, o.holdTimeoutMs);
  return {
    switches: done,
    calledOff,
    heldMs: Math.round(performance.now() - started),
    acks,
    ...(warning ? { warning } : {}),
  };
}

/**
 * Releases a hold whose lease has run out by Redis's clock (mode unchanged, a new version), if the
 * switches are still at `version`. Returns whether it did: false when the lease is still running,
 * or the hold was already committed or released.
 */
export async function releaseExpiredHold(
  redis: Redis,
  migrationId: string,
  version: number,
  actor: string,
): Promise<boolean> {
  const r = await applySwitchChange(redis, migrationId, { hold: false }, actor, {
    ifVersion: version,
    onlyIfHoldExpired: true,
  });
  return r.changed;
}
