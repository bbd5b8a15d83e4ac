import type { PoolConnection } from 'mysql2/promise';
import { deleteKeys } from '../copier/rows.js';
import type { SinkForeignKeys } from './foreign-keys.js';
import { cascadeToChildren, isCascadeParent, removeRestrictingChildren, updateRow } from './foreign-keys.js';
import type { TableMapping } from '../schema/mapping.js';
import { encodeKey, keyString, rowKey } from '../schema/keycodec.js';
import { RowImageError, type RowChange, type RowImage } from './events.js';
import { encodeImages, writeEncoded, type EncodedImages } from './write.js';
import { INTEGER_TYPES, SPATIAL_TYPES } from '../../shared/mysql-types.js';

export { RowImageError };

type Op =
  | { kind: 'put'; values: unknown[] }
  | { kind: 'del'; key: unknown[] }
  /** A key (or cascaded column) change of a cascade parent: an UPDATE the sink cascades itself. */
  | { kind: 'upd'; key: unknown[]; values: unknown[]; before: unknown[] }
  /** A delete of a cascade parent: its before-image gives the values its children reference. */
  | { kind: 'pdel'; key: unknown[]; before: unknown[] };

const spatialColumns = new WeakMap<TableMapping, Map<string, string>>();

/** Source columns of spatial type (name -> data type), per mapping. */
function spatialOf(m: TableMapping): Map<string, string> {
  let found = spatialColumns.get(m);
  if (!found) {
    found = new Map(
      m.fromInfo.columns.filter((c) => SPATIAL_TYPES.has(c.dataType)).map((c) => [c.name, c.dataType]),
    );
    spatialColumns.set(m, found);
  }
  return found;
}

/**
 * The binlog reader decodes geometry into coordinates; a POINT is turned back into the server's
 * internal format (SRID 0 + WKB). Other geometry types cannot be rebuilt exactly from what it decodes.
 */
function spatialParam(m: TableMapping, column: string, dataType: string, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  const p = value as { x?: unknown; y?: unknown };
  if (dataType === 'point' && typeof p.x === 'number' && typeof p.y === 'number') {
    const wkb = Buffer.alloc(25);
    wkb.writeUInt32LE(0, 0); // SRID
    wkb.writeUInt8(1, 4); // little endian
    wkb.writeUInt32LE(1, 5); // wkbPoint
    wkb.writeDoubleLE(p.x, 9);
    wkb.writeDoubleLE(p.y, 17);
    return wkb;
  }
  throw new RowImageError(
    `${m.fromSchema}.${m.fromTable}.${column} is ${dataType.toUpperCase()}: binlog sync carries only POINT spatial values exactly; ` +
      'exclude the column (excludeColumns) or convert it, then restart the sync',
  );
}

function image(m: TableMapping, row: RowImage): unknown[] {
  const spatial = spatialOf(m);
  return m.columns.map((c) => {
    if (!(c.from in row)) {
      throw new RowImageError(
        `binlog row image of ${m.fromSchema}.${m.fromTable} lacks column ${c.from}: set binlog_row_image=FULL on the server the stream reads`,
      );
    }
    const type = spatial.get(c.from);
    return type ? spatialParam(m, c.from, type, row[c.from]) : row[c.from];
  });
}

function keyOf(m: TableMapping, row: RowImage): unknown[] {
  return m.fromKey.map((k) => row[k]);
}

function scalar(v: unknown): v is number | string {
  return typeof v === 'number' || typeof v === 'string';
}

/** Whether two row images have the same key (a one-column number/string key compared directly: the hot path). */
function sameKey(key: readonly string[], a: RowImage, b: RowImage): boolean {
  if (key.length === 1) {
    const x = a[key[0]];
    const y = b[key[0]];
    if (scalar(x) && scalar(y)) return x === y;
  }
  return keyString(rowKey(a, key)) === keyString(rowKey(b, key));
}

/**
 * A map key for a row key: a one-column number or string key as itself (a column's values are all of
 * one JS type for a given value: the reader gives unsafe integers as strings, never as numbers), else
 * its encoded string (tagged so it cannot meet a plain string).
 */
function keyId(key: readonly unknown[]): number | string {
  if (key.length === 1 && typeof key[0] === 'number') return key[0];
  if (key.length === 1 && typeof key[0] === 'string') return `s${key[0]}`;
  return `k${keyString(encodeKey(key))}`;
}

