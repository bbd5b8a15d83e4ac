import { AsyncLocalStorage } from 'node:async_hooks';
import { format, type FieldPacket, type Pool, type QueryOptions, type QueryResult } from 'mysql2/promise';
import {
  authoritativeSide,
  isDual,
  otherSide as other,
  type Side,
  type Switches,
} from '../shared/switches.js';
import { ROUTER_TAG, taggedDb } from '../shared/write-tags.js';
import { assertMigrationId, assertRouterId } from '../switches/keys.js';
import type { RedisLike } from '../switches/redis.js';
import { defaultRouterId } from '../switches/store.js';
import { commitTogether, openOps, repairEntries, type HeldMirror } from './apply.js';
import { needsFormatting, normaliseCall, type NormalisedCall, type RouterQueryOptions } from './args.js';
import { RouterConnection } from './connection.js';
import type { Method, PoolLike, Queryable, QueryReturn } from './db.js';
import { fallbackSwitches, startsHold, SwitchFollower } from './follower.js';
import {
  captureWrite,
  plannedReads,
  type CaptureContext,
  type MirrorOp,
  type PlannedRead,
} from './mirror.js';
import { sendBatch } from './batch.js';
import { MultiStatementSessions, sessionDb } from './sessions.js';
import { RepairLog } from './repair-log.js';
import { mirrorFault, noteMirrorFaultApplied } from './faults.js';
import { loadCachedSwitches, saveCachedSwitches } from './switch-cache.js';
import { readsTarget } from './routing.js';
import { readAutoIncSettings, SchemaCache, type AutoIncSettings, type TableConfig } from './schema.js';
import { RouterMappings } from './mapping.js';
import { checkMirrorable, unparsedMayWrite } from './refusals.js';
import { SideStatements, type SideCall } from './side-statements.js';
import { RefusedStatementError, UnmappableStatementError } from './errors.js';
import { hasSemicolon, identifierWords } from './sql/lexer.js';
import { rowCount, sameResult } from './shadow.js';
import { AnalysisCache, analyzeTemplate } from './sql/analyze.js';
import { analysisTables, isWrite, type Analysis } from './sql/analysis.js';
import { emptyStats, type RouterEvent, type RouterStats } from './stats.js';

export interface RouterOptions {
  migrationId: string;
  /** mysql2/promise pools of the old (source) and new (target) database. */
  source: Pool;
  target: Pool;
  /** ioredis options, a URL, or a connection (its settings are used for the router's own connections). */
  redis: RedisLike;
  routerId?: string;
  /**
   * The migrated tables. When given, statements on other tables always go to the source; the entries
   * override introspected keys. When absent, every table is migrated and introspected on first use.
   */
  tables?: Record<string, TableConfig>;
  onEvent?: (event: RouterEvent) => void;
  /**
   * A local file where the router keeps the last switches it applied; a router that starts while Redis
   * is down begins with them instead of `fallbackSwitches`. Recommended in production: without it, a
   * restart during a Redis outage after cutover would fall back to SOURCE_ONLY.
   */
  switchCacheFile?: string;
  /** Switches until the first successful load from Redis (default SOURCE_ONLY, 0 %, no shadow). */
  fallbackSwitches?: Partial<Pick<Switches, 'writeMode' | 'readPercent' | 'shadowRead'>>;
  heartbeatMs?: number;
  heartbeatTtlMs?: number;
  /**
   * Writes to migrated tables need switches Redis confirmed within this many ms (default 3000; must be
   * below heartbeatTtlMs). A router cut off from Redis refuses them after that (SwitchesStaleError)
   * rather than write under a mode that may have changed. 0 turns the lease off (unsafe: see README).
   */
  leaseMs?: number;
  /**
   * Longest a write waits while a fenced switch change holds writes (default 10000 ms). Keep it at least
   * the hold's lease (routers.holdTimeoutSeconds + 2 s): the workflow warns when a router reports less.
   */
  holdMaxMs?: number;
  /** Timeout of each statement on the non-authoritative side (default 5000 ms). */
  mirrorTimeoutMs?: number;
  /** Above this many rows touched by one statement, log a table-level repair entry instead (default 10000). */
  maxMirrorRows?: number;
  /**
   * Send a dual write's START TRANSACTION, statement and image read as one multi-statement round trip
   * (default true; README "Cost of a dual write"). False keeps them separate, e.g. behind a proxy that
   * does not pass COM_SET_OPTION or multi-statement queries.
   */
  batchDualWrites?: boolean;
  /** end() also ends both pools (default true: router.end() replaces pool.end()). */
  endPools?: boolean;
}

