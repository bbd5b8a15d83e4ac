/**
 * What an error means for the run: `fatal` (retrying cannot help: an operator must change something,
 * named by `table` / `setting` and `fix`) or `transient` (connection trouble, deadlocks, lock waits,
 * timeouts: retry with back-off). Pure: the activity wrappers turn the answer into Temporal failures.
 * Unknown errors are transient: the run retries them and shows the attempt count and the last error.
 */

export interface ErrorClass {
  kind: 'fatal' | 'transient';
  /** Failure type (Temporal ApplicationFailure type): BinlogPurged, TableMissing, PrivilegeMissing, ... */
  type: string;
  /** What happened, in the server's or the data plane's words. */
  message: string;
  /** What the operator does about it (fatal only). */
  fix?: string;
  table?: string;
  setting?: string;
  errno?: number;
  code?: string;
}

/** Data-plane errors whose message already names the table/column/setting and the fix. */
const CONFIGURATION_ERRORS = new Set([
  'TableNotFoundError',
  'NoUsableKeyError',
  'UnknownColumnError',
  'ColumnMappingError',
  'IncompatibleTablesError',
  'InvalidIdentifierError',
  'ConnectionNotConfiguredError',
  'InvalidIdError',
  'InvalidSwitchChangeError',
  'StreamNotStartedError',
  'SyncNotStartedError',
  // The binlog says something the applier must not guess about: an operator has to look.
  'DdlOnWatchedTableError',
  'StatementFormatError',
  'RowImageError',
  'BinlogUnavailableError',
  'UnsupportedServerError',
  'ForeignKeyOrderError',
  'UnknownTimeZoneError',
]);

const TRANSIENT_ERRNOS = new Map<number, string>([
  [1213, 'Deadlock'],
  [1205, 'LockWaitTimeout'],
  [1969, 'StatementTimeout'], // MariaDB max_statement_time
  [3024, 'StatementTimeout'], // MySQL max_execution_time
  [1317, 'QueryInterrupted'],
  [1927, 'ConnectionKilled'],
  [1040, 'TooManyConnections'],
  [1203, 'TooManyConnections'],
  [1053, 'ServerShutdown'],
  [1021, 'DiskFull'],
  [1114, 'TableFull'],
  [2006, 'ConnectionLost'],
  [2013, 'ConnectionLost'],
  [1152, 'ConnectionLost'],
  [1158, 'ConnectionLost'],
  [1159, 'ConnectionLost'],
  [1160, 'ConnectionLost'],
  [1161, 'ConnectionLost'],
]);

const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'POOL_CLOSED',
]);

/** Node's TLS verification failures: the server's certificate does not match the connection's ssl-* settings. */
const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'HOSTNAME_MISMATCH',
]);

/** Statements the server refuses for what they contain: the target's definition does not fit the data. */
const REJECTED_ERRNOS = new Set([
  1048, 1054, 1062, 1064, 1118, 1216, 1217, 1264, 1265, 1292, 1364, 1366, 1367, 1406, 1451, 1452, 1690, 3140,
  4025,
]);

const PRIVILEGE_ERRNOS = new Set([1044, 1142, 1143, 1227, 1370]);

function tableIn(message: string): string | undefined {
  const m =
    /Table '([^']+)' doesn't exist/i.exec(message) ??
    /for table [`']([^`']+)[`'](?:\.[`']([^`']+)[`'])?/i.exec(message) ??
    /table [`']([^`']+)[`']/i.exec(message);
  if (!m) return undefined;
  return m[2] ? `${m[1]}.${m[2]}` : m[1];
}

