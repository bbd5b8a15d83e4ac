import type mysql from 'mysql2/promise';
import type { EncodedKey, KeyRange, MismatchCounts } from '../contracts.js';
import { aggregateExprs } from './hashsql.js';
import { keyId } from './keys.js';
import type { TableSide } from './pair.js';

export interface ChunkAggregate {
  n: number;
  x: string;
}

/**
 * Row count + digest of a key range, computed inside the server: side.chunk (hashsql.chunkAggregate), or
 * count + 64-bit XOR of the given row hash expression.
 */
export async function aggregate(
  side: TableSide,
  range: KeyRange,
  pool: mysql.Pool = side.pool,
  hash?: string,
): Promise<ChunkAggregate> {
  const where = side.key.range(range.lower, range.upper);
  const sql = hash
    ? `SELECT ${aggregateExprs(hash)} FROM ${side.table} WHERE ${where.sql}`
    : side.chunk.wrap(`SELECT ${side.chunk.select} FROM ${side.table} ${side.keyIndex} WHERE ${where.sql}`);
  const [rows] = await pool.query<mysql.RowDataPacket[]>(sql, where.params);
  return { n: Number(rows[0].n), x: String(rows[0].x) };
}

export interface RowHash {
  key: EncodedKey;
  hash: string;
}

/** key -> hash, by exact key identity. */
export type HashMap = Map<string, RowHash>;

export const HASH_ALIAS = '__verify_hash';

function toMap(side: TableSide, rows: mysql.RowDataPacket[], into: HashMap = new Map()): HashMap {
  for (const r of rows) {
    const key = side.key.encode(r);
    into.set(keyId(key), { key, hash: String(r[HASH_ALIAS]) });
  }
  return into;
}

/** Key + row hash of every row in a range (ordered by key; at most `limit` rows if given). */
export async function hashesInRange(
  side: TableSide,
  range: KeyRange,
  hash = side.hash,
  limit?: number,
): Promise<RowHash[]> {
  const where = side.key.range(range.lower, range.upper);
  const [rows] = await side.pool.query<mysql.RowDataPacket[]>(
    `SELECT ${side.key.list}, ${hash} AS ${HASH_ALIAS} FROM ${side.table} WHERE ${where.sql} ORDER BY ${side.key.list}` +
      (limit ? ` LIMIT ${Math.floor(limit)}` : ''),
    where.params,
  );
  return rows.map((r) => ({ key: side.key.encode(r), hash: String(r[HASH_ALIAS]) }));
}

const LOOKUP_BATCH = 500;

/**
 * Row hashes for given keys. The server matches keys under the key's collation; only rows whose key is
 * byte-identical to a requested key are returned (a row 'A' is not the row 'a'). `lock: 'share'` reads
 * LOCK IN SHARE MODE: the latest committed rows, once any open transaction writing them (a router's
 * mirror, held until its COMMIT) has ended.
 */
export async function hashesForKeys(side: TableSide, keys: EncodedKey[], lock?: 'share'): Promise<HashMap> {
  const out: HashMap = new Map();
  for (let i = 0; i < keys.length; i += LOOKUP_BATCH) {
    const batch = keys.slice(i, i + LOOKUP_BATCH);
    const where = side.key.anyOf(batch);
    const [rows] = await side.pool.query<mysql.RowDataPacket[]>(
      `SELECT ${side.key.list}, ${side.hash} AS ${HASH_ALIAS} FROM ${side.table} WHERE ${where.sql}${lock ? ' LOCK IN SHARE MODE' : ''}`,
      where.params,
    );
    toMap(side, rows, out);
  }
  const wanted = new Set(keys.map(keyId));
  for (const id of [...out.keys()]) if (!wanted.has(id)) out.delete(id);
  return out;
}

export type Kind = keyof MismatchCounts;

export interface Difference {
  kind: Kind;
  key: EncodedKey;
}

/** Classify rows: on the authoritative side only = missing, on the other only = extra, both but unequal = different. */
export function diff(auth: Iterable<RowHash>, other: Iterable<RowHash>): Difference[] {
  const a = new Map<string, RowHash>();
  for (const r of auth) a.set(keyId(r.key), r);
  const out: Difference[] = [];
  const seen = new Set<string>();
  for (const r of other) {
    const id = keyId(r.key);
    seen.add(id);
    const x = a.get(id);
    if (!x) out.push({ kind: 'extra', key: r.key });
    else if (x.hash !== r.hash) out.push({ kind: 'different', key: x.key });
  }
  for (const [id, r] of a) if (!seen.has(id)) out.push({ kind: 'missing', key: r.key });
  return out;
}

/** Re-compare given keys with point lookups on both sides; returns the keys that still differ. */
export async function compareKeys(
  auth: TableSide,
  other: TableSide,
  keys: EncodedKey[],
): Promise<Difference[]> {
  const [a, o] = await Promise.all([hashesForKeys(auth, keys), hashesForKeys(other, keys)]);
  return diff(a.values(), o.values());
}

export function emptyCounts(): MismatchCounts {
  return { missing: 0, extra: 0, different: 0 };
}
