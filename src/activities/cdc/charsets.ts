import type { ColumnSchema, TableMapEvent } from '@vlasky/zongji';
import type { Pool } from 'mysql2/promise';
import { RowImageError } from './events.js';

/**
 * Character columns' charsets and types for the reader, fetched once when a stream opens.
 *
 * Why: with binlog_row_metadata=FULL zongji decodes rows from the TABLE_MAP event's own metadata, whose
 * charset list has one entry per character column. MariaDB counts GEOMETRY columns in that list (its
 * Field_geom is a blob) and zongji does not, so every character column after a spatial column got the
 * collation of the one before it: utf8mb3/utf16/gbk/... text decoded in the wrong charset (double-encoded
 * on the target), a VARBINARY after it decoded as text. For those tables the charsets and column types
 * of character columns are taken from INFORMATION_SCHEMA instead (what zongji itself does without FULL
 * metadata). The stream stops on DDL naming a watched table, so the snapshot stays valid while it runs.
 */
export type ColumnSchemas = Map<string, ColumnSchema[]>;

export async function loadColumnSchemas(
  pool: Pool,
  schema: string,
  tables: string[],
): Promise<ColumnSchemas> {
  const out: ColumnSchemas = new Map();
  if (tables.length === 0) return out;
  const [rows] = await pool.query(
    `SELECT TABLE_NAME, COLUMN_NAME, COLLATION_NAME, CHARACTER_SET_NAME, COLUMN_COMMENT, COLUMN_TYPE
       FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME IN (?)
      ORDER BY TABLE_NAME, ORDINAL_POSITION`,
    [schema, tables],
  );
  for (const r of rows as (ColumnSchema & { TABLE_NAME: string })[]) {
    const { TABLE_NAME, ...col } = r;
    let list = out.get(TABLE_NAME);
    if (!list) out.set(TABLE_NAME, (list = []));
    list.push(col);
  }
  return out;
}

// Binlog column type codes (zongji's MysqlTypes).
const GEOMETRY = 255;
const ENUM = 247;
const SET = 248;
const CHARACTER = new Set([15, 253, 254, 249, 250, 251, 252, 140, 141]);

/**
 * Called on a TABLE_MAP event of a watched table, before its row events are decoded: where zongji used
 * the binlog's FULL metadata on MariaDB for a table with a spatial column, corrects the character
 * columns' charset and type from `known` and rebuilds zongji's column info. Throws RowImageError (fatal)
 * when the binlog's columns are not the ones the table has now (a schema change the stream did not see).
 */
export function realignCharsets(event: TableMapEvent, isMariaDb: boolean, known: ColumnSchemas): void {
  if (!isMariaDb || !event.hasSelfDescribingMetadata() || !event.columnTypes.includes(GEOMETRY)) return;
  const entry = event.tableMap[event.tableId];
  const current = known.get(event.tableName);
  if (!entry || entry.columnSchemas.length !== event.columnCount) return;
  const names = entry.columnSchemas.map((c) => c.COLUMN_NAME);
  if (!current || current.length !== names.length || current.some((c, i) => c.COLUMN_NAME !== names[i])) {
    throw new RowImageError(
      `binlog columns of ${event.schemaName}.${event.tableName} (${names.join(', ')}) differ from the table's ` +
        'current columns: its schema changed after this binlog position; restart sync from a fresh copy of this table',
    );
  }
  entry.columnSchemas.forEach((col, i) => {
    const type = (event.columnsMetadata[i] as { type?: number } | undefined)?.type ?? event.columnTypes[i];
    if (type === ENUM || type === SET || !CHARACTER.has(type)) return;
    col.CHARACTER_SET_NAME = current[i].CHARACTER_SET_NAME;
    col.COLLATION_NAME = current[i].COLLATION_NAME;
    col.COLUMN_TYPE = current[i].COLUMN_TYPE;
  });
  event.updateColumnInfo();
}
