/** The watcher's per-table record of foreign writes (pure module). */
import type { EncodedKey, Side } from '../contracts.js';
import { keyId } from '../verify/keys.js';
import type { BypassProgress, BypassReport, BypassTable } from './types.js';

/** Keys listed in status per table. */
export const FIRST_KEYS = 10;
/** Keys per table tracked until both sides are seen equal; beyond, one table-level repair entry. */
export const TRACKED_KEYS = 1000;

export function emptyProgress(side: Side): BypassProgress {
  return {
    side,
    position: null,
    startedFrom: null,
    changes: { router: 0, product: 0, foreign: 0 },
    tables: [],
  };
}

export function tableOf(p: BypassProgress, table: string): BypassTable {
  let t = p.tables.find((x) => x.table === table);
  if (!t) {
    t = { table, count: 0, firstKeys: [], unrepairedKeys: [], overflowKeys: 0, unannotated: 0, lastAt: '' };
    p.tables.push(t);
  }
  return t;
}

/**
 * Records one foreign row change (its keys: one, or before and after of a key update). Returns the keys
 * to hand to the repair loop one by one, and whether the table overflowed (hand a table-level entry).
 */
export function recordForeign(
  t: BypassTable,
  keys: EncodedKey[],
  annotated: boolean,
  at: string,
): { handKeys: EncodedKey[]; overflow: boolean } {
  t.count += 1;
  t.lastAt = at;
  if (!annotated) t.unannotated += 1;
  const handKeys: EncodedKey[] = [];
  let overflow = false;
  const tracked = new Set(t.unrepairedKeys.map(keyId));
  for (const k of keys) {
    if (t.firstKeys.length < FIRST_KEYS && !t.firstKeys.some((f) => keyId(f) === keyId(k)))
      t.firstKeys.push(k);
    if (tracked.has(keyId(k))) continue;
    if (t.unrepairedKeys.length < TRACKED_KEYS) {
      t.unrepairedKeys.push(k);
      tracked.add(keyId(k));
      handKeys.push(k);
    } else {
      t.overflowKeys += 1;
      overflow = true;
    }
  }
  return { handKeys, overflow };
}

/** Redis stream ids in order ("ms-seq"). */
export function streamIdAtLeast(id: string, min: string): boolean {
  const [a1, a2] = id.split('-').map(BigInt);
  const [b1, b2] = min.split('-').map(BigInt);
  return a1 > b1 || (a1 === b1 && (a2 ?? 0n) >= (b2 ?? 0n));
}

export function toReport(p: BypassProgress): BypassReport {
  return {
    side: p.side,
    position: p.position,
    startedFrom: p.startedFrom,
    changes: { ...p.changes },
    tables: p.tables.map((t) => ({
      table: t.table,
      count: t.count,
      firstKeys: t.firstKeys,
      unrepaired: t.unrepairedKeys.length + (t.overflowEntryId ? t.overflowKeys : 0),
      unannotated: t.unannotated,
      lastAt: t.lastAt,
    })),
    ...(p.unavailable ? { unavailable: p.unavailable } : {}),
  };
}
