import type mysql from 'mysql2/promise';
import type { Side } from '../contracts.js';
import { getPool } from '../db/connections.js';
import { type CatchUpWaiter, sleep } from './catchup.js';

/** MariaDB GTID list 'd-s-n,...' -> domain -> seq. */
function parseGtids(text: string): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^(\d+)-(\d+)-(\d+)$/.exec(part);
    if (m) {
      const prev = out.get(m[1]);
      const seq = BigInt(m[3]);
      if (prev === undefined || seq > prev) out.set(m[1], seq);
    }
  }
  return out;
}

/** applied covers head: every domain of head is applied at least up to head's sequence number. */
export function gtidCovers(applied: string, head: string): boolean {
  const a = parseGtids(applied);
  for (const [domain, seq] of parseGtids(head)) {
    const got = a.get(domain);
    if (got === undefined || got < seq) return false;
  }
  return true;
}

async function appliedGtid(sink: mysql.Pool, stream: string): Promise<string | undefined> {
  const [rows] = await sink.query<mysql.RowDataPacket[]>('SELECT * FROM `_migrator_checkpoint` WHERE `stream` = ?', [stream]);
  if (!rows.length) return undefined;
  for (const v of Object.values(rows[0])) {
    if (typeof v === 'string' && /^\d+-\d+-\d+(,\d+-\d+-\d+)*$/.test(v.trim())) return v.trim();
    if (typeof v === 'string' && v.startsWith('{')) {
      try {
        const parsed = JSON.parse(v) as { gtid?: unknown };
        if (typeof parsed.gtid === 'string') return parsed.gtid;
      } catch {
        /* not JSON */
      }
    }
  }
  return undefined;
}

/**
 * A waiter for the CDC stream that feeds the non-authoritative side: records the authoritative side's
 * GTID position now, then polls the stream's checkpoint row on the sink until it covers that position.
 */
export function streamCatchUp(stream: string, ep: { source: string; target: string }, authoritative: Side, timeoutMs = 120_000): CatchUpWaiter {
  const from = getPool(authoritative === 'source' ? ep.source : ep.target);
  const sink = getPool(authoritative === 'source' ? ep.target : ep.source);
  return async (signal) => {
    const [[row]] = await from.query<mysql.RowDataPacket[]>('SELECT @@gtid_binlog_pos AS pos');
    const head = String(row.pos ?? '');
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const applied = await appliedGtid(sink, stream);
      if (applied !== undefined && gtidCovers(applied, head)) return;
      if (Date.now() > deadline) throw new Error(`stream ${stream} did not catch up with ${head} within ${timeoutMs} ms`);
      await sleep(100, signal);
    }
  };
}