type QueryArgs = [first: string | RouterQueryOptions, second?: unknown];

const CONNECTION_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
  'ER_SERVER_SHUTDOWN',
]);

/** The server could not be reached or went away (as opposed to an error in the statement). */
function isConnectionError(err: unknown): boolean {
  const e = err as { fatal?: boolean; code?: string };
  return e?.fatal === true || (typeof e?.code === 'string' && CONNECTION_ERRORS.has(e.code));
}

/** The server refused the statement itself (duplicate key, constraint, syntax): the connection is fine. */
function isServerRefusal(err: unknown): boolean {
  const e = err as { errno?: unknown; sqlState?: unknown };
  return typeof e?.errno === 'number' && typeof e?.sqlState === 'string' && !isConnectionError(err);
}

/**
 * A mysql2-pool-compatible object that obeys the migration's switches. See README.md.
 */
export class Router {
  readonly migrationId: string;
  readonly routerId: string;
  /** @internal */ readonly pools: Record<Side, PoolLike>;
  /** @internal */ readonly follower: SwitchFollower;
  /** Table metadata per side (a mapped table has other names on the target). */
  private readonly schemas: Record<Side, SchemaCache>;
  /** @internal The plan's table mapping; the statements each side runs. */
  readonly mappings: RouterMappings;
  /** @internal */ readonly sides: SideStatements;
  private readonly cache = new AnalysisCache();
  private readonly autoInc = new Map<Side, Promise<AutoIncSettings>>();
  private readonly repairs: RepairLog;
  private readonly counters: RouterStats = emptyStats();
  private readonly pending = new Set<Promise<unknown>>();
  /** Connections with multi-statements on, for one-round-trip dual writes (sessions.ts). */
  private readonly sessions: Record<Side, MultiStatementSessions>;
  private readonly routingKeys = new AsyncLocalStorage<string | number>();
  private readonly migrated?: Set<string>;
  private ended = false;

  constructor(private readonly options: RouterOptions) {
    this.migrationId = assertMigrationId(options.migrationId);
    this.routerId = assertRouterId(options.routerId ?? defaultRouterId());
    // Every statement to either side carries ROUTER_TAG: a binlog watcher tells router writes from
    // writers that bypass the router by it (src/activities/bypass/README.md).
    this.pools = {
      source: taggedDb(options.source as unknown as PoolLike, ROUTER_TAG),
      target: taggedDb(options.target as unknown as PoolLike, ROUTER_TAG),
    };
    this.sessions = {
      source: new MultiStatementSessions(this.pools.source),
      target: new MultiStatementSessions(this.pools.target),
    };
    this.mappings = new RouterMappings(options.tables);
    this.schemas = {
      source: new SchemaCache(options.tables ?? {}),
      target: new SchemaCache(this.mappings.targetConfigs(options.tables)),
    };
    this.sides = new SideStatements(this.mappings, async (t) => (await this.tableMeta('source', t)).columns);
    this.migrated = options.tables ? new Set(Object.keys(options.tables)) : undefined;
    const holdMaxMs = options.holdMaxMs ?? 10_000;
    this.follower = new SwitchFollower({
      redis: options.redis,
      migrationId: this.migrationId,
      routerId: this.routerId,
      heartbeatMs: options.heartbeatMs ?? 1000,
      ttlMs: options.heartbeatTtlMs ?? 5000,
      leaseMs: options.leaseMs ?? Math.min(3000, Math.floor((options.heartbeatTtlMs ?? 5000) * 0.6)),
      holdMaxMs,
      fallback:
        (options.switchCacheFile && loadCachedSwitches(options.switchCacheFile)) ||
        fallbackSwitches(options.fallbackSwitches),
      onChange: (next, previous) => {
        if (options.switchCacheFile) {
          try {
            saveCachedSwitches(options.switchCacheFile, next);
          } catch (err) {
            this.emit({ type: 'switch-cache-error', error: (err as Error).message });
          }
        }
        if (startsHold(next, previous) && next.holdMs !== undefined && next.holdMs > holdMaxMs)
          this.emit({ type: 'hold-outlasts-limit', version: next.version, holdMs: next.holdMs, holdMaxMs });
        this.counters.switchVersion = next.version;
        this.counters.switchesLoaded = true;
        this.emit({ type: 'switches', switches: next, previous });
      },
      onRedis: (connected, error) => {
        if (this.counters.redisConnected === connected) return;
        this.counters.redisConnected = connected;
        this.emit({ type: 'redis', state: connected ? 'connected' : 'disconnected', error: error?.message });
      },
    });
    this.repairs = new RepairLog(this.follower.redis, this.migrationId, (err, pending) =>
      this.emit({ type: 'repair-log-error', error: err.message, pending }),
    );
    this.follower.start();
  }

