/**
 * What every part of a migration run shares: the plan, the state, typed activity calls and the
 * operator-facing publication (status timestamp, current details, search attributes, memo).
 * Deterministic: imports only @temporalio/workflow, pure modules and types.
 */
import * as wf from '@temporalio/workflow';
import type { MigrationActivities } from '../activities/temporal/types.js';
import type { SyncStreamSpec } from '../activities/contracts.js';
import {
  SA_PHASE,
  SA_READ_PERCENT,
  SA_TABLES,
  SA_WRITE_MODE,
  type CompensationAction,
  type CompensationFrame,
  type MigrationPlan,
} from './api.js';
import { currentPhase, type MigrationState } from './state.js';
import { currentDetails } from './status.js';

type Acts = MigrationActivities;

const RETRY_FOREVER = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' } as const;

export function nowIso(): string {
  return new Date(Date.now()).toISOString();
}

export function errMessage(err: unknown): string {
  if (err instanceof wf.ActivityFailure && err.cause) return err.cause.message;
  return err instanceof Error ? err.message : String(err);
}

export class MigrationContext {
  private published = '';
  private readonly heartbeat: string;

  constructor(
    readonly plan: MigrationPlan,
    readonly s: MigrationState,
  ) {
    this.heartbeat = `${plan.temporal.heartbeatTimeoutSeconds}s`;
  }

  // ---- activity calls --------------------------------------------------------------------------

  /**
   * A bounded call (seconds to minutes), retried until it succeeds. `startToClose` bounds one attempt
   * of a healthy call; the worker heartbeats every call while it runs (activities/temporal/keep-alive.ts),
   * so a call in flight on a worker that died is retried after the heartbeat timeout, not after that bound.
   */
  short<K extends keyof Acts>(
    name: K,
    arg: Parameters<Acts[K]>[0],
    summary: string,
    startToClose: `${number}s` | `${number}m` = '5m',
  ): ReturnType<Acts[K]> {
    return wf.scheduleActivity(name, [arg], {
      startToCloseTimeout: startToClose,
      heartbeatTimeout: this.heartbeat,
      retry: RETRY_FOREVER,
      summary,
    }) as ReturnType<Acts[K]>;
  }

  /** A look that must not hold anything up: one attempt, bounded; the caller treats failure as unknown. */
  probe<K extends keyof Acts>(name: K, arg: Parameters<Acts[K]>[0], summary: string): ReturnType<Acts[K]> {
    return wf.scheduleActivity(name, [arg], {
      startToCloseTimeout: '30s',
      retry: { maximumAttempts: 1 },
      summary,
    }) as ReturnType<Acts[K]>;
  }

  /** A long call that heartbeats its progress; a lost worker's call moves elsewhere after the heartbeat timeout. */
  long<K extends keyof Acts>(
    name: K,
    arg: Parameters<Acts[K]>[0],
    summary: string,
    waitCancel = false,
  ): ReturnType<Acts[K]> {
    return wf.scheduleActivity(name, [arg], {
      startToCloseTimeout: '3650d',
      heartbeatTimeout: this.heartbeat,
      retry: RETRY_FOREVER,
      cancellationType: waitCancel
        ? wf.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED
        : wf.ActivityCancellationType.TRY_CANCEL,
      summary,
    }) as ReturnType<Acts[K]>;
  }

  // ---- CDC streams -----------------------------------------------------------------------------

  /**
   * Forward reads the source's binlog into the target; reverse (after cutover) the other way. The
   * stream's name carries its epoch (state.streamEpoch): one per start after the stream ended for good.
   */
  streamSpec(direction: 'forward' | 'reverse'): SyncStreamSpec {
    const p = this.plan;
    const [from, to] = direction === 'forward' ? [p.source, p.target] : [p.target, p.source];
    const epoch = this.s.streamEpoch[direction];
    const stream = `${p.id}-${direction}${epoch ? `-${epoch}` : ''}`;
    return { stream, from, to, tables: p.tables, direction };
  }

  /**
   * Gives the stream a fresh epoch unless it has one (call before recording its start): a new
   * workflow execution (first run id) or a restart after the stream ended never finds an old row.
   */
  newStreamEpoch(direction: 'forward' | 'reverse'): void {
    if (this.s.streamEpoch[direction] !== null) return;
    this.s.streamsStarted += 1;
    this.s.streamEpoch[direction] =
      `${wf.workflowInfo().firstExecutionRunId.slice(0, 8)}.${this.s.streamsStarted}`;
    this.changed();
  }

  /** The stream ended for good: removes its checkpoint row; the next start gets a new epoch. */
  async endStream(direction: 'forward' | 'reverse'): Promise<void> {
    if (this.s.streamEpoch[direction] === null) return;
    const spec = this.streamSpec(direction);
    await this.short('dropSyncCheckpoint', { spec }, `remove the checkpoint of ${spec.stream}`);
    this.s.sync = this.s.sync.filter((x) => x.stream !== spec.stream);
    this.s.streamEpoch[direction] = null;
    this.changed();
  }

  /**
   * The repair loop's stream name (names its checkpoint): one per authoritative side, so after the
   * authority flip the loop never opens the target's binlog at a source position.
   */
  repairStream(authoritative: 'source' | 'target'): string {
    return authoritative === 'source' ? `${this.plan.id}-repair` : `${this.plan.id}-repair-target`;
  }

  /** Where the repair loop activity keeps its progress (activities/index.ts runRepairLoop). */
  repairProgressKey(authoritative: 'source' | 'target'): string {
    return `${this.plan.id}:repairloop:${this.repairStream(authoritative)}`;
  }

  get forwardSpec(): SyncStreamSpec {
    return this.streamSpec('forward');
  }

  get reverseSpec(): SyncStreamSpec {
    return this.streamSpec('reverse');
  }

  // ---- compensation ----------------------------------------------------------------------------

  /** Pushes an undo action onto the frame unless the same kind is already there (steps re-run after pause). */
  ensure(frame: CompensationFrame, action: CompensationAction): CompensationAction {
    const existing = frame.actions.find((a) => a.kind === action.kind);
    if (existing) return existing;
    frame.actions.push(action);
    this.changed();
    return action;
  }

  // ---- what operators see ----------------------------------------------------------------------

  doing(text: string): void {
    this.s.activity = text;
    this.changed();
  }

  /** Records a change: status timestamp, current details, and (when they changed) search attributes + memo. */
  changed(): void {
    const s = this.s;
    s.updatedAt = nowIso();
    const phase = currentPhase(s);
    const key = JSON.stringify([phase, s.switches.writeMode, s.switches.readPercent, s.state, s.paused]);
    if (key !== this.published) {
      this.published = key;
      wf.upsertSearchAttributes([
        { key: SA_PHASE, value: phase },
        { key: SA_WRITE_MODE, value: s.switches.writeMode },
        { key: SA_READ_PERCENT, value: s.switches.readPercent },
        { key: SA_TABLES, value: this.plan.tables.map((t) => t.name) },
      ]);
      wf.upsertMemo({
        phase,
        state: s.paused ? 'PAUSED' : s.state,
        writeMode: s.switches.writeMode,
        readPercent: s.switches.readPercent,
      });
    }
    wf.setCurrentDetails(currentDetails(s));
  }
}
