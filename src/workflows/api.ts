/**
 * The migration workflow's public API: names, payloads, status shape and plan types. Importable from
 * workflow code (deterministic: only @temporalio/workflow / @temporalio/common and types) and from
 * clients (CLI, tests, scripts).
 *
 * Every command exists twice with the SAME name:
 *  - as a signal (fire and forget; JSON payload by name, so
 *      temporal workflow signal --workflow-id migration-<id> --name advance --input '{"by":"alice"}'
 *    works); an invalid signal is ignored and recorded as a warning + rejected audit entry;
 *  - as an update with a validator (the CLI's path): an invalid command is rejected with a reason
 *    before it is written to history; an accepted one returns a {@link CommandResult}.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { PHASES, type Phase } from '../shared/workflow-names.js';
import type {
  BinlogPosition,
  MismatchCounts,
  TableSpec,
  WriteMode,
  EncodedKey,
  VerificationInput,
} from '../activities/contracts.js';

import type { BypassReport } from '../activities/bypass/types.js';

export type { TableSpec, WriteMode, BinlogPosition, MismatchCounts, EncodedKey, VerificationInput };
export type { BypassReport };

// ---- names -------------------------------------------------------------------------------------------

export {
  DEFAULT_TASK_QUEUE,
  MIGRATION_WORKFLOW_TYPE,
  PHASES,
  SEARCH_ATTRIBUTES,
  VERIFICATION_WORKFLOW_TYPE,
  migrationWorkflowId,
  verificationScheduleId,
  verificationWorkflowIdPrefix,
  type Phase,
} from '../shared/workflow-names.js';

// ---- phases ------------------------------------------------------------------------------------------

/** Phases a plan may leave out (the 5/7/8-step variants of seeds 000/002/004). */
export const OPTIONAL_PHASES: readonly Phase[] = [
  'REPAIR_LOOP',
  'READ_SWITCH',
  'DUAL_WRITE_TARGET_FIRST',
  'TARGET_ONLY',
];

/** Phases entered only through a gate (advance, or auto-advance after a healthy soak). */
export const GATED_PHASES: readonly Phase[] = [
  'DUAL_WRITE_SOURCE_FIRST',
  'READ_SWITCH',
  'DUAL_WRITE_TARGET_FIRST',
  'TARGET_ONLY',
  'FINALIZE',
];

export function isPhase(value: unknown): value is Phase {
  return typeof value === 'string' && (PHASES as readonly string[]).includes(value);
}

/** Where the run is overall. */
export type RunState =
  | 'RUNNING' // a phase is acting
  | 'WAITING' // at a gate
  | 'PAUSED'
  | 'ROLLING_BACK'
  | 'COMPLETED' // FINALIZE done
  | 'ABORTED' // everything rolled back, run ended
  | 'FAILED';

// ---- plan ---------------------------------------------------------------------------------------------

/** Health criteria and soak of one gate. */
export interface GateRule {
  /** Advance without a signal once the soak held. Never applies to FINALIZE. */
  autoAdvance: boolean;
  /** How long the health criteria must hold before auto-advance. */
  soakSeconds: number;
  /** Max CDC lag (seconds) during the soak. */
  maxLagSeconds: number;
  /** The latest verification must show zero mismatches (and have run after the soak started). */
  requireNoMismatches: boolean;
}

/** Gate names: the phase the gate leads into; READ_SWITCH gates are per step. */
export type GateName =
  | 'DUAL_WRITE_SOURCE_FIRST'
  | 'READ_SWITCH'
  | 'DUAL_WRITE_TARGET_FIRST'
  | 'TARGET_ONLY'
  | 'FINALIZE';

/** binlog: compare each changed key shortly after its change; updated_at: windows + reverse delete scans; full: periodic full verify+repair. */
export type RepairLoopMode = 'binlog' | 'updated_at' | 'full';

