import { BINARY_STRING_TYPES, SPATIAL_TYPES } from '../../shared/mysql-types.js';
import { quoteIdent } from '../db/identifiers.js';
import type { ColumnInfo } from '../schema/types.js';

/** One compared column: its definition on both sides (names may differ through columnMap). */
export interface ColumnPair {
  source: ColumnInfo;
  target: ColumnInfo;
  /** Either side holds JSON: compare canonically (sorted keys, normalised numbers, no whitespace). */
  json: boolean;
}

export interface SideFlavour {
  mariadb: boolean;
}

const INTEGER = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint', 'year']);

function lengthPrefixed(bin: string): string {
  return `CONCAT(OCTET_LENGTH(${bin}), ':', ${bin})`;
}

/**
 * A canonical text for one column's value on one side: equal values give equal bytes whatever the
 * column's charset, collation or display, and different values (including case-only and trailing-space
 * differences under a case-insensitive PAD SPACE collation) give different bytes. Strings are converted
 * to utf8mb4 and hashed as bytes (length-prefixed, so a separator inside a value cannot alias), never
 * compared under a collation. NULL gives the marker \N, which no canonical value starts with.
 */
export function canonicalExpr(pair: ColumnPair, side: 'source' | 'target', flavour: SideFlavour): string {
  const col = pair[side];
  const other = pair[side === 'source' ? 'target' : 'source'];
  const c = quoteIdent(col.name, 'column');
  const t = col.dataType;
  let e: string;
  if (pair.json) {
    const text = flavour.mariadb ? `JSON_NORMALIZE(${c})` : `CAST(${c} AS CHAR CHARACTER SET utf8mb4)`;
    e = lengthPrefixed(`CAST(${text} AS BINARY)`);
  } else if (INTEGER.has(t)) {
    e = c;
  } else if (t === 'bit') {
    e = `(${c} + 0)`;
  } else if (t === 'decimal' || t === 'numeric') {
    // Same type: printed identically. Different scale: strip trailing fractional zeros on both sides.
    e =
      col.columnType === other.columnType
        ? c
        : `IF(LOCATE('.', ${c}) > 0, TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM ${c})), ${c})`;
  } else if (t === 'float') {
    // FLOAT prints 6 significant digits (16777216 and 16777214 both print 1.67772e7): hash its exact
    // value as a DOUBLE, which prints the shortest text that round-trips.
    e = `CAST(${c} AS DOUBLE)`;
  } else if (t === 'double' || t === 'real') {
    e = c;
  } else if (BINARY_STRING_TYPES.has(t) || col.charset === 'binary') {
    e = lengthPrefixed(c);
  } else if (SPATIAL_TYPES.has(t)) {
    e = lengthPrefixed(`ST_AsBinary(${c})`);
  } else if (col.charset) {
    const bin =
      col.charset === 'utf8mb4' ? `CAST(${c} AS BINARY)` : `CAST(CONVERT(${c} USING utf8mb4) AS BINARY)`;
    e = lengthPrefixed(bin);
  } else {
    // Dates, times and anything else print deterministically for identical types.
    e = c;
  }
  return `IFNULL(${e}, '\\\\N')`;
}

/** MD5 (hex) of a row's canonical text over all compared columns (the key columns are among them). */
export function rowHashExpr(pairs: ColumnPair[], side: 'source' | 'target', flavour: SideFlavour): string {
  return `MD5(CONCAT_WS('#', ${pairs.map((p) => canonicalExpr(p, side, flavour)).join(', ')}))`;
}

/** Aggregate of a set of row hashes: count + XOR of their first 64 bits. */
export function aggregateExprs(hash: string): string {
  return `COUNT(*) AS n, COALESCE(BIT_XOR(CAST(CONV(LEFT(${hash}, 16), 16, 10) AS UNSIGNED)), 0) AS x`;
}
