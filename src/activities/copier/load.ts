import { Readable } from 'node:stream';
import type { PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { quoteIdent, quoteTable } from '../db/identifiers.js';
import type { ColumnInfo } from '../schema/types.js';

/**
 * Bulk writes through `LOAD DATA LOCAL INFILE ... REPLACE` fed from memory: the server parses
 * tab-separated fields instead of SQL, which is the cheapest way into InnoDB short of a file on the
 * server. Rows arrive as the raw bytes of the source's text protocol (mysql2 `typeCast: false`: no
 * per-value conversion in JS), so a value is written byte for byte as the source server printed it.
 *
 * Bytes: the file is read as CHARACTER SET binary (no conversion). Text arrives in the connection's
 * character set (utf8mb4), which is stored as is into utf8mb4 and binary columns; a column of any other
 * character set takes it through a user variable relabelled as utf8mb4, so the server converts it.
 * Numbers, DECIMAL, dates and times are the server's own text, which it parses back exactly (FLOAT and
 * DOUBLE are read as exact DOUBLE text by schema/read-expr.ts). REPLACE semantics are the same as the
 * REPLACE statement's (copier/README.md). Any warning (a value the column cannot hold) fails the load.
 */

const TAB = 0x09;
const NL = 0x0a;
const BACKSLASH = 0x5c;
const NUL = 0x00;

/** No byte that needs escaping (native scans: cheaper than a JS loop for longer values). */
function clean(v: Buffer): boolean {
  return v.indexOf(BACKSLASH) < 0 && v.indexOf(TAB) < 0 && v.indexOf(NL) < 0 && v.indexOf(NUL) < 0;
}

const NEEDS_ESCAPE = /[\t\n\\\0]/;

const PIECE_BYTES = 256 * 1024;

/**
 * Raw rows (arrays of Buffer | null) as LOAD DATA input (`FIELDS TERMINATED BY '\t' ESCAPED BY '\\'
 * LINES TERMINATED BY '\n'`, the defaults), as a byte stream of pieces of about 256 KB. Fields are
 * copied into one buffer per piece (short ones byte by byte, long clean ones natively), escaping TAB,
 * LF, NUL and backslash; NULL is `\N`. A string field (the binlog reader's decoded values) is written as
 * its UTF-8 bytes. No per-field allocation: garbage is what costs here.
 * `write` returns false when the consumer is behind (pause the producer; `onDemand` says when to resume).
 */
export class TsvStream extends Readable {
  private readonly encoder = new TsvEncoder((piece) => this.push(piece));

  constructor(private readonly onDemand: () => void = () => undefined) {
    super({ highWaterMark: 4 * PIECE_BYTES });
  }

  override _read(): void {
    this.onDemand();
  }

  get rows(): number {
    return this.encoder.rows;
  }

  write(row: readonly (Buffer | string | null)[]): boolean {
    return this.encoder.write(row);
  }

  /** No more rows. */
  finish(): void {
    this.encoder.flush();
    this.push(null);
  }
}

/**
 * The encoding behind TsvStream, handing each finished piece (about 256 KB) to `piece`, whose answer
 * `write` returns (false: the consumer is behind). Used alone to encode a batch ahead of its statement.
 */
export class TsvEncoder {
  private out = Buffer.allocUnsafe(PIECE_BYTES * 2);
  private o = 0;
  rows = 0;

  constructor(private readonly piece: (piece: Buffer) => boolean) {}

  write(row: readonly (Buffer | string | null)[]): boolean {
    let need = row.length * 3; // worst case: every byte escaped, plus separators
    for (const v of row) if (v !== null) need += typeof v === 'string' ? v.length * 6 : v.length * 2;
    if (this.o + need > this.out.length) {
      this.flush();
      if (need > this.out.length) this.out = Buffer.allocUnsafe(need);
    }
    const out = this.out;
    let o = this.o;
    for (let i = 0; i < row.length; i++) {
      if (i > 0) out[o++] = TAB;
      let v = row[i];
      if (v === null) {
        out[o++] = BACKSLASH;
        out[o++] = 0x4e; // N
        continue;
      }
      if (typeof v === 'string') {
        // UTF-8 is at most 3 bytes per UTF-16 unit (the space reserved above covers escaping them all).
        if (!NEEDS_ESCAPE.test(v)) {
          o += out.write(v, o, 'utf8');
          continue;
        }
        v = Buffer.from(v, 'utf8');
      }
      if (v.length >= 32 && clean(v)) {
        o += v.copy(out, o);
        continue;
      }
      for (let j = 0; j < v.length; j++) {
        const b = v[j];
        if (b === BACKSLASH || b === TAB || b === NL || b === NUL) {
          out[o++] = BACKSLASH;
          out[o++] = b === TAB ? 0x74 : b === NL ? 0x6e : b === NUL ? 0x30 : BACKSLASH;
        } else out[o++] = b;
      }
    }
    out[o++] = NL;
    this.o = o;
    this.rows++;
    return this.o >= PIECE_BYTES ? this.flush() : true;
  }

  /** Hands over the piece in progress (if any). */
  flush(): boolean {
    if (this.o === 0) return true;
    const piece = this.out.subarray(0, this.o);
    this.out = Buffer.allocUnsafe(PIECE_BYTES * 2);
    this.o = 0;
    return this.piece(piece);
  }
}

/** Whether text in utf8mb4 can be stored into the column byte for byte. */
function storesRawUtf8(col: ColumnInfo): boolean {
  return col.charset === null || col.charset === 'binary' || col.charset === 'utf8mb4';
}

/** The LOAD DATA statement for writing `columns` (target names) of a target table. */
export function loadDataSql(
  schema: string,
  table: string,
  columns: readonly string[],
  targetInfo: readonly ColumnInfo[],
): string {
  const byName = new Map(targetInfo.map((c) => [c.name, c]));
  const list: string[] = [];
  const sets: string[] = [];
  columns.forEach((name, i) => {
    const col = byName.get(name);
    const q = quoteIdent(name, 'column');
    if (!col || storesRawUtf8(col)) {
      list.push(q);
    } else {
      list.push(`@v${i}`);
      sets.push(`${q} = CONVERT(@v${i} USING utf8mb4)`);
    }
  });
  return (
    `LOAD DATA LOCAL INFILE 'rows.tsv' REPLACE INTO TABLE ${quoteTable(schema, table)} CHARACTER SET binary ` +
    `(${list.join(', ')})${sets.length ? ` SET ${sets.join(', ')}` : ''}`
  );
}

export class LoadWarningError extends Error {
  override name = 'LoadWarningError';
}

/** Errors meaning the target (or driver) refuses LOAD DATA LOCAL: fall back to REPLACE statements. */
export function isLocalInfileRefused(err: unknown): boolean {
  const e = err as { errno?: number };
  return e.errno === 1148 || e.errno === 3948 || e.errno === 4166;
}

/**
 * Runs the LOAD DATA statement on `conn` (inside the caller's transaction), fed from `rows` while the
 * caller produces them; resolves with the rows written. Any warning fails it.
 */
export async function loadFromStream(conn: PoolConnection, sql: string, rows: Readable): Promise<void> {
  const [res] = await conn.query<ResultSetHeader>({ sql, infileStreamFactory: () => rows });
  if (res.warningStatus > 0) {
    const [w] = await conn.query<RowDataPacket[]>('SHOW WARNINGS LIMIT 3');
    throw new LoadWarningError(
      `LOAD DATA into the target reported ${res.warningStatus} warning(s), the copy would not be exact: ` +
        w.map((x) => `${String(x.Code)} ${String(x.Message)}`).join('; '),
    );
  }
}
