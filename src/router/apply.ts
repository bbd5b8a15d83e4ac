import type { Side } from '../shared/switches.js';
import { encodeKey, type RepairEntry } from '../switches/repairs.js';
import { batchText } from './batch.js';
import type { PoolLike } from './db.js';
import { opKeys, type MirrorOp } from './mirror.js';
import { deleteStatements, upsertStatements, type Bound } from './rows.js';
import { sessionDb, type MultiStatementSessions } from './sessions.js';

/** Above this many keys in one failed op, a single table-level entry is logged instead. */
const MAX_KEYS_PER_ENTRY_BATCH = 1000;

export function mirrorStatements(ops: readonly MirrorOp[]): Bound[] {
  const out: Bound[] = [];
  for (const op of ops) {
    if (!op.meta) continue;
    if (op.upserts.length > 0) out.push(...upsertStatements(op.meta, op.upserts, op.replace));
    if (op.deletes.length > 0) out.push(...deleteStatements(op.meta, op.deletes));
  }
  return out;
}

/** The other side's part of a dual write, applied and not yet committed (or nothing left to commit). */
export interface HeldMirror {
  /** Commits it; rejects with what the other side threw (the connection is then thrown away). */
  commit(): Promise<void>;
}

const NOTHING_HELD: HeldMirror = { commit: async () => {} };

/**
 * Makes the other side follow the ops, in order, in a transaction left open: its row locks are held
 * until the returned commit, which the caller sends together with the authoritative COMMIT (README
 * "Cost of a dual write"). `START TRANSACTION` and the statements go as one multi-statement round trip
 * on a connection of `sessions`. Without `sessions` (batchDualWrites: false), or on a pool that cannot
 * batch, the ops are committed here, as before. Throws what the other side threw (nothing stays open).
 */
export async function openOps(
  pool: PoolLike,
  sessions: MultiStatementSessions | undefined,
  ops: readonly MirrorOp[],
  timeoutMs: number,
): Promise<HeldMirror> {
  const statements = mirrorStatements(ops);
  if (statements.length === 0) return NOTHING_HELD;
  const session = sessions && (await sessions.acquire());
  const core = session?.core;
  if (!sessions || !session || !core) {
    if (sessions && session) sessions.release(session);
    await applyNow(pool, statements, timeoutMs);
    return NOTHING_HELD;
  }
  const pieces = ['START TRANSACTION', ...statements.map((s) => core.format(s.sql, s.values))];
  const db = sessionDb(session);
  try {
    await db.query({ sql: batchText(pieces), timeout: timeoutMs });
  } catch (err) {
    session.conn.destroy();
    throw err;
  }
  return {
    commit: async () => {
      try {
        await db.query({ sql: 'COMMIT', timeout: timeoutMs });
      } catch (err) {
        session.conn.destroy();
        throw err;
      }
      sessions.release(session);
    },
  };
}

/**
 * The authoritative COMMIT and the mirror's, sent together: waits for both (so a write is not over,
 * for the fence, while either is in flight) and throws what the authoritative COMMIT threw.
 */
export async function commitTogether(authoritative: Promise<unknown>, mirror?: Promise<void>): Promise<void> {
  const [auth] = await Promise.allSettled([authoritative, mirror]);
  if (auth.status === 'rejected') throw auth.reason;
}

/** The statements committed now: one autocommit statement, or a transaction of several. */
async function applyNow(pool: PoolLike, statements: Bound[], timeoutMs: number): Promise<void> {
  if (statements.length === 1) {
    await pool.query({ sql: statements[0].sql, values: statements[0].values, timeout: timeoutMs });
    return;
  }
  const conn = await pool.getConnection();
  let ok = false;
  try {
    await conn.query({ sql: 'START TRANSACTION', timeout: timeoutMs });
    for (const s of statements) await conn.query({ sql: s.sql, values: s.values, timeout: timeoutMs });
    await conn.query({ sql: 'COMMIT', timeout: timeoutMs });
    ok = true;
  } finally {
    if (ok) conn.release();
    else conn.destroy();
  }
}

/** Repair entries for ops that did not reach `side` (or can only be repaired table-wide). */
export function repairEntries(ops: readonly MirrorOp[], side: Side, error: string): RepairEntry[] {
  const at = new Date().toISOString();
  const out: RepairEntry[] = [];
  for (const op of ops) {
    const keys = opKeys(op);
    if (op.tableLevel || keys.length > MAX_KEYS_PER_ENTRY_BATCH) {
      out.push({
        table: op.table,
        key: null,
        op: op.op,
        side,
        error: op.tableLevel ? `${op.tableLevel}; ${error}` : error,
        at,
      });
    }
    if (keys.length <= MAX_KEYS_PER_ENTRY_BATCH) {
      for (const k of keys) out.push({ table: op.table, key: encodeKey(k), op: op.op, side, error, at });
    }
  }
  return out;
}
