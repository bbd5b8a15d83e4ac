/**
 * Which server a connection reaches (MariaDB or MySQL, and its version) and the statements that server
 * understands. MySQL 8.4 removed SHOW MASTER STATUS and SHOW SLAVE STATUS (8.2 and 8.0.22 added SHOW
 * BINARY LOG STATUS and SHOW REPLICA STATUS, whose columns say Replica/Source); MariaDB keeps the
 * old forms (and its column names) in every version. Pure except serverInfo().
 */
import type { Pool, RowDataPacket } from 'mysql2/promise';

export interface ServerInfo {
  flavor: 'mariadb' | 'mysql';
  version: [number, number, number];
  text: string;
}

export interface ServerStatements {
  /** File, Position (and on MySQL Executed_Gtid_Set) of the binlog head. */
  binlogStatus: string;
  /** The replica's status, and the names of the columns read from it. */
  replicaStatus: string;
  replicaColumns: { ioRunning: string; sqlRunning: string; secondsBehind: string };
  /** How the GTID position matching a binlog offset is read. */
  gtid: 'binlog_gtid_pos' | 'executed_gtid_set';
}

/** From @@version (and @@version_comment): '10.11.6-MariaDB-0+deb12u1', '8.4.3', '8.0.36-0ubuntu0.22.04.1'. */
export function parseServerVersion(version: string, comment = ''): ServerInfo {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  const parts: [number, number, number] = m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [0, 0, 0];
  const flavor = /mariadb/i.test(version) || /mariadb/i.test(comment) ? 'mariadb' : 'mysql';
  return { flavor, version: parts, text: version };
}

function atLeast(v: [number, number, number], major: number, minor: number, patch: number): boolean {
  if (v[0] !== major) return v[0] > major;
  if (v[1] !== minor) return v[1] > minor;
  return v[2] >= patch;
}

export function statementsFor(info: ServerInfo): ServerStatements {
  if (info.flavor === 'mariadb') {
    return {
      binlogStatus: 'SHOW MASTER STATUS',
      replicaStatus: 'SHOW SLAVE STATUS',
      replicaColumns: {
        ioRunning: 'Slave_IO_Running',
        sqlRunning: 'Slave_SQL_Running',
        secondsBehind: 'Seconds_Behind_Master',
      },
      gtid: 'binlog_gtid_pos',
    };
  }
  const replica = atLeast(info.version, 8, 0, 22);
  return {
    binlogStatus: atLeast(info.version, 8, 2, 0) ? 'SHOW BINARY LOG STATUS' : 'SHOW MASTER STATUS',
    replicaStatus: replica ? 'SHOW REPLICA STATUS' : 'SHOW SLAVE STATUS',
    replicaColumns: replica
      ? {
          ioRunning: 'Replica_IO_Running',
          sqlRunning: 'Replica_SQL_Running',
          secondsBehind: 'Seconds_Behind_Source',
        }
      : {
          ioRunning: 'Slave_IO_Running',
          sqlRunning: 'Slave_SQL_Running',
          secondsBehind: 'Seconds_Behind_Master',
        },
    gtid: 'executed_gtid_set',
  };
}

const cache = new WeakMap<Pool, Promise<ServerInfo>>();

/** The server behind a pool (asked once per pool). */
export function serverInfo(pool: Pool): Promise<ServerInfo> {
  let p = cache.get(pool);
  if (!p) {
    p = pool
      .query<RowDataPacket[]>('SELECT @@version AS version, @@version_comment AS comment')
      .then(([rows]) => parseServerVersion(String(rows[0]?.version ?? ''), String(rows[0]?.comment ?? '')));
    p.catch(() => cache.delete(pool));
    cache.set(pool, p);
  }
  return p;
}

/** A problem of a source server setting that the binlog reader cannot work with (MySQL only). */
export interface SettingProblem {
  setting: string;
  message: string;
  fix: string;
}

/**
 * MySQL settings the binlog reader cannot decode: compressed transaction payloads
 * (binlog_transaction_compression=ON, 8.0.20+) and partial JSON updates
 * (binlog_row_value_options=PARTIAL_JSON: update images then lack the full JSON value).
 */
export function binlogSettingProblems(
  info: ServerInfo,
  vars: { binlog_transaction_compression?: unknown; binlog_row_value_options?: unknown },
): SettingProblem[] {
  if (info.flavor !== 'mysql') return [];
  const out: SettingProblem[] = [];
  const compression = String(vars.binlog_transaction_compression ?? '').toUpperCase();
  if (compression === '1' || compression === 'ON') {
    out.push({
      setting: 'binlog_transaction_compression',
      message:
        'binlog_transaction_compression is ON: the binlog reader cannot decode compressed transaction payloads',
      fix: 'SET PERSIST binlog_transaction_compression = OFF on the source (new transactions are written uncompressed)',
    });
  }
  if (/PARTIAL_JSON/i.test(String(vars.binlog_row_value_options ?? ''))) {
    out.push({
      setting: 'binlog_row_value_options',
      message:
        'binlog_row_value_options is PARTIAL_JSON: JSON updates are logged as diffs, not full row images',
      fix: "SET PERSIST binlog_row_value_options = '' on the source (full JSON values in update images)",
    });
  }
  return out;
}
