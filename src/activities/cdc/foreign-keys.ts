import type { Pool, PoolConnection } from 'mysql2/promise';
import { deleteKeys, replaceRows, toParam } from '../copier/rows.js';
import { quoteIdent, quoteTable } from '../db/identifiers.js';
import {
  cascadesOnDelete,
  cascadesOnUpdate,
  listForeignKeys,
  type ForeignKey,
} from '../schema/foreign-keys.js';
import type { TableMapping } from '../schema/mapping.js';

/**
 * The sink's foreign keys as the applier needs them (cdc/README.md, foreign keys): which tables'
 * deletes and key changes the sink must cascade itself, because the source's cascades are in no binlog
 * row event.
 */
export interface SinkForeignKeys {
  /** Sink tables referenced by a foreign key with ON DELETE CASCADE/SET NULL: deletes run checked. */
  deleteCascades: Set<string>;
  /** Sink table -> its columns referenced by a foreign key with ON UPDATE CASCADE/SET NULL. */
  updateCascades: Map<string, Set<string>>;
  /** Sink table -> foreign keys (of the sink's schema) that reference it. */
  referencedBy: Map<string, ForeignKey[]>;
}

export async function sinkForeignKeys(pool: Pool, schema: string): Promise<SinkForeignKeys> {
  const out: SinkForeignKeys = {
    deleteCascades: new Set(),
    updateCascades: new Map(),
    referencedBy: new Map(),
  };
  for (const fk of await listForeignKeys(pool, schema)) {
    if (fk.refSchema !== schema) continue;
    const list = out.referencedBy.get(fk.refTable) ?? [];
    list.push(fk);
    out.referencedBy.set(fk.refTable, list);
    if (cascadesOnDelete(fk)) out.deleteCascades.add(fk.refTable);
    if (cascadesOnUpdate(fk)) {
      const cols = out.updateCascades.get(fk.refTable) ?? new Set<string>();
      for (const c of fk.refColumns) cols.add(c);
      out.updateCascades.set(fk.refTable, cols);
    }
  }
  return out;
}

export function isCascadeParent(fks: SinkForeignKeys, table: string): boolean {
  return fks.deleteCascades.has(table) || fks.updateCascades.has(table);
}

/**
 * Removes (checks off) the rows of RESTRICT/NO ACTION children that still reference the given parent
 * rows, for a checked delete (`on: 'delete'`) or key update (`on: 'update'`) that the sink refused
 * with 1451. The source refused nothing, so the source had no such child at this point of its binlog:
 * the sink's child row is an image from later (a copier chunk read after this point), and its own later
 * event writes it again. Runs inside a checked session; leaves checks on.
 */
export async function removeRestrictingChildren(
  conn: PoolConnection,
  m: TableMapping,
  keys: readonly (readonly unknown[])[],
  fks: SinkForeignKeys,
  on: 'delete' | 'update' = 'delete',
): Promise<void> {
  const restricting = (fks.referencedBy.get(m.toTable) ?? []).filter((fk) =>
    on === 'delete' ? !cascadesOnDelete(fk) : !cascadesOnUpdate(fk),
  );
  const parentKey = `(${m.toKey.map((k) => `p.${quoteIdent(k, 'key column')} = ?`).join(' AND ')})`;
  await conn.query('SET SESSION foreign_key_checks = 0');
  try {
    for (const fk of restricting) {
      const join = fk.columns
        .map((c, i) => `c.${quoteIdent(c, 'column')} = p.${quoteIdent(fk.refColumns[i], 'column')}`)
        .join(' AND ');
      await conn.query(
        `DELETE c FROM ${quoteTable(m.toSchema, fk.table)} c JOIN ${quoteTable(m.toSchema, m.toTable)} p ON ${join} ` +
          `WHERE ${keys.map(() => parentKey).join(' OR ')}`,
        keys.flatMap((k) => k.map(toParam)),
      );
    }
  } finally {
    await conn.query('SET SESSION foreign_key_checks = 1');
  }
}

/**
 * A cascade parent's key (or cascaded column) change, replayed as an UPDATE with checks on so the sink
 * cascades it (ON UPDATE CASCADE/SET NULL) to the children, as the source did. A row the sink does not
 * hold yet (not copied) is written as an upsert; a RESTRICT child from later (see
 * removeRestrictingChildren) or a later image already holding the new key (removed, checks off; its own
 * later event writes it again) is cleared and the update retried once.
 */
