import type { Pool, PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import type { BinlogPosition } from '../contracts.js';

/**
 * The applier's checkpoint lives on the sink, in `_migrator_checkpoint` (the sink connection's
 * database), one row per stream, updated in the same transaction as the rows applied. Its row lock also
 * orders copier chunks against the applier (copier/README.md).
 */
export const CHECKPOINT_TABLE = '_migrator_checkpoint';

export interface CheckpointRow {
  stream: string;
  position: BinlogPosition;
  transactions: number;
  rowsApplied: number;
  /** Source commit time of the last applied transaction (ms), if any. */
  sourceTimestamp: number | null;
  updatedAt: string;
}

export function assertStreamId(stream: string): string {
  if (typeof stream !== 'string' || !/^[A-Za-z0-9_.:-]{1,190}$/.test(stream)) {
    throw new Error(
      `invalid stream id ${JSON.stringify(stream)}: use 1-190 letters, digits, '_', '.', ':' or '-'`,
    );
  }
  return stream;
}

export async function ensureCheckpointTable(pool: Pool | PoolConnection): Promise<void> {
  await pool.query(
    `CREATE TABLE IF NOT EXISTS \`${CHECKPOINT_TABLE}\` (
       stream VARCHAR(190) NOT NULL PRIMARY KEY,
       file VARCHAR(255) NOT NULL,
       pos BIGINT UNSIGNED NOT NULL,
       gtid TEXT NULL,
       transactions BIGINT UNSIGNED NOT NULL DEFAULT 0,
       rows_applied BIGINT UNSIGNED NOT NULL DEFAULT 0,
       source_ts BIGINT NULL,
       updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)
     ) ENGINE=InnoDB`,
  );
}

function fromRow(r: RowDataPacket): CheckpointRow {
  const position: BinlogPosition = { file: String(r.file), pos: Number(r.pos) };
  if (r.gtid !== null && r.gtid !== undefined) position.gtid = String(r.gtid);
  return {
    stream: String(r.stream),
    position,
    transactions: Number(r.transactions),
    rowsApplied: Number(r.rows_applied),
    sourceTimestamp: r.source_ts === null ? null : Number(r.source_ts),
    updatedAt: String(r.updated_at),
  };
}

/** Reads a checkpoint; `lock` takes the row lock (inside a transaction). Null when absent. */
export async function readCheckpoint(
  db: Pool | PoolConnection,
  stream: string,
  lock: 'none' | 'share' | 'update' = 'none',
): Promise<CheckpointRow | null> {
  const suffix = lock === 'share' ? ' LOCK IN SHARE MODE' : lock === 'update' ? ' FOR UPDATE' : '';
  try {
    const [rows] = await db.query<RowDataPacket[]>(
      `SELECT stream, file, pos, gtid, transactions, rows_applied, source_ts, updated_at FROM \`${CHECKPOINT_TABLE}\` WHERE stream = ?${suffix}`,
      [assertStreamId(stream)],
    );
    return rows.length ? fromRow(rows[0]) : null;
  } catch (err) {
    if ((err as { errno?: number }).errno === 1146) return null; // table does not exist yet
    throw err;
  }
}

/** Creates the row if absent (idempotent); returns the row as stored. */
export async function insertCheckpointIfAbsent(
  pool: Pool,
  stream: string,
  position: BinlogPosition,
): Promise<CheckpointRow> {
  await ensureCheckpointTable(pool);
  await pool.query(
    `INSERT IGNORE INTO \`${CHECKPOINT_TABLE}\` (stream, file, pos, gtid) VALUES (?, ?, ?, ?)`,
    [assertStreamId(stream), position.file, position.pos, position.gtid ?? null],
  );
  const row = await readCheckpoint(pool, stream);
  if (!row) throw new Error(`checkpoint row for stream ${stream} vanished`);
  return row;
}

/** Removes a stream's checkpoint (the stream ended for good). Idempotent. */
export async function deleteCheckpoint(pool: Pool, stream: string): Promise<void> {
  try {
    await pool.query(`DELETE FROM \`${CHECKPOINT_TABLE}\` WHERE stream = ?`, [assertStreamId(stream)]);
  } catch (err) {
    if ((err as { errno?: number }).errno !== 1146) throw err; // no table: nothing to remove
  }
}

export async function writeCheckpoint(
  conn: PoolConnection,
  stream: string,
  position: BinlogPosition,
  delta: { transactions: number; rows: number; sourceTimestamp: number | null },
): Promise<void> {
  await conn.query(
    `UPDATE \`${CHECKPOINT_TABLE}\` SET file = ?, pos = ?, gtid = ?, transactions = transactions + ?,
            rows_applied = rows_applied + ?, source_ts = COALESCE(?, source_ts) WHERE stream = ?`,
    [
      position.file,
      position.pos,
      position.gtid ?? null,
      delta.transactions,
      delta.rows,
      delta.sourceTimestamp,
      stream,
    ],
  );
}

/**
 * Moves a stream's checkpoint from `from` to `to` inside the caller's transaction, only if it is still
 * at `from` (file/offset): takes the row's X lock and checks for a concurrent applier in one statement.
 * Returns false when the checkpoint was elsewhere (nothing changed).
 */
export async function moveCheckpoint(
  conn: PoolConnection,
  stream: string,
  from: BinlogPosition,
  to: BinlogPosition,
  delta: { transactions: number; rows: number; sourceTimestamp: number | null },
): Promise<boolean> {
  const [res] = await conn.query<ResultSetHeader>(
    `UPDATE \`${CHECKPOINT_TABLE}\` SET file = ?, pos = ?, gtid = ?, transactions = transactions + ?,
            rows_applied = rows_applied + ?, source_ts = COALESCE(?, source_ts)
      WHERE stream = ? AND file = ? AND pos = ?`,
    [
      to.file,
      to.pos,
      to.gtid ?? null,
      delta.transactions,
      delta.rows,
      delta.sourceTimestamp,
      stream,
      from.file,
      from.pos,
    ],
  );
  return res.affectedRows === 1;
}
