import type { Pool, RowDataPacket } from 'mysql2/promise';
import type { MigrationEndpoints, Problem } from '../contracts.js';
import { resolveConnection } from '../db/connections.js';
import {
  cascadesOnDelete,
  cascadesOnUpdate,
  describeRule,
  ForeignKeyOrderError,
  listForeignKeys,
  outsideParentProblem,
  parentsFirst,
  type ForeignKey,
} from './foreign-keys.js';

async function targetTables(pool: Pool, schema: string): Promise<Set<string>> {
  const [rows] = await pool.query<RowDataPacket[]>(
    'SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?',
    [schema],
  );
  return new Set(rows.map((r) => String(r.t)));
}

/**
 * Foreign-key findings (cdc/README.md, foreign keys):
 * - problem: a foreign key of a migrated table to a table outside the plan that cascades, or that the
 *   target cannot hold (no such target table); a cycle among tables PREPARE_TARGET must create;
 * - problem: an existing target child table without the source's cascading foreign key (the target
 *   would not cascade what the source's binlog does not carry);
 * - note: every cascading foreign key among migrated tables, with what the migration does about it.
 */
export async function foreignKeyFindings(
  input: MigrationEndpoints,
  source: Pool,
  target: Pool | null,
  out: { problems: Problem[]; notes: Problem[] },
): Promise<void> {
  const sourceDb = resolveConnection(input.source).database;
  const targetDb = resolveConnection(input.target).database;
  const fks = await listForeignKeys(source, sourceDb);
  const plan = new Map(input.tables.map((t) => [t.name, t]));
  const onTarget = target ? await targetTables(target, targetDb) : new Set<string>();
  const targetFks = target ? await listForeignKeys(target, targetDb) : [];
  const outsideOnTarget = new Set<string>();
  for (const fk of fks) {
    const spec = plan.get(fk.table);
    if (!spec) continue;
    const inPlan = fk.refSchema === sourceDb && plan.has(fk.refTable);
    if (!inPlan) {
      const exists = fk.refSchema === sourceDb && onTarget.has(fk.refTable);
      if (exists) outsideOnTarget.add(fk.refTable);
      const why = target ? outsideParentProblem(fk, exists) : null;
      if (why)
        out.problems.push({
          table: fk.table,
          setting: `foreign key ${fk.name}`,
          side: 'source',
          message: why,
          fix: `add ${fk.refTable} to the plan's tables, or drop the foreign key`,
        });
      continue;
    }
    if (!cascadesOnDelete(fk) && !cascadesOnUpdate(fk)) continue;
    out.notes.push({
      table: fk.table,
      setting: `foreign key ${fk.name}`,
      side: 'source',
      message:
        `cascading foreign key ${describeRule(fk)}: the source writes its cascaded child changes to no binlog row event; ` +
        'the target holds the same foreign key and the sync applies deletes and key changes of the parent with foreign_key_checks=1, ' +
        'so the target cascades them itself (binlog order is kept for batches touching the parent)',
      fix: 'none needed; keep the foreign key on the target (removing it there leaves orphaned child rows)',
    });
    const childTarget = spec.targetName ?? spec.name;
    if (target && onTarget.has(childTarget) && !hasMatchingFk(fk, targetFks, input)) {
      out.problems.push({
        table: fk.table,
        setting: `foreign key ${fk.name}`,
        side: 'target',
        message: `target table ${childTarget} lacks the source's cascading foreign key ${describeRule(fk)}: cascaded deletes/updates would leave orphaned rows on the target`,
        fix: `add the foreign key to ${childTarget} on the target (same columns, ON DELETE ${fk.onDelete} ON UPDATE ${fk.onUpdate}), or let PREPARE_TARGET create the table`,
      });
    }
  }
  const missing = input.tables.filter((t) => !onTarget.has(t.targetName ?? t.name));
  const existing = new Set(input.tables.filter((t) => !missing.includes(t)).map((t) => t.name));
  try {
    parentsFirst(input.tables, fks, sourceDb, existing, outsideOnTarget);
  } catch (err) {
    if (!(err instanceof ForeignKeyOrderError) || /not in the plan/.test(err.message)) return;
    out.problems.push({
      side: 'source',
      setting: 'foreign keys',
      message: err.message,
      fix: 'see the message',
    });
  }
}

/** The target holds a foreign key over the mapped child columns to the mapped parent, with the same rules. */
function hasMatchingFk(fk: ForeignKey, targetFks: readonly ForeignKey[], input: MigrationEndpoints): boolean {
  const child = input.tables.find((t) => t.name === fk.table)!;
  const parent = input.tables.find((t) => t.name === fk.refTable)!;
  const cols = fk.columns.map((c) => child.columnMap?.[c] ?? c).join(',');
  const refCols = fk.refColumns.map((c) => parent.columnMap?.[c] ?? c).join(',');
  return targetFks.some(
    (t) =>
      t.table === (child.targetName ?? child.name) &&
      t.refTable === (parent.targetName ?? parent.name) &&
      t.columns.join(',') === cols &&
      t.refColumns.join(',') === refCols &&
      t.onDelete === fk.onDelete &&
      t.onUpdate === fk.onUpdate,
  );
}
