/**
 * Temporal Schedules for the embedded dev server: create/describe/update/patch/delete/list and
 * list-matching-times, timers that start workflows at the spec's times with the official overlap,
 * pause, limited-actions and catch-up rules, and a JSON snapshot for restarts.
 */
import { randomUUID } from 'node:crypto';
import protoPkg from '@temporalio/proto';
import type { temporal } from '@temporalio/proto';
import { compileListQuery, type VisibilityRecord } from '../visibility/index.js';
import { decideBuffer, type BufferedStart } from './buffer.js';
import { alreadyExists, invalidArgument, notFound, ScheduleError } from './errors.js';
import { decodeJsonPayload, payloadTypeName, searchAttributePayload } from './payloads.js';
import { compileSpec, type CompiledSpec } from './spec.js';
import {
  durationToMs,
  int64ToNumber,
  msToDuration,
  msToTimestamp,
  rfc3339Seconds,
  systemClock,
  timestampToMs,
  type Clock,
} from './time.js';

const api = protoPkg.temporal.api;
const ws = api.workflowservice.v1;
const { ScheduleSpec, ScheduleAction } = api.schedule.v1;
const { Memo, SearchAttributes } = api.common.v1;
const { ScheduleOverlapPolicy, WorkflowExecutionStatus, WorkflowIdReusePolicy, IndexedValueType } =
  api.enums.v1;

/** What the ScheduleManager needs from the server core. */
export interface ScheduleHost {
  /** Starts a workflow; rejects if the workflow id is already running. */
  startWorkflow(
    namespace: string,
    request: temporal.api.workflowservice.v1.IStartWorkflowExecutionRequest,
  ): Promise<{ runId: string }>;
  /** Whether the execution chain started as `runId` is still running. */
  isWorkflowRunning(namespace: string, workflowId: string, runId: string): boolean;
  onWorkflowClosed(
    listener: (namespace: string, workflowId: string, runId: string, status: number) => void,
  ): void;
  /** Asks the server to save its state soon. */
  persist(): void;
  log(level: 'debug' | 'info' | 'warn' | 'error', msg: string): void;
  /** Optional: used by the CANCEL_OTHER overlap policy (otherwise it waits like BUFFER_ALL). */
  cancelWorkflow?(
    namespace: string,
    workflowId: string,
    runId: string,
    reason: string,
  ): Promise<unknown> | void;
  /** Optional: used by the TERMINATE_OTHER overlap policy (otherwise it waits like BUFFER_ALL). */
  terminateWorkflow?(
    namespace: string,
    workflowId: string,
    runId: string,
    reason: string,
  ): Promise<unknown> | void;
  /** Optional: registered search attribute types, for ListSchedules queries on custom attributes. */
  searchAttributeTypes?(namespace: string): Map<string, number>;
}

export interface ScheduleManagerOptions {
  /** Time source and timers (default: the system clock and setTimeout). */
  clock?: Clock;
}

const DEFAULT_CATCHUP_WINDOW_MS = 365 * 24 * 3600 * 1000;
const MIN_CATCHUP_WINDOW_MS = 10_000;
const RECENT_ACTIONS = 10;
const FUTURE_ACTIONS = 10;
const LIST_RECENT_ACTIONS = 5;
const LIST_FUTURE_ACTIONS = 5;
const MAX_BUFFER = 1000;
const MAX_MATCHING_TIMES = 1000;
const SCHEDULER_WORKFLOW_TYPE = 'temporal-sys-scheduler-workflow';

interface ActionResult {
  scheduleTime: number;
  actualTime: number;
  workflowId: string;
  runId: string;
  status: number;
}

interface RunningWorkflow {
  workflowId: string;
  runId: string;
}

interface Entry {
  namespace: string;
  scheduleId: string;
  requestId: string;
  spec: CompiledSpec;
  action: temporal.api.schedule.v1.ScheduleAction;
  overlapPolicy: number;
  catchupWindowMs: number;
  pauseOnFailure: boolean;
  keepOriginalWorkflowId: boolean;
  paused: boolean;
  notes: string;
  limitedActions: boolean;
  remainingActions: number;
  memo: temporal.api.common.v1.Memo | null;
  searchAttributes: temporal.api.common.v1.SearchAttributes | null;
  conflictToken: number;
  createTime: number;
  updateTime: number | undefined;
  lastProcessed: number;
  buffer: BufferedStart[];
  recent: ActionResult[];
  running: RunningWorkflow[];
  actionCount: number;
  missedCatchupWindow: number;
  overlapSkipped: number;
  bufferDropped: number;
  timer: unknown;
  timerAt: number | undefined;
  chain: Promise<unknown>;
  deleted: boolean;
}

/** JSON form of one schedule in a snapshot: the entry without its timer and lock, protos as objects. */
type EntrySnapshot = Omit<
  Entry,
  'spec' | 'action' | 'memo' | 'searchAttributes' | 'updateTime' | 'timer' | 'timerAt' | 'chain' | 'deleted'
