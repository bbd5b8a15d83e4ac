import { BINARY_STRING_TYPES, INTEGER_TYPES, SPATIAL_TYPES } from '../../shared/mysql-types.js';
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
  /**
   * This server evaluates `CRC32C(@v := text) * CRC32(@v)` left to right, row by row (probed once per
   * table by describeForVerify: SQL leaves the order unspecified). False: each CRC builds the input.
   */
  crcSharedInput?: boolean;
}

/**
 * Which chunk digests a pair of servers can compute: 'crc' when both are MariaDB >= 10.8 (CRC32C() and
 * the two-argument CRC32(seed, expr) / CRC32C(seed, expr)), else 'md5' (MySQL has a one-argument CRC32
 * only and no CRC32C; older MariaDB lacks both forms).
 */
export type DigestKind = 'crc' | 'md5';

export interface ServerVersion {
  flavor: 'mariadb' | 'mysql';
  version: [number, number, number];
}

/** Whether a server can compute the CRC digest (MariaDB >= 10.8). */
export function hasCrcChain(s: ServerVersion): boolean {
  const [major, minor] = s.version;
  return s.flavor === 'mariadb' && (major > 10 || (major === 10 && minor >= 8));
}

export function digestKindFor(source: ServerVersion, target: ServerVersion): DigestKind {
  return hasCrcChain(source) && hasCrcChain(target) ? 'crc' : 'md5';
}

/** One column's share of a row's canonical text: its value, and for string-like values their length. */
export interface CanonicalParts {
  value: string;
  /** Byte length of `value` (or 'N' for NULL), for string-like values only. */
  length?: string;
}

/**
 * A canonical text for one column's value on one side: equal values give equal bytes whatever the
 * column's charset, collation or display, and different values (including case-only and trailing-space
 * differences under a case-insensitive PAD SPACE collation) give different bytes. Strings are hashed as
 * utf8mb4 bytes (converted only when the two sides' character sets differ), never compared under a
 * collation, and carry their byte length so a separator inside a value cannot alias. NULL (only where a
 * side allows it) gives the marker \N for non-strings and the length 'N' for strings.
 */
export function canonicalParts(
  pair: ColumnPair,
  side: 'source' | 'target',
  flavour: SideFlavour,
): CanonicalParts {
  const col = pair[side];
  const other = pair[side === 'source' ? 'target' : 'source'];
  const c = quoteIdent(col.name, 'column');
  const t = col.dataType;
  let e: string;
  let stringLike = true;
  if (pair.json) {
    const text = flavour.mariadb ? `JSON_NORMALIZE(${c})` : `CAST(${c} AS CHAR CHARACTER SET utf8mb4)`;
    e = `CAST(${text} AS BINARY)`;
  } else if (BINARY_STRING_TYPES.has(t) || col.charset === 'binary') {
    e = c;
  } else if (SPATIAL_TYPES.has(t)) {
    e = `ST_AsBinary(${c})`;
  } else if (col.charset) {
    // Text, ENUM, SET. utf8mb4, or the same character set on both sides: equal bytes are equal values.
    e =
      col.charset === 'utf8mb4'
        ? c
        : col.charset === other.charset
          ? `CAST(${c} AS BINARY)`
          : `CAST(CONVERT(${c} USING utf8mb4) AS BINARY)`;
  } else {
    stringLike = false;
    if (INTEGER_TYPES.has(t)) e = c;
    else if (t === 'bit') e = `(${c} + 0)`;
    else if (t === 'decimal' || t === 'numeric') {
      // Same type: printed identically. Different scale: strip trailing fractional zeros on both sides.
      e =
        col.columnType === other.columnType
          ? c
          : `IF(LOCATE('.', ${c}) > 0, TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM ${c})), ${c})`;
    } else if (t === 'float') {
      // FLOAT prints 6 significant digits (16777216 and 16777214 both print 1.67772e7): hash its exact
      // value as a DOUBLE, which prints the shortest text that round-trips.
      e = `CAST(${c} AS DOUBLE)`;
    } else {
      // DOUBLE, dates, times and anything else print deterministically for identical types.
      e = c;
    }
  }
  const nullable = pair.source.nullable || pair.target.nullable;
  if (!stringLike) return { value: nullable ? `IFNULL(${e}, '\\N')` : e };
  return nullable
    ? { value: `IFNULL(${e}, '')`, length: `IFNULL(OCTET_LENGTH(${e}), 'N')` }
    : { value: e, length: `OCTET_LENGTH(${e})` };
}

