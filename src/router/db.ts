import type { FieldPacket, PoolConnection, QueryOptions, QueryResult, ResultSetHeader } from 'mysql2/promise';

export type QueryReturn = [QueryResult, FieldPacket[]];

/** What the router needs of a mysql2 promise pool or connection. */
export interface Queryable {
  query(options: QueryOptions): Promise<QueryReturn>;
  execute(options: QueryOptions): Promise<QueryReturn>;
}

export interface PoolLike extends Queryable {
  getConnection(): Promise<PoolConnection>;
  end(): Promise<void>;
}

export type Method = 'query' | 'execute';

/** One value as the router reads and writes rows: text, bytes or NULL (lossless for every type). */
export type Cell = string | Buffer | null;

export function isResultHeader(r: QueryResult): r is ResultSetHeader {
  return !Array.isArray(r) && typeof r === 'object' && r !== null && 'affectedRows' in r;
}

/** Backtick-quotes an identifier (names come from the parsed statement or the schema). */
export function q(name: string): string {
  return '`' + name.replace(/`/g, '``') + '`';
}
