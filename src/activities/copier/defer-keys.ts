import type { Pool, RowDataPacket } from 'mysql2/promise';
import { quoteIdent, quoteTable } from '../db/identifiers.js';

/**
 * Deferred secondary keys (Vitess' --defer-secondary-keys): a table filled by the bulk copy is loaded
 * without its plain (non-unique, B-tree) secondary indexes, which are built afterwards in one sorted
 * pass instead of maintained row by row in random order. Unique keys are never deferred (REPLACE needs
 * them to remove colliding rows), nor FULLTEXT/SPATIAL ones, nor an index a foreign key needs.
 *
 * Crash safety: each key's exact definition (its line of SHOW CREATE TABLE) is recorded in
 * `_migrator_deferred_keys` on the target BEFORE the key is dropped, and the record is deleted only
 * AFTER the key exists again. Whatever dies in between, `restoreSecondaryKeys` (run at the end of a
 * resumed copy, and by the BULK_COPY compensation) re-adds every recorded key that is missing.
 * Neither the CDC applier nor verification needs these keys: both address rows by the table key.
 */
export const DEFERRED_KEYS_TABLE = '_migrator_deferred_keys';

async function ensureTable(pool: Pool): Promise<void> {
  await pool.query(
    `CREATE TABLE IF NOT EXISTS \`${DEFERRED_KEYS_TABLE}\` (
       table_schema VARCHAR(64) NOT NULL,
       table_name VARCHAR(64) NOT NULL,
       index_name VARCHAR(64) NOT NULL,
       definition TEXT NOT NULL,
       PRIMARY KEY (table_schema, table_name, index_name)
     ) ENGINE=InnoDB`,
  );
}

/** Plain secondary keys of a table as `name -> definition` ("KEY `k` (`a`,`b`(10))" ...). */
async function plainKeys(pool: Pool, schema: string, table: string): Promise<Map<string, string>> {
  const [rows] = await pool.query<RowDataPacket[]>(`SHOW CREATE TABLE ${quoteTable(schema, table)}`);
  const ddl = String(rows[0]['Create Table']);
  const keys = new Map<string, string>();
  for (const line of ddl.split('\n')) {
    // Only "KEY `name` (...)": UNIQUE, PRIMARY, FULLTEXT, SPATIAL and FOREIGN keys start differently.
    const m = /^\s*KEY `((?:[^`]|``)+)` \(/.exec(line);
    if (m && !/\bUSING HASH\b/.test(line)) keys.set(m[1].replace(/``/g, '`'), line.trim().replace(/,$/, ''));
  }
  return keys;
}

async function recorded(pool: Pool, schema: string, table: string): Promise<Map<string, string>> {
  const [rows] = await pool.query<RowDataPacket[]>(
    `SELECT index_name, definition FROM \`${DEFERRED_KEYS_TABLE}\` WHERE table_schema = ? AND table_name = ?`,
    [schema, table],
  );
  return new Map(rows.map((r) => [String(r.index_name), String(r.definition)]));
}

/** Drops the table's plain secondary keys after recording them. Idempotent. Returns the deferred names. */
export async function deferSecondaryKeys(pool: Pool, schema: string, table: string): Promise<string[]> {
  await ensureTable(pool);
  const present = await plainKeys(pool, schema, table);
  for (const [name, definition] of present) {
    await pool.query(
      `INSERT IGNORE INTO \`${DEFERRED_KEYS_TABLE}\` (table_schema, table_name, index_name, definition) VALUES (?, ?, ?, ?)`,
      [schema, table, name, definition],
    );
  }
  // Pooled sessions may have foreign_key_checks=0 (writer sessions), under which the server drops an
  // index a foreign key needs: the target then cannot cascade (cdc/README.md, foreign keys).
  const conn = await pool.getConnection();
  try {
    await conn.query('SET SESSION foreign_key_checks = 1');
    for (const name of present.keys()) {
      try {
        await conn.query(`ALTER TABLE ${quoteTable(schema, table)} DROP INDEX ${quoteIdent(name, 'index')}`);
      } catch (err) {
        if ((err as { errno?: number }).errno !== 1553) throw err;
        // A foreign key needs this index: keep it, and forget the record.
        await conn.query(
          `DELETE FROM \`${DEFERRED_KEYS_TABLE}\` WHERE table_schema = ? AND table_name = ? AND index_name = ?`,
          [schema, table, name],
        );
      }
    }
  } finally {
    conn.release();
  }
  return [...(await recorded(pool, schema, table)).keys()];
}

/**
 * Re-adds every recorded key of the table that is missing, all in one ALTER (one sorted build per key,
 * one table scan, concurrent writes allowed), then forgets the records. Idempotent; a no-op when none
 * are recorded (or the record table does not exist). Returns the keys added.
 */
export async function restoreSecondaryKeys(pool: Pool, schema: string, table: string): Promise<string[]> {
  let wanted: Map<string, string>;
  try {
    wanted = await recorded(pool, schema, table);
  } catch (err) {
    if ((err as { errno?: number }).errno === 1146) return []; // no record table: nothing deferred
    throw err;
  }
  if (wanted.size === 0) return [];
  const present = await plainKeys(pool, schema, table);
  const missing = [...wanted].filter(([name]) => !present.has(name));
  if (missing.length > 0) {
    await pool.query(
      `ALTER TABLE ${quoteTable(schema, table)} ${missing.map(([, def]) => `ADD ${def}`).join(', ')}, ALGORITHM=INPLACE, LOCK=NONE`,
    );
  }
  await pool.query(`DELETE FROM \`${DEFERRED_KEYS_TABLE}\` WHERE table_schema = ? AND table_name = ?`, [
    schema,
    table,
  ]);
  return missing.map(([name]) => name);
}
