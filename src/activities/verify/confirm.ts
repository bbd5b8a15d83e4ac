import { sleep } from './abort.js';
import type { TableSide } from './pair.js';
import { compareKeys, type Difference } from './rows.js';
import type { Recheck } from './stream.js';

export interface ConfirmOptions {
  /** Lag-aware re-compare (with a CDC stream: see streamRecheck). */
  recheck?: Recheck;
  /** Re-checks (default 5 with a stream, else 2: at once, then after delayMs). */
  rounds?: number;
  delayMs?: number;
  signal?: AbortSignal;
}

/**
 * Only persistent differences count. Differences found by a range compare are re-compared by point lookups
 * (which also settles rows that sit in different chunks on the two sides because the key collations order
 * them differently); with a CDC stream, each round compares the authoritative rows at a known binlog
 * position with the other side once the stream has applied that position, so rows merely in flight are
 * dropped. A key counts only if it differs in every round.
 */
export async function confirmDifferences(
  auth: TableSide,
  other: TableSide,
  found: Difference[],
  opts: ConfirmOptions,
): Promise<Difference[]> {
  let pending = found;
  const rounds = opts.rounds ?? (opts.recheck ? 5 : 2);
  for (let round = 0; round < rounds && pending.length > 0; round++) {
    const keys = pending.map((d) => d.key);
    if (opts.recheck) {
      pending = await opts.recheck(keys, opts.signal);
    } else {
      if (round > 0) await sleep(opts.delayMs ?? 200, opts.signal);
      pending = await compareKeys(auth, other, keys);
    }
  }
  return pending;
}