> & {
  spec: Record<string, unknown>;
  action: Record<string, unknown>;
  memo: Record<string, unknown> | null;
  searchAttributes: Record<string, unknown> | null;
  updateTime: number | null;
};

interface Snapshot {
  version: 1;
  schedules: EntrySnapshot[];
}

const JSON_OPTIONS = { longs: String, bytes: String, enums: Number, defaults: false } as const;

function conflictTokenBytes(token: number): Uint8Array {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt(token));
  return new Uint8Array(b);
}

function conflictTokenFromBytes(bytes: Uint8Array | null | undefined): number | undefined {
  if (!bytes || bytes.length < 8) return undefined;
  return Number(Buffer.from(bytes).readBigInt64BE(0));
}

const SA_TYPE_BY_NAME: Record<string, number> = {
  Text: IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
  Keyword: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  Int: IndexedValueType.INDEXED_VALUE_TYPE_INT,
  Double: IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
  Bool: IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
  Datetime: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
  KeywordList: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
};

export class ScheduleManager {
  private readonly clock: Clock;
  /** namespace -> schedule id -> entry */
  private readonly namespaces = new Map<string, Map<string, Entry>>();
  private stopped = false;

  constructor(
    private readonly host: ScheduleHost,
    options: ScheduleManagerOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    host.onWorkflowClosed((namespace, workflowId, runId, status) =>
      this.workflowClosed(namespace, workflowId, runId, status),
    );
  }

  // -------------------------------------------------------------------------------------------
  // RPCs

  async createSchedule(
    req: temporal.api.workflowservice.v1.ICreateScheduleRequest,
  ): Promise<temporal.api.workflowservice.v1.CreateScheduleResponse> {
    const namespace = req.namespace ?? '';
    const scheduleId = req.scheduleId ?? '';
    if (!scheduleId) throw invalidArgument('ScheduleId is not set on request.');
    const requestId = req.requestId ?? '';
    const existing = this.namespaces.get(namespace)?.get(scheduleId);
    if (existing) {
      if (requestId !== '' && existing.requestId === requestId) {
        return ws.CreateScheduleResponse.fromObject({
          conflictToken: conflictTokenBytes(existing.conflictToken),
        });
      }
      throw alreadyExists(`schedule with id '${scheduleId}' is already registered`);
    }
    const schedule = req.schedule ?? {};
    const spec = compileSpec(schedule.spec);
    const action = validateAction(schedule.action);
    const now = this.clock.now();
    const state = schedule.state ?? {};
    const policies = schedule.policies ?? {};
    const entry: Entry = {
      namespace,
      scheduleId,
      requestId,
      spec,
      action,
      ...resolvePolicies(policies),
      ...resolveState(state),
      memo: req.memo ? Memo.fromObject(req.memo) : null,
      searchAttributes: req.searchAttributes ? SearchAttributes.fromObject(req.searchAttributes) : null,
      conflictToken: 1,
      createTime: now,
      updateTime: undefined,
      lastProcessed: now,
      buffer: [],
      recent: [],
      running: [],
      actionCount: 0,
      missedCatchupWindow: 0,
      overlapSkipped: 0,
      bufferDropped: 0,
      timer: undefined,
      timerAt: undefined,
      chain: Promise.resolve(),
      deleted: false,
    };
    this.put(entry);
    this.host.log('info', `schedule ${namespace}/${scheduleId} created`);
    await this.exclusive(entry, async () => {
      if (req.initialPatch) this.applyPatch(entry, req.initialPatch);
      await this.drain(entry);
      this.arm(entry);
    });
    this.host.persist();
    return ws.CreateScheduleResponse.fromObject({ conflictToken: conflictTokenBytes(entry.conflictToken) });
  }

  async describeSchedule(
    req: temporal.api.workflowservice.v1.IDescribeScheduleRequest,
  ): Promise<temporal.api.workflowservice.v1.DescribeScheduleResponse> {
    const entry = this.get(req.namespace, req.scheduleId);
    this.refreshRunning(entry);
    return ws.DescribeScheduleResponse.fromObject({
      schedule: {
        spec: cleanSpec(entry.spec.canonical),
        action: entry.action,
        policies: {
          overlapPolicy: entry.overlapPolicy,
          catchupWindow: msToDuration(entry.catchupWindowMs),
          pauseOnFailure: entry.pauseOnFailure,
          keepOriginalWorkflowId: entry.keepOriginalWorkflowId,
        },
        state: {
          notes: entry.notes,
          paused: entry.paused,
          limitedActions: entry.limitedActions,
          remainingActions: entry.limitedActions ? entry.remainingActions : 0,
        },
      },
      info: {
        actionCount: entry.actionCount,
        missedCatchupWindow: entry.missedCatchupWindow,
        overlapSkipped: entry.overlapSkipped,
        bufferDropped: entry.bufferDropped,
        bufferSize: entry.buffer.length,
        runningWorkflows: entry.running.map((r) => ({ workflowId: r.workflowId, runId: r.runId })),
        recentActions: entry.recent.map(actionResultProto),
        futureActionTimes: this.futureActionTimes(entry, FUTURE_ACTIONS).map(msToTimestamp),
        createTime: msToTimestamp(entry.createTime),
        ...(entry.updateTime !== undefined ? { updateTime: msToTimestamp(entry.updateTime) } : {}),
      },
      ...(entry.memo ? { memo: entry.memo } : {}),
      ...(entry.searchAttributes ? { searchAttributes: entry.searchAttributes } : {}),
      conflictToken: conflictTokenBytes(entry.conflictToken),
    });
  }