  /** The switches this router applies right now. */
  get switches(): Switches {
    return this.follower.switches;
  }

  stats(): RouterStats {
    return {
      ...this.counters,
      reads: { ...this.counters.reads },
      writes: { ...this.counters.writes },
      repairEntriesWritten: this.repairs.written,
      repairEntriesPending: this.repairs.size,
      switchVersion: this.follower.switches.version,
      switchesLoaded: this.follower.isLoaded,
    };
  }

  query<T extends QueryResult = QueryResult>(...args: QueryArgs): Promise<[T, FieldPacket[]]> {
    return this.dispatch('query', normaliseCall(...args)) as Promise<[T, FieldPacket[]]>;
  }

  execute<T extends QueryResult = QueryResult>(...args: QueryArgs): Promise<[T, FieldPacket[]]> {
    return this.dispatch('execute', normaliseCall(...args)) as Promise<[T, FieldPacket[]]>;
  }

  /** Runs fn with a routing key for every read it makes through this router (sticky reads). */
  withRoutingKey<R>(routingKey: string | number, fn: () => R): R {
    return this.routingKeys.run(routingKey, fn);
  }

  async getConnection(): Promise<RouterConnection> {
    return new RouterConnection(this);
  }

  /** Waits for background work: shadow comparisons and the repair log (bounded by Redis being up). */
  async flush(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
    await this.repairs.flush();
  }

  async end(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    await Promise.allSettled([...this.pending]);
    await this.repairs.flush();
    this.repairs.stop();
    await this.follower.stop();
    await Promise.all([this.sessions.source.end(), this.sessions.target.end()]);
    if (this.options.endPools ?? true)
      await Promise.allSettled([this.pools.source.end(), this.pools.target.end()]);
  }

  // ---- internals shared with RouterConnection ------------------------------------------------------

  /** @internal */
  emit(event: RouterEvent): void {
    try {
      this.options.onEvent?.(event);
    } catch {
      // an observer's failure never affects a query
    }
  }

  /** @internal */
  analyse(call: NormalisedCall): Analysis {
    const sql = call.options.sql;
    if (needsFormatting(call.values)) {
      return (
        analyzeTemplate(format(sql, call.values as never[]))?.analysis ?? { kind: 'unparsed', write: false }
      );
    }
    const t = this.cache.get(sql);
    if (t) return t.analysis;
    // `??` identifier placeholders: analyse the formatted statement.
    return (
      analyzeTemplate(format(sql, call.values as never[]))?.analysis ?? { kind: 'unparsed', write: false }
    );
  }

  /**
   * @internal Whether every table of the statement takes part in the migration. A statement the parser
   * rejected is migrated when it names a migrated table (source or target name).
   */
  isMigrated(a: Analysis, sql?: string): boolean {
    const migrated = this.migrated;
    if (!migrated) return true;
    if (a.kind === 'unparsed' && sql !== undefined) {
      const words = identifierWords(sql);
      return [...migrated, ...this.mappings.names()].some((t) => words.has(t.toLowerCase()));
    }
    return analysisTables(a).every((t) => migrated.has(t));
  }

  /** @internal A table's metadata on one side (introspected once). */
  tableMeta(side: Side, table: string) {
    return this.schemas[side].get(this.pools[side], table);
  }

