import type { Redis } from 'ioredis';
import type { EncodedKey, MismatchCounts, Side, TableSpec } from '../contracts.js';
import { otherSide } from '../../shared/switches.js';
import { RepairStream } from '../../switches/repairs.js';
import { loadPair, sides, type TableSide } from '../verify/pair.js';
import { compareKeys, emptyCounts } from '../verify/rows.js';
import { verifyTable } from '../verify/verifyTable.js';
import { repairKeys } from './repairKeys.js';

export interface DrainInput {
  migrationId: string;
  source: string;
  target: string;
  tables: TableSpec[];
  /** The side that is authoritative until the flip: failed mirrors are repaired from it. */
  authoritative: Side;
  /** Stream entries up to this id were consumed by the repair loop already (its checkpoint). */
  after?: string;
}

export interface DrainResult {
  entries: number;
  keys: number;
  tables: string[];
  repaired: MismatchCounts;
}

/**
 * Repairs, from the side authoritative until now, every failed mirror of the old write mode that the
 * repair loop has not consumed yet. Runs while a fence holds all writes (no router writes, every failed
 * mirror's entry already in Redis): once the authority flips, the repair direction reverses and an entry
 * left behind would copy the stale row over the good one. Key entries are compared and repaired;
 * table-level entries (keys unknown) verify and repair the whole table. Bounded by `signal`.
 */
export async function drainFailedWrites(
  redis: Redis,
  input: DrainInput,
  signal: AbortSignal,
): Promise<DrainResult> {
  const failedSide = otherSide(input.authoritative);
  const stream = new RepairStream(redis, input.migrationId);
  const byName = new Map<string, TableSpec>();
  for (const t of input.tables) {
    byName.set(t.name, t);
    if (t.targetName) byName.set(t.targetName, t);
  }
  const keys = new Map<TableSpec, EncodedKey[]>();
  const whole = new Set<TableSpec>();
  let after = input.after ?? '0-0';
  let entries = 0;
  for (;;) {
    signal.throwIfAborted();
    const batch = await stream.read({ after, count: 1000 });
    if (batch.length === 0) break;
    after = batch[batch.length - 1].id;
    for (const r of batch) {
      if (r.side !== failedSide) continue;
      const spec = byName.get(r.table);
      if (!spec) continue;
      entries++;
      if (r.key === null) whole.add(spec);
      else keys.set(spec, [...(keys.get(spec) ?? []), r.key]);
    }
  }
  const repaired = emptyCounts();
  const add = (c: MismatchCounts) => {
    repaired.missing += c.missing;
    repaired.extra += c.extra;
    repaired.different += c.different;
  };
  let keyCount = 0;
  for (const [spec, list] of keys) {
    if (whole.has(spec)) continue;
    const pair = await loadPair({ source: input.source, target: input.target }, spec);
    const { auth, other } = sides(pair, input.authoritative);
    for (let i = 0; i < list.length; i += 500) {
      signal.throwIfAborted();
      const part = list.slice(i, i + 500);
      keyCount += part.length;
      add(await compareAndRepair(auth, other, part));
    }
  }
  for (const spec of whole) {
    signal.throwIfAborted();
    const r = await verifyTable(
      {
        source: input.source,
        target: input.target,
        table: spec,
        authoritative: input.authoritative,
        repair: true,
      },
      { signal },
    );
    add(r.repaired);
  }
  return {
    entries,
    keys: keyCount,
    tables: [...new Set([...keys.keys(), ...whole].map((t) => t.name))],
    repaired,
  };
}

async function compareAndRepair(
  auth: TableSide,
  other: TableSide,
  keys: EncodedKey[],
): Promise<MismatchCounts> {
  const diffs = await compareKeys(auth, other, keys);
  return diffs.length > 0 ? repairKeys(auth, other, diffs) : emptyCounts();
}
