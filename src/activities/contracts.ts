/**
 * The data plane's interface, as the workflow sees it. Every function named here is a plain async
 * function (usable from tests, scripts and the CLI) and is wrapped as a Temporal activity in
 * src/activities/index.ts. Inputs name connections and tables; they never carry credentials.
 */

/** One table of a migration plan, as configured. */
export interface TableSpec {
  /** Table name on the source (the connection's database). */
  name: string;
  /** Table name on the target when it differs. */
  targetName?: string;
  /** Key columns; default: the primary key, else a unique key over NOT NULL columns. */
  key?: string[];
  /** Rows per copy/verify chunk. */
  chunkSize?: number;
  /** Copy throttle for this table. */
  maxRowsPerSecond?: number;
  /** Column for `updated_at`-window incremental verification. */
  updatedAtColumn?: string;
  /**
   * Zone the application writes a DATETIME updatedAtColumn in (`+09:00`, `-07:00`, `UTC`, `Asia/Tokyo`,
   * `SYSTEM`); default the source server's @@global.time_zone. Not used for TIMESTAMP columns.
   */
  updatedAtTimeZone?: string;
  /** Source column -> target column, for renamed columns. Unlisted columns keep their names. */
  columnMap?: Record<string, string>;
  /** Source columns not copied (they must be nullable or defaulted on the target). */
  excludeColumns?: string[];
}

/** A binlog position: file/offset always, plus the MariaDB GTID position (`domain-server-seq,...`). */
export interface BinlogPosition {
  file: string;
  pos: number;
  gtid?: string;
}

import type { EncodedKey, Side } from '../shared/switches.js';
export type {
  EncodedKey,
  EncodedValue,
  RouterAcks,
  Side,
  SwitchChange,
  Switches,
  WriteMode,
} from '../shared/switches.js';

/** A half-open key range: rows with lower < key <= upper; an absent bound is unbounded. */
export interface KeyRange {
  lower?: EncodedKey;
  upper?: EncodedKey;
}

/** One thing that stops a migration from starting, with what to do about it. */
export interface Problem {
  table?: string;
  column?: string;
  setting?: string;
  side?: 'source' | 'target';
  message: string;
  fix: string;
}

/** What a long-running function needs from its caller; the activity wrapper maps it to Temporal. */
export interface RunContext<P> {
  /** Record progress; the activity wrapper heartbeats it. */
  progress?: (details: P) => void;
  /** Progress recorded by a previous attempt: resume after it. */
  resume?: P;
  /** Aborted on cancellation (or pause): stop at the next safe point and throw. */
  signal?: AbortSignal;
}

// ---- precheck / prepare -------------------------------------------------------------------------

export interface MigrationEndpoints {
  source: string;
  target: string;
  tables: TableSpec[];
}

export interface PrecheckReport {
  ok: boolean;
  problems: Problem[];
  /** Findings that do not block the migration but change what it does (e.g. cascading foreign keys). */
  notes: Problem[];
  tables: { name: string; key: string[]; estimatedRows: number }[];
  sourcePosition: BinlogPosition;
}

export interface PrepareTargetResult {
  /** Target tables this call created (the compensation drops only these). */
  created: string[];
}

// ---- copy ------------------------------------------------------------------------------------------

export interface CopyInput {
  source: string;
  target: string;
  table: TableSpec;
  /** Copy only this key range (for splitting one table across activities/workers). */
  range?: KeyRange;
  /** The CDC stream running alongside: its checkpoint row orders chunk writes against the applier. */
  stream?: string;
  /** Back off while this replica of the source lags more than maxReplicaLagSeconds (or is stopped). */
  replica?: string;
  maxReplicaLagSeconds?: number;
  /** Back off while more statements than this run on the target (SHOW GLOBAL STATUS Threads_running). */
  maxTargetThreadsRunning?: number;
  /**
   * Whole-table copies (no range) drop the target's plain secondary keys first and build them once at
   * the end (copier/defer-keys.ts). Default true.
   */
  deferSecondaryKeys?: boolean;
}

export interface CopyProgress {
  table: string;
  /** Last key whose chunk is committed on the target. */
  lastKey?: EncodedKey;
  rowsCopied: number;
  chunks: number;
  /** Chunks re-read because their snapshot missed a transaction the applier had applied (copier README). */
  snapshotRetries?: number;
  estimatedRows?: number;
}

export interface CopyResult {
  table: string;
  rowsCopied: number;
  chunks: number;
  /** See CopyProgress.snapshotRetries. */
  snapshotRetries?: number;
  durationMs: number;
}