  /**
   * @internal The call as `side` runs it (rewritten for a mapped table on the target). A read the
   * target cannot answer goes to the source before TARGET_ONLY (undefined: counted, reported); every
   * other unmappable statement is refused (UnmappableStatementError).
   */
  async onSide(
    call: NormalisedCall,
    a: Analysis,
    side: Side,
    s: Switches,
    read: boolean,
    /** False inside a transaction: its reads cannot leave its connection. */
    canFallBack = true,
  ): Promise<SideCall | undefined> {
    let reason: string;
    let err: UnmappableStatementError;
    try {
      const sc = await this.sides.forSide(call, a, side);
      if (!sc.starDropsExcluded) return sc;
      if (read && s.writeMode === 'TARGET_ONLY') return sc; // the new layout: `*` is what the target has
      reason = '`*` over a table with excluded columns (excludeColumns): the target has fewer columns';
      err = new UnmappableStatementError(call.options.sql, `${reason}; name the columns`);
    } catch (e) {
      if (!(e instanceof UnmappableStatementError)) throw e;
      reason = e.rule;
      err = e;
    }
    if (read && canFallBack && s.writeMode !== 'TARGET_ONLY') {
      this.counters.unmappedReads++;
      this.emit({ type: 'unmapped-read', sql: call.options.sql.slice(0, 200), reason });
      return undefined;
    }
    throw this.refused(err);
  }

  /** @internal Counts and reports a refused statement; returns the error to throw. */
  refused(err: RefusedStatementError): RefusedStatementError {
    this.counters.refused++;
    this.emit({ type: 'refused', sql: err.statement.slice(0, 200), code: err.code, rule: err.rule });
    return err;
  }

  /** @internal Throws (counted) when the statement cannot be mirrored under these switches. */
  checkMirrorable(call: NormalisedCall, a: Analysis, s: Switches): void {
    try {
      const touches =
        a.kind === 'other'
          ? !this.migrated || a.tables.some((t) => this.migrated?.has(t))
          : this.isMigrated(a, call.options.sql);
      checkMirrorable(call.options.sql, a, s, touches, (t) => this.isMigratedTable(t));
    } catch (e) {
      if (e instanceof RefusedStatementError) throw this.refused(e);
      throw e;
    }
  }

  /** @internal */
  captureContext(db: Queryable, side: Side, inTransaction: boolean): CaptureContext {
    return {
      db,
      inTransaction,
      meta: (table) => this.schemas[side].get(db, table),
      autoInc: () => this.autoIncSettings(side),
      maxRows: this.options.maxMirrorRows ?? 10_000,
    };
  }

  private autoIncSettings(side: Side): Promise<AutoIncSettings> {
    let p = this.autoInc.get(side);
    if (!p) {
      p = readAutoIncSettings(this.pools[side]);
      p.catch(() => this.autoInc.delete(side));
      this.autoInc.set(side, p);
    }
    return p;
  }

  /**
   * @internal Makes `side` follow the ops in a transaction left open (apply.ts `openOps`) and returns
   * its commit, which the caller sends together with the authoritative COMMIT (`commitTogether`).
   * Failures, of the ops or of their commit, go to the repair stream, never to the caller: the returned
   * commit never rejects. The switches `s` the write started under stay unacknowledged until its repair
   * entries are in Redis, so a fenced switch change finds every failed mirror of the old mode in the
   * stream.
   */
  async mirror(ops: MirrorOp[], side: Side, s: Switches): Promise<() => Promise<void>> {
    if (ops.length === 0) return async () => {};
    ops = this.withTableLevelAlso(ops);
    let held: HeldMirror;
    try {
      // Ops were captured in the other side's layout: express them in this side's (mapping.ts).
      ops = await Promise.all(
        ops.map((o) => this.mappings.forOtherSide(o, other(side), (t) => this.tableMeta(side, t))),
      );
      held = await openOps(
        this.pools[side],
        this.options.batchDualWrites === false ? undefined : this.sessions[side],
        withMirrorFault(ops, s.writeMode),
        this.options.mirrorTimeoutMs ?? 5000,
      );
    } catch (err) {
      this.mirrorFailed(ops, side, s, err);
      return async () => {};
    }
    const applied = ops;
    return async () => {
      try {
        await held.commit();
      } catch (err) {
        this.mirrorFailed(applied, side, s, err);
        return;
      }
      this.mirrorDone(applied, side, s);
    };
  }

