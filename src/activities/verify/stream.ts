import type mysql from 'mysql2/promise';
import type { BinlogPosition, EncodedKey, Side } from '../contracts.js';
import { readCheckpoint } from '../cdc/checkpoint.js';
import { headPosition } from '../cdc/position.js';
import { waitForSyncPosition } from '../cdc/sync.js';
import { keyId } from './keys.js';
import type { TableSide } from './pair.js';
import { diff, HASH_ALIAS, type Difference, type RowHash } from './rows.js';

export class StreamBehindError extends Error {
  override name = 'StreamBehindError';
}

/** Re-compares keys and returns those that still differ. */
export type Recheck = (keys: EncodedKey[], signal?: AbortSignal) => Promise<Difference[]>;

async function hashesIn(conn: mysql.PoolConnection, side: TableSide, keys: EncodedKey[]): Promise<RowHash[]> {
  const where = side.key.anyOf(keys);
  const [rows] = await conn.query<mysql.RowDataPacket[]>(
    `SELECT ${side.key.list}, ${side.hash} AS ${HASH_ALIAS} FROM ${side.table} WHERE ${where.sql}`,
    where.params,
  );
  const wanted = new Set(keys.map(keyId));
  return rows
    .map((r) => ({ key: side.key.encode(r), hash: String(r[HASH_ALIAS]) }))
    .filter((r) => wanted.has(keyId(r.key)));
}

/** The authoritative rows as of one binlog position P (MariaDB: the consistent snapshot's exact position). */
async function authAt(
  auth: TableSide,
  keys: EncodedKey[],
): Promise<{ position?: BinlogPosition; rows: RowHash[] }> {
  const conn = await auth.pool.getConnection();
  try {
    await conn.query('START TRANSACTION WITH CONSISTENT SNAPSHOT');
    const [st] = await conn.query<mysql.RowDataPacket[]>("SHOW SESSION STATUS LIKE 'binlog_snapshot_%'");
    const get = (n: string) => st.find((r) => String(r.Variable_name).toLowerCase() === n)?.Value as unknown;
    const file = get('binlog_snapshot_file');
    const rows = await hashesIn(conn, auth, keys);
    await conn.commit();
    return {
      position: file ? { file: String(file), pos: Number(get('binlog_snapshot_position')) } : undefined,
      rows,
    };
  } finally {
    conn.release();
  }
}

/** The sink's rows with the applier frozen (its checkpoint row share-locked): exactly the state at `applied`. */
async function sinkFrozen(other: TableSide, stream: string, keys: EncodedKey[]): Promise<RowHash[]> {
  const conn = await other.pool.getConnection();
  try {
    await conn.beginTransaction();
    await readCheckpoint(conn, stream, 'share');
    const rows = await hashesIn(conn, other, keys);
    await conn.commit();
    return rows;
  } finally {
    conn.release();
  }
}

/**
 * A lag-proof re-check with the CDC stream that feeds the non-authoritative side: read the authoritative
 * rows in a consistent snapshot whose binlog position P is known, wait until the stream has applied P,
 * then read the other side while the applier is frozen (its checkpoint row share-locked, the same ordering
 * the copier uses). The other side then reflects P plus at most the applier's last batches, a window of
 * milliseconds instead of the whole replication lag, so even rows rewritten many times a second converge
 * within a few rounds. Without a snapshot position (MySQL), the head position is used.
 */
export function streamRecheck(
  stream: string,
  ep: { source: string; target: string },
  authoritative: Side,
  auth: TableSide,
  other: TableSide,
  timeoutMs = 120_000,
): Recheck {
  const from = authoritative === 'source' ? ep.source : ep.target;
  const to = authoritative === 'source' ? ep.target : ep.source;
  return async (keys, signal) => {
    const a = await authAt(auth, keys);
    const position: BinlogPosition = a.position ?? (await headPosition(auth.pool));
    const r = await waitForSyncPosition({ stream, from, to, position, timeoutMs, pollMs: 20, signal });
    if (!r.reached) {
      if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('cancelled');
      throw new StreamBehindError(
        `CDC stream ${stream} did not reach ${position.file}:${position.pos} within ${timeoutMs} ms (applied: ${r.applied ? `${r.applied.file}:${r.applied.pos}` : 'none'})`,
      );
    }
    const o = await sinkFrozen(other, stream, keys);
    return diff(a.rows, o);
  };
}
