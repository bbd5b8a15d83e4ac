/**
 * The migration workflow: Temporal glue around the pure modules (state, transitions, commands,
 * compensation, gates, status). Deterministic: imports only @temporalio/workflow, pure modules and types.
 */
import * as wf from '@temporalio/workflow';
import type { SignalDefinition, UpdateDefinition } from '@temporalio/common';
import type { MigrationActivities } from '../activities/temporal/types.js';
import type {
  BinlogPosition,
  SwitchChange,
  Switches,
  SyncStreamSpec,
  VerifyResult,
} from '../activities/contracts.js';
import {
  COMMANDS,
  DEFAULT_TASK_QUEUE,
  SA_PHASE,
  SA_READ_PERCENT,
  SA_TABLES,
  SA_WRITE_MODE,
  migrationWorkflowId,
  planQuery,
  signals,
  statusQuery,
  updates,
  verificationResultSignal,
  verificationScheduleId,
  verificationWorkflowIdPrefix,
  type CommandName,
  type CommandPayloads,
  type CommandResult,
  type CompensationAction,
  type CompensationFrame,
  type MigrationInput,
  type MigrationPlan,
  type MigrationStatus,
  type VerificationSummary,
} from './api.js';
import { acceptCommand, recordRejection, validateCommand } from './commands.js';
import { describeAction, planRollback } from './compensation.js';
import { stepSoak } from './gates.js';
import { summarise } from './summary.js';
import {
  currentPhase,
  initialState,
  pushAudit,
  pushSystemAudit,
  pushWarning,
  type MigrationState,
} from './state.js';
import { buildStatus, currentDetails } from './status.js';
import { describeStep, gateRule, isGated, nextStep, type Step } from './transitions.js';

type Acts = MigrationActivities;
type LoopKind = 'forward' | 'reverse' | 'repair';

const RETRY_FOREVER = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' } as const;

function nowIso(): string {
  return new Date(Date.now()).toISOString();
}

function isCancel(err: unknown): boolean {
  return wf.isCancellation(err);
}

function errMessage(err: unknown): string {
  if (err instanceof wf.ActivityFailure && err.cause) return err.cause.message;
  return err instanceof Error ? err.message : String(err);
}

class MigrationRun {
  private stepScope: wf.CancellationScope | undefined;
  private readonly loops = new Map<
    LoopKind,
    { key: string; scope: wf.CancellationScope; done: Promise<void> }
  >();
  private loopsSuspended = false;
  /** updatedAt of the switches this run last wrote: tells a re-created hash from ours. */
  private switchesUpdatedAt: string | null = null;
  private reconciling = false;
  private published = '';
  private readonly heartbeat: string;

  constructor(
    private readonly plan: MigrationPlan,
    private readonly s: MigrationState,
  ) {
    this.heartbeat = `${plan.temporal.heartbeatTimeoutSeconds}s`;
  }

  // ---- activity calls --------------------------------------------------------------------------

  private short<K extends keyof Acts>(
    name: K,
    arg: Parameters<Acts[K]>[0],
    summary: string,
  ): ReturnType<Acts[K]> {
    return wf.scheduleActivity(name, [arg], {
      startToCloseTimeout: '5m',
      retry: RETRY_FOREVER,
      summary,
    }) as ReturnType<Acts[K]>;
  }

