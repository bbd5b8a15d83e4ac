import type { RouterAcks, SwitchChange, Switches } from '../shared/switches.js';
import type { SwitchStore } from './store.js';

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
  const held = await store.set(o.migrationId, { hold: true }, o.by);
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
    if (!acks.allAcked) {
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
    if (!calledOff) done = await store.set(o.migrationId, { ...o.change, hold: false }, o.by);
  } finally {
    // Released unchanged on every other path (including an error thrown above).
    if (!done) done = await store.set(o.migrationId, { hold: false }, o.by);
  }
  return { switches: done, calledOff, heldMs: Math.round(performance.now() - started), acks };
}
