import type { PoolConnection } from 'mysql2/promise';
import { deleteKeys, replaceRows } from '../copier/rows.js';
import type { TableMapping } from '../schema/mapping.js';
import { keyString, rowKey } from '../schema/keycodec.js';
import type { RowChange, RowImage } from './events.js';
import { SPATIAL_TYPES } from '../../shared/mysql-types.js';

export class RowImageError extends Error {
  override name = 'RowImageError';
}

type Op = { kind: 'put'; values: unknown[] } | { kind: 'del'; key: unknown[] };

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

/** A change as idempotent operations: insert/update = upsert of the after-image (delete first if the key moved), delete by key. */
function toOps(m: TableMapping, change: RowChange): Op[] {
  switch (change.kind) {
    case 'insert':
      return [{ kind: 'put', values: image(m, change.after) }];
    case 'delete':
      return [{ kind: 'del', key: keyOf(m, change.before) }];
    case 'update': {
      const put: Op = { kind: 'put', values: image(m, change.after) };
      const moved =
        keyString(rowKey(change.before, m.fromKey)) !== keyString(rowKey(change.after, m.fromKey));
      return moved ? [{ kind: 'del', key: keyOf(m, change.before) }, put] : [put];
    }
  }
}

/**
 * Applies row changes in order on `conn` (inside the caller's transaction). Consecutive operations of
 * one kind on one table go out as one multi-row statement; order between runs is kept. Returns rows.
 */
export async function applyChanges(
  conn: PoolConnection,
  changes: readonly RowChange[],
  mappings: ReadonlyMap<string, TableMapping>,
): Promise<number> {
  let run: { m: TableMapping; kind: Op['kind']; items: unknown[][] } | null = null;
  const flush = async () => {
    if (!run) return;
    const { m, kind, items } = run;
    run = null;
    if (kind === 'put')
      await replaceRows(
        conn,
        m.toSchema,
        m.toTable,
        m.columns.map((c) => c.to),
        items,
      );
    else await deleteKeys(conn, m.toSchema, m.toTable, m.toKey, items);
  };
  for (const change of changes) {
    const m = mappings.get(change.table);
    if (!m) continue;
    for (const op of toOps(m, change)) {
      const current = run as { m: TableMapping; kind: Op['kind']; items: unknown[][] } | null;
      if (!current || current.m !== m || current.kind !== op.kind) {
        await flush();
        run = { m, kind: op.kind, items: [] };
      }
      run!.items.push(op.kind === 'put' ? op.values : op.key);
    }
  }
  await flush();
  return changes.length;
}