/** A migration plan: data only, no credentials (connections are NAMES resolved by the worker's env). */
export interface MigrationPlan {
  /** Migration id: names the workflow (`migration-<id>`), switch keys, CDC streams and schedule. */
  id: string;
  /** Connection names: the worker resolves MIGRATOR_DB_<NAME>. */
  source: string;
  target: string;
  tables: TableSpec[];
  /** The phases to run, in order (subset of PHASES keeping the mandatory ones). */
  phases: Phase[];
  /** Read-switch steps, percent of reads on target, increasing, ending at 100. */
  readSteps: number[];
  gates: Record<GateName, GateRule>;
  copy: {
    /** Tables (or ranges) copied at once. */
    parallelism: number;
    /** Split each table into this many key ranges copied as separate activities (1 = whole table). */
    rangesPerTable: number;
    /** Connection name of a source replica: the copy backs off while it lags (or is stopped). */
    replica?: string;
    /** Lag above which the copy waits (with `replica`). */
    maxReplicaLagSeconds: number;
    /** The copy waits while more statements than this run on the target (unset: no limit). */
    maxTargetThreadsRunning?: number;
  };
  cdc: {
    /** CATCH_UP_VERIFY waits for lag below this before verifying. */
    catchUpLagSeconds: number;
    /** Seconds allowed for routers to acknowledge a switch change. */
    routerAckTimeoutSeconds: number;
  };
  /** The application's routers (src/router). */
  routers: {
    /**
     * How many routers the application runs: a switch change is acknowledged only by at least this
     * many (0: whatever registered, none included).
     */
    expected: number;
    /** Bound on a fenced write-mode change's write hold; beyond it the change is called off and retried. */
    holdTimeoutSeconds: number;
  };
  verification: {
    /** Scheduled verification interval while dual writing. */
    intervalSeconds: number;
    /** Whether scheduled verification repairs what it finds (default: report only). */
    repair: boolean;
  };
  repairLoop: {
    mode: RepairLoopMode;
    /** Seconds between incremental passes. */
    intervalSeconds: number;
  };
  /** Temporal tuning (defaults suit production; tests shorten them). */
  temporal: {
    /** Heartbeat timeout of long activities: how fast a lost worker's copy/loop moves elsewhere. */
    heartbeatTimeoutSeconds: number;
    /** Continue-as-new after this many history events (or when the server suggests it). */
    continueAsNewAfterEvents: number;
    /** How often health is measured at a gate (three times that while a step runs). */
    gatePollSeconds: number;
    /**
     * How long one compensation action may run before the rollback stops at a `failed` gate (its
     * undo stack intact; `advance` retries it). Covers the longest full verification a rollback runs.
     */
    compensationTimeoutSeconds: number;
  };
}

// ---- commands ------------------------------------------------------------------------------------------

/** Who and why, for the audit log. Optional on every command. */
export interface CommandMeta {
  by?: string;
  reason?: string;
}
export type PausePayload = CommandMeta;
export type ResumePayload = CommandMeta;
export interface AdvancePayload extends CommandMeta {
  /** Required (true) to advance into FINALIZE; same as the `finalize` command. */
  confirm?: boolean;
  /** Required (true) to pass a gate with blockers (`gate.blockers`); recorded with `by` and `reason`. */
  force?: boolean;
}
export interface RollbackPayload extends CommandMeta {
  /** Phase to return to (one already reached, before the current one). Default: one step back. */
  toPhase?: string;
  /** With toPhase READ_SWITCH: the read step (percent) to return to. */
  readPercent?: number;
}
export interface SetReadPercentPayload extends CommandMeta {
  percent: number;
}
export type AbortPayload = CommandMeta;
export interface FinalizePayload extends CommandMeta {
  /** Must be exactly true: FINALIZE is the one irreversible step. */
  confirm: boolean;
  /** Required (true) when the FINALIZE gate has blockers. */
  force?: boolean;
}

