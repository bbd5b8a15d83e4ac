import ZongJi, { type AnyBinlogEvent, type RowData, type UpdateRowData } from '@vlasky/zongji';
import type { BinlogPosition } from '../contracts.js';
import { getPool, resolveConnection } from '../db/connections.js';
import { mysqlSsl } from '../db/tls.js';
import { watchStream } from '../db/watchdog.js';
import { assertIdentifier } from '../db/identifiers.js';
import {
  DdlOnWatchedTableError,
  StatementFormatError,
  type BinlogTransaction,
  type RowChange,
} from './events.js';
import { StreamGtid } from './gtid.js';
import { loadColumnSchemas, realignCharsets } from './charsets.js';
import { assertNotPurged, binlogFileIndex, headPosition } from './position.js';
import { isTransactionControl, touchedTable } from './statements.js';

export interface BinlogStreamOptions {
  /** Named connection whose binlog is read (credentials resolved on this worker). */
  connection: string;
  /** Database of the watched tables; default: the connection's database. */
  schema?: string;
  /** Watched tables (names in `schema`). Row events of other tables are dropped. */
  tables: string[];
  /** First transaction delivered is the one after this position; 'head' = the server's current end. */
  from: BinlogPosition | 'head';
  /** Replica server id announced to the source; must be unique among its replicas. Default: random. */
  serverId?: number;
  /** Server heartbeat period on an idle connection (ms). Default 1000. */
  heartbeatMs?: number;
  /** Reconnect when nothing (not even a heartbeat) arrived for this long (ms). Default 4 x heartbeat. */
  watchdogMs?: number;
  /** Reconnect back-off bounds (ms). Defaults 100 .. 5000. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Give up after this many consecutive failed connection attempts. Default: never. */
  maxAttempts?: number;
  /** Pause the socket while this many transactions wait for the consumer. Default 256. */
  highWaterMark?: number;
  /**
   * A transaction with more row changes than this is delivered in fragments of this size (`partial`),
   * so a huge source transaction never sits whole in memory; the socket also pauses while this many
   * rows wait for the consumer. Default 10,000.
   */
  fragmentRows?: number;
  /** Pause the socket while this many rows wait for the consumer (resume below half). Default 2 x fragmentRows. */
  bufferRows?: number;
  /**
   * Attach to each row change the text of the statement that made it (`RowChange.statement`): MariaDB
   * ANNOTATE_ROWS events (requested from the server), MySQL Rows_query events
   * (binlog_rows_query_log_events=ON). Used by the bypass watcher.
   */
  annotations?: boolean;
  /** Stops the stream (the iterator ends without error). */
  signal?: AbortSignal;
  /** Called on each reconnect (for logs/metrics; never receives credentials). */
  onReconnect?: (info: { attempt: number; error: string; from: BinlogPosition }) => void;
}

export interface BinlogStream extends AsyncIterable<BinlogTransaction> {
  /** Resume point after the last transaction handed to the consumer. */
  readonly position: BinlogPosition;
  /** Connections made so far (1 + reconnects). */
  readonly connects: number;
  /** Transactions received and not yet taken by the consumer (next() resolves at once while > 0). */
  readonly buffered: number;
  close(): Promise<void>;
}

/** Errors after which reconnecting cannot help. */
const FATAL_ERRNOS = new Set([1045, 1227, 1236, 1044, 1945, 1955, 1049]);

function isFatal(err: unknown): boolean {
  if (err instanceof DdlOnWatchedTableError || err instanceof StatementFormatError) return true;
  const errno = (err as { errno?: number }).errno;
  return typeof errno === 'number' && FATAL_ERRNOS.has(errno);
}

interface OpenTx {
  gtid?: string;
  gtidParts?: { domainId: number; serverId: number; seqNo: number | string };
  standalone: boolean;
  changes: RowChange[];
  timestamp: number;
}

/**
 * Opens a binlog stream over @vlasky/zongji with what the library lacks: its own reconnect loop with
 * back-off (resuming from the last transaction delivered, so nothing is lost or duplicated across
 * reconnects), a watchdog (server heartbeats requested with @master_heartbeat_period; silence beyond
 * watchdogMs forces a reconnect), transaction grouping (GTID/BEGIN .. XID/COMMIT), socket back-pressure,
 * and a hard stop on DDL or statement-logged DML touching a watched table.
 *
 *   const stream = await openBinlogStream({ connection: 'source', tables: ['t'], from: pos });
 *   for await (const tx of stream) { ...; checkpoint(tx.position) }
 */
