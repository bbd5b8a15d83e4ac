import { SPATIAL_TYPES } from '../../shared/mysql-types.js';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import type { BinlogPosition, MigrationEndpoints, PrecheckReport, Problem, TableSpec } from '../contracts.js';
import { getPool, resolveConnection } from '../db/connections.js';
import { quoteTable } from '../db/identifiers.js';
import { headPosition } from '../cdc/position.js';
import { binlogSettingProblems, serverInfo } from '../db/server.js';
import { statementAnnotationProblem } from '../bypass/precheck.js';
import { incompatibility } from './compat.js';
import { describeColumns, describeTable, estimateRows } from './describe.js';
import { sourceToTargetColumns } from './mapping.js';
import { createdByUs } from './prepare.js';
import { foreignKeyFindings } from './precheck-fks.js';
import { unknownZone, updatedAtZone, windowInZone } from '../repair/window-zone.js';
import type { TableInfo } from './types.js';

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Privileges granted to the session's user on *.* and on `db`.* (from SHOW GRANTS). */
async function grantedPrivileges(pool: Pool, db: string): Promise<Set<string>> {
  const [rows] = await pool.query<RowDataPacket[]>('SHOW GRANTS');
  const out = new Set<string>();
  for (const r of rows) {
    const line = String(Object.values(r)[0]);
    const m = /^GRANT (.+?) ON (\S+) TO /i.exec(line);
    if (!m) continue;
    const on = m[2].replace(/`/g, '');
    if (on !== '*.*' && on !== `${db}.*`) continue;
    for (const p of m[1].split(',')) out.add(p.trim().toUpperCase());
  }
  return out;
}

function has(granted: Set<string>, ...anyOf: string[]): boolean {
  return granted.has('ALL PRIVILEGES') || anyOf.some((p) => granted.has(p));
}

async function checkConnection(
  name: string,
  side: 'source' | 'target',
  problems: Problem[],
): Promise<Pool | null> {
  try {
    const pool = getPool(name);
    await pool.query('SELECT 1');
    return pool;
  } catch (err) {
    problems.push({
      side,
      setting: 'connection',
      message: `cannot connect to ${side} connection "${name}": ${message(err)}`,
      fix: `check MIGRATOR_DB_${name.toUpperCase()} on this worker, that the server is up, and the user's password/host grants`,
    });
    return null;
  }
}

async function checkSourceServer(pool: Pool, db: string, problems: Problem[]): Promise<void> {
  const [rows] = await pool.query<RowDataPacket[]>(
    'SELECT @@log_bin AS logBin, @@binlog_format AS format, @@binlog_row_image AS image',
  );
  const s = rows[0];
  if (Number(s.logBin) !== 1) {
    problems.push({
      side: 'source',
      setting: 'log_bin',
      message: 'the source has no binary log (log_bin=OFF)',
      fix: 'start the source with --log-bin (restart needed)',
    });
  }
  if (String(s.format).toUpperCase() !== 'ROW') {
    problems.push({
      side: 'source',
      setting: 'binlog_format',
      message: `binlog_format is ${s.format}, CDC needs ROW`,
      fix: "SET GLOBAL binlog_format='ROW' (and in the server config); writers pick it up on reconnect",
    });
  }
  if (String(s.image).toUpperCase() !== 'FULL') {
    problems.push({
      side: 'source',
      setting: 'binlog_row_image',
      message: `binlog_row_image is ${s.image}, CDC needs FULL row images`,
      fix: "SET GLOBAL binlog_row_image='FULL' (and in the server config)",
    });
  }
  // MySQL only: binlog formats the reader cannot decode (db/server.ts).
  const info = await serverInfo(pool);
  const annotation = await statementAnnotationProblem(pool, info.flavor);
  if (annotation) problems.push({ side: 'source', ...annotation });
  if (info.flavor === 'mysql') {
    const [vars] = await pool.query<RowDataPacket[]>(
      "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('binlog_transaction_compression', 'binlog_row_value_options')",
    );
    const values = Object.fromEntries(vars.map((v) => [String(v.Variable_name), v.Value]));
    for (const p of binlogSettingProblems(info, values)) problems.push({ side: 'source', ...p });
  }
  const granted = await grantedPrivileges(pool, db);
  if (!has(granted, 'REPLICATION SLAVE')) {
    problems.push({
      side: 'source',
      setting: 'privilege REPLICATION SLAVE',
      message: 'the source user lacks REPLICATION SLAVE (needed to read the binlog)',
      fix: 'GRANT REPLICATION SLAVE ON *.* TO <user>',
    });
  }
  if (!has(granted, 'BINLOG MONITOR', 'REPLICATION CLIENT', 'SUPER')) {
    problems.push({
      side: 'source',
      setting: 'privilege BINLOG MONITOR',
      message:
        'the source user lacks BINLOG MONITOR / REPLICATION CLIENT (needed for SHOW MASTER STATUS / SHOW BINARY LOG STATUS)',
      fix: 'GRANT BINLOG MONITOR ON *.* TO <user> (MySQL: REPLICATION CLIENT)',
    });
  }
  if (!has(granted, 'SELECT')) {
    problems.push({
      side: 'source',
      setting: 'privilege SELECT',
      message: `the source user lacks SELECT on ${db}`,
      fix: `GRANT SELECT ON \`${db}\`.* TO <user>`,
    });
  }
}