/**
 * A change as idempotent operations: insert/update = upsert of the after-image (delete first if the key
 * moved), delete by key. On a cascade parent (fks), an update that moves the key or a column an ON UPDATE
 * CASCADE/SET NULL foreign key references becomes an UPDATE, so the sink cascades it to the children.
 */
function toOps(m: TableMapping, change: RowChange, fks?: SinkForeignKeys): Op[] {
  switch (change.kind) {
    case 'insert':
      return [{ kind: 'put', values: image(m, change.after) }];
    case 'delete':
      if (fks?.deleteCascades.has(m.toTable))
        return [{ kind: 'pdel', key: keyOf(m, change.before), before: image(m, change.before) }];
      return [{ kind: 'del', key: keyOf(m, change.before) }];
    case 'update': {
      const values = image(m, change.after);
      const moved = !sameKey(m.fromKey, change.before, change.after);
      if (fks && isCascadeParent(fks, m.toTable)) {
        const referenced = fks.updateCascades.get(m.toTable);
        const cascaded = m.columns.some(
          (c) => referenced?.has(c.to) && !sameKey([c.from], change.before, change.after),
        );
        if (moved || cascaded)
          return [{ kind: 'upd', key: keyOf(m, change.before), values, before: image(m, change.before) }];
      }
      const put: Op = { kind: 'put', values };
      return moved ? [{ kind: 'del', key: keyOf(m, change.before) }, put] : [put];
    }
  }
}

/** Key column types whose values identify a row byte for byte (no collation can make two values equal). */
const EXACT_KEY_TYPES: ReadonlySet<string> = new Set([
  ...INTEGER_TYPES,
  'binary',
  'varbinary',
  'date',
  'datetime',
  'timestamp',
  'time',
  'decimal',
  'numeric',
]);

const coalescable = new WeakMap<TableMapping, boolean>();

/**
 * Whether a table's changes may be coalesced per key: every key column compares exactly (integers,
 * binary strings, dates, decimals). With a collation-compared key ('a' and 'A' the same row), two
 * differently spelled keys can address one row, so changes must keep their order.
 */
function canCoalesce(m: TableMapping): boolean {
  let ok = coalescable.get(m);
  if (ok === undefined) {
    ok = m.fromKey.every((k) => {
      const col = m.fromInfo.columns.find((c) => c.name === k);
      return col !== undefined && (EXACT_KEY_TYPES.has(col.dataType) || col.charset === 'binary');
    });
    coalescable.set(m, ok);
  }
  return ok;
}

type Run = {
  m: TableMapping;
  kind: Op['kind'];
  /** put: images; del: keys; upd: [key, image, before-image]; pdel: [key, before-image]. */
  items: unknown[][];
};

/**
 * The statements for a batch of whole source transactions, as runs of one kind on one table:
 * - tables whose keys compare exactly are coalesced per key: only each key's last operation counts
 *   (a full after-image or a delete), so one delete statement and one REPLACE per table carry the
 *   batch's net effect, deletes first. Order between keys does not matter: the final images are one
 *   consistent source state, and REPLACE removes any target row colliding on a unique key, which is a
 *   row whose own final operation follows in the same batch or that is stale anyway;
 * - other tables keep binlog order, consecutive operations of one kind batched;
 * - a batch that touches a cascade parent (a table the sink's foreign keys cascade from, `fks`) keeps
 *   binlog order for every table: the sink's cascades must meet the children as the source's did.
 * Upserts do not check foreign keys (writer session), so tables may be written in any order; deletes
 * and key changes of cascade parents do (applyChanges).
 */