  /** A mirror that did not reach `side`: its keys go to the repair stream. */
  private mirrorFailed(ops: MirrorOp[], side: Side, s: Switches, err: unknown): void {
    const message = (err as Error).message;
    this.counters.dualWriteFailures++;
    const entries = repairEntries(ops, side, message);
    this.repairs.add(entries, this.follower.pin(s));
    for (const op of ops) {
      this.emit({
        type: 'dual-write-failed',
        table: op.table,
        op: op.op,
        side,
        keys: entries.filter((e) => e.table === op.table).length,
        error: message,
      });
    }
  }

  /** A mirror committed on `side`: ops it could only express table-wide still go to the repair stream. */
  private mirrorDone(ops: MirrorOp[], side: Side, s: Switches): void {
    this.counters.mirrored++;
    const tableLevel = ops.filter((o) => o.tableLevel);
    if (tableLevel.length > 0) {
      const at = new Date().toISOString();
      this.repairs.add(
        tableLevel.map((o) => ({ table: o.table, key: null, op: o.op, side, error: o.tableLevel ?? '', at })),
        this.follower.pin(s),
      );
      for (const o of tableLevel) {
        this.counters.tableLevelRepairs++;
        this.emit({ type: 'table-level-repair', table: o.table, op: o.op, reason: o.tableLevel ?? '' });
      }
    }
  }

  /** A multi-table UPDATE/DELETE may change every migrated table it names: a table-level op for each. */
  private withTableLevelAlso(ops: MirrorOp[]): MirrorOp[] {
    if (!ops.some((o) => o.tableLevelAlso?.length)) return ops;
    return ops.flatMap((o) => [
      o,
      ...(o.tableLevelAlso ?? [])
        .filter((t) => this.isMigratedTable(this.mappings.tableOn('source', t)))
        .map((t) => ({
          table: t,
          op: o.op,
          upserts: [],
          deletes: [],
          replace: false,
          tableLevel: o.tableLevel,
        })),
    ]);
  }

  /** @internal Whether a table (source name) takes part in the migration. */
  isMigratedTable(table: string): boolean {
    return this.migrated ? this.migrated.has(table) : true;
  }

  /** @internal */
  countRead(side: Side): void {
    this.counters.reads[side]++;
  }

  /** @internal */
  countWrite(side: Side): void {
    this.counters.writes[side]++;
  }

  /** @internal */
  countTransaction(): void {
    this.counters.transactions++;
  }

  /**
   * @internal The authoritative side committed but the mirror may have been applied: the statement's
   * keys are handed to the repair loop, which re-reads the authoritative side.
   */
  commitFailed(ops: MirrorOp[], side: Side, s: Switches, err: unknown): void {
    this.repairs.add(
      repairEntries(ops, side, `commit failed: ${(err as Error).message}`),
      this.follower.pin(s),
    );
  }

  /** @internal A statement the parser rejected (while dual writing, checkMirrorable refuses writes). */
  unparsed(sql: string): void {
    this.counters.unparsed++;
    this.emit({ type: 'unparsed', sql: sql.slice(0, 200) });
  }