async function checkTargetServer(pool: Pool, db: string, problems: Problem[]): Promise<void> {
  // The bypass watcher reads the target's binlog too (while dual writing): statement text needed there.
  const annotation = await statementAnnotationProblem(pool, (await serverInfo(pool)).flavor);
  if (annotation) problems.push({ side: 'target', ...annotation });
  const granted = await grantedPrivileges(pool, db);
  const missing = ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'CREATE', 'DROP'].filter((p) => !has(granted, p));
  if (missing.length) {
    problems.push({
      side: 'target',
      setting: `privilege ${missing.join(', ')}`,
      message: `the target user lacks ${missing.join(', ')} on ${db}`,
      fix: `GRANT ${missing.join(', ')} ON \`${db}\`.* TO <user>`,
    });
  }
}

async function checkTargetTable(
  spec: TableSpec,
  source: TableInfo,
  target: Pool,
  targetConn: string,
  targetDb: string,
  problems: Problem[],
): Promise<void> {
  const name = spec.targetName ?? spec.name;
  let cols;
  try {
    cols = await describeColumns(target, targetDb, name);
  } catch {
    return; // absent: PREPARE_TARGET creates it
  }
  const byName = new Map(cols.map((c) => [c.name, c]));
  for (const m of sourceToTargetColumns(spec, source)) {
    const t = byName.get(m.to);
    const s = source.columns.find((c) => c.name === m.from)!;
    if (!t) {
      problems.push({
        table: spec.name,
        column: m.from,
        side: 'target',
        message: `target table ${name} has no column ${m.to}`,
        fix: 'add the column on the target, map it (columnMap) or exclude it (excludeColumns)',
      });
      continue;
    }
    if (t.generated) {
      problems.push({
        table: spec.name,
        column: m.from,
        side: 'target',
        message: `target column ${name}.${m.to} is generated`,
        fix: 'exclude the source column (excludeColumns) or make the target column a plain one',
      });
      continue;
    }
    const why = incompatibility(s, t);
    if (why) {
      problems.push({
        table: spec.name,
        column: m.from,
        side: 'target',
        message: `column ${spec.name}.${m.from} -> ${name}.${m.to}: ${why}`,
        fix: `change the target column to ${s.columnType} (or a wider compatible type)`,
      });
    }
  }
  const [rows] = await target.query<RowDataPacket[]>(`SELECT 1 FROM ${quoteTable(targetDb, name)} LIMIT 1`);
  if (rows.length && !(await createdByUs(targetConn, name))) {
    problems.push({
      table: spec.name,
      side: 'target',
      message: `target table ${name} already holds rows and was not created by this migration`,
      fix: 'empty it (TRUNCATE) if its rows are disposable, or point the plan at an empty table',
    });
  }
}

/**
 * Checks everything a migration needs before it starts: both connections, source binlog settings and
 * privileges, target privileges, every table present with a usable key, configured columns existing,
 * existing target tables compatible and empty. Never throws for a finding: each is a Problem naming the
 * table/column/setting and the fix.
 */
