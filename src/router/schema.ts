import type { RowDataPacket } from 'mysql2/promise';
import { BINARY_STRING_TYPES, SPATIAL_TYPES } from '../shared/mysql-types.js';
import type { Queryable } from './db.js';

/** How the router sees one table. Configured values override what introspection finds. */
export interface TableMeta {
  name: string;
  /** Every column in table order (generated ones included). */
  columns: string[];
  /** Columns written when mirroring a row (generated columns excluded). */
  writable: string[];
  /** Columns read as bytes (binary strings, blobs, bit, geometry). */
  binary: Set<string>;
  /** FLOAT columns: the server prints them with 6 significant digits, so they are read as DOUBLE text. */
  floats: Set<string>;
  /**
   * TIMESTAMP columns: mirrored as epoch seconds (UNIX_TIMESTAMP / FROM_UNIXTIME), because their text
   * depends on each session's time_zone and the two sides' pools may differ.
   */
  timestamps: Set<string>;
  /** The key rows are addressed by (PRIMARY, else the first unique key over NOT NULL columns). */
  key: string[];
  autoIncrement: string | null;
  /** Unique keys other than `key`, usable to find rows an INSERT IGNORE / ON DUPLICATE KEY touched. */
  uniqueKeys: string[][];
}

export interface TableConfig {
  /** Key columns (source names); default: the primary key, else a unique key over NOT NULL columns. */
  key?: string[];
  autoIncrement?: string;
  uniqueKeys?: string[][];
  /** The table's name on the target (the plan's targetName). */
  targetName?: string;
  /** Source column -> target column (the plan's columnMap). */
  columnMap?: Record<string, string>;
  /** Source columns the target does not have (the plan's excludeColumns). */
  excludeColumns?: string[];
}

/** Types whose values the router reads as bytes. */
const BINARY_TYPES = new Set([...BINARY_STRING_TYPES, 'bit', ...SPATIAL_TYPES]);

export class SchemaError extends Error {
  override name = 'SchemaError';
}

/** Reads a table's columns and keys from information_schema of the connection's current database. */
export async function introspect(db: Queryable, table: string, config?: TableConfig): Promise<TableMeta> {
  const [cols] = (await db.query({
    sql:
      'SELECT COLUMN_NAME AS name, DATA_TYPE AS dataType, EXTRA AS extra, IS_NULLABLE AS nullable ' +
      'FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION',
    values: [table],
  })) as [RowDataPacket[], unknown];
  if (cols.length === 0) throw new SchemaError(`table ${table} not found (or not visible to this user)`);
  const [idx] = (await db.query({
    sql:
      'SELECT INDEX_NAME AS indexName, COLUMN_NAME AS name, NON_UNIQUE AS nonUnique FROM information_schema.STATISTICS ' +
      "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY INDEX_NAME = 'PRIMARY' DESC, INDEX_NAME, SEQ_IN_INDEX",
    values: [table],
  })) as [RowDataPacket[], unknown];

  const columns = cols.map((c) => String(c.name));
  const extra = new Map(cols.map((c) => [String(c.name), String(c.extra ?? '').toLowerCase()]));
  const notNull = new Set(cols.filter((c) => c.nullable === 'NO').map((c) => String(c.name)));
  const generated = (name: string) => /virtual|stored|persistent/.test(extra.get(name) ?? '');
  const unique = new Map<string, string[]>();
  for (const row of idx) {
    if (Number(row.nonUnique) !== 0) continue;
    const name = String(row.indexName);
    unique.set(name, [...(unique.get(name) ?? []), String(row.name)]);
  }
  const uniques = [...unique.entries()];
  const primary = uniques.find(([name]) => name === 'PRIMARY')?.[1];
  const fallback = uniques.find(([, c]) => c.every((col) => notNull.has(col)))?.[1];
  const key = config?.key ?? primary ?? fallback;
  if (!key || key.length === 0)
    throw new SchemaError(`table ${table} has no primary key or NOT NULL unique key`);
  const sameKey = (a: string[]) => a.length === key.length && a.every((c, i) => c === key[i]);
  return {
    name: table,
    columns,
    writable: columns.filter((c) => !generated(c)),
    binary: new Set(
      cols.filter((c) => BINARY_TYPES.has(String(c.dataType).toLowerCase())).map((c) => String(c.name)),
    ),
    floats: new Set(
      cols.filter((c) => String(c.dataType).toLowerCase() === 'float').map((c) => String(c.name)),
    ),
    timestamps: new Set(
      cols.filter((c) => String(c.dataType).toLowerCase() === 'timestamp').map((c) => String(c.name)),
    ),
    key,
    autoIncrement:
      config?.autoIncrement ?? columns.find((c) => (extra.get(c) ?? '').includes('auto_increment')) ?? null,
    uniqueKeys: config?.uniqueKeys ?? uniques.map(([, c]) => c).filter((c) => !sameKey(c)),
  };
}

/** Server settings that decide whether generated ids can be computed from insertId. */
export interface AutoIncSettings {
  /** innodb_autoinc_lock_mode: 0 traditional, 1 consecutive (MariaDB default), 2 interleaved. */
  lockMode: number;
  increment: number;
}

export async function readAutoIncSettings(db: Queryable): Promise<AutoIncSettings> {
  const [rows] = (await db.query({
    sql: 'SELECT @@innodb_autoinc_lock_mode AS lockMode, @@auto_increment_increment AS increment',
  })) as [RowDataPacket[], unknown];
  return { lockMode: Number(rows[0]?.lockMode ?? 1), increment: Number(rows[0]?.increment ?? 1) };
}

/** Caches metadata per table (one introspection per table per router). */
export class SchemaCache {
  private readonly tables = new Map<string, Promise<TableMeta>>();

  constructor(private readonly configs: Record<string, TableConfig> = {}) {}

  get(db: Queryable, table: string): Promise<TableMeta> {
    let p = this.tables.get(table);
    if (!p) {
      p = introspect(db, table, this.configs[table]);
      p.catch(() => this.tables.delete(table));
      this.tables.set(table, p);
    }
    return p;
  }
}
