import { quoteIdent } from '../db/identifiers.js';
import type { EncodedKey, KeyRange } from '../contracts.js';
import { decodeKey } from './keycodec.js';

export type SqlParam = string | number | null | Buffer;

export interface SqlFragment {
  sql: string;
  params: SqlParam[];
}

/**
 * `(k1, k2, ...) > (v1, v2, ...)` in lexicographic order, written out as
 * `(k1 > ? OR (k1 = ? AND (k2 > ? OR ...)))`. MariaDB (10.11 checked) does NOT turn a row-constructor
 * comparison into an index range (EXPLAIN shows a full index scan), but it does turn this expansion
 * into a range on the key's index, so every chunk query is a seek, not a scan from the start.
 */
export function keyCompare(
  columns: readonly string[],
  op: '>' | '>=' | '<' | '<=',
  key: EncodedKey,
): SqlFragment {
  if (columns.length === 0) throw new Error('a key needs at least one column');
  if (key.length !== columns.length) {
    throw new Error(`key has ${key.length} value(s) but the table key has ${columns.length} column(s)`);
  }
  const values = decodeKey(key);
  const strict = op === '>' || op === '<' ? op : op === '>=' ? '>' : '<';
  const build = (i: number): SqlFragment => {
    const col = quoteIdent(columns[i], 'key column');
    if (i === columns.length - 1) return { sql: `${col} ${op} ?`, params: [values[i]] };
    const inner = build(i + 1);
    return {
      sql: `(${col} ${strict} ? OR (${col} = ? AND ${inner.sql}))`,
      params: [values[i], values[i], ...inner.params],
    };
  };
  return build(0);
}

/** `lower < key <= upper` for a half-open range; absent bounds are unbounded. */
export function rangeCondition(columns: readonly string[], range: KeyRange = {}): SqlFragment {
  const parts: SqlFragment[] = [];
  if (range.lower) parts.push(keyCompare(columns, '>', range.lower));
  if (range.upper) parts.push(keyCompare(columns, '<=', range.upper));
  if (parts.length === 0) return { sql: '1=1', params: [] };
  return { sql: parts.map((p) => p.sql).join(' AND '), params: parts.flatMap((p) => p.params) };
}

export function orderBy(columns: readonly string[], direction: 'ASC' | 'DESC' = 'ASC'): string {
  return columns.map((c) => `${quoteIdent(c, 'key column')} ${direction}`).join(', ');
}

export interface KeysetQuery {
  /** Quoted `schema`.`table`. */
  from: string;
  /** Columns to select (validated and quoted here). */
  columns: readonly string[];
  /** Select expressions built from validated identifiers (e.g. exactReadExpr), used instead of columns. */
  expressions?: readonly string[];
  key: readonly string[];
  range?: KeyRange;
  /** LIMIT; omitted when undefined. */
  limit?: number;
  /** Extra SQL appended after LIMIT, e.g. 'LOCK IN SHARE MODE'. Never built from input. */
  suffix?: string;
}

/**
 * `SELECT cols FROM t WHERE lower < key <= upper ORDER BY key LIMIT ?` (see keyCompare for the
 * shape of the key comparison).
 */
export function keysetSelect(q: KeysetQuery): SqlFragment {
  const where = rangeCondition(q.key, q.range);
  const cols = (q.expressions ?? q.columns.map((c) => quoteIdent(c, 'column'))).join(', ');
  let sql = `SELECT ${cols} FROM ${q.from} WHERE ${where.sql} ORDER BY ${orderBy(q.key)}`;
  const params = [...where.params];
  if (q.limit !== undefined) {
    sql += ' LIMIT ?';
    params.push(Math.max(0, Math.floor(q.limit)));
  }
  if (q.suffix) sql += ` ${q.suffix}`;
  return { sql, params };
}