  /** @internal */
  track<T>(p: Promise<T>): void {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  /**
   * The reads a dual write's capture will make right after its statement, when the statement can be
   * sent ahead of them (undefined: it cannot, or the call carries options of its own).
   */
  private async planBatch(a: Analysis, call: NormalisedCall, side: Side): Promise<PlannedRead[] | undefined> {
    if (this.options.batchDualWrites === false) return undefined;
    if (a.kind !== 'insert' && a.kind !== 'update' && a.kind !== 'delete') return undefined;
    // Options that shape a result (typeCast, rowsAsArray, ...) would apply to the image reads too; a
    // RETURNING clause makes the statement return rows (the batch expects a header).
    if (Object.keys(call.options).some((k) => k !== 'sql' && k !== 'values' && k !== 'timeout'))
      return undefined;
    if (/returning/i.test(call.options.sql) && identifierWords(call.options.sql).has('returning'))
      return undefined;
    // A trailing `;` would leave an empty statement in the batch (a syntax error after the statement ran).
    if (hasSemicolon(call.options.sql)) return undefined;
    const table = a.kind === 'insert' ? a.table : a.table.table;
    const meta = await this.tableMeta(side, table);
    const settings = a.kind === 'insert' && meta.autoIncrement ? await this.autoIncSettings(side) : undefined;
    return plannedReads(meta, settings, a, call.values);
  }

  private async dispatch(method: Method, call: NormalisedCall): Promise<QueryReturn> {
    const s = this.follower.switches;
    const routingKey = call.routingKey ?? this.routingKeys.getStore();
    // Fast paths: one side for everything, no parse. Still counted as a possible write, so that a
    // switch is acknowledged only after the statements started under the old switches are done.
    const quiet = !s.hold && !s.shadowRead && this.follower.fresh;
    const only =
      quiet && s.writeMode === 'SOURCE_ONLY' && s.readPercent <= 0
        ? 'source'
        : quiet && s.writeMode === 'TARGET_ONLY' && s.readPercent >= 100 && !this.migrated
          ? 'target'
          : undefined;
    if (only) {
      const w = this.follower.enter();
      try {
        return await this.direct(method, call, only, 'unknown');
      } finally {
        this.follower.endWrite(w);
      }
    }
    const a = this.analyse(call);
    if (a.kind === 'read' && !a.locking)
      return this.read(method, call, a.ordered, this.isMigrated(a), routingKey, a);
    return this.write(method, call, a);
  }

  private async direct(
    method: Method,
    call: NormalisedCall,
    side: Side,
    kind: 'read' | 'write' | 'unknown',
  ): Promise<QueryReturn> {
    const result = await this.pools[side][method](call.options);
    if (kind === 'read') this.countRead(side);
    else if (kind === 'write') this.countWrite(side);
    else if (Array.isArray(result[0])) this.countRead(side);
    else this.countWrite(side);
    return result;
  }

  /** @internal A read outside a transaction: by percentage and routing key, optionally shadowed. */
  async read(
    method: Method,
    call: NormalisedCall,
    ordered: boolean,
    migrated: boolean,
    routingKey: string | number | undefined,
    a?: Analysis,
  ): Promise<QueryReturn> {
    const s = this.follower.switches;
    let side: Side =
      migrated && readsTarget(s.readPercent, routingKey, this.migrationId) ? 'target' : 'source';
    // The statement each side runs (a mapped table is renamed on the target); undefined: the target
    // cannot answer it, the source does (before TARGET_ONLY).
    const source = call;
    let target: NormalisedCall | undefined = call;
    const mapped = migrated && a !== undefined && this.mappings.any;
    if (mapped && (side === 'target' || s.shadowRead))
      target = (await this.onSide(call, a, 'target', s, true))?.call;
    if (!target) side = 'source';
    const on = (x: Side) => (x === 'source' ? source : target);
    call = on(side) ?? source;
    if (!s.shadowRead || !migrated || !target) {
      try {
        return await this.direct(method, call, side, 'read');
      } catch (err) {
        // While dual writing both sides are complete: a side that is down does not fail the read.
        if (!migrated || !isDual(s.writeMode) || !isConnectionError(err)) throw err;
        let fallback = on(other(side));
        if (other(side) === 'target' && mapped)
          fallback = await this.sides.forSide(source, a, 'target').then(
            (sc) => (sc.starDropsExcluded ? undefined : sc.call),
            () => undefined,
          );
        if (!fallback) throw err;
        this.counters.readFallbacks++;
        this.emit({
          type: 'read-fallback',
          sql: call.options.sql.slice(0, 200),
          failed: side,
          error: (err as Error).message,
        });
        return this.direct(method, fallback, other(side), 'read');
      }
    }
    const primary = this.pools[side][method](call.options);
    const shadowSide = other(side);
    const shadow = this.pools[shadowSide][method]((on(shadowSide) ?? call).options);
    this.track(
      Promise.allSettled([primary, shadow]).then(([p, sh]) => {
        if (p.status !== 'fulfilled') return;
        this.counters.shadowReads++;
        if (sh.status === 'rejected') {
          this.counters.shadowErrors++;
          this.emit({
            type: 'shadow-error',
            sql: call.options.sql.slice(0, 200),
            side: shadowSide,
            error: (sh.reason as Error).message,
          });
          return;
        }
        if (!sameResult(p.value[0], sh.value[0], ordered)) {
          this.counters.shadowMismatches++;
          this.emit({
            type: 'shadow-mismatch',
            sql: call.options.sql.slice(0, 200),
            primary: side,
            primaryRows: rowCount(p.value[0]),
            shadowRows: rowCount(sh.value[0]),
          });
        }
      }),
    );
    const result = await primary;
    this.countRead(side);
    return result;
  }

  /**
   * A write (or anything that is not a plain read) outside a transaction. In dual-write modes it runs
   * in a transaction on the authoritative side, and the mirror is applied BEFORE that commits: the
   * rows it touched stay locked until the other side holds their images, so two writers of one row
   * mirror in the order they committed (a later writer's mirror can never be overwritten by an
   * earlier one's), and a CDC applier re-reading under a shared lock cannot interleave either.
   */
  private async write(method: Method, call: NormalisedCall, a: Analysis): Promise<QueryReturn> {
    const migrated = this.isMigrated(a, call.options.sql);
    const s = await this.follower.beginWrite(migrated);
    try {
      const auth = authoritativeSide(s.writeMode);
      this.checkMirrorable(call, a, s);
      if (!migrated) return await this.direct(method, call, 'source', 'write');
      if (a.kind === 'unparsed') this.unparsed(call.options.sql);
      // On the target a mapped table is renamed (refused when impossible); a read-only statement the
      // target cannot answer goes to the source before TARGET_ONLY.
      const readOnly = a.kind === 'read' || (a.kind === 'unparsed' && !unparsedMayWrite(call.options.sql));
      const sc = await this.onSide(call, a, auth, s, readOnly);
      if (!sc) return await this.direct(method, call, 'source', 'write');
      call = sc.call;
      a = sc.analysis;
      if (!isWrite(a) || !isDual(s.writeMode)) return await this.direct(method, call, auth, 'write');
      // Planned from the side's metadata before a connection is taken: a statement that can go ahead
      // of its capture's reads is sent with START TRANSACTION and those reads in one round trip.
      const plan = method === 'query' ? await this.planBatch(a, call, auth) : undefined;
      const session = plan
        ? await this.sessions[auth].acquire()
        : { conn: await this.pools[auth].getConnection() };
      const db = sessionDb(session);
      let captured: { result: QueryReturn; op: MirrorOp } | undefined;
      let ok = false;
      let reusable = false;
      try {
        if (plan && session.core) {
          const sent = await sendBatch(db, session.core, call, plan);
          captured = await captureWrite(
            this.captureContext(sent.db, auth, true),
            a,
            call.values,
            async () => sent.result,
          );
        } else {
          await db.query({ sql: 'START TRANSACTION' });
          captured = await captureWrite(this.captureContext(db, auth, true), a, call.values, () =>
            db[method](call.options),
          );
        }
        const commitMirror = await this.mirror([captured.op], other(auth), s);
        await commitTogether(db.query({ sql: 'COMMIT' }), commitMirror());
        ok = true;
      } catch (err) {
        const rolledBack = await db.query({ sql: 'ROLLBACK' }).then(
          () => true,
          () => false,
        );
        // A statement the server refused (a duplicate key, say: routine for many applications) leaves
        // a healthy connection once rolled back; only one in an unknown state is thrown away.
        reusable = rolledBack && isServerRefusal(err);
        if (captured) this.commitFailed([captured.op], other(auth), s, err);
        throw err;
      } finally {
        if (!ok && !reusable) session.conn.destroy();
        else if (plan) this.sessions[auth].release(session);
        else session.conn.release();
      }
      this.countWrite(auth);
      return captured.result;
    } finally {
      this.follower.endWrite(s);
    }
  }
}

/**
 * The ops as written, or, when a test turned a mirror fault on (faults.ts; never reachable from
 * configuration), with one column of the matching table's upserted rows replaced.
 */
function withMirrorFault(ops: MirrorOp[], mode: Switches['writeMode']): MirrorOp[] {
  return ops.map((op) => {
    const fault = mirrorFault(op.table, mode);
    const i = fault && op.meta ? op.meta.writable.indexOf(fault.column) : -1;
    if (!fault || i < 0 || op.upserts.length === 0) return op;
    return {
      ...op,
      upserts: op.upserts.map((row) => {
        noteMirrorFaultApplied();
        const copy = [...row];
        copy[i] = fault.corrupt(copy[i]) as (typeof copy)[number];
        return copy;
      }),
    };
  });
}

export function createRouter(options: RouterOptions): Router {
  return new Router(options);
}

export type { QueryOptions };