export function planRuns(
  changes: readonly RowChange[],
  mappings: ReadonlyMap<string, TableMapping>,
  fks?: SinkForeignKeys,
): Run[] {
  if (fks && (fks.deleteCascades.size > 0 || fks.updateCascades.size > 0))
    return planAroundCascades(changes, mappings, fks);
  const ordered: Run[] = [];
  const latest = new Map<TableMapping, Map<number | string, Op>>();
  for (const change of changes) {
    const m = mappings.get(change.table);
    if (!m) continue;
    const ops = toOps(m, change);
    if (canCoalesce(m)) {
      let byKey = latest.get(m);
      if (!byKey) latest.set(m, (byKey = new Map()));
      for (const op of ops) {
        const key = op.kind === 'del' || op.kind === 'pdel' ? op.key : keyOfValues(m, op.values);
        const id = keyId(key);
        byKey.delete(id); // re-inserting moves the key to the end: last operation wins
        byKey.set(id, op);
      }
      continue;
    }
    for (const op of ops) {
      const last = ordered[ordered.length - 1];
      if (!last || last.m !== m || last.kind !== op.kind) ordered.push({ m, kind: op.kind, items: [] });
      ordered[ordered.length - 1].items.push(
        op.kind === 'put'
          ? op.values
          : op.kind === 'del'
            ? op.key
            : op.kind === 'pdel'
              ? [op.key, op.before]
              : [op.key, op.values, op.before],
      );
    }
  }
  const runs: Run[] = [];
  for (const [m, byKey] of latest) {
    const dels: unknown[][] = [];
    const puts: unknown[][] = [];
    for (const op of inKeyOrder(byKey)) {
      // 'upd' and 'pdel' only arise in binlog-order batches (cascade parents).
      if (op.kind === 'del' || op.kind === 'pdel') dels.push(op.key);
      else puts.push(op.values);
    }
    if (dels.length) runs.push({ m, kind: 'del', items: dels });
    if (puts.length) runs.push({ m, kind: 'put', items: puts });
  }
  return [...runs, ...ordered];
}

/**
 * A table's last operations, in key order when the key is one integer column (else as they came):
 * the sink then walks its primary key in order, which costs it less CPU than random order (measured:
 * LOAD DATA REPLACE of 5000 random keys sorted 21-24 us a row on the sink against 27-31 unsorted).
 * Order between keys does not matter for the result (planRuns).
 */
function inKeyOrder(byKey: Map<number | string, Op>): Iterable<Op> {
  let numeric = true;
  for (const id of byKey.keys()) {
    if (typeof id !== 'number') {
      numeric = false;
      break;
    }
  }
  if (!numeric || byKey.size < 2) return byKey.values();
  return [...byKey.entries()].sort((a, b) => (a[0] as number) - (b[0] as number)).map(([, op]) => op);
}

/**
 * planRuns for a sink with cascading foreign keys: the cascade parents' deletes and key changes stay
 * at their place in binlog order (the sink's cascade must meet the children as the source's did);
 * the changes between two of them are planned as usual (coalesced per key), since none of them
 * cascades.
 */
function planAroundCascades(
  changes: readonly RowChange[],
  mappings: ReadonlyMap<string, TableMapping>,
  fks: SinkForeignKeys,
): Run[] {
  const runs: Run[] = [];
  let segment: RowChange[] = [];
  for (const change of changes) {
    const m = mappings.get(change.table);
    if (!m) continue;
    const ops = isCascadeParent(fks, m.toTable) ? toOps(m, change, fks) : [];
    const cascading = ops.filter((op) => op.kind === 'pdel' || op.kind === 'upd');
    if (cascading.length === 0) {
      segment.push(change);
      continue;
    }
    runs.push(...planRuns(segment, mappings));
    segment = [];
    for (const op of cascading) {
      const item =
        op.kind === 'pdel' ? [op.key, op.before] : op.kind === 'upd' ? [op.key, op.values, op.before] : [];
      const last = runs[runs.length - 1];
      if (last && last.m === m && last.kind === op.kind) last.items.push(item);
      else runs.push({ m, kind: op.kind, items: [item] });
    }
  }
  runs.push(...planRuns(segment, mappings));
  return runs;
}

const keyIndexes = new WeakMap<TableMapping, number[]>();

/** The key values inside a full image (values in mapping.columns order). */
function keyOfValues(m: TableMapping, values: unknown[]): unknown[] {
  let idx = keyIndexes.get(m);
  if (!idx) {
    idx = m.fromKey.map((k) => m.columns.findIndex((c) => c.from === k));
    keyIndexes.set(m, idx);
  }
  return idx.map((i) => values[i]);
}

/**
 * A batch's changes planned (planRuns) and their images encoded for the sink (write.ts), done before the
 * batch's transaction: work on this side only, so sync.ts does it while the sink applies the previous
 * batch. Reusable when the batch is retried.
 */
