import type mysql from 'mysql2/promise';
import type {
  EncodedKey,
  KeyRange,
  RunContext,
  VerifyInput,
  VerifyProgress,
  VerifyResult,
  VerifyWindowInput,
} from '../contracts.js';
import { quoteIdent } from '../db/identifiers.js';
import { abortIfNeeded } from './abort.js';
import { keyId } from './keys.js';
import type { TableSide } from './pair.js';
import { aggregate, compareKeys, diff, hashesInRange, type Difference } from './rows.js';
import { openRun, type VerifyTuning } from './run.js';

/** Keys of rows whose `column` lies in [since, until), in key order, one page after `after`. */
async function windowKeys(
  side: TableSide,
  column: string,
  since: string,
  until: string,
  after: EncodedKey | undefined,
  n: number,
): Promise<EncodedKey[]> {
  const range = side.key.range(after, undefined);
  const col = quoteIdent(column, 'column');
  const [rows] = await side.pool.query<mysql.RowDataPacket[]>(
    `SELECT ${side.key.list} FROM ${side.table} WHERE ${col} >= ? AND ${col} < ? AND ${range.sql} ORDER BY ${side.key.list} LIMIT ${Math.floor(n)}`,
    [since, until, ...range.params],
  );
  return rows.map((r) => side.key.encode(r));
}

/**
 * Incremental verification: only rows whose `column` (e.g. updated_at) lies in [since, until) on EITHER
 * side are compared, by point lookups of their keys on both sides. Rows deleted on the authoritative side
 * leave no trace in a window: reverseScanDeletes finds those.
 */
export async function verifyUpdatedSince(
  input: VerifyWindowInput,
  ctx: RunContext<VerifyProgress> = {},
  tuning: VerifyTuning = {},
): Promise<VerifyResult> {
  const { pair, auth, other, tally, confirm, record } = await openRun(input, ctx, tuning, false);
  const colPair = pair.pairs.find((p) => p.source.name === input.column);
  if (!colPair) throw new Error(`${pair.name}: ${input.column} is not a compared column`);
  let until = input.until;
  if (!until) {
    const [[row]] = await auth.pool.query<mysql.RowDataPacket[]>('SELECT CAST(NOW(6) AS CHAR) AS now');
    until = String(row.now);
  }
  const reported = new Set<string>();
  for (const side of [auth, other]) {
    const column = colPair[side.side].name;
    let after: EncodedKey | undefined;
    for (;;) {
      abortIfNeeded(ctx.signal);
      const keys = await windowKeys(side, column, input.since, until, after, pair.chunkSize);
      if (keys.length === 0) break;
      after = keys[keys.length - 1];
      const found = (await compareKeys(auth, other, keys)).filter((d) => !reported.has(keyId(d.key)));
      const diffs = found.length ? await confirm(found) : [];
      tally.chunks++;
      if (side === auth) tally.rowsCompared += keys.length;
      for (const d of diffs) reported.add(keyId(d.key));
      await record(diffs);
      if (side === auth) tally.lastKey = after;
      ctx.progress?.(tally.progress());
      if (keys.length < pair.chunkSize) break;
    }
  }
  return tally.result();
}

/**
 * Periodic scan for rows the authoritative side no longer has: chunks are cut on the NON-authoritative
 * side's key and compared by a key-only checksum (count + XOR of the MD5 of each key), which is cheap;
 * only differing chunks are listed key by key. Finds extra rows (deleted on the authoritative side) and
 * also missing ones; value differences are not looked for (verifyTable / verifyUpdatedSince do that).
 */
export async function reverseScanDeletes(
  input: VerifyInput,
  ctx: RunContext<VerifyProgress> = {},
  tuning: VerifyTuning = {},
): Promise<VerifyResult> {
  const { pair, auth, other, tally, confirm, record, walk } = await openRun(input, ctx, tuning, true);
  const chunk = async (range: KeyRange): Promise<void> => {
    const [a, o] = await Promise.all([
      aggregate(auth, range, auth.replica, auth.keyHash),
      aggregate(other, range, other.replica, other.keyHash),
    ]);
    let rows = o.n;
    if (a.n !== o.n || a.x !== o.x) {
      const [ar, or] = await Promise.all([
        hashesInRange(auth, range, auth.keyHash),
        hashesInRange(other, range, other.keyHash),
      ]);
      rows = Math.max(rows, or.length);
      const found = diff(ar, or).filter((d) => d.kind !== 'different');
      const diffs: Difference[] = (await confirm(found)).filter((d) => d.kind !== 'different');
      await record(diffs);
    }
    tally.chunks++;
    tally.rowsCompared += rows;
  };
  await walk(other, Math.max(pair.chunkSize, 5000), chunk);
  return tally.result();
}