  private long<K extends keyof Acts>(
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

  private get forwardSpec(): SyncStreamSpec {
    return this.streamSpec('forward');
  }
  private get reverseSpec(): SyncStreamSpec {
    return this.streamSpec('reverse');
  }
  /** Forward reads the source's binlog into the target; reverse (after cutover) the other way. */
  private streamSpec(direction: 'forward' | 'reverse'): SyncStreamSpec {
    const p = this.plan;
    const [from, to] = direction === 'forward' ? [p.source, p.target] : [p.target, p.source];
    return { stream: `${p.id}-${direction}`, from, to, tables: p.tables, direction };
  }

  // ---- UI ---------------------------------------------------------------------------------------

  private doing(text: string): void {
    this.s.activity = text;
    this.changed();
  }

  /** Records a change: status timestamp, current details, and (when they changed) search attributes + memo. */
  private changed(): void {
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

  // ---- commands ----------------------------------------------------------------------------------

  installHandlers(): void {
    wf.setHandler(statusQuery, (): MigrationStatus => buildStatus(this.s));
    wf.setHandler(planQuery, () => this.plan);
    for (const name of COMMANDS) {
      const signal = signals[name] as SignalDefinition<[unknown?]>;
      wf.setHandler(signal, (payload?: unknown) => {
        this.command(name, payload, 'signal');
      });
      const update = updates[name] as UpdateDefinition<CommandResult, [unknown?]>;
      wf.setHandler(
        update,
        (payload?: unknown): CommandResult => {
          const result = this.command(name, payload, 'update');
          if (!result) throw wf.ApplicationFailure.nonRetryable('rejected', 'CommandRejected');
          return result;
        },
        {
          validator: (payload?: unknown) => {
            const v = validateCommand(this.s, this.plan, name, payload);
            if (!v.ok) throw new Error(`${name} rejected: ${v.reason}`);
          },
        },
      );
    }
    wf.setHandler(verificationResultSignal, (summary: VerificationSummary) => {
      if (!summary || typeof summary !== 'object' || !Array.isArray(summary.tables)) return;
      this.s.lastScheduledVerification = summary;
      this.s.lastVerification = summary;
      if (summary.totalMismatches > 0) {
        pushWarning(
          this.s,
          nowIso(),
          `scheduled verification ${summary.origin} found ${summary.totalMismatches} mismatches`,
        );
      }
      this.changed();
    });
  }

  private command(name: CommandName, payload: unknown, via: 'signal' | 'update'): CommandResult | null {
    const s = this.s;
    const at = nowIso();
    const v = validateCommand(s, this.plan, name, payload);
    if (!v.ok) {
      recordRejection(s, name, payload, via, at, v.reason);
      this.changed();
      return null;
    }
    acceptCommand(
      s,
      this.plan,
      name,
      payload as CommandPayloads[typeof name] | undefined,
      via,
      at,
      v.message,
    );
    if (name === 'pause' || name === 'rollback' || name === 'abort') this.stepScope?.cancel();
    this.changed();
    return { accepted: true, command: name, message: v.message, phase: currentPhase(s), state: s.state };
  }

  // ---- background loops (CDC forward/reverse, repair loop) ---------------------------------------------

  private desiredLoopKey(kind: LoopKind): string | null {
    if (this.loopsSuspended) return null;
    const l = this.s.loops;
    if (kind === 'forward') return l.forwardSync ? 'on' : null;
    if (kind === 'reverse') return l.reverseSync ? 'on' : null;
    return l.repair;
  }

  private loopsDiffer(): boolean {
    return (['forward', 'reverse', 'repair'] as LoopKind[]).some(
      (k) => (this.loops.get(k)?.key ?? null) !== this.desiredLoopKey(k),
    );
  }

  /** Runs in the root scope for the whole run: starts/stops loop activities to match the desired state. */
  async loopManager(): Promise<void> {
    for (;;) {
      await wf.condition(() => this.loopsDiffer());
      this.reconciling = true;
      try {
        for (const kind of ['forward', 'reverse', 'repair'] as LoopKind[]) {
          const want = this.desiredLoopKey(kind);
          const running = this.loops.get(kind);
          if ((running?.key ?? null) === want) continue;
          if (running) {
            running.scope.cancel();
            await running.done;
          }
          if (want !== null) this.startLoop(kind, want);
        }
      } finally {
        this.reconciling = false;
      }
    }
  }

  private startLoop(kind: LoopKind, key: string): void {
    const scope = new wf.CancellationScope();
    const entry = { key, scope, done: Promise.resolve() };
    const body = async () => {
      if (kind === 'forward')
        await this.long('runSync', this.forwardSpec, 'forward CDC source -> target', true);
      else if (kind === 'reverse')
        await this.long('runSync', this.reverseSpec, 'reverse CDC target -> source', true);
      else {
        const authoritative = key as 'source' | 'target';
        await this.long(
          'runRepairLoop',
          {
            migrationId: this.plan.id,
            stream: `${this.plan.id}-repair`,
            source: this.plan.source,
            target: this.plan.target,
            tables: this.plan.tables,
            authoritative,
            mode: this.plan.repairLoop.mode,
            intervalMs: this.plan.repairLoop.intervalSeconds * 1000,
          },
          `repair loop, ${authoritative} authoritative`,
          true,
        );
      }
    };
    entry.done = scope
      .run(body)
      .then(
        () => {
          pushWarning(this.s, nowIso(), `${kind} loop ended on its own; restarting`);
        },
        async (err: unknown) => {
          if (isCancel(err) && scope.consideredCancelled) return;
          pushWarning(this.s, nowIso(), `${kind} loop failed: ${errMessage(err)}; restarting in 10 s`);
          await wf.CancellationScope.nonCancellable(() => wf.sleep('10s'));
        },
      )
      .finally(() => {
        if (this.loops.get(kind) === entry) this.loops.delete(kind);
        this.updateSyncRunning();
      });
    this.loops.set(kind, entry);
    this.updateSyncRunning();
  }

  private updateSyncRunning(): void {
    for (const view of this.s.sync) {
      const kind: LoopKind = view.direction === 'forward' ? 'forward' : 'reverse';
      view.running = this.loops.has(kind);
    }
  }

  /** Waits until the running loops match the desired state. */
  private async settleLoops(): Promise<void> {
    await wf.condition(() => !this.loopsDiffer() && !this.reconciling);
  }

  /** Polls CDC status of the running streams (and the repair loop's counters); returns the worst lag. */
  private async refreshHealth(): Promise<number | null> {
    const s = this.s;
    let worst: number | null = null;
    for (const [spec, on] of [
      [this.forwardSpec, s.loops.forwardSync],
      [this.reverseSpec, s.loops.reverseSync],
    ] as const) {
      if (!on) continue;
      const st = await this.short('syncStatus', spec, `CDC status ${spec.stream}`);
      let view = s.sync.find((x) => x.stream === spec.stream);
      if (!view) {
        view = {
          stream: spec.stream,
          direction: spec.direction,
          running: true,
          applied: null,
          head: null,
          lagSeconds: null,
          lagBytes: null,
          checkedAt: null,
        };
        s.sync.push(view);
      }
      Object.assign(view, {
        applied: st.applied,
        head: st.head,
        lagSeconds: st.lagSeconds,
        lagBytes: st.lagBytes,
        checkedAt: nowIso(),
      });
      worst = Math.max(worst ?? 0, st.lagSeconds);
    }
    this.updateSyncRunning();
    if (s.loops.repair) {
      const p = await this.short(
        'repairLoopProgress',
        { migrationId: this.plan.id, stream: `${this.plan.id}-repair` },
        'repair loop counters',
      );
      if (p) {
        s.repair.rowsChecked = p.checked;
        s.repair.repaired = p.repaired;
        s.repair.passes += 1;
        s.repair.lastPassAt = nowIso();
      }
    }
    this.changed();
    return worst;
  }

  // ---- switches -----------------------------------------------------------------------------------------

  /**
   * Always writes the FULL desired state (not just the changed field): if Redis lost the switches, a
   * partial change would re-create them from defaults (e.g. SOURCE_ONLY at 50 % reads).
   */
  private async setSwitches(change: SwitchChange, why: string): Promise<void> {
    const full: SwitchChange = {
      writeMode: change.writeMode ?? this.s.switches.writeMode,
      readPercent: change.readPercent ?? this.s.switches.readPercent,
    };
    const sw = await this.short(
      'setSwitches',
      { migrationId: this.plan.id, change: full, by: `workflow:${migrationWorkflowId(this.plan.id)}` },
      why,
    );
    this.switchesUpdatedAt = sw.updatedAt;
    this.s.switches = {
      writeMode: sw.writeMode,
      readPercent: sw.readPercent,
      version: sw.version,
      ackedBy: [],
    };
    this.changed();
    const timeoutMs = this.plan.cdc.routerAckTimeoutSeconds * 1000;
    for (;;) {
      this.doing(`waiting for every live router to acknowledge switch version ${sw.version}`);
      const acks = await this.short(
        'waitForRouterAcks',
        { migrationId: this.plan.id, version: sw.version, timeoutMs },
        `router acks v${sw.version}`,
      );
      this.s.switches.ackedBy = acks.acked;
      if (acks.allAcked) break;
      await this.historyCheckpoint();
      pushWarning(
        this.s,
        nowIso(),
        `routers ${acks.pending.join(', ')} have not acknowledged switch version ${sw.version}; still waiting`,
      );
    }
    this.changed();
  }

  /**
   * The workflow, not Redis, is the source of truth for the switches. Redis can lose them (a restart
   * without persistence, a failover); routers keep serving with their last known switches meanwhile.
   * Setting the full desired state is a no-op while Redis holds it, and re-creates it otherwise; the
   * routers then follow and acknowledge it again.
   */
  private async reconcileSwitches(): Promise<void> {
    const want = this.s.switches;
    let sw: Switches;
    try {
      sw = await this.short(
        'setSwitches',
        {
          migrationId: this.plan.id,
          change: { writeMode: want.writeMode, readPercent: want.readPercent },
          by: `workflow:${migrationWorkflowId(this.plan.id)}`,
        },
        'check the switches in Redis',
      );
    } catch (err) {
      pushWarning(this.s, nowIso(), `could not check the switches in Redis: ${errMessage(err)}`);
      return;
    }
    // After continue-as-new this run has not written the switches yet: the version alone decides.
    if (sw.version === want.version && (this.switchesUpdatedAt ?? sw.updatedAt) === sw.updatedAt) {
      this.switchesUpdatedAt = sw.updatedAt;
      return;
    }
    pushWarning(
      this.s,
      nowIso(),
      `switches in Redis were lost or changed (v${want.version} -> v${sw.version}); re-applied ${want.writeMode}, ${want.readPercent}% reads on target`,
    );
    await this.setSwitches({}, 're-apply the switches and wait for router acks');
  }

  // ---- verification ------------------------------------------------------------------------------------

  private async verifyAll(
    authoritative: 'source' | 'target',
    repair: boolean,
    origin: string,
    stream?: string,
  ): Promise<VerificationSummary> {
    const startedAt = nowIso();
    const results: VerifyResult[] = [];
    for (const table of this.plan.tables) {
      this.doing(`verifying ${table.name} (${authoritative} authoritative${repair ? ', repairing' : ''})`);
      results.push(
        await this.long(
          'verifyTable',
          { source: this.plan.source, target: this.plan.target, table, authoritative, repair, stream },
          `verify ${table.name} (${origin})`,
        ),
      );
    }
    const summary = summarise(origin, authoritative, repair, startedAt, nowIso(), results);
    this.s.lastVerification = summary;
    this.changed();
    return summary;
  }

  // ---- steps -----------------------------------------------------------------------------------------

  private enter(step: Step): void {
    const s = this.s;
    s.frames.push({ phase: step.phase, readPercent: step.readPercent, enteredAt: nowIso(), actions: [] });
    s.topDone = false;
    s.error = null;
    if (step.phase === 'BULK_COPY') s.copyGeneration += 1;
    pushSystemAudit(s, nowIso(), `entered ${describeStep(step)}`, step.phase);
    this.changed();
  }

  /** Pushes an undo action onto the frame unless the same kind is already there (steps re-run after pause). */
  private ensure(frame: CompensationFrame, action: CompensationAction): CompensationAction {
    const existing = frame.actions.find((a) => a.kind === action.kind);
    if (existing) return existing;
    frame.actions.push(action);
    this.changed();
    return action;
  }

  private async perform(frame: CompensationFrame): Promise<void> {
    const p = this.plan;
    const s = this.s;
    const endpoints = { source: p.source, target: p.target, tables: p.tables };
    switch (frame.phase) {
      case 'PRECHECK': {
        this.doing('initialising switches');
        const sw = await this.short('initSwitches', { migrationId: p.id }, 'initialise switches');
        this.switchesUpdatedAt = sw.updatedAt;
        s.switches = {
          writeMode: sw.writeMode,
          readPercent: sw.readPercent,
          version: sw.version,
          ackedBy: [],
        };
        this.doing('prechecking source and target');
        const report = await this.short('precheck', endpoints, 'precheck');
        for (const t of report.tables) {
          const view = s.tables.find((x) => x.table === t.name);
          if (view) view.estimatedRows = t.estimatedRows;
        }
        if (!report.ok) {
          throw wf.ApplicationFailure.nonRetryable(
            'precheck failed:\n' +
              report.problems
                .map((x) => `- ${x.table ? `${x.table}: ` : ''}${x.message} (fix: ${x.fix})`)
                .join('\n'),
            'PrecheckFailed',
          );
        }
        return;
      }
      case 'PREPARE_TARGET': {
        // The data plane records the tables it creates on the target; its drop removes only those, and only
        // while empty. So the undo can name every target table of the plan before anything is created.
        this.ensure(frame, {
          kind: 'dropCreatedTables',
          tables: p.tables.map((t) => t.targetName ?? t.name),
        });
        this.doing('creating missing target tables');
        const res = await this.short('prepareTarget', endpoints, 'create missing target tables');
        s.createdTables = [...new Set([...s.createdTables, ...res.created])];
        return;
      }
      case 'START_SYNC': {
        this.ensure(frame, { kind: 'stopForwardSync' });
        await this.startForwardSync();
        return;
      }
      case 'BULK_COPY': {
        this.ensure(frame, { kind: 'truncateTarget', tables: p.tables.map((t) => t.name) });
        await this.bulkCopy();
        return;
      }
      case 'CATCH_UP_VERIFY': {
        await this.waitForLag(p.cdc.catchUpLagSeconds);
        await this.verifyAll('source', true, 'catch-up', this.forwardSpec.stream);
        return;
      }
      case 'DUAL_WRITE_SOURCE_FIRST': {
        this.ensure(frame, { kind: 'deleteVerificationSchedule' });
        this.ensure(frame, { kind: 'backToSourceOnly' });
        await this.setSwitches({ writeMode: 'DUAL_SOURCE_FIRST' }, 'write switch -> DUAL_SOURCE_FIRST');
        // Gapless hand-over: every router writes both sides now; CDC runs past this point, then stops.
        this.doing('recording the source position after every router acknowledged dual write');
        const pos = await this.short(
          'currentPosition',
          { connection: p.source },
          'source position at hand-over',
        );
        await this.waitSyncPast(this.forwardSpec, pos);
        s.loops.forwardSync = false;
        this.doing('stopping forward CDC');
        await this.settleLoops();
        await this.upsertSchedule('source');
        return;
      }
      case 'REPAIR_LOOP': {
        this.ensure(frame, { kind: 'stopRepairLoop' });
        s.loops.repair = 'source';
        s.repair.direction = 'source->target';
        this.doing('starting the repair loop (source -> target)');
        await this.settleLoops();
        return;
      }
      case 'READ_SWITCH': {
        const previous = s.switches.readPercent;
        this.ensure(frame, { kind: 'restoreReadPercent', percent: previous });
        const percent = frame.readPercent ?? 100;
        await this.setSwitches({ readPercent: percent }, `read switch -> ${percent}% on target`);
        return;
      }
      case 'DUAL_WRITE_TARGET_FIRST': {
        this.ensure(frame, { kind: 'backToSourceFirst' });
        // The target becomes authoritative: make sure it is complete first.
        await this.verifyAll('source', true, 'pre-target-first');
        await this.setSwitches({ writeMode: 'DUAL_TARGET_FIRST' }, 'write switch -> DUAL_TARGET_FIRST');
        if (s.loops.repair) {
          s.loops.repair = 'target';
          s.repair.direction = 'target->source';
          await this.settleLoops();
        }
        await this.upsertSchedule('target');
        return;
      }
      case 'TARGET_ONLY': {
        this.ensure(frame, { kind: 'backToTargetFirst' });
        // Reverse CDC starts from a target position recorded BEFORE writes leave the source.
        if (!s.loops.reverseSync) {
          this.doing('starting reverse CDC target -> source');
          await this.short(
            'recordSyncStart',
            { spec: this.reverseSpec },
            'record reverse CDC start (target head)',
          );
          s.loops.reverseSync = true;
          await this.settleLoops();
        }
        await this.setSwitches({ writeMode: 'TARGET_ONLY' }, 'write switch -> TARGET_ONLY');
        return;
      }
      case 'FINALIZE': {
        if (s.loops.reverseSync) {
          // Leave the old database as a consistent fallback copy: reverse CDC catches up first.
          const pos = await this.short(
            'currentPosition',
            { connection: p.target },
            'target position at FINALIZE',
          );
          await this.waitSyncPast(this.reverseSpec, pos);
        }
        this.doing('finalizing: stopping reverse sync, loops and schedules');
        s.loops = { forwardSync: false, reverseSync: false, repair: null };
        await this.settleLoops();
        if (s.verificationScheduleId) {
          await this.short(
            'deleteVerificationSchedule',
            { scheduleId: s.verificationScheduleId },
            'delete verification schedule',
          );
          s.verificationScheduleId = null;
        }
        return;
      }
      case 'DONE':
        return;
    }
  }

  private async startForwardSync(): Promise<void> {
    const s = this.s;
    if (s.loops.forwardSync) return;
    // Idempotent: a stream that ran before resumes from its checkpoint (every event since is replayed,
    // idempotently), so stopping and restarting CDC never leaves a gap.
    this.doing('recording the CDC start position and starting forward CDC');
    const pos = await this.short('recordSyncStart', { spec: this.forwardSpec }, 'record forward CDC start');
    s.loops.forwardSync = true;
    if (!s.sync.some((x) => x.stream === this.forwardSpec.stream)) {
      s.sync.push({
        stream: this.forwardSpec.stream,
        direction: 'forward',
        running: false,
        applied: null,
        head: pos,
        lagSeconds: null,
        lagBytes: null,
        checkedAt: null,
      });
    }
    await this.settleLoops();
  }

  private async waitSyncPast(spec: SyncStreamSpec, pos: BinlogPosition): Promise<void> {
    this.doing(`letting ${spec.stream} run past ${pos.gtid ?? `${pos.file}:${pos.pos}`}`);
    for (;;) {
      const st = await this.long(
        'waitForSyncPosition',
        { spec, position: pos, timeoutMs: 60_000 },
        `wait for ${spec.stream} to pass the hand-over point`,
      );
      if (st.reached) return;
      await this.historyCheckpoint();
      pushWarning(
        this.s,
        nowIso(),
        `${spec.stream} has not reached the hand-over position yet; still waiting`,
      );
    }
  }

  private async waitForLag(maxLagSeconds: number): Promise<void> {
    for (;;) {
      const lag = await this.refreshHealth();
      this.doing(`waiting for CDC lag under ${maxLagSeconds} s (now ${lag ?? '?'} s)`);
      if (lag !== null && lag <= maxLagSeconds) return;
      await this.historyCheckpoint();
      await wf.sleep('2s');
    }
  }

  private async bulkCopy(): Promise<void> {
    const p = this.plan;
    const s = this.s;
    const prefix = `${p.id}:copy:g${s.copyGeneration}`;
    const jobs: { table: string; run: () => Promise<void> }[] = [];
    for (const table of p.tables) {
      const view = s.tables.find((t) => t.table === table.name);
      if (!view || view.state === 'done') continue;
      const ranges =
        p.copy.rangesPerTable > 1
          ? await this.short(
              'splitKeyRanges',
              { source: p.source, table, ranges: p.copy.rangesPerTable },
              `split ${table.name}`,
            )
          : [{}];
      view.ranges = ranges.length;
      view.state = 'copying';
      ranges.forEach((range, i) => {
        jobs.push({
          table: table.name,
          run: async () => {
            const res = await this.long(
              'copyTable',
              {
                source: p.source,
                target: p.target,
                table,
                range: ranges.length > 1 ? range : undefined,
                stream: this.forwardSpec.stream,
                replica: p.copy.replica,
                maxReplicaLagSeconds: p.copy.maxReplicaLagSeconds,
                maxTargetThreadsRunning: p.copy.maxTargetThreadsRunning,
                checkpointKey: `${prefix}:${table.name}:${i}`,
              },
              `copy ${table.name}${ranges.length > 1 ? ` range ${i + 1}/${ranges.length}` : ''}`,
            );
            view.rowsCopied += res.rowsCopied;
            view.rangesDone += 1;
            if (view.rangesDone >= view.ranges) view.state = 'done';
            this.changed();
          },
        });
      });
      view.rangesDone = 0;
      view.rowsCopied = 0;
    }
    this.doing(`copying ${jobs.length} table range(s), ${p.copy.parallelism} at a time`);
    let next = 0;
    const worker = async () => {
      while (next < jobs.length) {
        const job = jobs[next++];
        await job.run();
      }
    };
    await Promise.all(Array.from({ length: Math.min(p.copy.parallelism, jobs.length) }, worker));
  }

  private async upsertSchedule(authoritative: 'source' | 'target'): Promise<void> {
    const p = this.plan;
    const info = wf.workflowInfo();
    const scheduleId = verificationScheduleId(p.id);
    this.doing(`creating verification schedule ${scheduleId} (every ${p.verification.intervalSeconds} s)`);
    await this.short(
      'createVerificationSchedule',
      {
        scheduleId,
        intervalSeconds: p.verification.intervalSeconds,
        taskQueue: info.taskQueue || DEFAULT_TASK_QUEUE,
        workflowIdPrefix: verificationWorkflowIdPrefix(p.id),
        input: {
          migrationId: p.id,
          source: p.source,
          target: p.target,
          tables: p.tables,
          authoritative,
          repair: p.verification.repair,
          notifyWorkflowId: info.workflowId,
        },
      },
      `verification schedule (${authoritative} authoritative)`,
    );
    this.s.verificationScheduleId = scheduleId;
    this.changed();
  }

  // ---- compensations --------------------------------------------------------------------------------

  private async undo(action: CompensationAction): Promise<void> {
    const p = this.plan;
    const s = this.s;
    this.doing(`rollback: ${describeAction(action)}`);
    switch (action.kind) {
      case 'dropCreatedTables':
        if (action.tables.length)
          await this.short(
            'dropCreatedTables',
            { target: p.target, tables: action.tables },
            'drop created target tables',
          );
        s.createdTables = s.createdTables.filter((t) => !action.tables.includes(t));
        return;
      case 'stopForwardSync':
        s.loops.forwardSync = false;
        await this.settleLoops();
        return;
      case 'truncateTarget':
        await this.short(
          'truncateTargetTables',
          { target: p.target, tables: p.tables.filter((t) => action.tables.includes(t.name)) },
          'truncate copied target tables',
        );
        await this.short('clearCopyCheckpoints', { prefix: `${p.id}:copy:` }, 'clear copy checkpoints');
        for (const t of s.tables) Object.assign(t, { state: 'pending', rowsCopied: 0, rangesDone: 0 });
        return;
      case 'backToSourceOnly':
        // CDC restarts from a position recorded BEFORE writes leave the target, so nothing falls in a gap.
        await this.startForwardSync();
        await this.setSwitches({ writeMode: 'SOURCE_ONLY' }, 'write switch -> SOURCE_ONLY');
        await this.waitForLag(p.cdc.catchUpLagSeconds);
        await this.verifyAll('source', true, 'rollback-gap-repair', this.forwardSpec.stream);
        return;
      case 'stopRepairLoop':
        s.loops.repair = null;
        s.repair.direction = null;
        await this.settleLoops();
        return;
      case 'restoreReadPercent':
        await this.setSwitches({ readPercent: action.percent }, `read switch back to ${action.percent}%`);
        return;
      case 'backToSourceFirst':
        // Bring the source up to date from the (authoritative) target first.
        await this.verifyAll('target', true, 'rollback-reverse-repair');
        await this.setSwitches({ writeMode: 'DUAL_SOURCE_FIRST' }, 'write switch -> DUAL_SOURCE_FIRST');
        if (s.loops.repair) {
          s.loops.repair = 'source';
          s.repair.direction = 'source->target';
          await this.settleLoops();
        }
        if (s.verificationScheduleId) await this.upsertSchedule('source');
        return;
      case 'backToTargetFirst': {
        await this.setSwitches({ writeMode: 'DUAL_TARGET_FIRST' }, 'write switch -> DUAL_TARGET_FIRST');
        if (s.loops.reverseSync) {
          const pos = await this.short('currentPosition', { connection: p.target }, 'target position');
          await this.waitSyncPast(this.reverseSpec, pos);
          s.loops.reverseSync = false;
          await this.settleLoops();
        }
        return;
      }
      case 'deleteVerificationSchedule':
        await this.short(
          'deleteVerificationSchedule',
          { scheduleId: verificationScheduleId(p.id) },
          'delete verification schedule',
        );
        s.verificationScheduleId = null;
        return;
    }
  }

  private async rollback(): Promise<void> {
    const s = this.s;
    const keep = s.pending.rollbackTo ?? s.frames.length - 1;
    const abort = s.pending.abort;
    s.state = 'ROLLING_BACK';
    s.rollingBackTo = keep >= 0 ? s.frames[keep].phase : 'PRECHECK';
    s.gate = null;
    this.changed();
    // Each undo runs to completion (not interruptible): compensations are idempotent, and the frame is
    // popped only after all its actions ran, so a crash re-runs at most the current frame's undo.
    await wf.CancellationScope.nonCancellable(async () => {
      const planned = planRollback(s.frames, keep);
      let frameIndex = s.frames.length - 1;
      for (const u of planned) {
        while (frameIndex > u.frameIndex) this.popFrame(frameIndex--);
        await this.undo(u.action);
        const frame = s.frames[u.frameIndex];
        frame.actions = frame.actions.filter((a) => a !== u.action);
      }
      while (s.frames.length - 1 > keep) this.popFrame(s.frames.length - 1);
    });
    s.pending.rollbackTo = null;
    s.pending.abort = false;
    s.pending.advance = null;
    s.pending.readPercent = null;
    s.rollingBackTo = null;
    s.topDone = true;
    s.paused = false;
    pushSystemAudit(
      s,
      nowIso(),
      abort ? 'aborted: everything rolled back' : `rolled back to ${currentPhase(s)}`,
      currentPhase(s),
    );
    if (abort) {
      s.loops = { forwardSync: false, reverseSync: false, repair: null };
      await this.settleLoops();
      s.state = 'ABORTED';
      this.doing('aborted: everything rolled back');
    } else {
      s.holdAfterRollback = true;
      s.state = 'RUNNING';
      this.doing(`rolled back to ${currentPhase(s)}`);
    }
  }

  private popFrame(index: number): void {
    if (index === this.s.frames.length - 1) this.s.frames.pop();
    this.changed();
  }

  // ---- gates ----------------------------------------------------------------------------------------

  /** Waits at the gate before `next`. True: enter it. False: something else must happen first. */
  private async gate(next: Step, failure: string | null): Promise<boolean> {
    const s = this.s;
    const rule = gateRule(this.plan, next);
    const manual = failure !== null || s.holdAfterRollback;
    if (!isGated(next) && !manual && !s.paused) return true;
    const auto = !manual && rule !== null && rule.autoAdvance && next.phase !== 'FINALIZE';
    const since = nowIso();
    const waitingFor = failure
      ? `${describeStep(next)} failed: ${failure}. Fix it, then advance to retry (or rollback / abort)`
      : !isGated(next) && !manual
        ? `paused before ${describeStep(next)}`
        : next.phase === 'FINALIZE'
          ? 'finalize {"confirm": true} to run FINALIZE (irreversible)'
          : auto
            ? `auto-advance to ${describeStep(next)} after ${rule.soakSeconds} s of healthy soak (or advance)`
            : `advance to ${describeStep(next)}`;
    s.state = 'WAITING';
    s.gate = {
      next: next.phase,
      nextReadPercent: next.readPercent,
      waitingFor,
      since,
      autoAdvance: auto,
      soakStartedAt: null,
      soakRemainingSeconds: auto ? rule.soakSeconds : null,
      blockers: [],
      requiresConfirmation: next.phase === 'FINALIZE',
    };
    this.doing(waitingFor);
    let soak: { soakStartedAt: number | null } = { soakStartedAt: null };
    const pollMs = this.plan.temporal.gatePollSeconds * 1000;
    for (;;) {
      if (s.pending.rollbackTo !== null) break;
      if (s.pending.advance) {
        const by = s.pending.advance.by;
        s.pending.advance = null;
        s.gate = null;
        s.holdAfterRollback = false;
        s.state = 'RUNNING';
        this.doing(`advancing to ${describeStep(next)}${by ? ` (by ${by})` : ''}`);
        return true;
      }
      if (s.pending.readPercent !== null) {
        const percent = s.pending.readPercent;
        s.pending.readPercent = null;
        s.gate = null;
        s.holdAfterRollback = false;
        s.state = 'RUNNING';
        this.enter({ phase: 'READ_SWITCH', readPercent: percent });
        return false;
      }
      if (!isGated(next) && !manual && !s.paused) break;
      if (this.shouldContinueAsNew()) break;
      await this.reconcileSwitches();
      if (auto || s.loops.forwardSync || s.loops.reverseSync) {
        let lag: number | null = null;
        try {
          lag = await this.refreshHealth();
        } catch (err) {
          pushWarning(s, nowIso(), `health check failed: ${errMessage(err)}`);
        }
        if (auto && rule && !s.paused && s.gate) {
          const r = stepSoak(rule, soak, {
            at: Date.now(),
            lagSeconds: lag,
            latestVerification: s.lastVerification,
          });
          soak = r.soak;
          s.gate.soakStartedAt =
            soak.soakStartedAt !== null ? new Date(soak.soakStartedAt).toISOString() : null;
          s.gate.soakRemainingSeconds = r.remainingSeconds;
          s.gate.blockers = r.blockers;
          this.changed();
          if (r.ready) {
            pushAudit(s, {
              at: nowIso(),
              command: 'auto-advance',
              via: 'workflow',
              by: null,
              reason: `healthy for ${rule.soakSeconds} s`,
              args: {},
              accepted: true,
              message: `auto-advanced to ${describeStep(next)}`,
              phase: currentPhase(s),
            });
            s.gate = null;
            s.state = 'RUNNING';
            return true;
          }
        }
      }
      const wasPaused = s.paused;
      await wf.condition(
        () =>
          s.pending.advance !== null ||
          s.pending.rollbackTo !== null ||
          s.pending.readPercent !== null ||
          s.paused !== wasPaused,
        auto ? Math.min(pollMs, Math.max(1000, (rule?.soakSeconds ?? 5) * 250)) : pollMs * 6,
      );
    }
    s.gate = null;
    s.state = 'RUNNING';
    this.changed();
    return false;
  }

  // ---- continue-as-new -------------------------------------------------------------------------------

  private shouldContinueAsNew(): boolean {
    const info = wf.workflowInfo();
    return info.continueAsNewSuggested || info.historyLength > this.plan.temporal.continueAsNewAfterEvents;
  }

  /**
   * Inside a long in-step wait: continue as new when the history is long. The step is not marked done,
   * so the new run performs it again from the start (every step is idempotent).
   */
  private async historyCheckpoint(): Promise<void> {
    if (this.shouldContinueAsNew()) await this.continueAsNew();
  }

  private async continueAsNew(): Promise<never> {
    this.doing('continuing as new (history size); loops resume from their checkpoints');
    this.loopsSuspended = true;
    await this.settleLoops();
    await wf.condition(wf.allHandlersFinished);
    this.s.runCount += 1;
    return wf.continueAsNew<typeof migrationWorkflow>({ plan: this.plan, carried: this.s });
  }

  // ---- main loop -----------------------------------------------------------------------------------

  async run(): Promise<MigrationStatus> {
    const s = this.s;
    void this.loopManager();
    this.changed();
    let failure: string | null = null;
    for (;;) {
      if (s.pending.rollbackTo !== null) {
        failure = null;
        await this.rollback();
        if (s.state === 'ABORTED') break;
        continue;
      }
      const top = s.frames[s.frames.length - 1];
      if (top && !s.topDone && failure === null) {
        if (s.paused) {
          s.state = 'PAUSED';
          this.doing(`paused in ${describeStep(top)} (safe point); resume to continue`);
          await wf.condition(() => !s.paused || s.pending.rollbackTo !== null);
          s.state = 'RUNNING';
          continue;
        }
        s.state = 'RUNNING';
        const scope = new wf.CancellationScope();
        this.stepScope = scope;
        try {
          await scope.run(() => this.perform(top));
          s.topDone = true;
          this.doing(`${describeStep(top)} done`);
        } catch (err) {
          if (err instanceof wf.ContinueAsNew) throw err;
          if (isCancel(err) && scope.consideredCancelled) {
            this.doing(`${describeStep(top)} interrupted at a safe point`);
          } else {
            failure = errMessage(err);
            s.error = failure;
            pushWarning(s, nowIso(), `${describeStep(top)} failed: ${failure}`);
          }
        } finally {
          this.stepScope = undefined;
        }
        continue;
      }
      if (currentPhase(s) === 'DONE') break;
      if (this.shouldContinueAsNew()) await this.continueAsNew();
      if (failure !== null && top) {
        // The top step failed: wait for advance (retry), rollback or abort.
        const retry = await this.gate({ phase: top.phase, readPercent: top.readPercent }, failure);
        if (retry) failure = null;
        continue;
      }
      const next = nextStep(this.plan, top);
      if (!next) break;
      const go = await this.gate(next, null);
      if (!go) continue;
      this.enter(next);
    }
    if (s.state !== 'ABORTED') {
      s.state = 'COMPLETED';
      this.doing('migration complete: target only, source retired');
    }
    s.gate = null;
    this.changed();
    await wf.condition(wf.allHandlersFinished);
    return buildStatus(s);
  }
}

/** The migration workflow (type name `migrationWorkflow`). */
export async function migrationWorkflow(input: MigrationInput): Promise<MigrationStatus> {
  const carried = input.carried as MigrationState | undefined;
  const state = carried ?? initialState(input.plan, nowIso());
  const run = new MigrationRun(input.plan, state);
  run.installHandlers();
  return run.run();
}