function columnIn(message: string): string | undefined {
  return /column '([^']+)'/i.exec(message)?.[1] ?? /Unknown column '([^']+)'/i.exec(message)?.[1];
}

function fatal(type: string, message: string, fix: string, extra: Partial<ErrorClass> = {}): ErrorClass {
  return { kind: 'fatal', type, message, fix, ...extra };
}

export function classifyError(err: unknown): ErrorClass {
  const e = (err ?? {}) as {
    name?: string;
    message?: string;
    errno?: number;
    code?: string;
    fatal?: boolean;
  };
  const message = e.message ?? String(err);
  const errno = typeof e.errno === 'number' ? e.errno : undefined;
  const code = typeof e.code === 'string' ? e.code : undefined;
  const ids = { ...(errno !== undefined ? { errno } : {}), ...(code ? { code } : {}) };

  if (e.name && CONFIGURATION_ERRORS.has(e.name)) {
    // Errors about one table carry it (schema, table): the failed gate names it as data too.
    const t = err as { schema?: unknown; table?: unknown };
    const table =
      typeof t.table === 'string'
        ? typeof t.schema === 'string'
          ? `${t.schema}.${t.table}`
          : t.table
        : undefined;
    return fatal(e.name, message, '', { ...ids, ...(table ? { table } : {}) });
  }

  if (errno === 1236) {
    return fatal(
      'BinlogPurged',
      `the source no longer has the binlog this stream resumes from: ${message}`,
      'the stream cannot continue: roll back to before START_SYNC and run the sync and copy again from a new position; ' +
        'keep binlogs longer than the longest pause (binlog_expire_logs_seconds / expire_logs_days)',
      { ...ids, setting: 'binlog retention' },
    );
  }
  if (errno === 1146) {
    const table = tableIn(message);
    return fatal(
      'TableMissing',
      message,
      `restore or re-create ${table ?? 'the table'} (or remove it from the plan), then advance to retry; or roll back`,
      { ...ids, ...(table ? { table } : {}) },
    );
  }
  if (errno !== undefined && PRIVILEGE_ERRNOS.has(errno)) {
    const table = tableIn(message);
    const command = /^(\w+(?: \w+)?) command denied/i.exec(message)?.[1];
    const needed = /you need (?:\(at least one of\) )?the ([A-Z ,_]+) privilege/i.exec(message)?.[1];
    const privilege = (command ?? needed ?? 'the missing').toUpperCase();
    return fatal(
      'PrivilegeMissing',
      message,
      `GRANT ${privilege} ${table ? `ON ${table} ` : ''}to the migration user (the full list is in precheck), then advance to retry`,
      { ...ids, setting: `privilege ${privilege}`, ...(table ? { table } : {}) },
    );
  }
  if (errno === 1045) {
    return fatal(
      'AccessDenied',
      message,
      'the server refused the user or password (changed, dropped, or REQUIRE X509 without a client certificate): fix MIGRATOR_DB_<NAME> on the workers or the account, then advance',
      { ...ids, setting: 'credentials' },
    );
  }
  if (errno === 1049) {
    return fatal(
      'UnknownDatabase',
      message,
      'fix the database in MIGRATOR_DB_<NAME> (mysql://.../<database>)',
      {
        ...ids,
        setting: 'database',
      },
    );
  }
  if (errno === 1290 || errno === 1836) {
    return fatal(
      'ServerReadOnly',
      message,
      'the server runs read-only: SET GLOBAL read_only = OFF (and super_read_only) on it, or point the connection at the primary; then advance',
      { ...ids, setting: 'read_only' },
    );
  }
  if (errno === 1153 || errno === 1301) {
    return fatal(
      'PacketTooLarge',
      message,
      'raise max_allowed_packet on the server (SET GLOBAL max_allowed_packet = 268435456), or lower the table chunkSize; then advance',
      { ...ids, setting: 'max_allowed_packet' },
    );
  }
  if (errno === 1129) {
    return fatal(
      'HostBlocked',
      message,
      'unblock the worker host on the server: FLUSH HOSTS (mariadb-admin flush-hosts)',
      {
        ...ids,
        setting: 'max_connect_errors',
      },
    );
  }
  if (errno !== undefined && REJECTED_ERRNOS.has(errno)) {
    const table = tableIn(message);
    const column = columnIn(message);
    return fatal(
      'StatementRejected',
      `the server rejected a statement: ${message}`,
      'the target table does not fit the data (column type, NULL, default, unique or check constraint): align its definition with the source (precheck lists incompatible columns), then advance; or roll back',
      { ...ids, ...(table ? { table } : {}), ...(column ? { setting: `column ${column}` } : {}) },
    );
  }
  if (code && TLS_CODES.has(code)) {
    return fatal(
      'TlsVerificationFailed',
      `TLS: the server's certificate is not trusted: ${message}`,
      'check ssl-ca (the CA that signed the server certificate) and ssl-mode in MIGRATOR_DB_<NAME> / MIGRATOR_REDIS_URL, or the server certificate (host name, expiry)',
      { ...ids, setting: 'ssl-ca' },
    );
  }
  if (/WRONGPASS|NOAUTH|NOPERM/.test(message)) {
    return fatal('RedisAccessDenied', message, 'fix the user/password or ACL of MIGRATOR_REDIS_URL', {
      setting: 'MIGRATOR_REDIS_URL',
    });
  }

  if (errno !== undefined && TRANSIENT_ERRNOS.has(errno)) {
    return { kind: 'transient', type: TRANSIENT_ERRNOS.get(errno)!, message, ...ids };
  }
  if ((code && TRANSIENT_CODES.has(code)) || e.fatal === true) {
    return { kind: 'transient', type: 'ConnectionError', message, ...ids };
  }
  if (e.name === 'MaxRetriesPerRequestError') return { kind: 'transient', type: 'RedisUnavailable', message };
  return { kind: 'transient', type: e.name && e.name !== 'Error' ? e.name : 'Error', message, ...ids };
}

/** One line for an operator: what happened, and for a fatal error, the fix. */
export function describeClass(c: ErrorClass): string {
  const where = [c.table && `table ${c.table}`, c.setting].filter(Boolean).join(', ');
  const head = `${c.message}${c.errno !== undefined ? ` [errno ${c.errno}]` : ''}`;
  if (c.kind !== 'fatal' || !c.fix) return head;
  return `${head}${where ? ` (${where})` : ''}. Fix: ${c.fix}`;
}
