import type { Pool, RowDataPacket } from 'mysql2/promise';
import type { EncodedKey, KeyRange, TableSpec } from '../contracts.js';
import { getPool, resolveConnection } from '../db/connections.js';
import { quoteIdent, quoteTable } from '../db/identifiers.js';
import { describeTable } from '../schema/describe.js';
import { decodeKey, encodeKey, keyString } from '../schema/keycodec.js';
import { keyCompare, orderBy, rangeCondition, type SqlFragment } from '../schema/keyset.js';
import { ColumnMidpoint, type KeyValue } from './split-midpoint.js';

/** Pieces per requested part: a boundary lands within one piece of its goal (about 1/8 of a part). */
const PIECES_PER_PART = 8;
/** Key lookups the splitter may make per requested part, whatever the key's values look like. */
const LOOKUPS_PER_PART = 64;

/** The index dives the splitter makes: key lookups that read one row and optimizer row estimates. */
class KeyIndex {
  private readonly from: string;

  constructor(
    private readonly pool: Pool,
    schema: string,
    table: string,
    index: string,
    readonly key: readonly string[],
  ) {
    this.from = `${quoteTable(schema, table)} FORCE INDEX (${quoteIdent(index, 'index')})`;
  }

  /** The first (or last) key matching all conditions: one seek into the key's index, one row read. */
  async edge(direction: 'ASC' | 'DESC', conditions: SqlFragment[]): Promise<EncodedKey | undefined> {
    const where = conditions.length ? conditions.map((c) => c.sql).join(' AND ') : '1=1';
    const cols = this.key.map((c) => quoteIdent(c, 'key column')).join(', ');
    const [rows] = await this.pool.query<RowDataPacket[]>(
      `SELECT ${cols} FROM ${this.from} WHERE ${where} ORDER BY ${orderBy(this.key, direction)} LIMIT 1`,
      conditions.flatMap((c) => c.params),
    );
    return rows.length ? encodeKey(this.key.map((k) => rows[0][k])) : undefined;
  }

  /**
   * The optimizer's row estimate for `lower < key <= upper` (InnoDB records_in_range: a dive to each
   * end of the range and a few pages between; nothing is read through the handler).
   */
  async estimate(range: KeyRange): Promise<number> {
    const where = rangeCondition(this.key, range);
    const [rows] = await this.pool.query<RowDataPacket[]>(
      `EXPLAIN SELECT 1 FROM ${this.from} WHERE ${where.sql}`,
      where.params,
    );
    return Number(rows[0]?.rows ?? 0) || 0;
  }
}

interface Splitter {
  index: KeyIndex;
  columns: ColumnMidpoint[];
  /** Key lookups left. */
  lookups: number;
}

/**
 * A key prefix between two keys (low < high): equal leading parts, then a value between the first
 * parts that differ, or the high key's part when no value between is known (the keys whose part is
 * at least it are then the ones after low's part).
 */
async function candidate(s: Splitter, low: EncodedKey, high: EncodedKey): Promise<EncodedKey | undefined> {
  const lo = decodeKey(low);
  const hi = decodeKey(high);
  for (let j = 0; j < lo.length; j++) {
    const [a, b] = [lo[j] as KeyValue, hi[j] as KeyValue];
    if (await s.columns[j].same(a, b)) continue;
    const mid = await s.columns[j].between(a, b);
    return [...low.slice(0, j), ...encodeKey([mid ?? b])];
  }
  return undefined;
}

/** A piece of the key space, (lower, last], and the optimizer's estimate of its rows. */
interface Piece {
  lower?: EncodedKey;
  /** The first key after lower. */
  first: EncodedKey;
  last: EncodedKey;
  rows: number;
}

/**
 * A real key k with first <= k < last, about halfway in value between them: the first key at or
 * after an interpolated value; when no key lies between the value and `last`, the same between first
 * and the key before last. Undefined when the budget of lookups runs out.
 */
async function middleKey(s: Splitter, first: EncodedKey, last: EncodedKey): Promise<EncodedKey | undefined> {
  let high = last;
  while (s.lookups > 0 && keyString(first) !== keyString(high)) {
    const prefix = await candidate(s, first, high);
    if (!prefix) return first;
    s.lookups--;
    const key = await s.index.edge('ASC', [
      keyCompare(s.index.key, '>', first),
      keyCompare(s.index.key, '<=', high),
      keyCompare(s.index.key.slice(0, prefix.length), '>=', prefix),
    ]);
    if (key && keyString(key) !== keyString(high)) return key;
    // No key in [prefix, high): every key after first and before high is at most the key before high.
    s.lookups--;
    const below = await s.index.edge('DESC', [
      keyCompare(s.index.key, '>', first),
      keyCompare(s.index.key, '<', high),
    ]);
    if (!below) return first; // first and high are neighbours
    high = below;
  }
  return undefined;
}

