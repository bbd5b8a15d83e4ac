/** Families of MySQL/MariaDB column types (information_schema DATA_TYPE, lower case). Pure: no I/O. */

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