  async updateSchedule(
    req: temporal.api.workflowservice.v1.IUpdateScheduleRequest,
  ): Promise<temporal.api.workflowservice.v1.UpdateScheduleResponse> {
    const entry = this.get(req.namespace, req.scheduleId);
    const schedule = req.schedule ?? {};
    const spec = compileSpec(schedule.spec);
    const action = validateAction(schedule.action);
    await this.exclusive(entry, async () => {
      const token = conflictTokenFromBytes(req.conflictToken);
      if (token !== undefined && token !== 0 && token !== entry.conflictToken) {
        // The official scheduler drops a conflicting update (after the RPC has succeeded).
        this.host.log('warn', `schedule ${entry.scheduleId}: update ignored, conflicting concurrent change`);
        return;
      }
      const now = this.clock.now();
      const state = schedule.state ?? {};
      entry.spec = spec;
      entry.action = action;
      Object.assign(entry, resolvePolicies(schedule.policies ?? {}), resolveState(state));
      if (req.searchAttributes) entry.searchAttributes = SearchAttributes.fromObject(req.searchAttributes);
      if (req.memo) entry.memo = Memo.fromObject(req.memo);
      entry.updateTime = now;
      // Times before the update are not acted on with the new spec.
      entry.lastProcessed = Math.max(entry.lastProcessed, now);
      entry.conflictToken++;
      await this.drain(entry);
      this.arm(entry);
    });
    this.host.log('info', `schedule ${entry.namespace}/${entry.scheduleId} updated`);
    this.host.persist();
    return ws.UpdateScheduleResponse.fromObject({});
  }

  async patchSchedule(
    req: temporal.api.workflowservice.v1.IPatchScheduleRequest,
  ): Promise<temporal.api.workflowservice.v1.PatchScheduleResponse> {
    const entry = this.get(req.namespace, req.scheduleId);
    const patch = req.patch;
    if (!patch) throw invalidArgument('Patch is not set on request.');
    await this.exclusive(entry, async () => {
      this.applyPatch(entry, patch);
      await this.drain(entry);
      this.arm(entry);
    });
    this.host.persist();
    return ws.PatchScheduleResponse.fromObject({});
  }

  async deleteSchedule(
    req: temporal.api.workflowservice.v1.IDeleteScheduleRequest,
  ): Promise<temporal.api.workflowservice.v1.DeleteScheduleResponse> {
    const entry = this.get(req.namespace, req.scheduleId);
    entry.deleted = true;
    this.disarm(entry);
    this.namespaces.get(entry.namespace)?.delete(entry.scheduleId);
    this.host.log('info', `schedule ${entry.namespace}/${entry.scheduleId} deleted`);
    this.host.persist();
    return ws.DeleteScheduleResponse.fromObject({});
  }

  async listSchedules(
    req: temporal.api.workflowservice.v1.IListSchedulesRequest,
  ): Promise<temporal.api.workflowservice.v1.ListSchedulesResponse> {
    const namespace = req.namespace ?? '';
    const entries = [...(this.namespaces.get(namespace)?.values() ?? [])];
    const records = entries.map((e) => ({ entry: e, record: this.visibilityRecord(e) }));
    const types = this.searchAttributeTypes(namespace, entries);
    const query = compileListQuery(req.query ?? '', types);
    const matching = records
      .filter((r) => query.filter(r.record))
      .sort((a, b) => query.compare(a.record, b.record));

    const pageSize = req.maximumPageSize && req.maximumPageSize > 0 ? req.maximumPageSize : 1000;
    let offset = 0;
    if (req.nextPageToken && req.nextPageToken.length > 0) {
      const parsed = Number(Buffer.from(req.nextPageToken).toString('utf8'));
      if (!Number.isInteger(parsed) || parsed < 0) throw invalidArgument('invalid next page token');
      offset = parsed;
    }
    const page = matching.slice(offset, offset + pageSize);
    const next = offset + pageSize < matching.length ? Buffer.from(String(offset + pageSize)) : undefined;
    return ws.ListSchedulesResponse.fromObject({
      schedules: page.map(({ entry }) => ({
        scheduleId: entry.scheduleId,
        ...(entry.memo ? { memo: entry.memo } : {}),
        ...(entry.searchAttributes ? { searchAttributes: entry.searchAttributes } : {}),
        info: {
          spec: cleanSpec(entry.spec.canonical),
          workflowType: entry.action.startWorkflow?.workflowType ?? undefined,
          notes: entry.notes,
          paused: entry.paused,
          recentActions: entry.recent.slice(-LIST_RECENT_ACTIONS).map(actionResultProto),
          futureActionTimes: this.futureActionTimes(entry, LIST_FUTURE_ACTIONS).map(msToTimestamp),
        },
      })),
      ...(next ? { nextPageToken: new Uint8Array(next) } : {}),
    });
  }

