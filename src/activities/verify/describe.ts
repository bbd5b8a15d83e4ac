import type mysql from 'mysql2/promise';
import { parseServerVersion, type ServerInfo } from '../db/server.js';
import { describeTable, type TableInfo } from '../schema/index.js';
import { CRC_SHARED_INPUT_PROBE, hasCrcChain } from './hashsql.js';

/**
 * What verification needs beyond schema/describeTable: which columns hold JSON (MariaDB stores JSON as
 * LONGTEXT guarded by a json_valid() CHECK constraint; MySQL has a JSON type) and the server flavour (the
 * canonical JSON text is computed differently).
 */
export interface DescribedTable extends TableInfo {
  jsonColumns: Set<string>;
  mariadb: boolean;
  /** Flavour and version (which chunk digest both sides can compute: hashsql.digestKindFor). */
  server: ServerInfo;
  /** See hashsql.SideFlavour.crcSharedInput (false where the CRC digest is not possible). */
  crcSharedInput: boolean;
}

export async function describeForVerify(
  pool: mysql.Pool,
  schema: string,
  table: string,
  key?: string[],
): Promise<DescribedTable> {
  const info = await describeTable(pool, schema, table, key);
  const [[version]] = await pool.query<mysql.RowDataPacket[]>('SELECT VERSION() AS v');
  const server = parseServerVersion(String(version.v));
  const mariadb = server.flavor === 'mariadb';
  const jsonColumns = new Set(info.columns.filter((c) => c.dataType === 'json').map((c) => c.name));
  if (mariadb) {
    const [checks] = await pool.query<mysql.RowDataPacket[]>(
      'SELECT CHECK_CLAUSE AS clause FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ?',
      [schema, table],
    );
    for (const c of checks) {
      const m = /^json_valid\(`((?:[^`]|``)+)`\)$/i.exec(String(c.clause).trim());
      if (m) jsonColumns.add(m[1].replace(/``/g, '`'));
    }
  }
  let crcSharedInput = false;
  if (hasCrcChain(server)) {
    const [[probe]] = await pool.query<mysql.RowDataPacket[]>(CRC_SHARED_INPUT_PROBE);
    crcSharedInput = Number(probe.same) === Number(probe.n);
  }
  return { ...info, jsonColumns, mariadb, server, crcSharedInput };
}