export const COMMANDS = [
  'pause',
  'resume',
  'advance',
  'rollback',
  'setReadPercent',
  'abort',
  'finalize',
] as const;
export type CommandName = (typeof COMMANDS)[number];

export interface CommandPayloads {
  pause: PausePayload;
  resume: ResumePayload;
  advance: AdvancePayload;
  rollback: RollbackPayload;
  setReadPercent: SetReadPercentPayload;
  abort: AbortPayload;
  finalize: FinalizePayload;
}

/** What an accepted update answers. */
export interface CommandResult {
  accepted: true;
  command: CommandName;
  message: string;
  phase: Phase;
  state: RunState;
}

// Signals (by name: JSON payloads from `temporal workflow signal --name <name> --input '{...}'`).
export const pauseSignal = defineSignal<[PausePayload?]>('pause');
export const resumeSignal = defineSignal<[ResumePayload?]>('resume');
export const advanceSignal = defineSignal<[AdvancePayload?]>('advance');
export const rollbackSignal = defineSignal<[RollbackPayload?]>('rollback');
export const setReadPercentSignal = defineSignal<[SetReadPercentPayload]>('setReadPercent');
export const abortSignal = defineSignal<[AbortPayload?]>('abort');
export const finalizeSignal = defineSignal<[FinalizePayload]>('finalize');
/** Sent by each scheduled verification run to its migration. */
export const verificationResultSignal = defineSignal<[VerificationSummary]>('verificationResult');

// Updates: the same commands with validators.
export const pauseUpdate = defineUpdate<CommandResult, [PausePayload?]>('pause');
export const resumeUpdate = defineUpdate<CommandResult, [ResumePayload?]>('resume');
export const advanceUpdate = defineUpdate<CommandResult, [AdvancePayload?]>('advance');
export const rollbackUpdate = defineUpdate<CommandResult, [RollbackPayload?]>('rollback');
export const setReadPercentUpdate = defineUpdate<CommandResult, [SetReadPercentPayload]>('setReadPercent');
export const abortUpdate = defineUpdate<CommandResult, [AbortPayload?]>('abort');
export const finalizeUpdate = defineUpdate<CommandResult, [FinalizePayload]>('finalize');

export const signals = {
  pause: pauseSignal,
  resume: resumeSignal,
  advance: advanceSignal,
  rollback: rollbackSignal,
  setReadPercent: setReadPercentSignal,
  abort: abortSignal,
  finalize: finalizeSignal,
} as const;

export const updates = {
  pause: pauseUpdate,
  resume: resumeUpdate,
  advance: advanceUpdate,
  rollback: rollbackUpdate,
  setReadPercent: setReadPercentUpdate,
  abort: abortUpdate,
  finalize: finalizeUpdate,
} as const;

// ---- status --------------------------------------------------------------------------------------------

export interface GateStatus {
  /** The phase this gate leads into (READ_SWITCH gates also name the percent). */
  next: Phase;
  nextReadPercent?: number;
  /** Human text: what it waits for. */
  waitingFor: string;
  since: string;
  autoAdvance: boolean;
  /** Auto-advance: when the current healthy soak started (null: health does not hold now). */
  soakStartedAt: string | null;
  /** Auto-advance: seconds of healthy soak still needed. */
  soakRemainingSeconds: number | null;
  /**
   * What the auto-advance rules would block on now (health criteria: lag, lag unknown, verification,
   * stale health), whatever the gate's mode; `advance` past a blocker needs `force`. Empty: healthy.
   */
  blockers: string[];
  /** Set when this is a `failed` gate: what failed, where, and the fix; `advance` retries. */
  failed: FailureView | null;
  /** Needs `finalize {confirm:true}` (or `advance {confirm:true}`). */
  requiresConfirmation: boolean;
}

export interface SwitchesView {
  writeMode: WriteMode;
  readPercent: number;
  version: number;
  /** Routers that acknowledged `version` (at the last check). */
  ackedBy: string[];
  /** The latest fenced write-mode changes (newest last, at most 20). */
  fences?: FenceRecord[];
}