  /** CountSchedules: how many schedules match the query, grouped when it has GROUP BY (e.g. TemporalSchedulePaused). */
  async countSchedules(
    req: temporal.api.workflowservice.v1.ICountSchedulesRequest,
  ): Promise<temporal.api.workflowservice.v1.CountSchedulesResponse> {
    const namespace = req.namespace ?? '';
    const entries = [...(this.namespaces.get(namespace)?.values() ?? [])];
    const query = compileListQuery(req.query ?? '', this.searchAttributeTypes(namespace, entries));
    const matching = entries.map((e) => this.visibilityRecord(e)).filter((r) => query.filter(r));
    const groups = new Map<string, { values: Array<string | number | boolean | null>; count: number }>();
    if (query.groupBy.length) {
      for (const r of matching) {
        const values = query.groupValues(r);
        const key = JSON.stringify(values);
        const g = groups.get(key) ?? { values, count: 0 };
        g.count++;
        groups.set(key, g);
      }
    }
    return ws.CountSchedulesResponse.fromObject({
      count: matching.length,
      groups: [...groups.values()].map((g) => ({
        groupValues: g.values.map((v) => ({
          metadata: { encoding: Buffer.from('json/plain') },
          data: Buffer.from(JSON.stringify(v)),
        })),
        count: g.count,
      })),
    });
  }

  async listScheduleMatchingTimes(
    req: temporal.api.workflowservice.v1.IListScheduleMatchingTimesRequest,
  ): Promise<temporal.api.workflowservice.v1.ListScheduleMatchingTimesResponse> {
    const entry = this.get(req.namespace, req.scheduleId);
    const start = timestampToMs(req.startTime);
    const end = timestampToMs(req.endTime);
    if (start === undefined || end === undefined) throw invalidArgument('missing or invalid query');
    const out: number[] = [];
    let t = start;
    while (out.length < MAX_MATCHING_TIMES) {
      const n = entry.spec.next(t);
      if (n === undefined || n > end) break;
      out.push(n);
      t = n;
    }
    return ws.ListScheduleMatchingTimesResponse.fromObject({ startTime: out.map(msToTimestamp) });
  }

  // -------------------------------------------------------------------------------------------
  // Persistence

  /** JSON-serialisable state: every schedule with its spec, counters, buffer and last processed time. */
  snapshot(): unknown {
    const schedules: EntrySnapshot[] = [];
    for (const byId of this.namespaces.values()) {
      for (const e of byId.values()) {
        schedules.push({
          namespace: e.namespace,
          scheduleId: e.scheduleId,
          requestId: e.requestId,
          spec: ScheduleSpec.toObject(e.spec.canonical, JSON_OPTIONS),
          action: ScheduleAction.toObject(e.action, JSON_OPTIONS),
          overlapPolicy: e.overlapPolicy,
          catchupWindowMs: e.catchupWindowMs,
          pauseOnFailure: e.pauseOnFailure,
          keepOriginalWorkflowId: e.keepOriginalWorkflowId,
          paused: e.paused,
          notes: e.notes,
          limitedActions: e.limitedActions,
          remainingActions: e.remainingActions,
          memo: e.memo ? Memo.toObject(e.memo, JSON_OPTIONS) : null,
          searchAttributes: e.searchAttributes
            ? SearchAttributes.toObject(e.searchAttributes, JSON_OPTIONS)
            : null,
          conflictToken: e.conflictToken,
          createTime: e.createTime,
          updateTime: e.updateTime ?? null,
          lastProcessed: e.lastProcessed,
          buffer: e.buffer.map((b) => ({ ...b })),
          recent: e.recent.map((r) => ({ ...r })),
          running: e.running.map((r) => ({ ...r })),
          actionCount: e.actionCount,
          missedCatchupWindow: e.missedCatchupWindow,
          overlapSkipped: e.overlapSkipped,
          bufferDropped: e.bufferDropped,
        });
      }
    }
    const snap: Snapshot = { version: 1, schedules };
    return JSON.parse(JSON.stringify(snap)) as unknown;
  }

