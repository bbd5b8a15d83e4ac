import type mysql from 'mysql2/promise';
import type { EncodedKey, KeyRange } from '../contracts.js';
import { abortIfNeeded } from './abort.js';
import { keyId } from './keys.js';
import type { TableSide } from './pair.js';

/**
 * The keys n, 2n, ... k*n rows after `lower` on one side (chunk upper bounds), in one round trip: every
 * n-th key of the next n*k keys. Fewer than k come back near the end; none: the rest is the last chunk.
 */
export async function nextBoundaries(
  side: TableSide,
  lower: EncodedKey | undefined,
  upper: EncodedKey | undefined,
  n: number,
  k: number,
): Promise<EncodedKey[]> {
  const where = side.key.range(lower, upper);
  const pool: mysql.Pool = side.replica ?? side.pool;
  const step = Math.max(1, Math.floor(n));
  const [rows] = await pool.query<mysql.RowDataPacket[]>(
    // The LIMIT sits in the innermost query: a window over the whole rest of the table would be computed
    // before an outer LIMIT applies.
    `SELECT ${side.key.list} FROM (SELECT ${side.key.list}, ROW_NUMBER() OVER (ORDER BY ${side.key.list}) AS __rn ` +
      `FROM (SELECT ${side.key.list} FROM ${side.table} WHERE ${where.sql} ORDER BY ${side.key.list} ` +
      `LIMIT ${step * Math.max(1, Math.floor(k))}) AS __l) AS __b WHERE __rn % ${step} = 0 ORDER BY __rn`,
    where.params,
  );
  return rows.map((r) => side.key.encode(r));
}

/**
 * The key n rows after `lower` (a chunk's upper bound), or undefined when n or fewer remain: an index
 * walk of n keys (LIMIT 1 OFFSET n-1 from the previous bound, never from the table's start). Cheaper for
 * the walk than nextBoundaries, whose ROW_NUMBER() window materialises and sorts the next k*n keys
 * (measured 0.9 s against 0.3 s of server CPU per 1M rows); one round trip per chunk.
 */
export function boundaryAfter(
  side: TableSide,
  lower: EncodedKey | undefined,
  upper: EncodedKey | undefined,
  n: number,
): Promise<EncodedKey | undefined> {
  return keyAtOffset(side, lower, upper, side.key.list, Math.max(1, Math.floor(n)) - 1);
}

/**
 * The key with exactly n rows after it up to `upper` on one side (the lower bound of a last chunk of n
 * rows), or undefined when n or fewer rows lie in (lower, upper]: a backward index walk of n keys.
 */
export function boundaryBefore(
  side: TableSide,
  lower: EncodedKey | undefined,
  upper: EncodedKey | undefined,
  n: number,
): Promise<EncodedKey | undefined> {
  return keyAtOffset(side, lower, upper, side.key.descending, Math.max(1, Math.floor(n)));
}

/** The key `offset` keys into (lower, upper] walked in `order` (the key list, ascending or descending). */
async function keyAtOffset(
  side: TableSide,
  lower: EncodedKey | undefined,
  upper: EncodedKey | undefined,
  order: string,
  offset: number,
): Promise<EncodedKey | undefined> {
  const where = side.key.range(lower, upper);
  const pool: mysql.Pool = side.replica ?? side.pool;
  const [rows] = await pool.query<mysql.RowDataPacket[]>(
    `SELECT ${side.key.list} FROM ${side.table} ${side.keyIndex} WHERE ${where.sql} ORDER BY ${order} LIMIT 1 OFFSET ${offset}`,
    where.params,
  );
  return rows.length > 0 ? side.key.encode(rows[0]) : undefined;
}

/**
 * The rest of a chunk's work, handed back so that the chunk's slot is freed before it settles. A
 * wrapper, not a bare promise: an async function returning a promise resolves only when that promise
 * does, which kept every re-check (200 ms between rounds) in its slot.
 */
export interface ChunkSettling {
  settling: Promise<void>;
}

/** See WalkOptions.chunk. */
export type ChunkFn = (range: KeyRange) => Promise<ChunkSettling | void>;

/** Chunks whose remaining work (re-checks, repairs) may be pending at once beyond the slots. */
const MAX_SETTLING = 16;

