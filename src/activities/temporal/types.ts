/**
 * The activities as the workflow sees them (types only: workflow code imports this with `import type`).
 * Every argument names connections/tables; none carries credentials.
 */
import type {
  BinlogPosition,
  CopyResult,
  KeyRange,
  MigrationEndpoints,
  MismatchCounts,
  PrecheckReport,
  PrepareTargetResult,
  RepairLoopProgress,
  RouterAcks,
  Side,
  SwitchChange,
  Switches,
  SyncStatus,
  SyncStreamSpec,
  TableSpec,
  VerifyInput,
  VerifyResult,
  VerifyWindowInput,
  CopyInput,
  VerificationInput,
} from '../contracts.js';

import type { BypassActivities } from '../bypass/activities.js';
import type { MigrationHealth, MigrationHealthInput } from './migration-health.js';
import type { ConfirmReportInput, ConfirmReportResult } from './verification-reports.js';

export type { MigrationHealth, MigrationHealthInput, ConfirmReportInput, ConfirmReportResult };

export interface CopyActivityInput extends CopyInput {
  /** Names the progress checkpoint kept outside Temporal, so a copy cancelled by pause resumes. */
  checkpointKey: string;
}

export interface RepairLoopActivityInput {
  migrationId: string;
  stream: string;
  source: string;
  target: string;
  tables: TableSpec[];
  authoritative: 'source' | 'target';
  mode: 'binlog' | 'updated_at' | 'full';
  intervalMs: number;
}

export interface ScheduleActivityInput {
  scheduleId: string;
  intervalSeconds: number;
  taskQueue: string;
  workflowIdPrefix: string;
  input: VerificationInput;
}

/** A running (or retrying) activity as the server sees it (health.ts). */
export interface ActivityHealth {
  activity: string;
  activityId: string;
  state: 'scheduled' | 'started' | 'cancel-requested' | 'paused' | 'pause-requested';
  /** 1 on the first try; more while transient errors are being retried. */
  attempt: number;
  /** The last attempt's failure (heartbeat timeouts included); `fatal`: not retried. */
  lastFailure: { message: string; type: string | null; fatal: boolean } | null;
  lastHeartbeatAt: string | null;
  startedAt: string | null;
  /** When the next attempt starts, while backing off. */
  nextAttemptAt: string | null;
  /** Seconds since the activity last reported progress (or started this attempt). */
  secondsSinceProgress: number | null;
}

export interface MigrationActivities extends BypassActivities {
  precheck(input: MigrationEndpoints): Promise<PrecheckReport>;
  prepareTarget(input: MigrationEndpoints): Promise<PrepareTargetResult>;
  /** For each plan table, the plan tables its foreign keys reference (copied before it). */
  copyDependencies(input: MigrationEndpoints): Promise<Record<string, string[]>>;
  dropCreatedTables(input: { target: string; tables: string[] }): Promise<{ dropped: string[] }>;
  initSwitches(input: { migrationId: string }): Promise<Switches>;
  setSwitches(input: { migrationId: string; change: SwitchChange; by: string }): Promise<Switches>;
  waitForRouterAcks(input: {
    migrationId: string;
    version: number;
    timeoutMs: number;
    expectedRouters?: number;
  }): Promise<RouterAcks>;
  /** A fenced write-mode change (src/switches/fence.ts) that drains failed mirrors while writes are held. */
  fencedWriteMode(input: FencedWriteModeInput): Promise<FencedWriteModeResult>;
  currentPosition(input: { connection: string }): Promise<BinlogPosition>;
  /** Records where a stream starts (the `from` side's head), idempotently: an existing checkpoint is kept. */
  recordSyncStart(input: { spec: SyncStreamSpec }): Promise<BinlogPosition>;
  runSync(spec: SyncStreamSpec): Promise<void>;
  syncStatus(spec: SyncStreamSpec): Promise<SyncStatus>;
  waitForSyncPosition(input: {
    spec: SyncStreamSpec;
    position: BinlogPosition;
    timeoutMs: number;
  }): Promise<{ reached: boolean; applied: BinlogPosition | null }>;
  splitKeyRanges(input: { source: string; table: TableSpec; ranges: number }): Promise<KeyRange[]>;
  copyTable(input: CopyActivityInput): Promise<CopyResult>;
  clearCopyCheckpoints(input: { prefix: string }): Promise<void>;
  truncateTargetTables(input: { target: string; tables: TableSpec[] }): Promise<void>;
  verifyTable(input: VerifyInput): Promise<VerifyResult>;
  /** Incremental verification of an updated_at window. */
  verifyUpdatedSince(input: VerifyWindowInput): Promise<VerifyResult>;
  /** Key-only scan for rows the authoritative side deleted. */
  reverseScanDeletes(input: VerifyInput): Promise<VerifyResult>;
  runRepairLoop(input: RepairLoopActivityInput): Promise<void>;
  /** The repair loop's latest progress (kept by the loop activity outside Temporal), or null. */
  repairLoopProgress(input: { migrationId: string; stream: string }): Promise<RepairLoopProgress | null>;
  createVerificationSchedule(input: ScheduleActivityInput): Promise<{ scheduleId: string }>;
  /** Attempts, last failure and time since progress of the workflow's running activities. */
  activityHealth(input: { workflowId: string }): Promise<ActivityHealth[]>;
  deleteVerificationSchedule(input: { scheduleId: string }): Promise<void>;
  /** Removes a CDC stream's checkpoint row on its sink (the stream ended for good). Idempotent. */
  dropSyncCheckpoint(input: { spec: SyncStreamSpec }): Promise<void>;
  /** One health refresh: CDC stream status, repair counters, pending activities (migration-health.ts). */
  migrationHealth(input: MigrationHealthInput): Promise<MigrationHealth>;
  /** Reads a reported verification run from the server (verification-reports.ts). */
  confirmVerificationReport(input: ConfirmReportInput): Promise<ConfirmReportResult>;
}

export interface FencedWriteModeInput {
  migrationId: string;
  /** Full desired state: writeMode and readPercent. */
  change: SwitchChange;
  by: string;
  holdTimeoutMs: number;
  expectedRouters: number;
  /** Repair failed mirrors of the old mode (from its authoritative side) while writes are held. */
  drain?: {
    source: string;
    target: string;
    tables: TableSpec[];
    authoritative: Side;
    /** The repair loop's checkpoint stream id, whose consumed entries are skipped. */
    loopStream?: string;
  };
}

export interface FencedWriteModeResult {
  switches: Switches;
  calledOff?: string;
  heldMs: number;
  acks: RouterAcks;
  /** Routers whose holdMaxMs is shorter than the hold's lease (the fence's holdLimitWarning). */
  warning?: string;
  drained?: { entries: number; keys: number; tables: string[]; repaired: MismatchCounts };
}