  /**
   * Replaces all schedules with a snapshot's and arms their timers. Actions missed while the
   * server was down are caught up as the official catch-up window allows, but at most one
   * (the most recent) per schedule.
   */
  restore(data: unknown): void {
    for (const byId of this.namespaces.values()) for (const e of byId.values()) this.disarm(e);
    this.namespaces.clear();
    if (data === null || data === undefined) return;
    const snap = data as Partial<Snapshot>;
    if (snap.version !== 1 || !Array.isArray(snap.schedules)) {
      this.host.log('warn', 'schedules: ignoring snapshot in an unknown format');
      return;
    }
    for (const s of snap.schedules) {
      let spec: CompiledSpec;
      try {
        spec = compileSpec(ScheduleSpec.fromObject(s.spec));
      } catch (err) {
        this.host.log('error', `schedule ${s.scheduleId}: cannot restore spec: ${(err as Error).message}`);
        continue;
      }
      const entry: Entry = {
        ...s,
        spec,
        action: ScheduleAction.fromObject(s.action),
        memo: s.memo ? Memo.fromObject(s.memo) : null,
        searchAttributes: s.searchAttributes ? SearchAttributes.fromObject(s.searchAttributes) : null,
        updateTime: s.updateTime ?? undefined,
        buffer: s.buffer.map((b) => ({ ...b })),
        recent: s.recent.map((r) => ({ ...r })),
        running: s.running.map((r) => ({ ...r })),
        timer: undefined,
        timerAt: undefined,
        chain: Promise.resolve(),
        deleted: false,
      };
      this.put(entry);
      this.arm(entry);
      // Buffered starts may be able to go now (their blocking workflow may have closed meanwhile).
      if (entry.buffer.length > 0) void this.exclusive(entry, () => this.drain(entry));
    }
  }

  /** Clears all timers; the manager does nothing more until restore() or a new RPC. */
  stop(): void {
    this.stopped = true;
    for (const byId of this.namespaces.values()) for (const e of byId.values()) this.disarm(e);
  }

