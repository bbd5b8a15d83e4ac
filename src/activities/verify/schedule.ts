import type mysql from 'mysql2/promise';
import type { Side } from '../contracts.js';

/**
 * When each table was last verified in full (on the target connection's database), so scheduled
 * verification can size its interval to the table (VerifyInput.dutyCycle) instead of rescanning every
 * table every few minutes.
 */
const LOG_TABLE = '_migrator_verify_log';

async function ensure(pool: mysql.Pool): Promise<void> {
  await pool.query(
    `CREATE TABLE IF NOT EXISTS \`${LOG_TABLE}\` (
       table_name VARCHAR(64) NOT NULL,
       authoritative VARCHAR(6) NOT NULL,
       finished_ms BIGINT NOT NULL,
       duration_ms BIGINT NOT NULL,
       PRIMARY KEY (table_name, authoritative)
     ) ENGINE=InnoDB`,
  );
}

/** The time (ms) before which a table verified recently need not be verified again, or null. */
export async function notDueBefore(
  pool: mysql.Pool,
  table: string,
  authoritative: Side,
  dutyCycle: number,
): Promise<number | null> {
  await ensure(pool);
  const [rows] = await pool.query<mysql.RowDataPacket[]>(
    `SELECT finished_ms, duration_ms FROM \`${LOG_TABLE}\` WHERE table_name = ? AND authoritative = ?`,
    [table, authoritative],
  );
  if (!rows.length) return null;
  const due = Number(rows[0].finished_ms) + Number(rows[0].duration_ms) / Math.max(1e-6, dutyCycle);
  return Date.now() < due ? due : null;
}

export async function recordFullRun(
  pool: mysql.Pool,
  table: string,
  authoritative: Side,
  durationMs: number,
): Promise<void> {
  await ensure(pool);
  await pool.query(
    `REPLACE INTO \`${LOG_TABLE}\` (table_name, authoritative, finished_ms, duration_ms) VALUES (?, ?, ?, ?)`,
    [table, authoritative, Date.now(), Math.round(durationMs)],
  );
}