export interface PreparedChanges {
  /** Row changes the batch holds. */
  readonly count: number;
  readonly steps: readonly PreparedStep[];
}

type PreparedStep =
  | { kind: 'encoded'; images: EncodedImages }
  | { kind: 'del' | 'pdel' | 'upd'; m: TableMapping; items: unknown[][] };

export function prepareChanges(
  changes: readonly RowChange[],
  mappings: ReadonlyMap<string, TableMapping>,
  fks?: SinkForeignKeys,
): PreparedChanges {
  const steps = planRuns(changes, mappings, fks).map(
    ({ m, kind, items }): PreparedStep =>
      kind === 'put' ? { kind: 'encoded', images: encodeImages(m, items) } : { kind, m, items },
  );
  return { count: changes.length, steps };
}

/**
 * Applies prepared changes on `conn` (inside the caller's transaction): one statement per run.
 * Deletes and key changes of cascade parents run with foreign_key_checks=1, so the sink cascades them to
 * the children as the source did (cascaded changes are in no binlog row event); all else runs with
 * checks off (a REPLACE of a parent with checks on would cascade-delete its children).
 * Returns the number of row changes consumed. `sent` is called when the sink holds the input of the
 * batch's last bulk write (or at once when the batch ends otherwise): work on this side from then on
 * delays the sink by little.
 */
export async function applyPrepared(
  conn: PoolConnection,
  prepared: PreparedChanges,
  fks?: SinkForeignKeys,
  sent?: () => void,
): Promise<number> {
  const last = prepared.steps[prepared.steps.length - 1];
  if (!last || last.kind !== 'encoded') sent?.();
  for (const step of prepared.steps) {
    if (step.kind === 'encoded') await writeEncoded(conn, step.images, step === last ? sent : undefined);
    else if (step.kind === 'del')
      await deleteKeys(conn, step.m.toSchema, step.m.toTable, step.m.toKey, step.items);
    else await applyCascading(conn, step.m, step.kind, step.items, fks!);
  }
  return prepared.count;
}

/** prepareChanges + applyPrepared. */
export function applyChanges(
  conn: PoolConnection,
  changes: readonly RowChange[],
  mappings: ReadonlyMap<string, TableMapping>,
  fks?: SinkForeignKeys,
): Promise<number> {
  return applyPrepared(conn, prepareChanges(changes, mappings, fks), fks);
}

/** Deletes ('pdel') and key changes ('upd') of a cascade parent, checked (cdc/README.md, foreign keys). */
async function applyCascading(
  conn: PoolConnection,
  m: TableMapping,
  kind: 'pdel' | 'upd',
  items: unknown[][],
  fks: SinkForeignKeys,
): Promise<void> {
  await conn.query('SET SESSION foreign_key_checks = 1');
  try {
    if (kind === 'pdel') {
      const pairs = items as [unknown[], unknown[]][];
      await cascadeToChildren(
        conn,
        m,
        'delete',
        pairs.map(([, before]) => before),
        fks,
      );
      await checkedDelete(
        conn,
        m,
        pairs.map(([key]) => key),
        fks,
      );
    } else {
      for (const [key, values, before] of items as [unknown[], unknown[], unknown[]][]) {
        await updateRow(conn, m, key, values, fks);
        await cascadeToChildren(conn, m, 'update', [before], fks, values);
      }
    }
  } finally {
    await conn.query('SET SESSION foreign_key_checks = 0');
  }
}

/**
 * DELETE with checks on. A RESTRICT/NO ACTION child can still hold a parent being deleted only as an
 * image newer than this point of the binlog (a copier chunk read after it); that row is rewritten by
 * its own later event, so it is removed (checks off) and the delete retried.
 */
async function checkedDelete(
  conn: PoolConnection,
  m: TableMapping,
  keys: unknown[][],
  fks: SinkForeignKeys,
): Promise<void> {
  try {
    await deleteKeys(conn, m.toSchema, m.toTable, m.toKey, keys);
  } catch (err) {
    if ((err as { errno?: number }).errno !== 1451) throw err;
    await removeRestrictingChildren(conn, m, keys, fks);
    await deleteKeys(conn, m.toSchema, m.toTable, m.toKey, keys);
  }
}