export async function precheck(input: MigrationEndpoints): Promise<PrecheckReport> {
  const problems: Problem[] = [];
  const notes: Problem[] = [];
  const tables: PrecheckReport['tables'] = [];
  let sourcePosition: BinlogPosition = { file: '', pos: 0 };
  const source = await checkConnection(input.source, 'source', problems);
  const target = await checkConnection(input.target, 'target', problems);
  const sourceDb = resolveConnection(input.source).database;
  const targetDb = resolveConnection(input.target).database;
  if (source) {
    await checkSourceServer(source, sourceDb, problems).catch((err) =>
      problems.push({
        side: 'source',
        setting: 'server',
        message: `cannot read source settings: ${message(err)}`,
        fix: 'check the source user can run SHOW GRANTS and read @@ variables',
      }),
    );
    try {
      sourcePosition = await headPosition(source);
    } catch (err) {
      if (!problems.some((p) => p.setting === 'log_bin')) {
        problems.push({
          side: 'source',
          setting: 'binlog position',
          message: `cannot read the source binlog position: ${message(err)}`,
          fix: 'GRANT BINLOG MONITOR ON *.* TO <user>',
        });
      }
    }
  }
  if (target) {
    await checkTargetServer(target, targetDb, problems).catch((err) =>
      problems.push({
        side: 'target',
        setting: 'server',
        message: `cannot read target grants: ${message(err)}`,
        fix: 'check the target user can run SHOW GRANTS',
      }),
    );
  }
  for (const spec of input.tables) {
    if (!source) break;
    let info: TableInfo;
    try {
      info = await describeTable(source, sourceDb, spec.name, spec.key);
      sourceToTargetColumns(spec, info);
    } catch (err) {
      problems.push({ table: spec.name, side: 'source', message: message(err), fix: fixFor(err) });
      continue;
    }
    try {
      await source.query(`SELECT 1 FROM ${quoteTable(sourceDb, spec.name)} LIMIT 0`);
    } catch (err) {
      problems.push({
        table: spec.name,
        side: 'source',
        setting: 'privilege SELECT',
        message: `cannot read ${spec.name}: ${message(err)}`,
        fix: `GRANT SELECT ON \`${sourceDb}\`.\`${spec.name}\` TO <user>`,
      });
    }
    const updatedAtProblem = updatedAtColumnProblem(spec, info);
    if (updatedAtProblem) problems.push(updatedAtProblem);
    else await updatedAtZoneFinding(source, spec, info, { problems, notes });
    const copied = new Set(sourceToTargetColumns(spec, info).map((c) => c.from));
    for (const col of info.columns) {
      if (!copied.has(col.name) || !SPATIAL_TYPES.has(col.dataType) || col.dataType === 'point') continue;
      problems.push({
        table: spec.name,
        column: col.name,
        side: 'source',
        message: `${spec.name}.${col.name} is ${col.dataType.toUpperCase()}: binlog sync carries only POINT spatial values exactly`,
        fix: `add ${col.name} to the table's excludeColumns (and fill it on the target separately), or store it as POINT/WKB`,
      });
    }
    tables.push({
      name: spec.name,
      key: info.key.columns,
      estimatedRows: await estimateRows(source, sourceDb, spec.name),
    });
    if (target) await checkTargetTable(spec, info, target, input.target, targetDb, problems);
  }
  if (source) {
    await foreignKeyFindings(input, source, target, { problems, notes }).catch((err) =>
      problems.push({
        side: 'source',
        setting: 'foreign keys',
        message: `cannot read foreign keys: ${message(err)}`,
        fix: 'check the source user can read information_schema.REFERENTIAL_CONSTRAINTS',
      }),
    );
  }
  return { ok: problems.length === 0, problems, notes, tables, sourcePosition };
}

/** The repair loop's updated_at windows need that column to exist and hold a point in time. */
function updatedAtColumnProblem(spec: TableSpec, info: TableInfo): Problem | null {
  const name = spec.updatedAtColumn;
  if (!name) return null;
  const col = info.columns.find((c) => c.name === name);
  const fix =
    'set tables[].updatedAtColumn to a DATETIME/TIMESTAMP column every write updates, or leave it out (the repair loop then verifies the whole table)';
  if (!col)
    return {
      table: spec.name,
      column: name,
      side: 'source',
      message: `updatedAtColumn ${spec.name}.${name} does not exist`,
      fix,
    };
  if (!['datetime', 'timestamp'].includes(col.dataType))
    return {
      table: spec.name,
      column: name,
      side: 'source',
      message: `updatedAtColumn ${spec.name}.${name} is ${col.columnType}, not a DATETIME or TIMESTAMP`,
      fix,
    };
  return null;
}

/**
 * A DATETIME updatedAtColumn holds the application's wall clock: the repair loop moves its UTC windows
 * into the zone the plan names (or the server's default). Notes the zone assumed; a zone the server
 * cannot convert into is a problem.
 */
async function updatedAtZoneFinding(
  pool: Pool,
  spec: TableSpec,
  info: TableInfo,
  out: { problems: Problem[]; notes: Problem[] },
): Promise<void> {
  const col = info.columns.find((c) => c.name === spec.updatedAtColumn);
  if (!col || col.dataType !== 'datetime') return;
  const zone = await updatedAtZone(pool, spec);
  const base = { table: spec.name, column: col.name, side: 'source' as const, setting: 'updatedAtTimeZone' };
  try {
    await windowInZone(pool, spec, zone, '2000-01-01 00:00:00', '2000-01-01 00:00:01');
  } catch (err) {
    const e = err instanceof Error ? err : unknownZone(spec, zone);
    out.problems.push({
      ...base,
      message: e.message,
      fix: 'load the time zone tables on the source server, or set tables[].updatedAtTimeZone to an offset such as +09:00',
    });
    return;
  }
  out.notes.push({
    ...base,
    message:
      `${spec.name}.${col.name} is DATETIME: the repair loop assumes the application writes it in time zone ${zone}` +
      (spec.updatedAtTimeZone
        ? ' (tables[].updatedAtTimeZone)'
        : " (the source server's @@global.time_zone)"),
    fix: 'if the application writes it in another zone, set tables[].updatedAtTimeZone (e.g. +09:00 or Asia/Tokyo)',
  });
}

function fixFor(err: unknown): string {
  const name = (err as Error).name;
  if (name === 'TableNotFoundError')
    return 'fix the table name in the plan, or create the table on the source';
  if (name === 'NoUsableKeyError')
    return 'add a PRIMARY KEY or a UNIQUE key over NOT NULL columns, or set tables[].key';
  if (name === 'UnknownColumnError') return 'fix the column name in columnMap/excludeColumns/key';
  return 'fix the table entry in the plan';
}
