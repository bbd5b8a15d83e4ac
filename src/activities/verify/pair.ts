import type mysql from 'mysql2/promise';
import type { Side, TableSpec } from '../contracts.js';
import { getPool, resolveConnection } from '../db/connections.js';
import { assertIdentifier, quoteIdent, quoteTable } from '../db/identifiers.js';
import type { ColumnInfo } from '../schema/types.js';
import { describeForVerify, type DescribedTable } from './describe.js';
import { chunkAggregate, digestKindFor, rowHashExpr, type ChunkDigest, type ColumnPair } from './hashsql.js';
import { exactReadExpr } from '../schema/read-expr.js';
import { KeyPredicates } from './keys.js';

/** One side of a compared table: where it lives and how its rows are hashed and addressed. */
export interface TableSide {
  side: Side;
  connection: string;
  pool: mysql.Pool;
  /** Replica to read chunk aggregates from first, if any. */
  replica?: mysql.Pool;
  /** `schema`.`table` */
  table: string;
  info: DescribedTable;
  /** Key columns (this side's names and definitions). */
  key: KeyPredicates;
  /** MD5 hex of the canonical row text (listings, point lookups, repair: one row, both sides). */
  hash: string;
  /** How a chunk's rows are summed up (the same kind on both sides). */
  chunk: ChunkDigest;
  /** `FORCE INDEX (key)`: chunk digests read rows in key order. */
  keyIndex: string;
  /** MD5 hex of the canonical key text only (reverse scans for deletes). */
  keyHash: string;
  /** Quoted compared columns, in pair order (for writing rows). */
  columns: string[];
  /** SELECT list reading those columns so that they round-trip exactly (for repair). */
  readList: string;
  columnNames: string[];
}

export interface TablePair {
  name: string;
  spec: TableSpec;
  source: TableSide;
  target: TableSide;
  pairs: ColumnPair[];
  chunkSize: number;
}

export class IncompatibleTablesError extends Error {
  override name = 'IncompatibleTablesError';
}

export interface PairEndpoints {
  source: string;
  target: string;
  sourceReplica?: string;
  targetReplica?: string;
}

const cache = new Map<string, Promise<TablePair>>();
const DEFAULT_CHUNK = 2000;

/** Describes both sides once per process (tables are not expected to change shape during a migration). */
export function loadPair(
  ep: PairEndpoints,
  spec: TableSpec,
  opts: { fresh?: boolean } = {},
): Promise<TablePair> {
  const id = JSON.stringify([ep, spec, process.env.MIGRATOR_VERIFY_DIGEST]);
  let p = cache.get(id);
  if (!p || opts.fresh) {
    p = buildPair(ep, spec);
    cache.set(id, p);
    p.catch(() => cache.delete(id));
  }
  return p;
}

async function buildPair(ep: PairEndpoints, spec: TableSpec): Promise<TablePair> {
  const sourceTable = assertIdentifier(spec.name, 'table');
  const targetTable = assertIdentifier(spec.targetName ?? spec.name, 'table');
  const sourceSchema = resolveConnection(ep.source).database;
  const targetSchema = resolveConnection(ep.target).database;
  const [s, t] = await Promise.all([
    describeForVerify(getPool(ep.source), sourceSchema, sourceTable, spec.key),
    describeForVerify(
      getPool(ep.target),
      targetSchema,
      targetTable,
      spec.key ? spec.key.map((k) => spec.columnMap?.[k] ?? k) : undefined,
    ),
  ]);
  const excluded = new Set(spec.excludeColumns ?? []);
  const map = spec.columnMap ?? {};
  const targetByName = new Map(t.columns.map((c) => [c.name, c]));
  const pairs: ColumnPair[] = [];
  for (const sc of s.columns) {
    if (excluded.has(sc.name)) continue;
    const tc = targetByName.get(map[sc.name] ?? sc.name);
    if (!tc) {
      throw new IncompatibleTablesError(
        `${spec.name}: source column ${sc.name} has no target column ${map[sc.name] ?? sc.name} (map it with columnMap or list it in excludeColumns)`,
      );
    }
    pairs.push({ source: sc, target: tc, json: s.jsonColumns.has(sc.name) || t.jsonColumns.has(tc.name) });
  }
  const keyNames = spec.key ?? s.key.columns;
  if (keyNames.length === 0)
    throw new IncompatibleTablesError(`${spec.name}: no primary key or NOT NULL unique key on the source`);
  const keyPairs = keyNames.map((k) => {
    const p = pairs.find((x) => x.source.name === k);
    if (!p) throw new IncompatibleTablesError(`${spec.name}: key column ${k} is not a compared column`);
    return p;
  });
  const servers = digestKindFor(s.server, t.server);
  // MIGRATOR_VERIFY_DIGEST=md5|crc forces a chunk digest kind where the servers allow it (tests, bench).
  const env = process.env.MIGRATOR_VERIFY_DIGEST;
  const force = env === 'md5' || env === 'crc' ? env : undefined;
  const side = (
    which: Side,
    info: DescribedTable,
    conn: string,
    replica: string | undefined,
    schema: string,
    table: string,
  ): TableSide => {
    const cols: ColumnInfo[] = pairs.map((p) => p[which]);
    return {
      side: which,
      connection: conn,
      pool: getPool(conn),
      replica: replica ? getPool(replica) : undefined,
      table: quoteTable(schema, table),
      info,
      key: new KeyPredicates(keyPairs.map((p) => p[which])),
      hash: rowHashExpr(pairs, which, info),
      chunk: chunkAggregate(pairs, which, info, spec.chunkSize ?? DEFAULT_CHUNK, servers, force),
      keyIndex: `FORCE INDEX (${info.key.index === 'PRIMARY' ? 'PRIMARY' : quoteIdent(info.key.index, 'index')})`,
      keyHash: rowHashExpr(keyPairs, which, info),
      columns: cols.map((c) => quoteIdent(c.name, 'column')),
      readList: cols.map(exactReadExpr).join(', '),
      columnNames: cols.map((c) => c.name),
    };
  };
  return {
    name: spec.name,
    spec,
    source: side('source', s, ep.source, ep.sourceReplica, sourceSchema, sourceTable),
    target: side('target', t, ep.target, ep.targetReplica, targetSchema, targetTable),
    pairs,
    chunkSize: spec.chunkSize ?? DEFAULT_CHUNK,
  };
}

export function sides(pair: TablePair, authoritative: Side): { auth: TableSide; other: TableSide } {
  return authoritative === 'source'
    ? { auth: pair.source, other: pair.target }
    : { auth: pair.target, other: pair.source };
}