/**
 * A row's canonical text over all compared columns (the key columns are among them): the lengths of the
 * string-like values, then every value, joined by '#'. Uniquely decodable from the start: lengths and
 * non-string values (numbers, dates, times, the NULL marker) contain no '#' or '|', and each string
 * value is read by its length. (Cheaper than length-prefixing each value: no per-value CONCAT.)
 */
export function canonicalRowExpr(
  pairs: ColumnPair[],
  side: 'source' | 'target',
  flavour: SideFlavour,
): string {
  const parts = pairs.map((p) => canonicalParts(p, side, flavour));
  const lengths = parts.flatMap((p) => (p.length ? [p.length] : []));
  return `CONCAT_WS('#', ${[...lengths, ...parts.map((p) => p.value)].join(', ')})`;
}

/**
 * The session variable holding a row's CRC input (its whole canonical text, or its header) while both
 * CRCs read it: SQL has no common subexpressions, and converting numbers and dates to text is most of a
 * row's cost, so it is built once (`CRC32C(@v := text)`) and the CRC-32 side reads it back
 * (`CRC32(@v)`). MariaDB evaluates the product's left factor first and assigns per row;
 * test/dataplane/verify-digest.test.ts checks the digest against the text built twice.
 */
const CRC_INPUT_VAR = '@__migrator_verify_crc_input';

/**
 * Whether the shared CRC input reads back what the same row assigned: three rows, each compared with
 * its CRCs built twice (a read before the assignment gives the previous row's input, or NULL, which
 * the sum skips).
 */
export const CRC_SHARED_INPUT_PROBE =
  `SELECT COUNT(*) AS n, SUM((CRC32C(${CRC_INPUT_VAR} := t.s) * CRC32(${CRC_INPUT_VAR})) = (CRC32C(t.s) * CRC32(t.s))) AS same ` +
  "FROM (SELECT 'a' AS s UNION ALL SELECT 'bb' UNION ALL SELECT 'ccc') t";

/**
 * Rows whose canonical text is at most this long (by the column types) are CRC'd as that one text, built
 * once; longer ones (LOBs, JSON) as a header with their strings streamed after it, never concatenated.
 */
const CRC_WHOLE_TEXT_MAX_BYTES = 65_536;

/**
 * A row's two 32-bit CRCs multiplied (a BIGINT UNSIGNED below 2^64, no overflow), over a uniquely
 * decodable stream of the row: its canonical text (canonicalRowExpr) when that is bounded by
 * CRC_WHOLE_TEXT_MAX_BYTES, else the '#'-joined lengths of its string-like values and its other values,
 * with a trailing '#' (one CONCAT_WS; those fields contain no '#', so the header's end is known),
 * followed by each string-like value's bytes, fed to CRC32C(seed, value) in turn instead of being
 * concatenated. The same stream goes through CRC-32C and CRC-32 (IEEE), whose polynomials differ. See
 * the README for the margin. Options (bench, tests): `shared` false builds the stream's text for each
 * CRC, no session variable (the reference); `form` forces the whole text or the streamed header.
 */
export function crcRowExpr(
  pairs: ColumnPair[],
  side: 'source' | 'target',
  flavour: SideFlavour,
  opts: { shared?: boolean; form?: 'text' | 'stream' } = {},
): string {
  const form = opts.form ?? (maxRowTextBytes(pairs) <= CRC_WHOLE_TEXT_MAX_BYTES ? 'text' : 'stream');
  const { first, chain } =
    form === 'text'
      ? { first: canonicalRowExpr(pairs, side, flavour), chain: (fn: string, f: string) => `${fn}(${f})` }
      : crcStream(pairs, side, flavour);
  if (opts.shared === false || flavour.crcSharedInput === false)
    return `(${chain('CRC32C', first)} * ${chain('CRC32', first)})`;
  return `(${chain('CRC32C', `${CRC_INPUT_VAR} := ${first}`)} * ${chain('CRC32', CRC_INPUT_VAR)})`;
}

