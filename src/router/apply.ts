import type { Side } from '../shared/switches.js';
import { encodeKey, type RepairEntry } from '../switches/repairs.js';
import type { PoolLike } from './db.js';
import { opKeys, type MirrorOp } from './mirror.js';
import { deleteStatements, upsertStatements, type Bound } from './rows.js';

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

/**
 * Makes the other side follow the ops, in order, in one transaction when there is more than one
 * statement. Throws what the other side threw.
 */
export async function applyOps(pool: PoolLike, ops: readonly MirrorOp[], timeoutMs: number): Promise<void> {
  const statements = mirrorStatements(ops);
  if (statements.length === 0) return;
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
