import type { EncodedKey } from '../contracts.js';
import { quoteIdent } from '../db/identifiers.js';
import { decodeValue, rangeCondition, rowKey, type ColumnInfo } from '../schema/index.js';

/**
 * Exact identity of a key for matching rows of the two sides in JS: code units / bytes, never collation
 * equality ('a' and 'A', 'x' and 'x ' are different keys here). Numbers and their decimal text match.
 */
export function keyId(key: EncodedKey): string {
  return JSON.stringify(
    key.map((v) => (v !== null && typeof v === 'object' ? ['b', v.b64] : v === null ? null : String(v))),
  );
}

export interface SqlPart {
  sql: string;
  params: unknown[];
}

/** Predicates over the key columns: ranges (schema/keyset) and point lookups of many keys. */
export class KeyPredicates {
  private readonly q: string[];
  readonly names: string[];

  constructor(readonly columns: ColumnInfo[]) {
    this.names = columns.map((c) => c.name);
    this.q = columns.map((c) => quoteIdent(c.name, 'column'));
  }

  /** Comma-separated quoted key columns (for SELECT and ORDER BY). */
  get list(): string {
    return this.q.join(', ');
  }

  /** The key columns in descending order (ORDER BY). */
  get descending(): string {
    return this.q.map((c) => `${c} DESC`).join(', ');
  }

  /** lower < key <= upper (absent bounds unbounded), by schema/keyset. */
  range(lower?: EncodedKey, upper?: EncodedKey): SqlPart {
    return rangeCondition(this.names, { lower, upper });
  }

  /**
   * key IN (keys): collation-aware equality, as the server compares the key (MariaDB compares a string
   * parameter with an integer or DECIMAL column exactly, checked for values beyond 2^53).
   */
  anyOf(keys: EncodedKey[]): SqlPart {
    if (keys.length === 0) return { sql: '1=0', params: [] };
    if (this.q.length === 1) {
      return {
        sql: `${this.q[0]} IN (${keys.map(() => '?').join(', ')})`,
        params: keys.map((k) => decodeValue(k[0])),
      };
    }
    const sql = keys.map(() => `(${this.q.map((c) => `${c} = ?`).join(' AND ')})`).join(' OR ');
    return { sql: `(${sql})`, params: keys.flatMap((k) => k.map(decodeValue)) };
  }

  /** Key of a result row (selected with `list`), encoded. */
  encode(row: Record<string, unknown>): EncodedKey {
    return rowKey(row, this.names);
  }
}