export async function openBinlogStream(opts: BinlogStreamOptions): Promise<BinlogStream> {
  const conn = resolveConnection(opts.connection);
  const schema = assertIdentifier(opts.schema ?? conn.database, 'schema');
  const watched = new Set(opts.tables.map((t) => assertIdentifier(t, 'table')));
  const heartbeatMs = opts.heartbeatMs ?? 1000;
  const watchdogMs = opts.watchdogMs ?? heartbeatMs * 4;
  const minBackoff = opts.minBackoffMs ?? 100;
  const maxBackoff = opts.maxBackoffMs ?? 5000;
  const highWater = opts.highWaterMark ?? 256;
  const fragmentRows = Math.max(1, opts.fragmentRows ?? 10_000);
  const bufferRows = Math.max(2 * fragmentRows, opts.bufferRows ?? 0);
  const serverId = opts.serverId ?? 100_000 + Math.floor(Math.random() * 1_000_000_000);

  // A position the server no longer holds is a fatal error (position.ts), not a silent reconnect loop.
  if (opts.from !== 'head') await assertNotPurged(getPool(opts.connection), opts.from);
  let committed: BinlogPosition =
    opts.from === 'head' ? await headPosition(getPool(opts.connection)) : { ...opts.from };
  const columnSchemas = await loadColumnSchemas(getPool(opts.connection), schema, [...watched]);

  const queue: BinlogTransaction[] = [];
  let queuedRows = 0;
  let failure: unknown = null;
  let ended = false;
  let wake: (() => void) | null = null;
  const notify = () => {
    const w = wake;
    wake = null;
    w?.();
  };

  let zongji: ZongJi | null = null;
  let epoch = 0;
  let attempt = 0;
  let connects = 0;
  let paused = false;
  let lastActivity = Date.now();
  let reconnectTimer: NodeJS.Timeout | null = null;
  // The GTID position after the last transaction received (not necessarily consumed).
  let received: BinlogPosition = { ...committed };
  let gtidPos = StreamGtid.parse(received.gtid);

  const stopCurrent = () => {
    epoch++;
    const z = zongji;
    zongji = null;
    paused = false;
    if (z) {
      try {
        z.removeAllListeners('binlog');
        z.on('error', () => undefined);
        z.stop();
      } catch {
        // already closed
      }
    }
  };

  // Hung-work detection (db/watchdog.ts): silence while not paused by the consumer counts as a stall.
  const unwatch = watchStream(`binlog of "${opts.connection}"`, () => (paused ? Date.now() : lastActivity));

  const finish = (err: unknown) => {
    if (ended) return;
    ended = true;
    unwatch();
    failure = err;
    if (reconnectTimer) clearTimeout(reconnectTimer);
    clearInterval(watchdog);
    stopCurrent();
    notify();
  };

  const scheduleReconnect = (err: unknown) => {
    if (ended) return;
    if (isFatal(err)) return finish(err);
    stopCurrent();
    attempt++;
    if (opts.maxAttempts !== undefined && attempt > opts.maxAttempts) return finish(err);
    const from = { ...received };
    opts.onReconnect?.({ attempt, error: err instanceof Error ? err.message : String(err), from });
    const delay = Math.min(maxBackoff, minBackoff * 2 ** Math.min(attempt - 1, 10));
    if (reconnectTimer) clearTimeout(reconnectTimer);
    reconnectTimer = setTimeout(() => {
      reconnectTimer = null;
      connect();
    }, delay);
  };

  const connect = () => {
    if (ended) return;
    const myEpoch = ++epoch;
    const from = { ...received };
    gtidPos = StreamGtid.parse(from.gtid);
    const z = new ZongJi({
      host: conn.host,
      port: conn.port,
      user: conn.user,
      password: conn.password,
      dateStrings: true,
      timezone: 'Z',
      supportBigNumbers: true,
      bigNumberStrings: true,
      decimalNumbers: false,
      charset: 'utf8mb4_general_ci',
      connectTimeout: 10_000,
      // The binlog connection is TLS-protected like the pools (the connection's ssl-* settings).
      ...(conn.tls ? { ssl: mysqlSsl(conn.tls) } : {}),
    });
    zongji = z;
    connects++;
    lastActivity = Date.now();
    let tx: OpenTx | null = null;
    let file = from.file;
    // The statement text of the row events that follow (annotations only; reset per transaction).
    let statement: string | null = null;
    const withStatement = <C extends RowChange>(c: C): C => (opts.annotations ? { ...c, statement } : c);

    const commit = (nextPosition: number) => {
      if (!tx) return;
      if (tx.gtidParts) gtidPos.addMariadb(tx.gtidParts);
      else if (tx.gtid) gtidPos.addMysql(tx.gtid);
      const gtid = gtidPos.toString();
      const position: BinlogPosition = {
        file,
        pos: nextPosition,
        ...(gtid || from.gtid !== undefined ? { gtid } : {}),
      };
      received = position;
      enqueue({ gtid: tx.gtid, position, timestamp: tx.timestamp, changes: tx.changes });
      tx = null;
      statement = null;
    };

    const enqueue = (item: BinlogTransaction) => {
      queue.push(item);
      queuedRows += item.changes.length;
      if ((queue.length >= highWater || queuedRows >= bufferRows) && !paused && z.connection) {
        paused = true;
        z.connection.pause();
      }
      notify();
    };

    // A big transaction goes out in fragments as its rows arrive. After a reconnect the transaction is
    // read again from its start: a consumer that applied some fragments applies them again before the
    // rest, which ends in the same state (row images are applied idempotently, in order).
    const flushFragment = () => {
      if (!tx || tx.changes.length < fragmentRows) return;
      enqueue({
        gtid: tx.gtid,
        position: { ...received },
        timestamp: tx.timestamp,
        changes: tx.changes,
        partial: true,
      });
      tx.changes = [];
    };

    const positionHere = (nextPosition: number): BinlogPosition => ({
      file,
      pos: nextPosition,
      gtid: tx?.gtid,
    });

    const onEvent = (event: AnyBinlogEvent) => {
      if (myEpoch !== epoch) return;
      lastActivity = Date.now();
      attempt = 0;
      switch (event.getEventName()) {
        case 'tablemap': {
          const e = event as Extract<AnyBinlogEvent, { getEventName(): 'tablemap' }>;
          if (e.schemaName === schema && watched.has(e.tableName))
            realignCharsets(e, z.isMariaDb, columnSchemas);
          return;
        }
        case 'rotate': {
          const e = event as Extract<AnyBinlogEvent, { getEventName(): 'rotate' }>;
          file = e.binlogName;
          return;
        }
        case 'mariadbgtid': {
          const e = event as Extract<AnyBinlogEvent, { getEventName(): 'mariadbgtid' }>;
          if (e.preparedXa) {
            throw new Error(
              `XA PREPARE group ${e.gtid} on the source: XA transactions are not supported by the binlog reader`,
            );
          }
          statement = null;
          tx = {
            gtid: e.gtid,
            gtidParts: { domainId: e.domainId, serverId: e.serverId, seqNo: e.seqNo },
            standalone: e.standalone,
            changes: [],
            timestamp: e.timestamp,
          };
          return;
        }
        case 'annotaterows':
        case 'rowsquery':
          statement = (event as { statement?: string }).statement ?? null;
          return;
        case 'gtid':
        case 'anonymousgtid':
          statement = null;
          tx = {
            gtid: (event as { gtid?: string }).gtid,
            standalone: false,
            changes: [],
            timestamp: event.timestamp,
          };
          return;
        case 'writerows':
        case 'updaterows':
        case 'deleterows': {
          const e = event as Extract<
            AnyBinlogEvent,
            { getEventName(): 'writerows' | 'updaterows' | 'deleterows' }
          >;
          const entry = e.tableMap[e.tableId];
          if (!entry || entry.parentSchema !== schema || !watched.has(entry.tableName)) return;
          tx ??= { standalone: false, changes: [], timestamp: event.timestamp };
          const table = entry.tableName;
          if (e.getEventName() === 'writerows') {
            for (const r of e.rows as RowData[])
              tx.changes.push(withStatement({ kind: 'insert', table, after: r }));
          } else if (e.getEventName() === 'deleterows') {
            for (const r of e.rows as RowData[])
              tx.changes.push(withStatement({ kind: 'delete', table, before: r }));
          } else {
            for (const r of e.rows as UpdateRowData[])
              tx.changes.push(withStatement({ kind: 'update', table, before: r.before, after: r.after }));
          }
          flushFragment();
          return;
        }
        case 'xid':
          commit(event.nextPosition);
          return;
        case 'heartbeat': {
          // Idle and between transactions: the server's position moves past non-transaction events
          // (a new file after a restart or rotation), so report it as an empty transaction.
          const e = event as Extract<AnyBinlogEvent, { getEventName(): 'heartbeat' }>;
          const pos = typeof e.position === 'number' ? e.position : e.nextPosition;
          if (tx || !e.binlogName || !(pos > 0)) return;
          file = e.binlogName;
          const ahead =
            file !== received.file
              ? binlogFileIndex(file) > binlogFileIndex(received.file)
              : pos > received.pos;
          if (!ahead) return;
          tx = { standalone: true, changes: [], timestamp: Date.now() };
          commit(pos);
          return;
        }
        case 'query': {
          const e = event as Extract<AnyBinlogEvent, { getEventName(): 'query' }>;
          const control = isTransactionControl(e.query);
          if (control === 'begin') {
            tx ??= { standalone: false, changes: [], timestamp: e.timestamp };
            return;
          }
          if (control === 'commit') return commit(e.nextPosition);
          if (control === 'rollback') {
            tx = null;
            return;
          }
          const inOurSchema = (e.schema || schema) === schema || e.query.includes(schema);
          if (inOurSchema) {
            const ddl = touchedTable(e.query, watched, 'ddl');
            if (ddl) throw new DdlOnWatchedTableError(ddl, e.query, positionHere(e.nextPosition));
            const dml = touchedTable(e.query, watched, 'dml');
            if (dml) throw new StatementFormatError(dml, positionHere(e.nextPosition));
          }
          // A standalone group (DDL elsewhere, ...) ends with its single query event.
          if (!tx || tx.standalone) {
            tx ??= { standalone: true, changes: [], timestamp: e.timestamp };
            commit(e.nextPosition);
          }
          return;
        }
        default:
          return;
      }
    };

    z.on('binlog', (event: AnyBinlogEvent) => {
      try {
        onEvent(event);
      } catch (err) {
        // Our own checks (DDL, statement format, XA) failed: reconnecting would meet the same event.
        if (myEpoch === epoch) finish(err);
      }
    });
    z.on('error', (err: Error) => {
      if (myEpoch === epoch) scheduleReconnect(err);
    });
    z.on('stopped', () => {
      if (myEpoch === epoch && !ended) scheduleReconnect(new Error('binlog connection closed by the server'));
    });
    // The binlog connection runs this before zongji's own preamble: MariaDB (and MySQL) dump threads
    // send a heartbeat event after this many nanoseconds of idleness.
    z.connection?.query('SET @master_heartbeat_period = ?', [BigInt(heartbeatMs) * 1_000_000n], (err) => {
      if (err && myEpoch === epoch) scheduleReconnect(err);
    });
    z.connection?.on('end', () => {
      if (myEpoch === epoch && !ended) scheduleReconnect(new Error('binlog connection ended'));
    });
    const start =
      from.gtid !== undefined && from.gtid !== ''
        ? { gtidSet: from.gtid }
        : { filename: from.file, position: from.pos };
    z.start({
      serverId,
      ...start,
      includeEvents: [
        'rotate',
        'mariadbgtid',
        'gtid',
        'anonymousgtid',
        'tablemap',
        'writerows',
        'updaterows',
        'deleterows',
        'xid',
        'query',
        'heartbeat',
        ...(opts.annotations ? ['annotaterows', 'rowsquery'] : []),
      ],
      ...(opts.annotations ? { requestAnnotateRows: true } : {}),
      includeSchema: { [schema]: [...watched] },
    });
  };

  const watchdog = setInterval(
    () => {
      if (ended || !zongji || paused || reconnectTimer) return;
      if (Date.now() - lastActivity > watchdogMs) {
        scheduleReconnect(new Error(`no binlog event or heartbeat for ${Date.now() - lastActivity} ms`));
      }
    },
    Math.max(50, Math.min(1000, watchdogMs / 4)),
  );
  watchdog.unref();

  const onAbort = () => finish(null);
  if (opts.signal?.aborted) finish(null);
  opts.signal?.addEventListener('abort', onAbort, { once: true });

  connect();

  let delivered: BinlogPosition = { ...committed };
  const stream: BinlogStream = {
    get position() {
      return delivered;
    },
    get connects() {
      return connects;
    },
    get buffered() {
      return queue.length;
    },
    async close() {
      opts.signal?.removeEventListener('abort', onAbort);
      finish(null);
    },
    [Symbol.asyncIterator]() {
      return {
        next: async (): Promise<IteratorResult<BinlogTransaction>> => {
          for (;;) {
            const tx = queue.shift();
            if (tx) {
              queuedRows -= tx.changes.length;
              if (
                paused &&
                queue.length < highWater / 2 &&
                queuedRows < bufferRows / 2 &&
                zongji?.connection
              ) {
                paused = false;
                lastActivity = Date.now();
                zongji.connection.resume();
              }
              if (!tx.partial) {
                delivered = tx.position;
                committed = tx.position;
              }
              return { value: tx, done: false };
            }
            if (ended) {
              if (failure) {
                const err = failure;
                failure = null;
                throw err;
              }
              return { value: undefined, done: true };
            }
            await new Promise<void>((resolve) => (wake = resolve));
          }
        },
        return: async (): Promise<IteratorResult<BinlogTransaction>> => {
          await stream.close();
          return { value: undefined, done: true };
        },
      };
    },
  };
  return stream;
}
