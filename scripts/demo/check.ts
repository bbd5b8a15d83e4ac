import type mysql from 'mysql2/promise';
import { checkSide, Expected, type LedgerEntry, type Row, type SideCheck } from './ledger.js';
import { DEMO_TABLES, type DemoTable } from './schema.js';

export interface TableComparison {
  table: string;
  sourceRows: number;
  targetRows: number;
  sourceChecksum: string;
  targetChecksum: string;
  equal: boolean;
}

/**
 * A quick look first: row counts and the servers' own CHECKSUM TABLE on both sides (no product code).
 */
export async function compareTables(
  source: mysql.Connection,
  target: mysql.Connection,
  tables: readonly string[],
): Promise<TableComparison[]> {
  const out: TableComparison[] = [];
  for (const table of tables) {
    const [[s], [t]] = await Promise.all([summary(source, table), summary(target, table)]);
    out.push({
      table,
      sourceRows: s.rows,
      targetRows: t.rows,
      sourceChecksum: s.checksum,
      targetChecksum: t.checksum,
      equal: s.rows === t.rows && s.checksum === t.checksum,
    });
  }
  return out;
}

async function summary(conn: mysql.Connection, table: string): Promise<[{ rows: number; checksum: string }]> {
  const ident = '`' + table.replace(/`/g, '``') + '`';
  const [countRows] = await conn.query<mysql.RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${ident}`);
  const [sumRows] = await conn.query<mysql.RowDataPacket[]>(`CHECKSUM TABLE ${ident}`);
  return [{ rows: Number(countRows[0].n), checksum: String(sumRows[0].Checksum) }];
}

export interface IndependentCheck {
  /** Ledger entries the application recorded, and how many of them failed with an unknown outcome. */
  ledgerEntries: number;
  unknownOutcomes: number;
  sides: SideCheck[];
  /** Every row on either server that the seed and the ledger do not allow. */
  problems: string[];
  /** Keys two acknowledged inserts both got (see Expected.idsHandedOutTwice). */
  idsHandedOutTwice: string[];
}

/**
 * Every row of every demo table on BOTH servers, every column, against the seed plus the application's
 * writes in order (acknowledged ones must be there; a write whose call failed may or may not be).
 */
export async function independentCheck(
  source: mysql.Connection,
  target: mysql.Connection,
  seed: Record<DemoTable, Row[]>,
  ledger: LedgerEntry[],
): Promise<IndependentCheck> {
  const expected = new Expected(seed).apply(ledger);
  const sides: SideCheck[] = [];
  for (const table of DEMO_TABLES) {
    sides.push(await checkSide(source, 'source', table, expected));
    sides.push(await checkSide(target, 'target', table, expected));
  }
  return {
    ledgerEntries: ledger.length,
    unknownOutcomes: ledger.filter((e) => e.outcome === 'unknown').length,
    sides,
    problems: sides.flatMap((s) => s.problems.map((p) => `${s.side}: ${p}`)),
    idsHandedOutTwice: expected.idsHandedOutTwice,
  };
}
