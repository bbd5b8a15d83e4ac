import { SPATIAL_TYPES } from '../../shared/mysql-types.js';
import { quoteIdent } from '../db/identifiers.js';
import type { ColumnInfo } from './types.js';

/**
 * How to SELECT a column so that writing the value back stores exactly the same value: FLOAT and
 * DOUBLE as the text of their exact DOUBLE value (the server prints FLOAT with 6 significant digits,
 * 16777215 as 1.67772e7, and mysql2 parses some DOUBLE texts inexactly), spatial values in the
 * server's own binary format (the driver would turn them into objects). Other columns as they are.
 * Used by every reader that writes rows elsewhere: the copier and repair.
 */
export function exactReadExpr(col: ColumnInfo): string {
  const c = quoteIdent(col.name, 'column');
  if (col.dataType === 'float') return `CAST(CAST(${c} AS DOUBLE) AS CHAR) AS ${c}`;
  if (col.dataType === 'double' || col.dataType === 'real') return `CAST(${c} AS CHAR) AS ${c}`;
  if (SPATIAL_TYPES.has(col.dataType)) return `CAST(${c} AS BINARY) AS ${c}`;
  return c;
}
