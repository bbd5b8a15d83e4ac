/**
 * The binlog setting the bypass watcher needs: the statement text next to row events, where the
 * router's and the product's tags are read (README.md).
 */
import type { Pool, RowDataPacket } from 'mysql2/promise';

export interface AnnotationProblem {
  setting: string;
  message: string;
  fix: string;
}

/** MariaDB: binlog_annotate_row_events; MySQL: binlog_rows_query_log_events. Null when on. */
export async function statementAnnotationProblem(
  pool: Pool,
  flavor: 'mariadb' | 'mysql',
): Promise<AnnotationProblem | null> {
  const setting = flavor === 'mariadb' ? 'binlog_annotate_row_events' : 'binlog_rows_query_log_events';
  const [rows] = await pool.query<RowDataPacket[]>(`SELECT @@GLOBAL.${setting} AS v`);
  const v = String(rows[0]?.v ?? '').toUpperCase();
  if (v === '1' || v === 'ON') return null;
  return {
    setting,
    message: `${setting} is OFF: the binlog keeps no statement text, so writes that bypass the router cannot be told from router writes`,
    fix:
      flavor === 'mariadb'
        ? 'SET GLOBAL binlog_annotate_row_events = ON (and in the server config); writers pick it up on reconnect'
        : 'SET PERSIST binlog_rows_query_log_events = ON on the source; writers pick it up on reconnect',
  };
}