/** One attempt at a fenced write-mode change (src/switches/fence.ts). */
export interface FenceRecord {
  at: string;
  from: WriteMode;
  to: WriteMode;
  /** How long writes were held. */
  heldMs: number;
  /** Why the change was not made (then it is retried). */
  calledOff?: string;
  /** Failed mirrors of the old mode repaired while writes were held (authority flips). */
  drained?: { entries: number; keys: number; repaired: number };
}

export interface TableCopyProgress {
  table: string;
  state: 'pending' | 'copying' | 'done';
  rowsCopied: number;
  estimatedRows: number | null;
  ranges: number;
  rangesDone: number;
}

export interface SyncStreamView {
  stream: string;
  direction: 'forward' | 'reverse';
  running: boolean;
  applied: BinlogPosition | null;
  head: BinlogPosition | null;
  lagSeconds: number | null;
  lagBytes: number | null;
  checkedAt: string | null;
}

export interface RepairCounters {
  passes: number;
  rowsChecked: number;
  repaired: MismatchCounts;
  lastPassAt: string | null;
  direction: 'source->target' | 'target->source' | null;
  /**
   * Rows repaired (found wrong when re-read under lock) by the phase the run was in when they were
   * reported: by the repair loop, by verifications, by the drain of a fenced switch change.
   */
  byPhase: PhaseRepairs[];
}

export interface PhaseRepairs {
  phase: Phase;
  loop: number;
  verification: number;
  drain: number;
}

export interface TableVerification {
  table: string;
  rowsCompared: number;
  mismatches: MismatchCounts;
  repaired: MismatchCounts;
  sampleKeys: { kind: keyof MismatchCounts; key: EncodedKey }[];
  /** A scheduled run skipped the table (verified recently enough): its counts say nothing. */
  skippedUntil?: string;
}

/** One verification (catch-up, scheduled, or pre-switch): counts and sample keys. */
export interface VerificationSummary {
  /** Who ran it: 'catch-up', 'scheduled:<workflowId>', 'reverse', ... */
  origin: string;
  authoritative: 'source' | 'target';
  repair: boolean;
  startedAt: string;
  finishedAt: string;
  tables: TableVerification[];
  totalMismatches: number;
  totalRepaired: number;
}

/** Actions a compensation runs (each one an idempotent activity call). */
export type CompensationAction =
  | { kind: 'dropCreatedTables'; tables: string[] }
  | { kind: 'stopForwardSync' }
  | { kind: 'truncateTarget'; tables: string[] }
  | { kind: 'backToSourceOnly' }
  | { kind: 'stopRepairLoop' }
  | { kind: 'restoreReadPercent'; percent: number }
  | { kind: 'backToSourceFirst' }
  | { kind: 'backToTargetFirst' }
  | { kind: 'deleteVerificationSchedule' };

/** One entered step (phase, or one read-switch step) and what undoes it, pushed BEFORE it acts. */
export interface CompensationFrame {
  phase: Phase;
  readPercent?: number;
  enteredAt: string;
  /** Undo actions in push order; rollback runs them in reverse. */
  actions: CompensationAction[];
}

export interface AuditEntry {
  at: string;
  command: CommandName | 'verificationResult' | 'auto-advance' | 'system';
  via: 'signal' | 'update' | 'workflow';
  by: string | null;
  reason: string | null;
  args: Record<string, unknown>;
  accepted: boolean;
  /** Why it was rejected, or what it did. */
  message: string;
  phase: Phase;
}

export interface Warning {
  at: string;
  message: string;
}

