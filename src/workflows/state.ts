/**
 * The migration's whole state: plain JSON, carried across continue-as-new. Pure module.
 */
import type { BypassReport } from '../activities/bypass/types.js';
import type {
  ActivityView,
  AuditEntry,
  FailureView,
  HealthView,
  CompensationFrame,
  GateStatus,
  MigrationPlan,
  Phase,
  RepairCounters,
  RunState,
  SwitchesView,
  SyncStreamView,
  TableCopyProgress,
  VerificationSummary,
  Warning,
} from './api.js';

/** A command accepted but not yet carried out by the main loop. */
export interface PendingCommands {
  advance: { by: string | null; confirm: boolean } | null;
  /** Index in `frames` of the frame to keep as the new top (-1: pop everything, abort). */
  rollbackTo: number | null;
  abort: boolean;
  readPercent: number | null;
}

/** Background loops the workflow keeps running (restarted after continue-as-new / worker loss). */
export interface DesiredLoops {
  forwardSync: boolean;
  /**
   * Forward CDC re-reads each changed row from the source under a shared lock instead of writing the
   * binlog image (while routers may mirror the same rows: the dual-write hand-over).
   */
  forwardReread?: boolean;
  reverseSync: boolean;
  /** Repair loop and its authoritative side, or null when stopped. */
  repair: 'source' | 'target' | null;
}

export interface MigrationState {
  migrationId: string;
  startedAt: string;
  runCount: number;
  /** Entered steps, bottom first; the top frame is the current phase. */
  frames: CompensationFrame[];
  /** Whether the top frame's action finished. */
  topDone: boolean;
  state: RunState;
  paused: boolean;
  /** After a rollback every next step waits for an explicit advance. */
  holdAfterRollback: boolean;
  rollingBackTo: Phase | null;
  pending: PendingCommands;
  activity: string;
  gate: GateStatus | null;
  switches: SwitchesView;
  tables: TableCopyProgress[];
  /** Target tables PREPARE_TARGET created (the only ones its compensation may drop). */
  createdTables: string[];
  /** Bumped each time BULK_COPY is (re)entered: names fresh copy checkpoints. */
  copyGeneration: number;
  loops: DesiredLoops;
  sync: SyncStreamView[];
  repair: RepairCounters;
  lastVerification: VerificationSummary | null;
  lastScheduledVerification: VerificationSummary | null;
  verificationScheduleId: string | null;
  /** The bypass watchers' latest reports, one per watched side (absent in states carried from before). */
  bypass?: BypassReport[];
  /**
   * Workflow ids of scheduled verification runs that reported by signal, not yet confirmed: a
   * report counts (for gates and status) only once the run's own result was read from the server.
   */
  verificationReports: string[];
  health: HealthView;
  activities: ActivityView[];
  /** What stopped the run at a `failed` gate; cleared by `advance` (retry) or a rollback. */
  failure: FailureView | null;
  /**
   * Suffix of each CDC stream's name (names its checkpoint row): `<run>.<n>`, new each time the
   * stream starts after it ended for good, so a rolled-back or re-run migration never resumes from a
   * stale position; null while the stream has not started; '' for streams of older states (plain
   * `<id>-forward`).
   */
  streamEpoch: { forward: string | null; reverse: string | null };
  /** Streams started by this migration (numbers the epochs). */
  streamsStarted: number;
  /** Set when a compensation failed: the rollback `advance` resumes (target frame, abort). */
  rollbackRetry: { to: number; abort: boolean } | null;
  audit: AuditEntry[];
  warnings: Warning[];
  error: string | null;
  updatedAt: string;
}

export const AUDIT_LIMIT = 500;
export const WARNING_LIMIT = 200;

export function initialState(plan: MigrationPlan, now: string): MigrationState {
  return {
    migrationId: plan.id,
    startedAt: now,
    runCount: 1,
    frames: [],
    topDone: true,
    state: 'RUNNING',
    paused: false,
    holdAfterRollback: false,
    rollingBackTo: null,
    pending: { advance: null, rollbackTo: null, abort: false, readPercent: null },
    activity: 'starting',
    gate: null,
    switches: { writeMode: 'SOURCE_ONLY', readPercent: 0, version: 0, ackedBy: [] },
    tables: plan.tables.map((t) => ({
      table: t.name,
      state: 'pending',
      rowsCopied: 0,
      estimatedRows: null,
      ranges: 1,
      rangesDone: 0,
    })),
    createdTables: [],
    copyGeneration: 0,
    loops: { forwardSync: false, reverseSync: false, repair: null },
    sync: [],
    repair: {
      passes: 0,
      rowsChecked: 0,
      repaired: { missing: 0, extra: 0, different: 0 },
      lastPassAt: null,
      direction: null,
      byPhase: [],
    },
    lastVerification: null,
    lastScheduledVerification: null,
    verificationScheduleId: null,
    bypass: [],
    verificationReports: [],
    health: emptyHealth(),
    activities: [],
    failure: null,
    rollbackRetry: null,
    streamEpoch: { forward: null, reverse: null },
    streamsStarted: 0,
    audit: [],
    warnings: [],
    error: null,
    updatedAt: now,
  };
}

export function emptyHealth(): HealthView {
  return {
    checkedAt: null,
    refreshes: 0,
    lagSeconds: null,
    lagUnknown: null,
    repairUnknown: null,
    unconfirmedReports: 0,
  };
}

/** A state carried from a run of an earlier version: fields added since get their initial values. */
export function upgradeState(s: MigrationState): MigrationState {
  s.verificationReports ??= [];
  s.health ??= emptyHealth();
  s.activities ??= [];
  s.failure ??= null;
  s.rollbackRetry ??= null;
  s.streamEpoch ??= { forward: '', reverse: '' };
  s.streamsStarted ??= 0;
  s.repair.byPhase ??= [];
  return s;
}

/** The current phase: the top frame's, or PRECHECK before anything ran. DONE once FINALIZE finished. */
export function currentPhase(s: MigrationState): Phase {
  const top = s.frames[s.frames.length - 1];
  if (!top) return 'PRECHECK';
  if (top.phase === 'FINALIZE' && s.topDone) return 'DONE';
  return top.phase;
}

export function currentReadStep(s: MigrationState): number | null {
  const top = s.frames[s.frames.length - 1];
  return top?.phase === 'READ_SWITCH' ? (top.readPercent ?? null) : null;
}

export function pushAudit(s: MigrationState, entry: AuditEntry): void {
  s.audit.push(entry);
  if (s.audit.length > AUDIT_LIMIT) s.audit.splice(0, s.audit.length - AUDIT_LIMIT);
}

/** An audit entry for something the workflow did by itself (entered a step, finished a rollback). */
export function pushSystemAudit(
  s: MigrationState,
  at: string,
  message: string,
  phase: AuditEntry['phase'],
): void {
  pushAudit(s, {
    at,
    command: 'system',
    via: 'workflow',
    by: null,
    reason: null,
    args: {},
    accepted: true,
    message,
    phase,
  });
}

export function pushWarning(s: MigrationState, at: string, message: string): void {
  s.warnings.push({ at, message });
  if (s.warnings.length > WARNING_LIMIT) s.warnings.splice(0, s.warnings.length - WARNING_LIMIT);
}

export function isTerminal(s: MigrationState): boolean {
  return s.state === 'COMPLETED' || s.state === 'ABORTED' || s.state === 'FAILED';
}
