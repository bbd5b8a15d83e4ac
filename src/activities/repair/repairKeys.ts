import type mysql from 'mysql2/promise';
import type { EncodedKey, MismatchCounts } from '../contracts.js';
import { keyId } from '../verify/keys.js';
import type { TableSide } from '../verify/pair.js';
import type { Difference } from '../verify/rows.js';
import { emptyCounts } from '../verify/rows.js';

const BATCH = 200;

/**
 * Repairs the non-authoritative side for the given keys by RE-READING the authoritative side (never
 * trusting what a compare or an event saw earlier):
 *  - rows present on the authoritative side are upserted (every compared column, the key included, so a
 *    key that differs only in case or trailing spaces takes the authoritative spelling);
 *  - rows absent there are deleted from the other side (by key, under the key's collation).
 * The authoritative rows are read with LOCK IN SHARE MODE inside a transaction held until the other side
 * is written, so a concurrent writer (application or CDC) cannot slip a newer version in between the read
 * and the write and then be overwritten by a stale repair. Returns what was fixed, by the kind given.
 */
export async function repairKeys(
  auth: TableSide,
  other: TableSide,
  diffs: Difference[],
): Promise<MismatchCounts> {
  const done = emptyCounts();
  for (let i = 0; i < diffs.length; i += BATCH) {
    const batch = diffs.slice(i, i + BATCH);
    const fixed = await repairBatch(auth, other, batch);
    for (const d of batch) if (fixed.has(keyId(d.key))) done[d.kind]++;
  }
  return done;
}

async function repairBatch(auth: TableSide, other: TableSide, batch: Difference[]): Promise<Set<string>> {
  const keys: EncodedKey[] = batch.map((d) => d.key);
  const conn = await auth.pool.getConnection();
  const fixed = new Set<string>();
  try {
    await conn.query('SET SESSION innodb_lock_wait_timeout = 10');
    await conn.beginTransaction();
    const where = auth.key.anyOf(keys);
    const [rows] = await conn.query<mysql.RowDataPacket[]>(
      `SELECT ${auth.readList} FROM ${auth.table} WHERE ${where.sql} LOCK IN SHARE MODE`,
      where.params,
    );
    // Exact key identity: a lookup of 'a' under a _ci collation also returns 'A'.
    const present = new Map<string, mysql.RowDataPacket>();
    for (const r of rows) present.set(keyId(auth.key.encode(r)), r);
    // Every row the lookup returned is written, including a collation-equal twin ('a' for a requested 'A'):
    // deletes go first and the twin is then re-inserted under the authoritative spelling.
    const upserts = [...present.values()];
    const absent = keys.filter((k) => !present.has(keyId(k)));
    if (absent.length > 0) {
      const del = other.key.anyOf(absent);
      await other.pool.query(`DELETE FROM ${other.table} WHERE ${del.sql}`, del.params);
      for (const k of absent) fixed.add(keyId(k));
    }
    if (upserts.length > 0) {
      const values = upserts.map((r) => auth.columnNames.map((c) => r[c] as unknown));
      const placeholders = upserts.map(() => `(${other.columns.map(() => '?').join(', ')})`).join(', ');
      const update = other.columns.map((c) => `${c} = VALUES(${c})`).join(', ');
      await other.pool.query(
        `INSERT INTO ${other.table} (${other.columns.join(', ')}) VALUES ${placeholders} ON DUPLICATE KEY UPDATE ${update}`,
        values.flat(),
      );
      for (const r of upserts) fixed.add(keyId(auth.key.encode(r)));
    }
    await conn.commit();
  } catch (err) {
    await conn.rollback().catch(() => undefined);
    throw err;
  } finally {
    conn.release();
  }
  return fixed;
}
