import type mysql from 'mysql2/promise';

export interface TableComparison {
  table: string;
  sourceRows: number;
  targetRows: number;
  sourceChecksum: string;
  targetChecksum: string;
  equal: boolean;
}

/**
 * The demo's independent check: it uses none of the product's verification code, only row counts and
 * the servers' own CHECKSUM TABLE on both sides.
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