/** A failure that stopped the run at a `failed` gate (a fatal activity error, a failed compensation). */
export interface FailureView {
  at: string;
  /** Where: the step, a background loop, or a compensation during rollback. */
  where: 'step' | 'compensation' | 'forward' | 'reverse' | 'repair' | 'bypass-source' | 'bypass-target';
  /** The phase whose step or undo failed. */
  phase: Phase;
  /** The activity that failed (when an activity did). */
  activity: string | null;
  message: string;
  /** fatal: classified as not retryable; timeout: a compensation ran out of time; other: anything else. */
  kind: 'fatal' | 'timeout' | 'other';
  table: string | null;
  setting: string | null;
  fix: string | null;
}

/** A running (or retrying) activity as the server reports it (refreshed with health). */
export interface ActivityView {
  activity: string;
  activityId: string;
  state: string;
  /** 1 on the first try; more while transient errors are being retried with back-off. */
  attempt: number;
  lastFailure: string | null;
  nextAttemptAt: string | null;
  secondsSinceProgress: number | null;
}

/** Health as last measured by the workflow's steady health refresh (whatever the gate mode). */
export interface HealthView {
  /** When the last refresh finished (null: not yet). */
  checkedAt: string | null;
  /** Refreshes done (moves on a steady cadence). */
  refreshes: number;
  /** Worst lag of the running CDC streams (null: no stream runs, or lag unknown). */
  lagSeconds: number | null;
  /** Why the lag of a running stream is unknown (the health check failed): blocks every gate. */
  lagUnknown: string | null;
  /** Why the repair counters could not be read (null: read, or no repair loop). */
  repairUnknown: string | null;
  /** Verification reports received by signal and not yet confirmed against their run. */
  unconfirmedReports: number;
}

export interface MigrationStatus {
  migrationId: string;
  phase: Phase;
  /** Current read-switch step while in READ_SWITCH. */
  readStep: number | null;
  state: RunState;
  paused: boolean;
  /** Set while a rollback/abort is in progress or queued. */
  rollingBackTo: Phase | null;
  /** What the workflow is doing right now (also set as current details for Temporal UI). */
  activity: string;
  gate: GateStatus | null;
  switches: SwitchesView;
  tables: TableCopyProgress[];
  sync: SyncStreamView[];
  repair: RepairCounters;
  /** Latest verification of any kind, and the latest scheduled one. */
  lastVerification: VerificationSummary | null;
  lastScheduledVerification: VerificationSummary | null;
  verificationScheduleId: string | null;
  /**
   * Writes that bypassed the router (one report per watched side's binlog): per migrated table, row
   * changes no router and no product writer made, their first keys, and how many are not yet repaired.
   */
  bypass: BypassReport[];
  compensation: CompensationFrame[];
  /** Health measured on a steady cadence (lag, checks that failed). */
  health: HealthView;
  /** Activities running now: attempt, last error and time since progress (retries visible here). */
  activities: ActivityView[];
  /** The failure the run is stopped at (a `failed` gate), or null. */
  failure: FailureView | null;
  audit: AuditEntry[];
  warnings: Warning[];
  error: string | null;
  startedAt: string;
  updatedAt: string;
  /** Runs of this migration chained by continue-as-new. */
  runCount: number;
}

export const statusQuery = defineQuery<MigrationStatus>('status');
export const planQuery = defineQuery<MigrationPlan>('plan');

// ---- workflow inputs -----------------------------------------------------------------------------------

export interface MigrationInput {
  plan: MigrationPlan;
  /** Set by continue-as-new: the full state to carry on from. */
  carried?: unknown;
}

// ---- search attributes ---------------------------------------------------------------------------------

export const SA_PHASE = defineSearchAttributeKey('MigrationPhase', SearchAttributeType.KEYWORD);
export const SA_WRITE_MODE = defineSearchAttributeKey('MigrationWriteMode', SearchAttributeType.KEYWORD);
export const SA_READ_PERCENT = defineSearchAttributeKey('MigrationReadPercent', SearchAttributeType.INT);
export const SA_TABLES = defineSearchAttributeKey('MigrationTables', SearchAttributeType.KEYWORD_LIST);