  /** Resolves once every schedule's pending work (starts in flight) has finished. For tests. */
  async idle(): Promise<void> {
    for (;;) {
      const chains = [...this.namespaces.values()].flatMap((byId) => [...byId.values()].map((e) => e.chain));
      await Promise.all(chains);
      const after = [...this.namespaces.values()].flatMap((byId) => [...byId.values()].map((e) => e.chain));
      if (after.length === chains.length && after.every((c, i) => c === chains[i])) return;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Scheduling

  private get(namespace: string | null | undefined, scheduleId: string | null | undefined): Entry {
    const entry = this.namespaces.get(namespace ?? '')?.get(scheduleId ?? '');
    if (!entry) throw notFound(`schedule not found: ${scheduleId ?? ''}`);
    return entry;
  }

  /** Runs `fn` after the entry's previous work, so timers and RPCs never interleave. */
  private put(entry: Entry): void {
    let byId = this.namespaces.get(entry.namespace);
    if (!byId) {
      byId = new Map();
      this.namespaces.set(entry.namespace, byId);
    }
    byId.set(entry.scheduleId, entry);
  }

  private exclusive<T>(entry: Entry, fn: () => Promise<T>): Promise<T> {
    const run = entry.chain.then(fn);
    entry.chain = run.catch((err: unknown) => {
      this.host.log('error', `schedule ${entry.scheduleId}: ${(err as Error).message}`);
    });
    return run;
  }

  private arm(entry: Entry): void {
    this.disarm(entry);
    if (this.stopped || entry.deleted || !this.canTakeScheduledAction(entry, false, false)) return;
    const next = entry.spec.next(entry.lastProcessed);
    if (next === undefined) return;
    entry.timerAt = next;
    entry.timer = this.clock.setTimer(() => {
      entry.timer = undefined;
      void this.exclusive(entry, () => this.wake(entry));
    }, next - this.clock.now());
  }

  private disarm(entry: Entry): void {
    if (entry.timer !== undefined) this.clock.clearTimer(entry.timer);
    entry.timer = undefined;
    entry.timerAt = undefined;
  }

  private async wake(entry: Entry): Promise<void> {
    if (entry.deleted || this.stopped) return;
    const now = this.clock.now();
    this.processTimeRange(entry, entry.lastProcessed, now);
    entry.lastProcessed = Math.max(entry.lastProcessed, now);
    await this.drain(entry);
    this.arm(entry);
    this.host.persist();
  }

  /**
   * Queues the scheduled (non-manual) action for the range (start, end]. Only the most recent
   * matching time is taken: earlier ones are only possible after downtime, and then the
   * dev server catches up at most one action (if within the catch-up window).
   */
  private processTimeRange(entry: Entry, start: number, end: number): void {
    if (!this.canTakeScheduledAction(entry, false, false)) return;
    const latest = latestFireTime(entry.spec, start, end);
    if (latest === undefined) return;
    if (end - latest > entry.catchupWindowMs) {
      entry.missedCatchupWindow++;
      this.host.log(
        'warn',
        `schedule ${entry.scheduleId} missed catchup window for ${rfc3339Seconds(latest)}`,
      );
      return;
    }
    this.addStart(entry, { nominal: latest, actual: latest, overlap: 0, manual: false });
  }

  private addStart(entry: Entry, start: BufferedStart): void {
    if (entry.buffer.length >= MAX_BUFFER) {
      entry.bufferDropped++;
      return;
    }
    entry.buffer.push(start);
  }

  private applyPatch(entry: Entry, patch: temporal.api.schedule.v1.ISchedulePatch): void {
    const now = this.clock.now();
    if (patch.triggerImmediately) {
      const at = timestampToMs(patch.triggerImmediately.scheduledTime) ?? now;
      this.addStart(entry, {
        nominal: at,
        actual: at,
        overlap: patch.triggerImmediately.overlapPolicy ?? 0,
        manual: true,
      });
    }
    for (const bf of patch.backfillRequest ?? []) {
      const from = timestampToMs(bf.startTime);
      const to = timestampToMs(bf.endTime);
      if (from === undefined || to === undefined) continue;
      // Backfill start is inclusive.
      let t = from - 1;
      for (;;) {
        const n = entry.spec.next(t);
        if (n === undefined || n > to) break;
        if (entry.buffer.length >= MAX_BUFFER) {
          entry.bufferDropped++;
          break;
        }
        this.addStart(entry, { nominal: n, actual: n, overlap: bf.overlapPolicy ?? 0, manual: true });
        t = n;
      }
    }
    if (patch.pause) {
      entry.paused = true;
      entry.notes = patch.pause;
      entry.conflictToken++;
      this.host.log('info', `schedule ${entry.scheduleId} paused: ${patch.pause}`);
    }
    if (patch.unpause) {
      entry.paused = false;
      entry.notes = patch.unpause;
      entry.conflictToken++;
      // Times that passed while paused are skipped.
      entry.lastProcessed = Math.max(entry.lastProcessed, now);
      this.host.log('info', `schedule ${entry.scheduleId} unpaused: ${patch.unpause}`);
    }
  }

  private canTakeScheduledAction(entry: Entry, manual: boolean, decrement: boolean): boolean {
    if (manual) return true;
    if (entry.paused) return false;
    if (!entry.limitedActions) return true;
    if (entry.remainingActions > 0) {
      if (decrement) {
        entry.remainingActions--;
        entry.conflictToken++;
      }
      return true;
    }
    return false;
  }

  private resolveOverlap(entry: Entry, policy: number): number {
    if (policy && policy !== ScheduleOverlapPolicy.SCHEDULE_OVERLAP_POLICY_UNSPECIFIED) return policy;
    return entry.overlapPolicy;
  }

  private refreshRunning(entry: Entry): void {
    entry.running = entry.running.filter((r) =>
      this.host.isWorkflowRunning(entry.namespace, r.workflowId, r.runId),
    );
  }

  /** Starts what the buffer allows now; repeats while a start was dropped (paused, failed). */
  private async drain(entry: Entry): Promise<void> {
    for (let i = 0; i < MAX_BUFFER && !entry.deleted; i++) {
      if (!(await this.processBuffer(entry))) break;
    }
  }

  private async processBuffer(entry: Entry): Promise<boolean> {
    this.refreshRunning(entry);
    const newWorkflow = entry.action.startWorkflow;
    if (!newWorkflow || entry.buffer.length === 0) {
      entry.buffer = [];
      return false;
    }
    const decision = decideBuffer(entry.buffer, entry.running.length > 0, (p) =>
      this.resolveOverlap(entry, p),
    );
    entry.buffer = decision.buffer;
    entry.overlapSkipped += decision.skipped;

    const starts = [...decision.overlapping];
    if (decision.nonOverlapping) starts.push(decision.nonOverlapping);
    let tryAgain = false;
    for (const start of starts) {
      if (entry.deleted) return false;
      if (!this.canTakeScheduledAction(entry, start.manual, true)) {
        tryAgain = true;
        continue;
      }
      const result = await this.startWorkflow(entry, start, newWorkflow);
      if (!result) {
        tryAgain = true;
        continue;
      }
      entry.actionCount++;
      entry.recent = [...entry.recent, result].slice(-RECENT_ACTIONS);
      if (start === decision.nonOverlapping) {
        entry.running.push({ workflowId: result.workflowId, runId: result.runId });
      }
    }

    const kill = decision.needTerminate
      ? this.host.terminateWorkflow?.bind(this.host)
      : decision.needCancel
        ? this.host.cancelWorkflow?.bind(this.host)
        : undefined;
    if (kill) {
      const reason = decision.needTerminate
        ? 'terminated by schedule overlap policy'
        : 'cancelled by schedule overlap policy';
      for (const r of entry.running) {
        try {
          await kill(entry.namespace, r.workflowId, r.runId, reason);
        } catch (err) {
          this.host.log('warn', `schedule ${entry.scheduleId}: ${reason} failed: ${(err as Error).message}`);
        }
      }
    }
    return tryAgain;
  }

  private async startWorkflow(
    entry: Entry,
    start: BufferedStart,
    wf: temporal.api.workflow.v1.INewWorkflowExecutionInfo,
  ): Promise<ActionResult | undefined> {
    const nominalSec = Math.floor(start.nominal / 1000) * 1000;
    const workflowId = entry.keepOriginalWorkflowId
      ? (wf.workflowId ?? '')
      : `${wf.workflowId ?? ''}-${rfc3339Seconds(nominalSec)}`;
    const indexedFields: Record<string, temporal.api.common.v1.IPayload> = {
      ...(wf.searchAttributes?.indexedFields ?? {}),
      TemporalScheduledStartTime: searchAttributePayload(rfc3339Seconds(nominalSec), 'Datetime'),
      TemporalScheduledById: searchAttributePayload(entry.scheduleId, 'Keyword'),
    };
    const request: temporal.api.workflowservice.v1.IStartWorkflowExecutionRequest = {
      namespace: entry.namespace,
      workflowId,
      workflowType: wf.workflowType ?? null,
      taskQueue: wf.taskQueue ?? null,
      input: wf.input ?? null,
      workflowExecutionTimeout: wf.workflowExecutionTimeout ?? null,
      workflowRunTimeout: wf.workflowRunTimeout ?? null,
      workflowTaskTimeout: wf.workflowTaskTimeout ?? null,
      identity: `temporal-scheduler-${entry.namespace}-${entry.scheduleId}`,
      requestId: randomUUID(),
      workflowIdReusePolicy: start.manual
        ? WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
        : WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
      retryPolicy: wf.retryPolicy ?? null,
      memo: wf.memo ?? null,
      searchAttributes: { indexedFields },
      header: wf.header ?? null,
      userMetadata: wf.userMetadata ?? null,
      priority: wf.priority ?? null,
    };
    try {
      const { runId } = await this.host.startWorkflow(entry.namespace, request);
      if (entry.deleted) return undefined;
      this.host.log('info', `schedule ${entry.scheduleId} started workflow ${workflowId} (run ${runId})`);
      return {
        scheduleTime: start.actual,
        actualTime: this.clock.now(),
        workflowId,
        runId,
        status: WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING,
      };
    } catch (err) {
      this.host.log(
        'warn',
        `schedule ${entry.scheduleId}: failed to start ${workflowId}: ${(err as Error).message}`,
      );
      return undefined;
    }
  }

  private workflowClosed(namespace: string, workflowId: string, _runId: string, status: number): void {
    if (status === WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW) return;
    const byId = this.namespaces.get(namespace);
    if (!byId) return;
    for (const entry of byId.values()) {
      const wasRunning = entry.running.some((r) => r.workflowId === workflowId);
      const recent = entry.recent.find((r) => r.workflowId === workflowId);
      if (!wasRunning && !recent) continue;
      void this.exclusive(entry, async () => {
        if (entry.deleted) return;
        if (recent) recent.status = status;
        entry.running = entry.running.filter((r) => r.workflowId !== workflowId);
        const failed =
          status === WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_FAILED ||
          status === WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TIMED_OUT;
        if (failed && entry.pauseOnFailure && !entry.paused) {
          entry.paused = true;
          entry.notes =
            status === WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_FAILED
              ? `paused due to workflow failure: ${workflowId}`
              : `paused due to workflow timeout: ${workflowId}`;
          entry.conflictToken++;
        }
        await this.drain(entry);
        this.arm(entry);
        this.host.persist();
      });
    }
  }

  // -------------------------------------------------------------------------------------------
  // Helpers

  private futureActionTimes(entry: Entry, count: number): number[] {
    const n = entry.limitedActions ? Math.min(count, entry.remainingActions) : count;
    const out: number[] = [];
    let t = entry.lastProcessed;
    for (let guard = 0; out.length < n && guard < 10_000; guard++) {
      const next = entry.spec.next(t);
      if (next === undefined) break;
      t = next;
      if (entry.updateTime !== undefined && next < entry.updateTime) continue;
      out.push(next);
    }
    return out;
  }

  private visibilityRecord(entry: Entry): VisibilityRecord {
    const searchAttributes: Record<string, unknown> = { TemporalSchedulePaused: entry.paused };
    for (const [name, payload] of Object.entries(entry.searchAttributes?.indexedFields ?? {})) {
      const v = decodeJsonPayload(payload);
      if (v !== undefined) searchAttributes[name] = v;
    }
    return {
      namespace: entry.namespace,
      workflowId: entry.scheduleId,
      runId: `${entry.scheduleId}-${entry.createTime}`,
      workflowType: SCHEDULER_WORKFLOW_TYPE,
      status: WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING,
      startTime: new Date(entry.createTime),
      taskQueue: 'temporal-sys-per-ns-tq',
      searchAttributes,
    };
  }

  private searchAttributeTypes(namespace: string, entries: Entry[]): Map<string, number> {
    const types = new Map<string, number>();
    for (const e of entries) {
      for (const [name, payload] of Object.entries(e.searchAttributes?.indexedFields ?? {})) {
        const t = SA_TYPE_BY_NAME[payloadTypeName(payload) ?? ''];
        if (t !== undefined) types.set(name, t);
      }
    }
    for (const [name, t] of this.host.searchAttributeTypes?.(namespace) ?? []) types.set(name, t);
    return types;
  }
}

function validateAction(action: temporal.api.schedule.v1.IScheduleAction | null | undefined) {
  const wf = action?.startWorkflow;
  if (!wf) throw invalidArgument('Schedule action is not set: only startWorkflow actions are supported.');
  if (!wf.workflowId) throw invalidArgument('WorkflowId is not set on request.');
  if (!wf.workflowType?.name) throw invalidArgument('WorkflowType is not set on request.');
  if (!wf.taskQueue?.name) throw invalidArgument('TaskQueue is not set on request.');
  if (wf.cronSchedule) throw invalidArgument('CronSchedule is not allowed in a schedule action.');
  const copy = ScheduleAction.fromObject(action);
  // Round-trip so the stored action shares nothing with the request.
  return ScheduleAction.decode(ScheduleAction.encode(copy).finish());
}

function resolveState(
  state: temporal.api.schedule.v1.IScheduleState,
): Pick<Entry, 'paused' | 'notes' | 'limitedActions' | 'remainingActions'> {
  return {
    paused: state.paused === true,
    notes: state.notes ?? '',
    limitedActions: state.limitedActions === true,
    remainingActions: int64ToNumber(state.remainingActions),
  };
}

function resolvePolicies(p: temporal.api.schedule.v1.ISchedulePolicies): {
  overlapPolicy: number;
  catchupWindowMs: number;
  pauseOnFailure: boolean;
  keepOriginalWorkflowId: boolean;
} {
  const overlap = p.overlapPolicy ?? 0;
  const cw = durationToMs(p.catchupWindow);
  return {
    overlapPolicy:
      overlap === ScheduleOverlapPolicy.SCHEDULE_OVERLAP_POLICY_UNSPECIFIED
        ? ScheduleOverlapPolicy.SCHEDULE_OVERLAP_POLICY_SKIP
        : overlap,
    catchupWindowMs: cw === undefined ? DEFAULT_CATCHUP_WINDOW_MS : Math.max(cw, MIN_CATCHUP_WINDOW_MS),
    pauseOnFailure: p.pauseOnFailure === true,
    keepOriginalWorkflowId: p.keepOriginalWorkflowId === true,
  };
}

/** The canonical spec with every range's end and step filled in (as the official describe). */
function cleanSpec(spec: temporal.api.schedule.v1.ScheduleSpec): temporal.api.schedule.v1.ScheduleSpec {
  const copy = ScheduleSpec.decode(ScheduleSpec.encode(spec).finish());
  const cleanCal = (cal: temporal.api.schedule.v1.IStructuredCalendarSpec): void => {
    for (const list of [
      cal.second,
      cal.minute,
      cal.hour,
      cal.dayOfMonth,
      cal.month,
      cal.year,
      cal.dayOfWeek,
    ]) {
      for (const r of list ?? []) {
        if ((r.end ?? 0) < (r.start ?? 0)) r.end = r.start ?? 0;
        if (!r.step) r.step = 1;
      }
    }
  };
  for (const cal of copy.structuredCalendar ?? []) cleanCal(cal);
  for (const cal of copy.excludeStructuredCalendar ?? []) cleanCal(cal);
  return copy;
}

function actionResultProto(r: ActionResult): Record<string, unknown> {
  return {
    scheduleTime: msToTimestamp(r.scheduleTime),
    actualTime: msToTimestamp(r.actualTime),
    startWorkflowResult: { workflowId: r.workflowId, runId: r.runId },
    startWorkflowStatus: r.status,
  };
}

/** The latest spec time in (start, end], searching backwards in growing steps. */
function latestFireTime(spec: CompiledSpec, start: number, end: number): number | undefined {
  const DAY = 86_400_000;
  for (const span of [2_000, 60_000, 3_600_000, DAY, 32 * DAY, 367 * DAY, Number.POSITIVE_INFINITY]) {
    const from = Math.max(start, end - span);
    const first = spec.next(from);
    if (first === undefined || first > end) {
      if (from === start) return undefined;
      continue;
    }
    let last = first;
    for (let guard = 0; guard < 100_000; guard++) {
      const n = spec.next(last);
      if (n === undefined || n > end) break;
      last = n;
    }
    return last;
  }
  return undefined;
}

export { ScheduleError };