export async function updateRow(
  conn: PoolConnection,
  m: TableMapping,
  key: readonly unknown[],
  values: readonly unknown[],
  fks: SinkForeignKeys,
): Promise<void> {
  const columns = m.columns.map((c) => c.to);
  const sql =
    `UPDATE ${quoteTable(m.toSchema, m.toTable)} SET ${columns.map((c) => `${quoteIdent(c, 'column')} = ?`).join(', ')} ` +
    `WHERE ${m.toKey.map((k) => `${quoteIdent(k, 'key column')} = ?`).join(' AND ')}`;
  const params = [...values.map(toParam), ...key.map(toParam)];
  const unchecked = async (fn: () => Promise<unknown>) => {
    await conn.query('SET SESSION foreign_key_checks = 0');
    try {
      await fn();
    } finally {
      await conn.query('SET SESSION foreign_key_checks = 1');
    }
  };
  for (let attempt = 1; ; attempt++) {
    try {
      const [res] = await conn.query(sql, params);
      if ((res as { affectedRows: number }).affectedRows === 0)
        await unchecked(() => replaceRows(conn, m.toSchema, m.toTable, columns, [values]));
      return;
    } catch (err) {
      const errno = (err as { errno?: number }).errno;
      if (attempt > 1 || (errno !== 1451 && errno !== 1062)) throw err;
      if (errno === 1451) await removeRestrictingChildren(conn, m, [key], fks, 'update');
      else {
        const newKey = m.toKey.map((k) => values[columns.indexOf(k)]);
        await unchecked(() => deleteKeys(conn, m.toSchema, m.toTable, m.toKey, [newKey]));
      }
    }
  }
}

/**
 * The first level of the source's cascades, derived from the parent's row images: the children that
 * reference the deleted (or key-changed) parent rows by value are deleted / set NULL / moved to the new
 * value, on a checked session so their own children cascade in turn. This reaches children the sink
 * holds even when the parent row itself is not there yet (CDC wrote a child before the copier reached
 * its parent), which the sink's own cascade would miss. Runs inside a checked session.
 */
export async function cascadeToChildren(
  conn: PoolConnection,
  m: TableMapping,
  on: 'delete' | 'update',
  befores: readonly (readonly unknown[])[],
  fks: SinkForeignKeys,
  after?: readonly unknown[],
): Promise<void> {
  const columns = m.columns.map((c) => c.to);
  for (const fk of fks.referencedBy.get(m.toTable) ?? []) {
    const rule = on === 'delete' ? fk.onDelete : fk.onUpdate;
    if (rule !== 'CASCADE' && rule !== 'SET NULL') continue;
    const idx = fk.refColumns.map((c) => columns.indexOf(c));
    if (idx.some((i) => i < 0)) continue; // a referenced column the plan does not copy
    const olds = befores
      .map((b) => idx.map((i) => b[i]))
      .filter((v) => v.every((x) => x !== null && x !== undefined));
    if (!olds.length) continue;
    const news = after ? idx.map((i) => after[i]) : undefined;
    if (news && olds.every((o) => o.every((x, i) => String(x) === String(news[i])))) continue; // unchanged
    const child = quoteTable(m.toSchema, fk.table);
    const one = `(${fk.columns.map((c) => `${quoteIdent(c, 'column')} = ?`).join(' AND ')})`;
    const where = olds.map(() => one).join(' OR ');
    const params = olds.flatMap((o) => o.map(toParam));
    if (on === 'delete' && rule === 'CASCADE') {
      await conn.query(`DELETE FROM ${child} WHERE ${where}`, params);
    } else if (rule === 'SET NULL') {
      const set = fk.columns.map((c) => `${quoteIdent(c, 'column')} = NULL`).join(', ');
      await conn.query(`UPDATE ${child} SET ${set} WHERE ${where}`, params);
    } else if (news) {
      const set = fk.columns.map((c) => `${quoteIdent(c, 'column')} = ?`).join(', ');
      await conn.query(`UPDATE ${child} SET ${set} WHERE ${where}`, [...news.map(toParam), ...params]);
    }
  }
}
