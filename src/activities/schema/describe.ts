import type { Pool, RowDataPacket } from 'mysql2/promise';
import { assertIdentifier } from '../db/identifiers.js';
import { NoUsableKeyError, TableNotFoundError, UnknownColumnError } from './errors.js';
import type { ColumnInfo, TableInfo, TableKey } from './types.js';

interface ColumnRow extends RowDataPacket {
  name: string;
  dataType: string;
  columnType: string;
  nullable: string;
  extra: string;
  generated: string | null;
  charset: string | null;
  collation: string | null;
  ordinal: number;
}

interface IndexRow extends RowDataPacket {
  indexName: string;
  nonUnique: number;
  seq: number;
  column: string;
  subPart: number | null;
}

/** Reads the columns of a table from information_schema; throws TableNotFoundError when there are none. */
export async function describeColumns(pool: Pool, schema: string, table: string): Promise<ColumnInfo[]> {
  assertIdentifier(schema, 'schema');
  assertIdentifier(table, 'table');
  const [rows] = await pool.query<ColumnRow[]>(
    `SELECT COLUMN_NAME AS name, LOWER(DATA_TYPE) AS dataType, LOWER(COLUMN_TYPE) AS columnType,
            IS_NULLABLE AS nullable, UPPER(EXTRA) AS extra, IS_GENERATED AS generated,
            CHARACTER_SET_NAME AS charset, COLLATION_NAME AS collation, ORDINAL_POSITION AS ordinal
       FROM information_schema.COLUMNS
      WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?
      ORDER BY ORDINAL_POSITION`,
    [schema, table],
  );
  if (rows.length === 0) throw new TableNotFoundError(schema, table);
  return rows.map((r) => ({
    name: r.name,
    dataType: r.dataType,
    columnType: r.columnType,
    nullable: r.nullable === 'YES',
    generated: r.generated === 'ALWAYS' || /\bGENERATED\b/.test(r.extra),
    autoIncrement: /AUTO_INCREMENT/.test(r.extra),
    charset: r.charset,
    collation: r.collation,
    ordinal: Number(r.ordinal),
  }));
}

/** Unique indexes of a table, in the server's order: name -> columns (null when unusable as a row key). */
async function uniqueIndexes(pool: Pool, schema: string, table: string): Promise<Map<string, IndexRow[]>> {
  const [rows] = await pool.query<IndexRow[]>(
    `SELECT INDEX_NAME AS indexName, NON_UNIQUE AS nonUnique, SEQ_IN_INDEX AS seq, COLUMN_NAME AS \`column\`,
            SUB_PART AS subPart
       FROM information_schema.STATISTICS
      WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND NON_UNIQUE = 0
      ORDER BY INDEX_NAME = 'PRIMARY' DESC, INDEX_NAME, SEQ_IN_INDEX`,
    [schema, table],
  );
  const byIndex = new Map<string, IndexRow[]>();
  for (const r of rows) {
    const list = byIndex.get(r.indexName) ?? [];
    list.push(r);
    byIndex.set(r.indexName, list);
  }
  return byIndex;
}

/** Why a unique index cannot address rows, or null when it can. */
function unusableReason(
  parts: IndexRow[],
  columns: Map<string, ColumnInfo>,
  generated: Set<string>,
): string | null {
  for (const p of parts) {
    if (p.subPart !== null && p.subPart !== undefined)
      return `column ${p.column} is indexed by a prefix only`;
    if (generated.has(p.column)) return `column ${p.column} is generated`;
    const col = columns.get(p.column);
    if (!col) return `column ${p.column} is not a plain column`;
    if (col.nullable) return `column ${p.column} is nullable`;
  }
  return null;
}

/**
 * Describes a table: every non-generated column in order, the generated ones by name, and the key rows
 * are addressed by (the primary key, else the first unique key over NOT NULL, non-generated, whole
 * columns). `keyOverride` names the key columns explicitly; they must form a usable unique key.
 */
export async function describeTable(
  pool: Pool,
  schema: string,
  table: string,
  keyOverride?: string[],
): Promise<TableInfo> {
  const all = await describeColumns(pool, schema, table);
  const generatedColumns = all.filter((c) => c.generated).map((c) => c.name);
  const columns = all.filter((c) => !c.generated);
  const byName = new Map(columns.map((c) => [c.name, c]));
  const generated = new Set(generatedColumns);
  const indexes = await uniqueIndexes(pool, schema, table);

  let key: TableKey | undefined;
  const reasons: string[] = [];
  if (keyOverride && keyOverride.length > 0) {
    for (const c of keyOverride) {
      assertIdentifier(c, 'key column');
      if (!byName.has(c) && !generated.has(c)) throw new UnknownColumnError(schema, table, c, 'tables[].key');
    }
    for (const [index, parts] of indexes) {
      const cols = parts.map((p) => p.column);
      const sameSet = cols.length === keyOverride.length && cols.every((c) => keyOverride.includes(c));
      if (!sameSet) continue;
      const why = unusableReason(parts, byName, generated);
      if (why) reasons.push(`${index}: ${why}`);
      else key = { index, columns: [...keyOverride] };
      break;
    }
    if (!key) {
      throw new NoUsableKeyError(
        schema,
        table,
        reasons[0] ??
          `the configured key (${keyOverride.join(', ')}) is not a PRIMARY or UNIQUE key of the table`,
      );
    }
  } else {
    for (const [index, parts] of indexes) {
      const why = unusableReason(parts, byName, generated);
      if (why) {
        reasons.push(`${index === 'PRIMARY' ? 'primary key' : `unique key ${index}`}: ${why}`);
        continue;
      }
      key = { index, columns: parts.map((p) => p.column) };
      break;
    }
    if (!key) {
      throw new NoUsableKeyError(
        schema,
        table,
        reasons.length ? reasons.join('; ') : 'no primary or unique key',
      );
    }
  }
  return { schema, table, columns, generatedColumns, key };
}

/** Estimated row count (information_schema.TABLES.TABLE_ROWS; InnoDB's estimate). */
export async function estimateRows(pool: Pool, schema: string, table: string): Promise<number> {
  const [rows] = await pool.query<RowDataPacket[]>(
    'SELECT TABLE_ROWS AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
    [schema, table],
  );
  return rows.length ? Number(rows[0].n ?? 0) : 0;
}

/** The database a pool's connection URL names (the default schema of every table reference). */
export async function currentDatabase(pool: Pool): Promise<string> {
  const [rows] = await pool.query<RowDataPacket[]>('SELECT DATABASE() AS db');
  const db = rows[0]?.db;
  if (typeof db !== 'string' || !db) throw new Error('the connection has no default database');
  return db;
}
