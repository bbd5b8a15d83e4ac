import type { Pool, RowDataPacket } from 'mysql2/promise';
import type { ColumnInfo } from '../schema/types.js';
import { INTEGER_TYPES } from '../../shared/mysql-types.js';

/**
 * Values "between" two key values, used as hints by the splitter (split.ts): a midpoint only picks
 * where the next index dive lands; the server decides where every key falls (the boundaries are real
 * keys found by server-evaluated comparisons), so a midpoint that is off in the column's order costs
 * an extra dive, never a wrong partition.
 */
export type KeyValue = string | number | Buffer;

const NUMERIC = new Set(['decimal', 'numeric', 'float', 'double', 'real']);
const TEMPORAL = new Set(['date', 'datetime', 'timestamp']);
const TEXT = new Set(['char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext']);

/** Characters ranked at most (keys with more distinct characters only interpolate less well). */
const MAX_ALPHABET = 1024;

/** Orders the characters of one text column by its collation (asked from the server). */
export class CollationAlphabet {
  /** character -> rank; characters equal under the collation share a rank. */
  private ranks = new Map<string, number>();
  /** rank -> the character written for it. */
  private chars: string[] = [];

  constructor(
    private readonly pool: Pool,
    private readonly charset: string,
    private readonly collation: string,
  ) {
    if (!/^[A-Za-z0-9_]+$/.test(charset) || !/^[A-Za-z0-9_]+$/.test(collation))
      throw new Error(`unexpected character set or collation ${charset} / ${collation}`);
    for (let c = 0x21; c < 0x7f; c++) this.ranks.set(String.fromCharCode(c), -1);
  }

  /** Ranks every character of the given strings (one query when any is new). */
  async learn(values: readonly string[]): Promise<void> {
    let fresh = this.chars.length === 0;
    for (const v of values)
      for (const ch of v)
        if (!this.ranks.has(ch) && this.ranks.size < MAX_ALPHABET) {
          this.ranks.set(ch, -1);
          fresh = true;
        }
    if (!fresh) return;
    const all = [...this.ranks.keys()];
    const union = all
      .map((_, i) => `SELECT CONVERT(? USING ${this.charset}) COLLATE ${this.collation} AS c, ${i} AS i`)
      .join(' UNION ALL ');
    const [rows] = await this.pool.query<RowDataPacket[]>(
      `SELECT i, DENSE_RANK() OVER (ORDER BY c) - 1 AS r FROM (${union}) AS alphabet ORDER BY r, i`,
      all,
    );
    this.chars = [];
    for (const row of rows) {
      const ch = all[Number(row.i)];
      const r = Number(row.r);
      this.ranks.set(ch, r);
      this.chars[r] ??= ch;
    }
  }

  digits(value: string): number[] {
    return Array.from(value, (ch) => this.ranks.get(ch) ?? 0);
  }

  text(digits: readonly number[]): string {
    return digits.map((d) => this.chars[d]).join('');
  }

  get size(): number {
    return this.chars.length;
  }
}

/**
 * A digit sequence strictly between a and b (a < b lexicographically, a shorter prefix first), over
 * digits 0..base-1; undefined when none exists (b is a followed by the lowest digit).
 */
export function digitsBetween(
  a: readonly number[],
  b: readonly number[],
  base: number,
): number[] | undefined {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  const prefix = b.slice(0, i);
  if (i === b.length) return undefined; // b <= a: no room
  if (i === a.length) {
    // a is a proper prefix of b: anything after a that sorts before b's rest.
    if (b[i] >= 1) return [...prefix, Math.floor(b[i] / 2)];
    return i + 1 < b.length ? [...prefix, 0] : undefined; // a, a+[0], b = a+[0]+rest
  }
  if (b[i] - a[i] >= 2) return [...prefix, Math.floor((a[i] + b[i]) / 2)];
  // Adjacent digits: keep a's digit and go above a's rest.
  return [...prefix, a[i], ...digitsAbove(a.slice(i + 1), base)];
}

