import type { EncodedKey, EncodedValue } from '../contracts.js';
import { quoteIdent } from '../db/identifiers.js';
import type { ColumnInfo } from '../schema/types.js';

/** Driver value -> JSON-safe value (binary as base64, bigint as decimal text). */
export function encodeValue(v: unknown): EncodedValue {
  if (v === null || v === undefined) return null;
  if (Buffer.isBuffer(v)) return { b64: v.toString('base64') };
  if (typeof v === 'string' || typeof v === 'number') return v;
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Date) return v.toISOString();
  return String(v);
}

/** JSON-safe value -> query parameter. */
export function decodeValue(v: EncodedValue): string | number | null | Buffer {
  if (v !== null && typeof v === 'object') return Buffer.from(v.b64, 'base64');
  return v;
}

/**
 * Exact identity of a key for matching rows of the two sides in JS: code units / bytes, never collation
 * equality ('a' and 'A', 'x' and 'x ' are different keys here). Numbers and their decimal text match.
 */
export function keyId(key: EncodedKey): string {
  return JSON.stringify(key.map((v) => (v !== null && typeof v === 'object' ? ['b', v.b64] : v === null ? null : String(v))));
}

/** The SQL placeholder for one key column: integers and decimals are cast so big values never compare as doubles. */
function placeholder(col: ColumnInfo): string {
  switch (col.dataType) {
    case 'tinyint':
    case 'smallint':
    case 'mediumint':
    case 'int':
    case 'integer':
    case 'bigint':
      return col.columnType.includes('unsigned') ? 'CAST(? AS UNSIGNED)' : 'CAST(? AS SIGNED)';
    case 'decimal':
    case 'numeric': {
      const m = /\((\d+)(?:,(\d+))?\)/.exec(col.columnType);
      return m ? `CAST(? AS DECIMAL(${Number(m[1])},${Number(m[2] ?? 0)}))` : '?';
    }
    default:
      return '?';
  }
}

export interface SqlPart {
  sql: string;
  params: unknown[];
}

/**
 * Predicates over the key columns, written out (MariaDB does not range-optimise row constructors):
 * (k1..kn) > (v1..vn) becomes k1 >= v1 AND (k1 > v1 OR (k1 = v1 AND k2 > v2) OR ...).
 */
export class KeyPredicates {
  private readonly q: string[];
  private readonly ph: string[];

  constructor(readonly columns: ColumnInfo[], alias = '') {
    this.q = columns.map((c) => (alias ? `${alias}.` : '') + quoteIdent(c.name, 'column'));
    this.ph = columns.map(placeholder);
  }

  /** Comma-separated quoted key columns (for SELECT and ORDER BY). */
  get list(): string {
    return this.q.join(', ');
  }

  /** key > bound (strict) or key <= bound. */
  compare(op: '>' | '<=', bound: EncodedKey): SqlPart {
    const vals = bound.map(decodeValue);
    const n = this.q.length;
    const lead = op === '>' ? '>=' : '<=';
    const strict = op === '>' ? '>' : '<';
    const ors: string[] = [];
    const params: unknown[] = [vals[0]];
    for (let i = 0; i < n; i++) {
      const parts: string[] = [];
      for (let j = 0; j < i; j++) {
        parts.push(`${this.q[j]} = ${this.ph[j]}`);
        params.push(vals[j]);
      }
      const last = i === n - 1 && op === '<=' ? '<=' : strict;
      parts.push(`${this.q[i]} ${last} ${this.ph[i]}`);
      params.push(vals[i]);
      ors.push(parts.length > 1 ? `(${parts.join(' AND ')})` : parts[0]);
    }
    if (n === 1) return { sql: `${this.q[0]} ${op} ${this.ph[0]}`, params: [vals[0]] };
    return { sql: `(${this.q[0]} ${lead} ${this.ph[0]} AND (${ors.join(' OR ')}))`, params };
  }

  /** lower < key <= upper (absent bounds unbounded). */
  range(lower?: EncodedKey, upper?: EncodedKey): SqlPart {
    const parts: SqlPart[] = [];
    if (lower) parts.push(this.compare('>', lower));
    if (upper) parts.push(this.compare('<=', upper));
    if (parts.length === 0) return { sql: '1=1', params: [] };
    return { sql: parts.map((p) => p.sql).join(' AND '), params: parts.flatMap((p) => p.params) };
  }

  /** key IN (keys): collation-aware equality, as the server compares the key. */
  anyOf(keys: EncodedKey[]): SqlPart {
    if (keys.length === 0) return { sql: '1=0', params: [] };
    if (this.q.length === 1) {
      return { sql: `${this.q[0]} IN (${keys.map(() => this.ph[0]).join(', ')})`, params: keys.map((k) => decodeValue(k[0])) };
    }
    const sql = keys.map(() => `(${this.q.map((c, i) => `${c} = ${this.ph[i]}`).join(' AND ')})`).join(' OR ');
    return { sql: `(${sql})`, params: keys.flatMap((k) => k.map(decodeValue)) };
  }

  /** Key of a result row (selected with `list`), encoded. */
  encode(row: Record<string, unknown>): EncodedKey {
    return this.columns.map((c) => encodeValue(row[c.name]));
  }
}