/** The piece cut in two at a middle key, or undefined when it cannot be cut. */
async function cutPiece(s: Splitter, piece: Piece): Promise<[Piece, Piece] | undefined> {
  if (keyString(piece.first) === keyString(piece.last)) return undefined;
  const middle = await middleKey(s, piece.first, piece.last);
  if (!middle) return undefined;
  s.lookups--;
  const next = await s.index.edge('ASC', [
    keyCompare(s.index.key, '>', middle),
    keyCompare(s.index.key, '<=', piece.last),
  ]);
  if (!next) return undefined;
  return [
    {
      lower: piece.lower,
      first: piece.first,
      last: middle,
      rows: await s.index.estimate({ lower: piece.lower, upper: middle }),
    },
    {
      lower: middle,
      first: next,
      last: piece.last,
      rows: await s.index.estimate({ lower: middle, upper: piece.last }),
    },
  ];
}

/**
 * Cuts the largest piece in two until every piece holds at most 1/`pieces` of the estimated rows
 * (small ranges are where InnoDB's estimates are good: large ones are coarse and capped at half the
 * table) or the lookups run out (then the largest pieces have been cut first). Key order is kept.
 */
async function cutPieces(s: Splitter, whole: Piece, pieces: number): Promise<Piece[]> {
  const out: (Piece & { uncut?: boolean })[] = [whole];
  while (s.lookups > 0) {
    let largest = -1;
    let total = 0;
    for (let i = 0; i < out.length; i++) {
      total += out[i].rows;
      if (!out[i].uncut && (largest < 0 || out[i].rows > out[largest].rows)) largest = i;
    }
    if (largest < 0 || out[largest].rows <= Math.max(1, total / pieces)) break;
    const cut = await cutPiece(s, out[largest]);
    if (cut) out.splice(largest, 1, ...cut);
    else out[largest].uncut = true;
  }
  return out;
}

/**
 * Boundaries for `parts` even parts: the ends of the pieces whose running row estimate is nearest to
 * each part's share (strictly increasing; never the last key, so no part is empty by construction).
 */
function pickBoundaries(pieces: readonly Piece[], parts: number): EncodedKey[] {
  const total = pieces.reduce((a, p) => a + p.rows, 0);
  const running: number[] = [];
  let sum = 0;
  for (const p of pieces) running.push((sum += p.rows));
  const bounds: EncodedKey[] = [];
  let from = 0;
  for (let k = 1; k < parts; k++) {
    const goal = (k * total) / parts;
    let best = -1;
    for (let i = from; i < pieces.length - 1; i++)
      if (best < 0 || Math.abs(running[i] - goal) < Math.abs(running[best] - goal)) best = i;
    if (best < 0) break;
    bounds.push(pieces[best].last);
    from = best + 1;
  }
  return bounds;
}

/**
 * Splits a table's key space into up to `parts` contiguous half-open ranges covering everything: the
 * first has no lower bound, the last no upper bound. No scan: the boundaries are real keys found by
 * index dives (the first key at or after a value interpolated between two known keys), chosen by
 * bisection on the optimizer's row estimates until each side holds about its share of rows. The
 * server compares every key (collations included); the interpolation only guides the dives.
 */
export async function splitKeyRanges(input: {
  source: string;
  table: TableSpec | string;
  parts: number;
}): Promise<KeyRange[]> {
  const spec = typeof input.table === 'string' ? { name: input.table } : input.table;
  const pool = getPool(input.source);
  const schema = resolveConnection(input.source).database;
  const info = await describeTable(pool, schema, spec.name, spec.key);
  const parts = Math.max(1, Math.floor(input.parts));
  const index = new KeyIndex(pool, schema, spec.name, info.key.index, info.key.columns);
  const columns = info.key.columns.map((name) =>
    ColumnMidpoint.for(pool, info.columns.find((c) => c.name === name)!),
  );
  const first = await index.edge('ASC', []);
  const last = await index.edge('DESC', []);
  if (!first || !last || parts < 2) return toRanges([]);
  const splitter = { index, columns, lookups: LOOKUPS_PER_PART * parts };
  const pieces = await cutPieces(
    splitter,
    { first, last, rows: Number.MAX_SAFE_INTEGER },
    parts * PIECES_PER_PART,
  );
  return toRanges(pickBoundaries(pieces, parts));
}

/** Consecutive boundaries as ranges: (none, b1], (b1, b2], ..., (bn, none). */
function toRanges(bounds: readonly EncodedKey[]): KeyRange[] {
  const ranges: KeyRange[] = [];
  let prev: KeyRange['lower'];
  for (const b of bounds) {
    ranges.push(prev ? { lower: prev, upper: b } : { upper: b });
    prev = b;
  }
  ranges.push(prev ? { lower: prev } : {});
  return ranges;
}
