import type { CatchUpWaiter } from './catchup.js';
import { sleep } from './catchup.js';
import type { TableSide } from './pair.js';
import { compareKeys, type Difference } from './rows.js';

export interface ConfirmOptions {
  /** Waits for the CDC stream to catch up with the authoritative side's current position. */
  catchUp?: CatchUpWaiter;
  /** Re-checks (each after a catch-up, or after delayMs without a stream). */
  rounds?: number;
  delayMs?: number;
  signal?: AbortSignal;
}

/**
 * Only persistent differences count. Differences found by a range compare are re-compared by point lookups
 * (which also settles rows that sit in different chunks on the two sides because the key collations order
 * them differently); with a CDC stream, each re-check first waits until the stream has applied everything
 * the authoritative side had committed, so a row that was merely in flight converges and is dropped.
 */
export async function confirmDifferences(auth: TableSide, other: TableSide, found: Difference[], opts: ConfirmOptions): Promise<Difference[]> {
  let pending = found;
  const rounds = opts.rounds ?? (opts.catchUp ? 3 : 2);
  for (let round = 0; round < rounds && pending.length > 0; round++) {
    if (opts.catchUp) await opts.catchUp(opts.signal);
    else if (round > 0) await sleep(opts.delayMs ?? 200, opts.signal);
    pending = await compareKeys(auth, other, pending.map((d) => d.key));
  }
  return pending;
}
