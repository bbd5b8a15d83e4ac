import type mysql from 'mysql2/promise';
import type { ColumnInfo, TableInfo } from '../schema/types.js';

/**
 * Minimal table introspection for verification (information_schema only). Besides TableInfo it reports
 * which columns hold JSON: MariaDB stores JSON as LONGTEXT guarded by a json_valid() CHECK constraint.
 */
export interface DescribedTable extends TableInfo {
  jsonColumns: Set<string>;
  /** Server flavour: the canonical JSON text is computed differently. */
  mariadb: boolean;
}

interface ColumnRow extends mysql.RowDataPacket {
  name: string;
  dataType: string;
  columnType: string;
  nullable: string;
  extra: string;
  charset: string | null;
  collation: string | null;
  ordinal: number;
}

export class TableNotFoundError extends Error {
  override name = 'TableNotFoundError';
}

export async function describeForVerify(pool: mysql.Pool, schema: string, table: string): Promise<DescribedTable> {
  const [cols] = await pool.query<ColumnRow[]>(
    'SELECT COLUMN_NAME AS name, DATA_TYPE AS dataType, COLUMN_TYPE AS columnType, IS_NULLABLE AS nullable, EXTRA AS extra, ' +
      'CHARACTER_SET_NAME AS charset, COLLATION_NAME AS collation, ORDINAL_POSITION AS ordinal ' +
      'FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION',
    [schema, table],
  );
  if (cols.length === 0) throw new TableNotFoundError(`table ${schema}.${table} does not exist`);
  const [[version]] = await pool.query<mysql.RowDataPacket[]>('SELECT VERSION() AS v');
  const mariadb = /mariadb/i.test(String(version.v));
  const jsonColumns = new Set<string>();
  if (mariadb) {
    const [checks] = await pool.query<mysql.RowDataPacket[]>(
      'SELECT CHECK_CLAUSE AS clause FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ?',
      [schema, table],
    );
    for (const c of checks) {
      const m = /^json_valid\(`((?:[^`]|``)+)`\)$/i.exec(String(c.clause).trim());
      if (m) jsonColumns.add(m[1].replace(/``/g, '`'));
    }
  }
  const columns: ColumnInfo[] = [];
  const generatedColumns: string[] = [];
  for (const c of cols) {
    const generated = /GENERATED|VIRTUAL|PERSISTENT|STORED/i.test(c.extra);
    if (generated) {
      generatedColumns.push(c.name);
      continue;
    }
    if (c.dataType.toLowerCase() === 'json') jsonColumns.add(c.name);
    columns.push({
      name: c.name,
      dataType: c.dataType.toLowerCase(),
      columnType: c.columnType.toLowerCase(),
      nullable: c.nullable === 'YES',
      generated: false,
      autoIncrement: /auto_increment/i.test(c.extra),
      charset: c.charset,
      collation: c.collation,
      ordinal: Number(c.ordinal),
    });
  }
  const [idx] = await pool.query<mysql.RowDataPacket[]>(
    'SELECT INDEX_NAME AS idx, COLUMN_NAME AS col, SEQ_IN_INDEX AS seq FROM information_schema.STATISTICS ' +
      'WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND NON_UNIQUE = 0 ORDER BY INDEX_NAME = \'PRIMARY\' DESC, INDEX_NAME, SEQ_IN_INDEX',
    [schema, table],
  );
  const byIndex = new Map<string, string[]>();
  for (const r of idx) {
    const list = byIndex.get(String(r.idx)) ?? [];
    list.push(String(r.col));
    byIndex.set(String(r.idx), list);
  }
  let key: TableInfo['key'] | undefined;
  for (const [index, names] of byIndex) {
    const allNotNull = names.every((n) => columns.find((c) => c.name === n && !c.nullable));
    if (index === 'PRIMARY' || allNotNull) {
      key = { index, columns: names };
      break;
    }
  }
  if (!key) key = { index: '', columns: [] };
  return { schema, table, columns, generatedColumns, key, jsonColumns, mariadb };
}
