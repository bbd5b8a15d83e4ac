import type { PoolConnection, RowDataPacket } from 'mysql2/promise';
import type { BinlogPosition } from '../contracts.js';
import { binlogFileIndex, comparePositions } from '../cdc/position.js';

/**
 * A chunk's snapshot is behind the applier: the source wrote a transaction to its binlog (and the
 * applier already applied it) before the engine made it visible to new snapshots. The chunk must not
 * be written (its rows would be older than what the applier will never replay again); it is retried.
 */
export class SnapshotBehindError extends Error {
  override name = 'SnapshotBehindError';
}

/** Binlog events that belong to no transaction: a gap made only of them hides no row change. */
const NON_TRANSACTION_EVENTS = new Set([
  'format_desc',
  'gtid_list',
  'binlog_checkpoint',
  'rotate',
  'stop',
  'start_encryption',
  'heartbeat',
  'previous_gtids',
]);

/** Events read from the gap at most; a longer gap counts as holding a transaction (the chunk waits). */
const MAX_GAP_EVENTS = 200;

/**
 * Whether the snapshot at binlog position `snapshot` misses a transaction that the applier committed
 * (its checkpoint `applied` lies after it). P < A alone is not enough: the applier's checkpoint also
 * moves over events that are no transaction (a rotation's format/checkpoint events, reported by idle
 * heartbeats), and the server's snapshot position only moves on commits. So the gap (P, A] is read with
 * SHOW BINLOG EVENTS (BINLOG MONITOR): any event other than those is a transaction the snapshot lacks.
 */
export async function snapshotMissesApplied(
  conn: PoolConnection,
  snapshot: BinlogPosition,
  applied: BinlogPosition,
): Promise<boolean> {
  if (comparePositions(snapshot, applied) >= 0) return false;
  let files = [snapshot.file];
  if (snapshot.file !== applied.file) {
    const [logs] = await conn.query<RowDataPacket[]>('SHOW BINARY LOGS');
    const from = binlogFileIndex(snapshot.file);
    const to = binlogFileIndex(applied.file);
    files = logs
      .map((r) => String(r.Log_name))
      .filter((f) => binlogFileIndex(f) >= from && binlogFileIndex(f) <= to);
    if (!files.includes(snapshot.file)) return true; // purged meanwhile: cannot tell, assume the worst
  }
  let seen = 0;
  for (const file of files) {
    const start = file === snapshot.file ? snapshot.pos : 4;
    const [events] = await conn.query<RowDataPacket[]>(`SHOW BINLOG EVENTS IN ? FROM ? LIMIT ?`, [
      file,
      start,
      MAX_GAP_EVENTS - seen + 1,
    ]);
    for (const e of events) {
      if (file === applied.file && Number(e.Pos) >= applied.pos) return false;
      if (++seen > MAX_GAP_EVENTS) return true;
      if (!NON_TRANSACTION_EVENTS.has(String(e.Event_type).toLowerCase())) return true;
    }
  }
  return false;
}
