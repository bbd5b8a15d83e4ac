import type { Pool, RowDataPacket } from 'mysql2/promise';
import type { BinlogPosition } from '../contracts.js';
import { serverInfo, statementsFor } from '../db/server.js';

/** The numeric suffix of a binlog file name (mysql-bin.000042 -> 42). */
export function binlogFileIndex(file: string): number {
  const m = /\.(\d+)$/.exec(file);
  if (!m) throw new Error(`unexpected binlog file name ${JSON.stringify(file)}`);
  return Number(m[1]);
}

/** Orders two positions of the same server by file and offset: <0, 0, >0. */
export function comparePositions(a: BinlogPosition, b: BinlogPosition): number {
  const fa = binlogFileIndex(a.file);
  const fb = binlogFileIndex(b.file);
  return fa !== fb ? fa - fb : a.pos - b.pos;
}

/**
 * Bytes of binlog between two positions. Across files it counts the rest of `from`'s file only when the
 * file sizes are known (SHOW BINARY LOGS), else the offset into `to`'s file plus a lower bound.
 */
export function bytesBetween(
  from: BinlogPosition,
  to: BinlogPosition,
  fileSizes?: Map<string, number>,
): number {
  if (comparePositions(from, to) >= 0) return 0;
  if (from.file === to.file) return to.pos - from.pos;
  let total = to.pos;
  const fromIdx = binlogFileIndex(from.file);
  const toIdx = binlogFileIndex(to.file);
  if (fileSizes) {
    for (const [file, size] of fileSizes) {
      const idx = binlogFileIndex(file);
      if (idx === fromIdx) total += Math.max(0, size - from.pos);
      else if (idx > fromIdx && idx < toIdx) total += size;
    }
  }
  return total;
}

export async function binlogFileSizes(pool: Pool): Promise<Map<string, number>> {
  const [rows] = await pool.query<RowDataPacket[]>('SHOW BINARY LOGS');
  return new Map(rows.map((r) => [String(r.Log_name), Number(r.File_size)]));
}

/**
 * The server's current binlog head: file/offset from the binlog status statement the server knows
 * (SHOW MASTER STATUS; SHOW BINARY LOG STATUS on MySQL 8.2+, db/server.ts) and the GTID position that
 * corresponds exactly to that offset: BINLOG_GTID_POS on MariaDB, the status row's Executed_Gtid_Set on
 * MySQL (empty with gtid_mode=OFF: file/offset only).
 */
export async function headPosition(pool: Pool): Promise<BinlogPosition> {
  const statements = statementsFor(await serverInfo(pool));
  const conn = await pool.getConnection();
  try {
    const [status] = await conn.query<RowDataPacket[]>(statements.binlogStatus);
    if (!status.length) {
      throw new BinlogUnavailableError(
        'the server has no binary log (log_bin=OFF): enable log_bin and restart it',
      );
    }
    const file = String(status[0].File);
    const pos = Number(status[0].Position);
    let gtid: string | undefined;
    if (statements.gtid === 'executed_gtid_set') {
      const set = String(status[0].Executed_Gtid_Set ?? '').replace(/\s+/g, '');
      gtid = set === '' ? undefined : set;
    } else {
      const [g] = await conn.query<RowDataPacket[]>('SELECT BINLOG_GTID_POS(?, ?) AS gtid', [file, pos]);
      if (typeof g[0]?.gtid === 'string') gtid = g[0].gtid;
    }
    return gtid === undefined ? { file, pos } : { file, pos, gtid };
  } finally {
    conn.release();
  }
}

export class BinlogUnavailableError extends Error {
  override name = 'BinlogUnavailableError';
}

/** The binlog a stream must resume from is gone from the server (purged): errno 1236, as the server's own. */
export class BinlogPurgedError extends Error {
  override name = 'BinlogPurgedError';
  readonly errno = 1236;
}

function gtidSeqs(gtid: string): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const part of gtid.split(',').map((p) => p.trim())) {
    const m = /^(\d+)-\d+-(\d+)$/.exec(part);
    if (m) out.set(m[1], BigInt(m[2]));
  }
  return out;
}

/**
 * Fails with BinlogPurgedError when the server no longer holds the binlog after `position`: its file is
 * older than the oldest binlog, or (MariaDB GTID) a domain's last applied sequence number is below the
 * GTID state at the start of the oldest binlog. MariaDB does not always say so itself: a GTID dump
 * request for a purged position can stay silent instead of failing with 1236.
 */
export async function assertNotPurged(pool: Pool, position: BinlogPosition): Promise<void> {
  const [logs] = await pool.query<RowDataPacket[]>('SHOW BINARY LOGS');
  if (!logs.length) return;
  const oldest = String(logs[0].Log_name);
  const purged = (why: string) =>
    new BinlogPurgedError(
      `binlog position ${position.file}:${position.pos}${position.gtid ? ` (GTID ${position.gtid})` : ''} was purged: ${why}`,
    );
  if (position.gtid && (await serverInfo(pool)).flavor === 'mariadb') {
    const [g] = await pool.query<RowDataPacket[]>('SELECT BINLOG_GTID_POS(?, 4) AS gtid', [oldest]);
    const start = typeof g[0]?.gtid === 'string' ? g[0].gtid : undefined;
    if (start !== undefined) {
      const ours = gtidSeqs(position.gtid);
      for (const [domain, seq] of gtidSeqs(start)) {
        const have = ours.get(domain);
        if (have === undefined || have < seq) {
          throw purged(`the oldest binlog ${oldest} starts after GTID ${domain}-*-${seq}`);
        }
      }
      return;
    }
  }
  if (binlogFileIndex(position.file) < binlogFileIndex(oldest)) {
    throw purged(`the oldest binlog on the server is ${oldest}`);
  }
}
