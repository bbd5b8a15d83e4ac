import type mysql from 'mysql2/promise';
import type { EncodedKey, MismatchCounts } from '../contracts.js';
import { keyId } from '../verify/keys.js';
import type { TableSide } from '../verify/pair.js';
import type { Difference } from '../verify/rows.js';
import { HASH_ALIAS, emptyCounts, hashesForKeys } from '../verify/rows.js';

const BATCH = 200;

/**
 * Repairs the non-authoritative side for the given keys by RE-READING the authoritative side (never
 * trusting what a compare or an event saw earlier):
 *  - rows present on the authoritative side are upserted (every compared column, the key included, so a
 *    key that differs only in case or trailing spaces takes the authoritative spelling);
 *  - rows absent there are deleted from the other side (by key, under the key's collation).
 * The authoritative rows are read with LOCK IN SHARE MODE inside a transaction held until the other side
 * is written, so a concurrent writer (application or CDC) cannot slip a newer version in between the read
 * and the write and then be overwritten by a stale repair.
 *
 * Only keys that still differ under that lock are written and counted: the other side's row hashes are
 * read after the lock is taken, and read LOCK IN SHARE MODE, so a difference that was only a write in
 * flight (a router's write holds the authoritative row lock until its mirror is applied, and the mirror's
 * own lock on the other side until it commits) is neither rewritten nor reported as repaired.
 * "Repaired" therefore means "was wrong", which the status reports per phase.
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
      `SELECT ${auth.readList}, ${auth.hash} AS ${HASH_ALIAS} FROM ${auth.table} WHERE ${where.sql} LOCK IN SHARE MODE`,
      where.params,
    );
    // Exact key identity: a lookup of 'a' under a _ci collation also returns 'A'.
    const present = new Map<string, mysql.RowDataPacket>();
    for (const r of rows) present.set(keyId(auth.key.encode(r)), r);
    const absent = keys.filter((k) => !present.has(keyId(k)));
    // The other side as it is now that no router write of these keys is in flight (absent and present
    // together are every requested key once, plus collation twins the lookup returned). A locking read:
    // a router's mirror stays uncommitted on the other side until it commits together with the
    // authoritative COMMIT, so once the authoritative lock is free it may still be open there.
    const now = await hashesForKeys(
      other,
      [...absent, ...[...present.values()].map((r) => auth.key.encode(r))],
      'share',
    );
    const gone = absent.filter((k) => now.has(keyId(k)));
    if (gone.length > 0) {
      const del = other.key.anyOf(gone);
      await other.pool.query(`DELETE FROM ${other.table} WHERE ${del.sql}`, del.params);
      for (const k of gone) fixed.add(keyId(k));
    }
    // A delete goes by the key's collation and may take a collation-equal twin with it ('a' for 'A'):
    // then every present row is re-written under the authoritative spelling, else only those that differ.
    const upserts = [...present.entries()]
      .filter(([id, r]) => gone.length > 0 || now.get(id)?.hash !== String(r[HASH_ALIAS]))
      .map(([, r]) => r);
    if (upserts.length > 0) {
      const values = upserts.map((r) => auth.columnNames.map((c) => r[c] as unknown));
      const placeholders = upserts.map(() => `(${other.columns.map(() => '?').join(', ')})`).join(', ');
      const update = other.columns.map((c) => `${c} = VALUES(${c})`).join(', ');
      await other.pool.query(
        `INSERT INTO ${other.table} (${other.columns.join(', ')}) VALUES ${placeholders} ON DUPLICATE KEY UPDATE ${update}`,
        values.flat(),
      );
      for (const r of upserts) {
        const id = keyId(auth.key.encode(r));
        if (now.get(id)?.hash !== String(r[HASH_ALIAS])) fixed.add(id);
      }
    }
    await conn.commit();
  } catch (err) {
    await conn.rollback().catch(() => undefined);
    throw err;
  } finally {
    // The bounded wait was for this read only: the connection goes back with the server's default.
    await conn
      .query('SET SESSION innodb_lock_wait_timeout = DEFAULT')
      .then(() => conn.release())
      .catch(() => conn.destroy());
  }
  return fixed;
}