/** A non-empty digit sequence greater than x, about halfway to the top. */
function digitsAbove(x: readonly number[], base: number): number[] {
  if (x.length === 0) return [Math.floor((base - 1) / 2)];
  if (x[0] < base - 1) return [Math.floor((x[0] + base) / 2)];
  return [x[0], ...digitsAbove(x.slice(1), base)];
}

const TEMPORAL_TEXT = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?)?$/;

function temporalMicros(value: string): bigint | undefined {
  const m = TEMPORAL_TEXT.exec(value);
  if (!m) return undefined;
  const d = new Date(0);
  d.setUTCFullYear(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  d.setUTCHours(Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0), 0);
  if (Number.isNaN(d.getTime())) return undefined;
  return BigInt(d.getTime()) * 1000n + BigInt((m[7] ?? '').padEnd(6, '0') || '0');
}

function temporalText(micros: bigint): string {
  const fraction = ((micros % 1000000n) + 1000000n) % 1000000n; // before 1970 too
  const d = new Date(Number((micros - fraction) / 1000n));
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return (
    `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(Number(fraction), 6)}`
  );
}

/** How the splitter finds a value between two values of one key column. */
export class ColumnMidpoint {
  private constructor(
    private readonly kind: 'integer' | 'numeric' | 'temporal' | 'text' | 'bytes',
    private readonly alphabet?: CollationAlphabet,
  ) {}

  static for(pool: Pool, column: ColumnInfo): ColumnMidpoint {
    const t = column.dataType;
    if (INTEGER_TYPES.has(t) || t === 'bit') return new ColumnMidpoint('integer');
    if (NUMERIC.has(t)) return new ColumnMidpoint('numeric');
    if (TEMPORAL.has(t)) return new ColumnMidpoint('temporal');
    if (TEXT.has(t) && column.charset && column.collation)
      return new ColumnMidpoint('text', new CollationAlphabet(pool, column.charset, column.collation));
    return new ColumnMidpoint('bytes');
  }

  /** Whether two values are the same key part (text: equal under the collation, as far as known). */
  async same(a: KeyValue, b: KeyValue): Promise<boolean> {
    if (this.alphabet && typeof a === 'string' && typeof b === 'string') {
      await this.alphabet.learn([a, b]);
      const da = this.alphabet.digits(a);
      const db = this.alphabet.digits(b);
      return da.length === db.length && da.every((d, i) => d === db[i]);
    }
    if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return a.equals(b);
    return String(a) === String(b);
  }

  /** A value strictly between a and b (a < b) in the column's order, or undefined when none is known. */
  async between(a: KeyValue, b: KeyValue): Promise<KeyValue | undefined> {
    switch (this.kind) {
      case 'integer': {
        const [x, y] = [BigInt(String(a)), BigInt(String(b))];
        return y - x >= 2n ? (x + (y - x) / 2n).toString() : undefined;
      }
      case 'numeric': {
        const [x, y] = [Number(a), Number(b)];
        const m = x / 2 + y / 2;
        return m > x && m < y ? String(m) : undefined;
      }
      case 'temporal': {
        const [x, y] = [temporalMicros(String(a)), temporalMicros(String(b))];
        if (x === undefined || y === undefined || y - x < 2n) return undefined;
        return temporalText(x + (y - x) / 2n);
      }
      case 'text': {
        const alphabet = this.alphabet!;
        await alphabet.learn([String(a), String(b)]);
        const d = digitsBetween(alphabet.digits(String(a)), alphabet.digits(String(b)), alphabet.size);
        return d && alphabet.text(d);
      }
      case 'bytes': {
        if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) {
          const d = digitsBetween([...a], [...b], 256);
          return d && Buffer.from(d);
        }
        // Other values as text (ENUM, SET, TIME, ...): UTF-16 code units, a rough hint at best.
        const units = (v: KeyValue) => Array.from(String(v), (ch) => ch.charCodeAt(0));
        const d = digitsBetween(units(a), units(b), 0x10000);
        return d && String.fromCharCode(...d);
      }
    }
  }
}
