import type { Pool, RowDataPacket } from 'mysql2/promise';
import type { TableSpec } from '../contracts.js';

/** One foreign key, child -> parent, as information_schema describes it. */
export interface ForeignKey {
  name: string;
  table: string;
  columns: string[];
  refSchema: string;
  refTable: string;
  refColumns: string[];
  /** CASCADE, SET NULL, RESTRICT, NO ACTION, SET DEFAULT */
  onDelete: string;
  onUpdate: string;
}

/** Rules whose effect the server writes to no binlog row event (the child rows change silently). */
const CASCADING = new Set(['CASCADE', 'SET NULL', 'SET DEFAULT']);

export function cascadesOnDelete(fk: ForeignKey): boolean {
  return CASCADING.has(fk.onDelete);
}

export function cascadesOnUpdate(fk: ForeignKey): boolean {
  return CASCADING.has(fk.onUpdate);
}

export function describeRule(fk: ForeignKey): string {
  return `${fk.table}(${fk.columns.join(', ')}) -> ${fk.refTable}(${fk.refColumns.join(', ')}) ON DELETE ${fk.onDelete} ON UPDATE ${fk.onUpdate}`;
}

/** Every foreign key of the tables of `schema` (children in `schema`; parents anywhere). */
export async function listForeignKeys(pool: Pool, schema: string): Promise<ForeignKey[]> {
  const [rows] = await pool.query<RowDataPacket[]>(
    `SELECT rc.CONSTRAINT_NAME AS name, rc.TABLE_NAME AS tbl, rc.UNIQUE_CONSTRAINT_SCHEMA AS refSchema,
            rc.REFERENCED_TABLE_NAME AS refTable, rc.DELETE_RULE AS onDelete, rc.UPDATE_RULE AS onUpdate,
            k.COLUMN_NAME AS col, k.REFERENCED_COLUMN_NAME AS refCol
       FROM information_schema.REFERENTIAL_CONSTRAINTS rc
       JOIN information_schema.KEY_COLUMN_USAGE k
         ON k.CONSTRAINT_SCHEMA = rc.CONSTRAINT_SCHEMA AND k.CONSTRAINT_NAME = rc.CONSTRAINT_NAME
        AND k.TABLE_NAME = rc.TABLE_NAME AND k.REFERENCED_TABLE_NAME IS NOT NULL
      WHERE rc.CONSTRAINT_SCHEMA = ?
      ORDER BY rc.TABLE_NAME, rc.CONSTRAINT_NAME, k.ORDINAL_POSITION`,
    [schema],
  );
  const out = new Map<string, ForeignKey>();
  for (const r of rows) {
    const id = `${String(r.tbl)}\u0000${String(r.name)}`;
    let fk = out.get(id);
    if (!fk) {
      fk = {
        name: String(r.name),
        table: String(r.tbl),
        columns: [],
        refSchema: String(r.refSchema),
        refTable: String(r.refTable),
        refColumns: [],
        onDelete: String(r.onDelete).toUpperCase(),
        onUpdate: String(r.onUpdate).toUpperCase(),
      };
      out.set(id, fk);
    }
    fk.columns.push(String(r.col));
    fk.refColumns.push(String(r.refCol));
  }
  return [...out.values()];
}

/**
 * For each plan table, the plan tables its foreign keys reference (self-references left out): BULK_COPY
 * copies a table only once these are copied (cdc/README.md, foreign keys).
 */
export function planParents(
  tables: readonly TableSpec[],
  fks: readonly ForeignKey[],
  schema: string,
): Record<string, string[]> {
  const names = new Set(tables.map((t) => t.name));
  const out: Record<string, string[]> = {};
  for (const fk of fks) {
    if (!names.has(fk.table) || fk.refTable === fk.table) continue;
    if (fk.refSchema !== schema || !names.has(fk.refTable)) continue;
    const list = (out[fk.table] ??= []);
    if (!list.includes(fk.refTable)) list.push(fk.refTable);
  }
  return out;
}

