import type { EncodedKey, SyncStreamSpec, TableSpec } from '../contracts.js';
import { repairKeys } from '../repair/repairKeys.js';
import { keyString, rowKey } from '../schema/keycodec.js';
import type { TableMapping } from '../schema/mapping.js';
import { loadPair, sides } from '../verify/pair.js';
import type { RowChange } from './events.js';

/**
 * The hand-over mode of the applier: instead of writing a change's binlog image, it re-reads the
 * changed keys' current rows on the side it reads from, under a shared lock held until the other side
 * holds them (repairKeys). While routers mirror the same rows (dual write has begun, CDC has not
 * stopped yet), a lagging applier could otherwise write an older image over a router's newer mirror;
 * re-read under lock, it writes what the source holds now, and a router's write of that row waits
 * for the lock (and then mirrors its own, newer image) or came first (and is what was read).
 * Returns the number of row changes consumed.
 */
export async function rereadChanges(
  spec: SyncStreamSpec,
  changes: readonly RowChange[],
  mappings: ReadonlyMap<string, TableMapping>,
): Promise<number> {
  const byTable = new Map<TableMapping, Map<string, EncodedKey>>();
  for (const c of changes) {
    const m = mappings.get(c.table);
    if (!m) continue;
    let keys = byTable.get(m);
    if (!keys) byTable.set(m, (keys = new Map()));
    for (const image of [
      c.kind === 'insert' ? undefined : c.before,
      c.kind === 'delete' ? undefined : c.after,
    ]) {
      if (!image) continue;
      const key = rowKey(image, m.fromKey);
      keys.set(keyString(key), key);
    }
  }
  const forward = spec.direction === 'forward';
  const endpoints = forward ? { source: spec.from, target: spec.to } : { source: spec.to, target: spec.from };
  for (const [m, keys] of byTable) {
    const table = specOf(spec.tables, m, forward);
    const pair = await loadPair(endpoints, table);
    const { auth, other } = sides(pair, forward ? 'source' : 'target');
    await repairKeys(
      auth,
      other,
      [...keys.values()].map((key) => ({ kind: 'different' as const, key })),
    );
  }
  return changes.length;
}

function specOf(tables: readonly TableSpec[], m: TableMapping, forward: boolean): TableSpec {
  const found = tables.find((t) => (forward ? t.name : (t.targetName ?? t.name)) === m.fromTable);
  if (!found) throw new Error(`table ${m.fromTable} of the binlog is not in the stream's tables`);
  return found;
}
