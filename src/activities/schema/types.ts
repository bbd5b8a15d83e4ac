/** What the data plane knows about one table on one side. Filled by introspection (information_schema). */
export interface ColumnInfo {
  name: string;
  /** information_schema DATA_TYPE, lower case: 'bigint', 'varchar', 'json', ... */
  dataType: string;
  /** information_schema COLUMN_TYPE: 'bigint(20) unsigned', "enum('a','b')", ... */
  columnType: string;
  nullable: boolean;
  /** Virtual/stored generated columns are never copied, compared or written. */
  generated: boolean;
  autoIncrement: boolean;
  charset: string | null;
  collation: string | null;
  ordinal: number;
}

/** The key rows are addressed by: the primary key, or else a unique key over NOT NULL columns. */
export interface TableKey {
  /** 'PRIMARY' or the unique index name. */
  index: string;
  columns: string[];
}

export interface TableInfo {
  schema: string;
  table: string;
  /** Every non-generated column, in table order. */
  columns: ColumnInfo[];
  generatedColumns: string[];
  key: TableKey;
}

/** A table on a named connection; schema defaults to the connection's database. */
export interface TableRef {
  connection: string;
  table: string;
  schema?: string;
}