export class ForeignKeyOrderError extends Error {
  override name = 'ForeignKeyOrderError';
}

/** Why a foreign key to a table outside the plan is not acceptable, or null when it is. */
export function outsideParentProblem(fk: ForeignKey, existsOnTarget: boolean): string | null {
  const where = `foreign key ${fk.name} of ${fk.table} references ${fk.refSchema}.${fk.refTable}, which is not in the plan`;
  if (cascadesOnDelete(fk) || cascadesOnUpdate(fk))
    return `${where} and cascades (ON DELETE ${fk.onDelete} ON UPDATE ${fk.onUpdate}): its cascaded changes would never reach the target`;
  if (!existsOnTarget)
    return `${where} and the target has no such table: the target's CREATE TABLE would fail`;
  return null;
}

/**
 * The plan's tables in an order where every parent comes before its children (self-references allowed).
 * Fails with ForeignKeyOrderError, naming the tables, for an unacceptable parent outside the plan
 * (outsideParentProblem) or a cycle (no creation order exists with foreign_key_checks on).
 */
export function parentsFirst(
  tables: readonly TableSpec[],
  fks: readonly ForeignKey[],
  schema: string,
  /** Plan tables whose target table exists already: they need no creation order. */
  existing: ReadonlySet<string> = new Set(),
  /** Tables outside the plan that exist on the target (a non-cascading foreign key may point there). */
  outsideOnTarget: ReadonlySet<string> = new Set(),
): TableSpec[] {
  const byName = new Map(tables.map((t) => [t.name, t]));
  const parents = new Map<string, Set<string>>(tables.map((t) => [t.name, new Set()]));
  for (const fk of fks) {
    if (!byName.has(fk.table) || fk.refTable === fk.table) continue;
    if (fk.refSchema !== schema || !byName.has(fk.refTable)) {
      const why = outsideParentProblem(fk, fk.refSchema === schema && outsideOnTarget.has(fk.refTable));
      if (why)
        throw new ForeignKeyOrderError(
          `${why}: add ${fk.refTable} to the plan's tables, or drop the foreign key`,
        );
      continue;
    }
    if (!existing.has(fk.refTable)) parents.get(fk.table)!.add(fk.refTable);
  }
  const ordered: TableSpec[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, path: string[]) => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') {
      const cycle = [...path.slice(path.indexOf(name)), name].join(' -> ');
      throw new ForeignKeyOrderError(
        `foreign keys form a cycle (${cycle}): the target tables cannot be created parents first; ` +
          'create those target tables yourself (with foreign_key_checks=0) before the migration, or drop one foreign key of the cycle',
      );
    }
    state.set(name, 'visiting');
    for (const p of parents.get(name) ?? []) visit(p, [...path, name]);
    state.set(name, 'done');
    ordered.push(byName.get(name)!);
  };
  for (const t of tables) if (!existing.has(t.name)) visit(t.name, []);
  return ordered;
}

/**
 * A source CREATE TABLE's foreign keys pointed at the parents' target names and columns (targetName,
 * columnMap of the parent's plan entry). SHOW CREATE TABLE prints a same-schema parent unqualified.
 */
export function retargetReferences(ddl: string, tables: readonly TableSpec[]): string {
  const byName = new Map(tables.map((t) => [t.name, t]));
  return ddl.replace(/REFERENCES `((?:[^`]|``)+)` \(([^)]*)\)/g, (whole, table: string, cols: string) => {
    const parent = byName.get(table.replace(/``/g, '`'));
    if (!parent) return whole;
    const mapped = cols.replace(/`((?:[^`]|``)+)`/g, (_c, col: string) => {
      const name = col.replace(/``/g, '`');
      return '`' + (parent.columnMap?.[name] ?? name).replace(/`/g, '``') + '`';
    });
    return `REFERENCES \`${(parent.targetName ?? parent.name).replace(/`/g, '``')}\` (${mapped})`;
  });
}
