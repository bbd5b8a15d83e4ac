/** Families of MySQL/MariaDB column types (information_schema DATA_TYPE, lower case). Pure: no I/O. */

/** Integer types (YEAR included: its values are integers; BIT is not listed, its values are bytes). */
export const INTEGER_TYPES: ReadonlySet<string> = new Set([
  'tinyint',
  'smallint',
  'mediumint',
  'int',
  'integer',
  'bigint',
  'year',
]);

/** Binary strings and blobs: values are bytes, never text in a charset. */
export const BINARY_STRING_TYPES: ReadonlySet<string> = new Set([
  'binary',
  'varbinary',
  'tinyblob',
  'blob',
  'mediumblob',
  'longblob',
]);

/** Spatial types (values in the server's internal geometry format). */
export const SPATIAL_TYPES: ReadonlySet<string> = new Set([
  'geometry',
  'point',
  'linestring',
  'polygon',
  'multipoint',
  'multilinestring',
  'multipolygon',
  'geometrycollection',
]);