/** A row's CRC stream: its header (`first`), and a CRC chain over the header and the string values. */
function crcStream(
  pairs: ColumnPair[],
  side: 'source' | 'target',
  flavour: SideFlavour,
): { first: string; chain: (fn: string, first: string) => string } {
  const parts = pairs.map((p) => canonicalParts(p, side, flavour));
  const header = `CONCAT_WS('#', ${[
    ...parts.flatMap((p) => (p.length ? [p.length] : [])),
    ...parts.flatMap((p) => (p.length ? [] : [p.value])),
    "''",
  ].join(', ')})`;
  const strings = parts.flatMap((p) => (p.length ? [p.value] : []));
  return {
    first: header,
    chain: (fn, first) => strings.reduce((acc, v) => `${fn}(${acc}, ${v})`, `${fn}(${first})`),
  };
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
  if (INTEGER_TYPES.has(t) || t === 'bit') return 24;
  if (t === 'decimal' || t === 'numeric') return declared + 4;
  if (t === 'float' || t === 'double' || t === 'real') return 32;
  if (['date', 'datetime', 'timestamp', 'time'].includes(t)) return 32;
  if (t === 'char' || t === 'varchar' || t === 'binary' || t === 'varbinary') return declared * 4 + 12;
  if (t === 'enum' || t === 'set') return col.columnType.length * 4 + 12;
  if (t in FIXED_TEXT_BYTES) return FIXED_TEXT_BYTES[t] * (t.endsWith('blob') ? 1 : 4) + 12;
  return Infinity;
}

/** An upper bound of a row's canonical text in bytes (Infinity when a column's is unbounded). */
function maxRowTextBytes(pairs: ColumnPair[]): number {
  let bytes = pairs.length;
  for (const p of pairs) bytes += Math.max(maxCanonicalBytes(p.source), maxCanonicalBytes(p.target));
  return bytes;
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
  /**
   * The same digest per group of a GROUP BY (sub-ranges of a differing chunk, bisect.ts): rows
   * concatenated in key order by ORDER BY inside GROUP_CONCAT, as a grouped read gives no order.
   */
  groupSelect: (orderBy: string) => string;
}

/**
 * Chunk aggregate. When both servers can (`servers` 'crc'): count + SUM of crcRowExpr (one pass, no
 * chunk text, any column type, each row's CRC input built once). Otherwise, when the whole chunk's
 * canonical text is bounded (no MEDIUM/LONG TEXT/BLOB or JSON, at most MAX_DIGEST_BYTES for chunkSize
 * rows), `MD5` of the rows' canonical texts concatenated in key order (`GROUP_CONCAT` over the key's
 * index): a 128-bit digest of the exact sequence of rows (rows separated by '|', each row's text
 * uniquely decodable); else count + XOR of the first 64 bits of each row's MD5. The CRC sum is preferred:
 * measured cheaper than the concatenated MD5, whose GROUP_CONCAT and MD5 over the chunk's text cost
 * more than the two CRCs (README). `force` picks a kind (tests, the bench).
 */
export function chunkAggregate(
  pairs: ColumnPair[],
  side: 'source' | 'target',
  flavour: SideFlavour,
  chunkSize: number,
  servers: DigestKind = 'md5',
  force?: DigestKind,
): ChunkDigest {
  const crc = () => {
    // Order-free and unbounded: no GROUP_CONCAT, no length cap, no ORDER BY for grouped reads.
    const select = `COUNT(*) AS n, COALESCE(SUM(${crcRowExpr(pairs, side, flavour)}), 0) AS x`;
    return { select, wrap: (s: string) => s, maxRows: Infinity, groupSelect: () => select };
  };
  if (servers === 'crc' && force !== 'md5') return crc();
  const rowBytes = maxRowTextBytes(pairs);
  const bytes = rowBytes * chunkSize;
  if (!Number.isFinite(bytes) || bytes > MAX_DIGEST_BYTES) {
    const select = aggregateExprs(rowHashExpr(pairs, side, flavour));
    return { select, wrap: (s) => s, maxRows: Infinity, groupSelect: () => select };
  }
  // The text must never be cut at group_concat_max_len (default 1 MB): the cap is raised for this
  // statement to 4x the bound (strict sessions refuse values near 4 GB); a chunk that grew past what
  // the cap holds at worst (rows arriving after it was cut) is compared row by row instead (maxRows).
  const limit = MAX_DIGEST_BYTES * 4;
  const row = canonicalRowExpr(pairs, side, flavour);
  return {
    select: `COUNT(*) AS n, COALESCE(MD5(GROUP_CONCAT(${row} SEPARATOR '|')), '') AS x`,
    groupSelect: (orderBy) =>
      `COUNT(*) AS n, COALESCE(MD5(GROUP_CONCAT(${row} ORDER BY ${orderBy} SEPARATOR '|')), '') AS x`,
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
