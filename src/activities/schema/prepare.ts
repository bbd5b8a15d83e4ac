import type { RowDataPacket } from 'mysql2/promise';
import type { MigrationEndpoints, PrepareTargetResult, TableSpec } from '../contracts.js';
import { getPool, resolveConnection } from '../db/connections.js';
import { assertIdentifier, quoteIdent, quoteTable } from '../db/identifiers.js';
import { listForeignKeys, parentsFirst, planParents, retargetReferences } from './foreign-keys.js';

/** Registry of target tables this product created (so only those are ever dropped). */
export const CREATED_TABLE = '_migrator_created_tables';

async function ensureRegistry(pool: ReturnType<typeof getPool>): Promise<void> {
  await pool.query(
    `CREATE TABLE IF NOT EXISTS \`${CREATED_TABLE}\` (
       table_name VARCHAR(64) NOT NULL PRIMARY KEY,
       created_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
     ) ENGINE=InnoDB`,
  );
}

export async function createdByUs(target: string, table: string): Promise<boolean> {
  try {
    const [rows] = await getPool(target).query<RowDataPacket[]>(
      `SELECT 1 FROM \`${CREATED_TABLE}\` WHERE table_name = ?`,
      [table],
    );
    return rows.length > 0;
  } catch (err) {
    if ((err as { errno?: number }).errno === 1146) return false;
    throw err;
  }
}

async function tableExists(
  pool: ReturnType<typeof getPool>,
  schema: string,
  table: string,
): Promise<boolean> {
  const [rows] = await pool.query<RowDataPacket[]>(
    'SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
    [schema, table],
  );
  return rows.length > 0;
}

/** The source's CREATE TABLE statement, renamed for the target (the name is the statement's first identifier). */
async function targetDdl(spec: TableSpec, source: string, plan: readonly TableSpec[]): Promise<string> {
  const pool = getPool(source);
  const [rows] = await pool.query<RowDataPacket[]>(`SHOW CREATE TABLE ${quoteIdent(spec.name, 'table')}`);
  const ddl = String(rows[0]['Create Table']);
  const head = `CREATE TABLE ${quoteIdent(spec.name, 'table')}`;
  if (!ddl.startsWith(head)) throw new Error(`unexpected SHOW CREATE TABLE output for ${spec.name}`);
  return retargetReferences(
    `CREATE TABLE ${quoteIdent(spec.targetName ?? spec.name, 'table')}` + ddl.slice(head.length),
    plan,
  );
}

/**
 * Creates every missing target table from the source's DDL (SHOW CREATE TABLE), renamed to targetName,
 * with columnMap renames and excludeColumns dropped, foreign keys included (pointed at the parents'
 * target names): parents before children, so each CREATE finds its parents; a parent outside the plan
 * or a cycle fails with ForeignKeyOrderError naming them (cdc/README.md, foreign keys). Returns the
 * tables it created (and records them, so dropCreatedTables and precheck know them). Existing tables are
 * left alone.
 */
export async function prepareTarget(input: MigrationEndpoints): Promise<PrepareTargetResult> {
  const target = getPool(input.target);
  const targetSchema = resolveConnection(input.target).database;
  const sourceSchema = resolveConnection(input.source).database;
  const created: string[] = [];
  await ensureRegistry(target);
  const existing = new Set<string>();
  for (const spec of input.tables) {
    const name = assertIdentifier(spec.targetName ?? spec.name, 'table');
    if (await tableExists(target, targetSchema, name)) existing.add(spec.name);
  }
  const fks = await listForeignKeys(getPool(input.source), sourceSchema);
  const planned = new Set(input.tables.map((t) => t.name));
  const outsideOnTarget = new Set<string>();
  for (const fk of fks) {
    if (planned.has(fk.table) && !planned.has(fk.refTable) && fk.refSchema === sourceSchema)
      if (await tableExists(target, targetSchema, fk.refTable)) outsideOnTarget.add(fk.refTable);
  }
  for (const spec of parentsFirst(input.tables, fks, sourceSchema, existing, outsideOnTarget)) {
    const name = assertIdentifier(spec.targetName ?? spec.name, 'table');
    if (await tableExists(target, targetSchema, name)) continue;
    const ddl = await targetDdl(spec, input.source, input.tables);
    await target.query(`INSERT IGNORE INTO \`${CREATED_TABLE}\` (table_name) VALUES (?)`, [name]);
    await target.query(ddl);
    const alters: string[] = [];
    for (const [from, to] of Object.entries(spec.columnMap ?? {})) {
      alters.push(`RENAME COLUMN ${quoteIdent(from, 'column')} TO ${quoteIdent(to, 'column')}`);
    }
    for (const c of spec.excludeColumns ?? []) alters.push(`DROP COLUMN ${quoteIdent(c, 'column')}`);
    if (alters.length)
      await target.query(`ALTER TABLE ${quoteTable(targetSchema, name)} ${alters.join(', ')}`);
    created.push(name);
  }
  return { created };
}

/** For each plan table, the plan tables it references (BULK_COPY copies those first). */
export async function copyDependencies(input: MigrationEndpoints): Promise<Record<string, string[]>> {
  const schema = resolveConnection(input.source).database;
  return planParents(input.tables, await listForeignKeys(getPool(input.source), schema), schema);
}

/**
 * PREPARE_TARGET's compensation: drops the given target tables, only those this product created and only
 * while they are empty. Idempotent (a missing table counts as dropped).
 */
export async function dropCreatedTables(input: {
  target: string;
  tables: string[];
}): Promise<{ dropped: string[]; keptNotEmpty: string[]; keptNotOurs: string[] }> {
  const pool = getPool(input.target);
  const schema = resolveConnection(input.target).database;
  const result = { dropped: [] as string[], keptNotEmpty: [] as string[], keptNotOurs: [] as string[] };
  for (const raw of input.tables) {
    const name = assertIdentifier(raw, 'table');
    if (!(await tableExists(pool, schema, name))) {
      result.dropped.push(name);
      await pool
        .query(`DELETE FROM \`${CREATED_TABLE}\` WHERE table_name = ?`, [name])
        .catch(() => undefined);
      continue;
    }
    if (!(await createdByUs(input.target, name))) {
      result.keptNotOurs.push(name);
      continue;
    }
    const [rows] = await pool.query<RowDataPacket[]>(`SELECT 1 FROM ${quoteTable(schema, name)} LIMIT 1`);
    if (rows.length) {
      result.keptNotEmpty.push(name);
      continue;
    }
    await pool.query(`DROP TABLE IF EXISTS ${quoteTable(schema, name)}`);
    await pool.query(`DELETE FROM \`${CREATED_TABLE}\` WHERE table_name = ?`, [name]);
    result.dropped.push(name);
  }
  return result;
}
