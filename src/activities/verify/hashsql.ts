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
    // Same character set on both sides: equal bytes are equal values, no conversion to pay for.
    const bin =
      col.charset === 'utf8mb4' || col.charset === other.charset
        ? `CAST(${c} AS BINARY)`
        : `CAST(CONVERT(${c} USING utf8mb4) AS BINARY)`;
    e = lengthPrefixed(bin);
  } else {
    // Dates, times and anything else print deterministically for identical types.
    e = c;
  }
  return `IFNULL(${e}, '\\\\N')`;
}

/**
 * A row's canonical text over all compared columns (the key columns are among them): fields joined by
 * '#'. Uniquely decodable from the start: string-like values are length-prefixed, and no other
 * canonical value contains '#' or '|' (numbers, dates, times, the NULL marker).
 */
export function canonicalRowExpr(
  pairs: ColumnPair[],
  side: 'source' | 'target',
  flavour: SideFlavour,
): string {
  return `CONCAT_WS('#', ${pairs.map((p) => canonicalExpr(p, side, flavour)).join(', ')})`;
}

/** MD5 (hex) of a row's canonical text. */
export function rowHashExpr(pairs: ColumnPair[], side: 'source' | 'target', flavour: SideFlavour): string {
  return `MD5(${canonicalRowExpr(pairs, side, flavour)})`;
}

const FIXED_TEXT_BYTES: Record<string, number> = {
  tinytext: 255,
  tinyblob: 255,
  text: 65_535,
  blob: 65_535,
};

/**
 * An upper bound of one column's canonical text in bytes, from its type (Infinity for MEDIUM/LONG
 * TEXT/BLOB, JSON and anything unrecognised): strings count 4 bytes a character (utf8mb4) plus the
 * length prefix; other types their longest printed form.
 */
export function maxCanonicalBytes(col: ColumnInfo): number {
  const t = col.dataType;
  const n = /\((\d+)/.exec(col.columnType);
  const declared = n ? Number(n[1]) : 0;
  if (INTEGER.has(t) || t === 'bit') return 24;
  if (t === 'decimal' || t === 'numeric') return declared + 4;
  if (t === 'float' || t === 'double' || t === 'real') return 32;
  if (['date', 'datetime', 'timestamp', 'time'].includes(t)) return 32;
  if (t === 'char' || t === 'varchar' || t === 'binary' || t === 'varbinary') return declared * 4 + 12;
  if (t === 'enum' || t === 'set') return col.columnType.length * 4 + 12;
  if (t in FIXED_TEXT_BYTES) return FIXED_TEXT_BYTES[t] * (t.endsWith('blob') ? 1 : 4) + 12;
  return Infinity;
}

/** Chunk digests concatenate canonical rows only while a chunk's text stays under this. */
export const MAX_DIGEST_BYTES = 64 * 1024 * 1024;

/** How a chunk is summed up on each side: one select list, plus the statement wrapping it. */
export interface ChunkDigest {
  /** Select list giving `n` (rows) and `x` (digest). */
  select: string;
  /** Wraps `SELECT ...` (e.g. a session setting for this statement only). */
  wrap: (select: string) => string;
  /** Rows a chunk may hold for its digest to be complete; a chunk with more is compared row by row. */
  maxRows: number;
}

/**
 * Chunk aggregate: when the whole chunk's canonical text is bounded (no MEDIUM/LONG TEXT/BLOB or JSON,
 * at most MAX_DIGEST_BYTES for chunkSize rows), `MD5` of the rows' canonical texts concatenated in key
 * order (`GROUP_CONCAT` over the key's index): one hash call per chunk instead of one per row, and a
 * 128-bit digest of the exact sequence of rows. Rows are separated by '|', and each row's text is
 * uniquely decodable, so different chunk contents give different texts. Otherwise count + XOR of the
 * first 64 bits of each row's MD5.
 */
export function chunkAggregate(
  pairs: ColumnPair[],
  side: 'source' | 'target',
  flavour: SideFlavour,
  chunkSize: number,
): ChunkDigest {
  let rowBytes = pairs.length;
  for (const p of pairs) rowBytes += Math.max(maxCanonicalBytes(p.source), maxCanonicalBytes(p.target));
  const bytes = rowBytes * chunkSize;
  if (!Number.isFinite(bytes) || bytes > MAX_DIGEST_BYTES) {
    return { select: aggregateExprs(rowHashExpr(pairs, side, flavour)), wrap: (s) => s, maxRows: Infinity };
  }
  // The text must never be cut at group_concat_max_len (default 1 MB): the cap is raised for this
  // statement to 4x the bound (strict sessions refuse values near 4 GB); a chunk that grew past what
  // the cap holds at worst (rows arriving after it was cut) is compared row by row instead (maxRows).
  const limit = MAX_DIGEST_BYTES * 4;
  return {
    select: `COUNT(*) AS n, COALESCE(MD5(GROUP_CONCAT(${canonicalRowExpr(pairs, side, flavour)} SEPARATOR '|')), '') AS x`,
    wrap: flavour.mariadb
      ? (s) => `SET STATEMENT group_concat_max_len = ${limit} FOR ${s}`
      : (s) => s.replace(/^SELECT /, `SELECT /*+ SET_VAR(group_concat_max_len = ${limit}) */ `),
    maxRows: Math.floor(limit / rowBytes),
  };
}

/** Aggregate of a set of row hashes: count + XOR of their first 64 bits. */
export function aggregateExprs(hash: string): string {
  return `COUNT(*) AS n, COALESCE(BIT_XOR(CAST(CONV(LEFT(${hash}, 16), 16, 10) AS UNSIGNED)), 0) AS x`;
}