// ---- CDC --------------------------------------------------------------------------------------------

export interface SyncStreamSpec {
  /** Stream id: names the checkpoint row, unique per migration and direction. */
  stream: string;
  /** Where binlog events are read. */
  from: string;
  /** Where they are applied. */
  to: string;
  tables: TableSpec[];
  /** Direction, so a reverse stream maps target table names back to source names. */
  direction: 'forward' | 'reverse';
  /**
   * Re-read each changed row on the side read from, under a shared lock, instead of writing the binlog
   * image (the dual-write hand-over: routers mirror the same rows; see cdc/reread.ts).
   */
  reread?: boolean;
}

export interface SyncProgress {
  applied: BinlogPosition | null;
  transactions: number;
  rowsApplied: number;
  lagSeconds: number;
}

export interface SyncStatus {
  stream: string;
  applied: BinlogPosition | null;
  head: BinlogPosition;
  /** Bytes of binlog between applied and head (across files where it can tell). */
  lagBytes: number;
  lagSeconds: number;
  running: boolean;
}

// ---- verify / repair ---------------------------------------------------------------------------------

export interface VerifyInput {
  source: string;
  target: string;
  table: TableSpec;
  /** The side repairs copy from. */
  authoritative: Side;
  repair: boolean;
  /** If a CDC stream feeds the non-authoritative side: differing rows are re-checked after it catches up. */
  stream?: string;
  range?: KeyRange;
  /** Optional read replicas of either side: chunks are compared there first, and only chunks that differ are
   * double-checked on the primaries. */
  sourceReplica?: string;
  targetReplica?: string;
  /**
   * Scheduled runs: verify the whole table at most this fraction of the time. The table is skipped when
   * its last full verification (recorded on the target) ended less than its duration / dutyCycle ago,
   * so a table taking 10 min with dutyCycle 0.1 is verified at most every 100 min. Unset: never skipped.
   */
  dutyCycle?: number;
}

export interface MismatchCounts {
  missing: number;
  extra: number;
  different: number;
}

export interface VerifyResult {
  table: string;
  rowsCompared: number;
  chunks: number;
  chunksDiffering: number;
  mismatches: MismatchCounts;
  repaired: MismatchCounts;
  sampleKeys: { kind: keyof MismatchCounts; key: EncodedKey }[];
  durationMs: number;
  /** Skipped by dutyCycle: the next full verification is due at this time (ISO). */
  skippedUntil?: string;
}

/** Heartbeat details of a verification: a retried activity resumes after lastKey with these counters. */
export interface VerifyProgress {
  table: string;
  /** Upper bound of the last chunk fully compared (and repaired). */
  lastKey?: EncodedKey;
  rowsCompared: number;
  chunks: number;
  chunksDiffering: number;
  mismatches: MismatchCounts;
  repaired: MismatchCounts;
  sampleKeys: { kind: keyof MismatchCounts; key: EncodedKey }[];
}

/** Incremental verification over an `updated_at`-style column window [since, until). */
export interface VerifyWindowInput extends VerifyInput {
  column: string;
  /** Inclusive lower bound, a DATETIME/TIMESTAMP literal in UTC ('2024-01-01 00:00:00.000000'). */
  since: string;
  /** Exclusive upper bound; default: now. */
  until?: string;
}

export interface RepairLoopInput {
  /** Loop id (progress, logs). */
  stream: string;
  source: string;
  target: string;
  tables: TableSpec[];
  authoritative: Side;
  mode: 'binlog' | 'updated_at';
  /** Delay between a change event and the compare of its key (ms). */
  delayMs?: number;
  /** updated_at mode: window period (ms). */
  intervalMs?: number;
  /** Redis stream of failed dual writes (fields table, key, op, side) whose keys are repaired. */
  redisFailureStream?: string;
}

export interface RepairLoopProgress {
  checked: number;
  repaired: MismatchCounts;
  /** Differences found but not repaired yet (or unrepairable, e.g. table not in the plan). */
  pending: number;
  /** Last Redis failure-stream entry id consumed. */
  redisLastId?: string;
  /** Binlog position of the authoritative side the loop has processed up to. */
  position?: BinlogPosition;
  /** updated_at mode: upper bound of the last window verified. */
  windowUntil?: string;
}

/** Input of the scheduled verification workflow (started by a Temporal Schedule the activities create). */
export interface VerificationInput {
  migrationId: string;
  source: string;
  target: string;
  tables: TableSpec[];
  authoritative: 'source' | 'target';
  repair: boolean;
  /** Signal the result to this workflow id (the migration), if set. */
  notifyWorkflowId?: string;
}