export interface WalkOptions {
  /** The side whose key cuts the chunks. */
  driver: TableSide;
  range?: KeyRange;
  /** Start after this key (resume). */
  after?: EncodedKey;
  chunkSize: number;
  concurrency: number;
  signal?: AbortSignal;
  /**
   * Compares (and repairs) one chunk. It may resolve early with `{ settling }`, a promise of the rest of
   * the chunk's work (re-checks and repairs, which mostly wait): the chunk's slot is then freed for the
   * next chunk, while `done` still waits for `settling`.
   */
  chunk: ChunkFn;
  /** Called in order, once every chunk up to and including this one is done. */
  done: (upper: EncodedKey | undefined) => void;
}

/**
 * Cuts chunks sequentially on the driver side and processes `concurrency` of them at a time; `done` only
 * advances over a contiguous prefix of finished chunks, so a resume point never skips an unfinished chunk.
 * The last chunk is unbounded above (or ends at range.upper), so rows beyond the driver's last key on the
 * other side are compared too. It is cut first (the last chunkSize keys, walked backwards from the end)
 * and compared while the rest is walked: it holds the other side's rows beyond the driver's last key, and
 * its re-checks (which wait between rounds) then overlap the walk instead of trailing it.
 */
export async function walkChunks(o: WalkOptions): Promise<void> {
  const lower = o.after ?? o.range?.lower;
  const tailLower = await boundaryBefore(o.driver, lower, o.range?.upper, o.chunkSize);
  if (tailLower === undefined) return walkInOrder(o, lower, o.range?.upper);
  let tailFailure: { err: unknown } | undefined;
  const tail = (async () => {
    try {
      await (
        await o.chunk({ lower: tailLower, upper: o.range?.upper })
      )?.settling;
    } catch (err) {
      tailFailure = { err };
    }
  })();
  try {
    await walkInOrder(o, lower, tailLower);
  } finally {
    await tail;
  }
  if (tailFailure) throw tailFailure.err;
  o.done(o.range?.upper);
}

/** walkChunks over (lower, rangeUpper], the last chunk ending at rangeUpper. */
async function walkInOrder(
  o: WalkOptions,
  from: EncodedKey | undefined,
  rangeUpper: EncodedKey | undefined,
): Promise<void> {
  const slots = new Set<Promise<void>>();
  const unfinished = new Set<Promise<void>>();
  const finished = new Map<number, EncodedKey | undefined>();
  let nextToRecord = 0;
  let failure: unknown;
  let lower: EncodedKey | undefined = from;
  // The next chunk's bound is fetched as soon as the previous one is known, while chunks run: a free slot
  // starts its chunk at once instead of waiting for the index walk (which left both servers idle a
  // fifth of the time).
  const cut = (after: EncodedKey | undefined) => {
    const bound = boundaryAfter(o.driver, after, rangeUpper, o.chunkSize);
    bound.catch(() => undefined); // awaited below; not unhandled if the walk stops first
    return bound;
  };
  let next = cut(from);
  for (let index = 0; ; index++) {
    abortIfNeeded(o.signal);
    if (failure) break;
    const upper = (await next) ?? rangeUpper;
    const last = !upper || (rangeUpper !== undefined && keyId(upper) === keyId(rangeUpper));
    const range: KeyRange = { lower, upper: last ? rangeUpper : upper };
    const started = o.chunk(range);
    if (!last) next = cut(upper);
    const slot = started.then(
      () => undefined,
      () => undefined,
    );
    slots.add(slot);
    void slot.finally(() => slots.delete(slot));
    const job = (async () => {
      try {
        await (
          await started
        )?.settling;
        finished.set(index, range.upper);
        while (finished.has(nextToRecord)) {
          const u = finished.get(nextToRecord);
          finished.delete(nextToRecord);
          nextToRecord++;
          o.done(u);
        }
      } catch (err) {
        failure ??= err;
      }
    })();
    unfinished.add(job);
    void job.finally(() => unfinished.delete(job));
    if (slots.size >= Math.max(1, o.concurrency)) await Promise.race(slots);
    while (unfinished.size > Math.max(1, o.concurrency) + MAX_SETTLING) await Promise.race(unfinished);
    if (last) break;
    lower = upper;
  }
  await Promise.all(unfinished);
  if (failure) throw failure;
}
