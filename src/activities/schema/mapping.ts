import type { Pool } from 'mysql2/promise';
import type { TableSpec } from '../contracts.js';
import { assertIdentifier } from '../db/identifiers.js';
import { describeTable } from './describe.js';
import { UnknownColumnError } from './errors.js';
import type { TableInfo } from './types.js';

/** How one table's rows travel from a `from` side to a `to` side. */
export interface TableMapping {
  fromSchema: string;
  fromTable: string;
  toSchema: string;
  toTable: string;
  /** Copied columns, in `from` table order: name on each side. */
  columns: { from: string; to: string }[];
  /** Key columns on each side (same order). */
  fromKey: string[];
  toKey: string[];
  fromInfo: TableInfo;
  toInfo: TableInfo;
}

export class ColumnMappingError extends Error {
  override name = 'ColumnMappingError';
}

/** Source -> target column names for a table spec: columnMap applied, excludeColumns dropped. */
export function sourceToTargetColumns(spec: TableSpec, source: TableInfo): { from: string; to: string }[] {
  const known = new Set([...source.columns.map((c) => c.name), ...source.generatedColumns]);
  for (const c of spec.excludeColumns ?? []) {
    if (!known.has(c)) throw new UnknownColumnError(source.schema, source.table, c, 'excludeColumns');
  }
  for (const [from, to] of Object.entries(spec.columnMap ?? {})) {
    if (!known.has(from)) throw new UnknownColumnError(source.schema, source.table, from, 'columnMap');
    assertIdentifier(to, 'mapped column name');
  }
  const excluded = new Set(spec.excludeColumns ?? []);
  for (const k of source.key.columns) {
    if (excluded.has(k)) {
      throw new ColumnMappingError(
        `${source.schema}.${source.table}: key column ${k} is in excludeColumns: a key column must be copied`,
      );
    }
  }
  return source.columns
    .filter((c) => !excluded.has(c.name))
    .map((c) => ({ from: c.name, to: spec.columnMap?.[c.name] ?? c.name }));
}

/**
 * Describes both sides of a table and checks that every copied column exists (and is not generated) on
 * the target. `direction: 'reverse'` maps target -> source (the fallback stream after cutover).
 */
export async function resolveMapping(
  spec: TableSpec,
  source: { pool: Pool; schema: string },
  target: { pool: Pool; schema: string },
  direction: 'forward' | 'reverse' = 'forward',
): Promise<TableMapping> {
  const targetTable = spec.targetName ?? spec.name;
  const sourceInfo = await describeTable(source.pool, source.schema, spec.name, spec.key);
  const targetInfo = await describeTable(target.pool, target.schema, targetTable);
  const cols = sourceToTargetColumns(spec, sourceInfo);
  const targetCols = new Set(targetInfo.columns.map((c) => c.name));
  for (const c of cols) {
    if (!targetCols.has(c.to)) {
      const generated = targetInfo.generatedColumns.includes(c.to);
      throw new ColumnMappingError(
        `target table ${target.schema}.${targetTable} ${generated ? 'has a generated column' : 'has no column'} ${c.to} ` +
          `(source column ${spec.name}.${c.from}): ` +
          (generated
            ? 'exclude it (excludeColumns)'
            : 'add it to the target, map it (columnMap) or exclude it (excludeColumns)'),
      );
    }
  }
  const fromKey = sourceInfo.key.columns;
  const toKey = fromKey.map((k) => cols.find((c) => c.from === k)!.to);
  if (direction === 'forward') {
    return {
      fromSchema: source.schema,
      fromTable: spec.name,
      toSchema: target.schema,
      toTable: targetTable,
      columns: cols,
      fromKey,
      toKey,
      fromInfo: sourceInfo,
      toInfo: targetInfo,
    };
  }
  return {
    fromSchema: target.schema,
    fromTable: targetTable,
    toSchema: source.schema,
    toTable: spec.name,
    columns: cols.map((c) => ({ from: c.to, to: c.from })),
    fromKey: toKey,
    toKey: fromKey,
    fromInfo: targetInfo,
    toInfo: sourceInfo,
  };
}
