/**
 * Dual writes, row-based: the statement runs on the authoritative side as the application wrote it;
 * then the rows it touched are re-read there (exact after-images, including generated ids, defaults,
 * NOW() and triggers) and the other side is made to hold the same rows (upsert) or to lack them
 * (delete). The keys of the touched rows come from the statement when it names them, from insertId
 * for generated ids, or from a locking read of the same predicate before the statement.
 */
import type { QueryOptions, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import type { RepairOp } from '../switches/repairs.js';
import { isResultHeader, q, type Cell, type Queryable, type QueryReturn } from './db.js';
import {
  CHUNK_ROWS,
  keysPredicate,
  readRows,
  readRowsByKeys,
  readRowsByKeysQueries,
  readRowsQuery,
  type Bound,
} from './rows.js';
import type { AutoIncSettings, TableMeta } from './schema.js';
import type {
  DeleteAnalysis,
  Fragment,
  InsertAnalysis,
  UpdateAnalysis,
  ValueRef,
  WriteAnalysis,
} from './sql/analysis.js';

/** What the other side must do to follow one statement. */
export interface MirrorOp {
  table: string;
  op: RepairOp;
  meta?: TableMeta;
  /** After-images (meta.writable order) to upsert. */
  upserts: Cell[][];
  /** Keys (meta.key order) to delete. */
  deletes: unknown[][];
  /** Apply upserts with REPLACE (the statement was a REPLACE: it may have deleted conflicting rows). */
  replace: boolean;
  /** Set when the touched rows cannot be determined: only a table-level repair can follow. */
  tableLevel?: string;
  /** Other tables a multi-table UPDATE/DELETE may have changed (table-level repair for each too). */
  tableLevelAlso?: string[];
}

export interface CaptureContext {
  /** The authoritative side, one connection (the caller's transaction, if any, runs on it). */
  db: Queryable;
  inTransaction: boolean;
  meta(table: string): Promise<TableMeta>;
  autoInc(): Promise<AutoIncSettings>;
  /** Above this many touched rows, fall back to a table-level repair entry. */
  maxRows: number;
}

/** Runs the statement (via `run`) on ctx.db and works out its mirror operation. */
export async function captureWrite(
  ctx: CaptureContext,
  a: WriteAnalysis,
  values: readonly unknown[],
  run: () => Promise<QueryReturn>,
): Promise<{ result: QueryReturn; op: MirrorOp }> {
  switch (a.kind) {
    case 'insert':
      return captureInsert(ctx, a, values, run);
    case 'update':
    case 'delete':
      return captureKeyed(ctx, a, values, run);
  }
}

function tableLevel(table: string, op: RepairOp, reason: string, meta?: TableMeta): MirrorOp {
  return { table, op, meta, upserts: [], deletes: [], replace: false, tableLevel: reason };
}

function resolve(ref: ValueRef, values: readonly unknown[]): unknown {
  if (ref.kind === 'param') return values[ref.index];
  if (ref.kind === 'number') return ref.value;
  return undefined;
}

/** A key value usable as-is: a bound parameter or a number literal, not NULL. */
function concrete(ref: ValueRef | undefined, values: readonly unknown[]): boolean {
  if (!ref || (ref.kind !== 'param' && ref.kind !== 'number')) return false;
  const v = resolve(ref, values);
  return v !== null && v !== undefined;
}

function generatesId(ref: ValueRef | undefined, values: readonly unknown[]): boolean {
  if (!ref || ref.kind === 'generated') return true;
  if (ref.kind === 'param' || ref.kind === 'number') {
    const v = resolve(ref, values);
    return v === null || v === undefined || v === 0 || v === '0';
  }
  return false;
}

function bindFragment(f: Fragment, values: readonly unknown[]): Bound {
  return { sql: f.sql, values: f.params.map((i) => values[i]) };
}

function bindRef(ref: ValueRef, values: readonly unknown[]): Bound {
  if (ref.kind === 'param') return { sql: '?', values: [values[ref.index]] };
  if (ref.kind === 'number') return { sql: String(ref.value), values: [] };
  if (ref.kind === 'sql') return bindFragment(ref.fragment, values);
  return { sql: 'NULL', values: [] };
}

async function captureInsert(
  ctx: CaptureContext,
  a: InsertAnalysis,
  values: readonly unknown[],
  run: () => Promise<QueryReturn>,
): Promise<{ result: QueryReturn; op: MirrorOp }> {
  const meta = await ctx.meta(a.table);
  const settings = meta.autoIncrement ? await ctx.autoInc() : undefined;
  const result = await run();
  const header = result[0] as ResultSetHeader;
  const cols = a.columns ?? meta.columns;
  const op = (upserts: Cell[][]): MirrorOp => ({
    table: a.table,
    op: 'insert',
    meta,
    upserts,
    deletes: [],
    replace: a.replace,
  });
  const consecutive = settings !== undefined && settings.lockMode <= 1;
  const idIsKey = meta.autoIncrement !== null && meta.key.length === 1 && meta.key[0] === meta.autoIncrement;
  const plain = !a.ignore && !a.upsert;

  if (a.fromSelect) {
    // INSERT ... SELECT is a "bulk insert": in lock modes 0 and 1 it holds the table's AUTO-INC lock for
    // the whole statement, so its generated ids are consecutive from insertId.
    if (idIsKey && plain && consecutive && !cols.includes(meta.key[0]) && isResultHeader(header)) {
      const n = header.affectedRows;
      if (n === 0) return { result, op: op([]) };
      if (n > ctx.maxRows)
        return { result, op: tableLevel(a.table, 'insert', `INSERT ... SELECT of ${n} rows`, meta) };
      const ids = Array.from({ length: n }, (_, i) => [header.insertId + i * settings.increment]);
      return {
        result,
        op: await imagesOrTableLevel(ctx, meta, ids, op, 'generated ids of INSERT ... SELECT'),
      };
    }
    return { result, op: tableLevel(a.table, 'insert', 'INSERT ... SELECT: touched rows unknown', meta) };
  }

  const keyIdx = meta.key.map((k) => cols.indexOf(k));
  if (keyIdx.every((i) => i >= 0) && a.rows.every((r) => keyIdx.every((i) => concrete(r[i], values)))) {
    // Every row names its key: read those rows back (an ignored or upserted row included).
    const keys = a.rows.map((r) => keyIdx.map((i) => resolve(r[i], values)));
    return { result, op: op(await readRowsByKeys(ctx.db, meta, keys)) };
  }

  // A single-row insert's generated id is insertId in every lock mode, 2 (interleaved, MySQL 8's
  // default) included; only multi-row inserts need the consecutive block of modes 0 and 1.
  if (idIsKey && plain && (consecutive || a.rows.length === 1) && settings && isResultHeader(header)) {
    const idCol = cols.indexOf(meta.key[0]);
    if (a.rows.every((r) => generatesId(idCol >= 0 ? r[idCol] : undefined, values)) && header.insertId > 0) {
      // A "simple insert" (row count known in advance): lock modes 0 and 1 allocate one consecutive
      // block, so the ids are insertId, insertId + increment, ...
      const ids = a.rows.map((_, i) => [header.insertId + i * settings.increment]);
      return { result, op: await imagesOrTableLevel(ctx, meta, ids, op, 'generated ids') };
    }
  }

  // INSERT IGNORE / ON DUPLICATE KEY UPDATE / mixed ids: ids cannot be inferred (seed 002, 4.3.1).
  // Find the rows again by a unique key the statement supplies in every row.
  const where = uniqueKeyWhere(meta, a, cols, values);
  if (where) return { result, op: op(await readRows(ctx.db, meta, where)) };
  return { result, op: tableLevel(a.table, 'insert', 'no key or unique key in the inserted values', meta) };
}

/** The inserted rows by the first unique key the statement supplies in every row. */
function uniqueKeyWhere(
  meta: TableMeta,
  a: InsertAnalysis,
  cols: readonly string[],
  values: readonly unknown[],
): Bound | undefined {
  for (const uk of meta.uniqueKeys) {
    const idx = uk.map((c) => cols.indexOf(c));
    if (idx.some((i) => i < 0) || a.rows.some((r) => idx.some((i) => r[i]?.kind === 'generated'))) continue;
    const parts: Bound[] = a.rows.map((r) => {
      const conds = idx.map((i, j) => {
        const b = bindRef(r[i], values);
        return { sql: `${q(uk[j])} = ${b.sql}`, values: b.values };
      });
      return { sql: `(${conds.map((c) => c.sql).join(' AND ')})`, values: conds.flatMap((c) => c.values) };
    });
    return { sql: parts.map((p) => p.sql).join(' OR '), values: parts.flatMap((p) => p.values) };
  }
  return undefined;
}

/**
 * A read captureWrite will make right after the statement, known before it runs: `send` goes in the
 * statement's round trip; `as(header)` is the query captureWrite will ask for (undefined: it will not,
 * or the rows read do not fit it).
 */
export interface PlannedRead {
  send: QueryOptions;
  as(header: ResultSetHeader, rows: Cell[][]): QueryOptions | undefined;
}

/**
 * The reads captureWrite makes right after running the statement, when its first query is the
 * statement itself (undefined: it reads before, e.g. the locking read of an arbitrary WHERE, so the
 * statement cannot be sent ahead). A wrong guess only costs a round trip: captureWrite's own queries
 * are answered from what was read only when they are the same query (router.ts).
 */
export function plannedReads(
  meta: TableMeta,
  settings: AutoIncSettings | undefined,
  a: WriteAnalysis,
  values: readonly unknown[],
): PlannedRead[] | undefined {
  const same = (send: QueryOptions): PlannedRead => ({ send, as: () => send });
  if (a.kind === 'update' || a.kind === 'delete') {
    if (a.multiTable || (a.kind === 'update' && a.setColumns.some((c) => meta.key.includes(c)))) return [];
    const named = keysFromWhere(meta, a, values);
    if (!named) return undefined;
    if (a.kind === 'delete' || named.length > CHUNK_ROWS) return [];
    return readRowsByKeysQueries(meta, named).map(same);
  }
  if (a.fromSelect) return [];
  const cols = a.columns ?? meta.columns;
  const keyIdx = meta.key.map((k) => cols.indexOf(k));
  if (keyIdx.every((i) => i >= 0) && a.rows.every((r) => keyIdx.every((i) => concrete(r[i], values)))) {
    if (a.rows.length > CHUNK_ROWS) return [];
    return readRowsByKeysQueries(
      meta,
      a.rows.map((r) => keyIdx.map((i) => resolve(r[i], values))),
    ).map(same);
  }
  const consecutive = settings !== undefined && settings.lockMode <= 1;
  const idIsKey = meta.autoIncrement !== null && meta.key.length === 1 && meta.key[0] === meta.autoIncrement;
  const idCol = cols.indexOf(meta.key[0]);
  if (
    idIsKey &&
    settings &&
    !a.ignore &&
    !a.upsert &&
    (consecutive || a.rows.length === 1) &&
    a.rows.length <= CHUNK_ROWS &&
    a.rows.every((r) => generatesId(idCol >= 0 ? r[idCol] : undefined, values))
  ) {
    // The generated ids, as the server knows them in the same round trip (LAST_INSERT_ID() is the
    // first id of the statement); kept only if the rows found are exactly the ids of insertId.
    const ids = a.rows.map((_, i) =>
      i === 0 ? 'LAST_INSERT_ID()' : `LAST_INSERT_ID() + ${i * settings.increment}`,
    );
    const keyAt = meta.writable.indexOf(meta.key[0]);
    return [
      {
        send: readRowsQuery(meta, { sql: `${q(meta.key[0])} IN (${ids.join(', ')})`, values: [] }),
        as: (header, rows) => {
          if (!(header.insertId > 0)) return undefined;
          const expected = a.rows.map((_, i) => String(header.insertId + i * settings.increment));
          const found = rows.map((r) => String(r[keyAt]));
          if (found.length !== expected.length || !expected.every((id) => found.includes(id)))
            return undefined;
          return readRowsByKeysQueries(
            meta,
            expected.map((_, i) => [header.insertId + i * settings.increment]),
          )[0];
        },
      },
    ];
  }
  const where = uniqueKeyWhere(meta, a, cols, values);
  return where ? [same(readRowsQuery(meta, where))] : [];
}

async function imagesOrTableLevel(
  ctx: CaptureContext,
  meta: TableMeta,
  keys: unknown[][],
  op: (rows: Cell[][]) => MirrorOp,
  what: string,
): Promise<MirrorOp> {
  const rows = await readRowsByKeys(ctx.db, meta, keys);
  if (rows.length === keys.length) return op(rows);
  // Not the rows expected (ids not consecutive after all): mirror what was found, repair the table.
  return { ...op(rows), tableLevel: `${what}: expected ${keys.length} rows, found ${rows.length}` };
}

/** Keys named by WHERE: every key column compared by `=` (or one key column by IN) with values. */
function keysFromWhere(
  meta: TableMeta,
  a: UpdateAnalysis | DeleteAnalysis,
  values: readonly unknown[],
): unknown[][] | undefined {
  if (a.limit || a.multiTable) return undefined;
  const refs = meta.key.map((k) => a.equalities.get(k));
  if (refs.some((r) => !r || r.length === 0 || !r.every((x) => concrete(x, values)))) return undefined;
  if (meta.key.length === 1) return (refs[0] ?? []).map((r) => [resolve(r, values)]);
  if (refs.some((r) => (r ?? []).length !== 1)) return undefined;
  return [refs.map((r) => resolve((r ?? [])[0], values))];
}

async function captureKeyed(
  ctx: CaptureContext,
  a: UpdateAnalysis | DeleteAnalysis,
  values: readonly unknown[],
  run: () => Promise<QueryReturn>,
): Promise<{ result: QueryReturn; op: MirrorOp }> {
  const table = a.table.table;
  const opName: RepairOp = a.kind;
  const meta = await ctx.meta(table);
  if (a.multiTable) {
    const op = tableLevel(table, opName, `multi-table ${a.kind}`, meta);
    return { result: await run(), op: { ...op, tableLevelAlso: a.tables.filter((t) => t !== table) } };
  }
  if (a.kind === 'update' && a.setColumns.some((c) => meta.key.includes(c))) {
    return { result: await run(), op: tableLevel(table, opName, 'UPDATE changes key columns', meta) };
  }
  const finish = async (keys: unknown[][], result: QueryReturn): Promise<MirrorOp> => {
    if (keys.length > ctx.maxRows) return tableLevel(table, opName, `${keys.length} rows`, meta);
    if (a.kind === 'delete') return { table, op: 'delete', meta, upserts: [], deletes: keys, replace: false };
    void result;
    return {
      table,
      op: 'update',
      meta,
      upserts: await readRowsByKeys(ctx.db, meta, keys),
      deletes: [],
      replace: false,
    };
  };

  const named = keysFromWhere(meta, a, values);
  if (named) {
    const result = await run();
    return { result, op: await finish(named, result) };
  }

  // Arbitrary WHERE: lock and read the matching keys first, in the same transaction as the statement.
  const began = !ctx.inTransaction;
  if (began) await ctx.db.query({ sql: 'START TRANSACTION' });
  try {
    const where = a.where ? bindFragment(a.where, values) : { sql: '1', values: [] };
    const order = a.orderBy ? bindFragment(a.orderBy, values) : undefined;
    const limit = a.limit ? bindFragment(a.limit, values) : undefined;
    const from = `${q(table)}${a.table.alias ? ` AS ${q(a.table.alias)}` : ''}`;
    const keyCols = meta.key.map((k) => (a.table.alias ? `${q(a.table.alias)}.${q(k)}` : q(k))).join(', ');
    const [rows] = (await ctx.db.query({
      sql:
        `SELECT ${keyCols} FROM ${from} WHERE ${where.sql}` +
        (order ? ` ORDER BY ${order.sql}` : '') +
        (limit ? ` LIMIT ${limit.sql}` : '') +
        ' FOR UPDATE',
      values: [...where.values, ...(order?.values ?? []), ...(limit?.values ?? [])],
      rowsAsArray: true,
      typeCast: (field, next) => {
        void next;
        return meta.binary.has(field.name) ? field.buffer() : field.string('utf8');
      },
    })) as [RowDataPacket[], unknown];
    const keys = rows as unknown as unknown[][];
    const result = await run();
    const op = await finish(keys, result);
    if (began) await ctx.db.query({ sql: 'COMMIT' });
    return { result, op };
  } catch (err) {
    if (began) await ctx.db.query({ sql: 'ROLLBACK' }).catch(() => undefined);
    throw err;
  }
}

/** Keys named by a mirror op, for repair entries. */
export function opKeys(op: MirrorOp): unknown[][] {
  const meta = op.meta;
  if (!meta) return [];
  const fromRows = op.upserts.map((row) => meta.key.map((k) => row[meta.writable.indexOf(k)] ?? null));
  return [...fromRows, ...op.deletes];
}

export { keysPredicate };
