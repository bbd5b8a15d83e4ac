/**
 * Queries and updates: both reach the workflow through workflow tasks.
 * - Queries ride on a scheduled workflow task (`queries` map) or, when none is pending, go out as
 *   a legacy query task (`query` field) answered by RespondQueryTaskCompleted.
 * - Updates are protocol messages (`<id>/request`) on workflow tasks; the worker answers with
 *   Acceptance / Rejection / Response messages, recorded as UpdateAccepted / UpdateCompleted events.
 */
import { randomUUID } from 'node:crypto';
import { ServiceError, invalidArgument, notFound } from './errors.js';
import type { Engine } from './engine.js';
import { appendEvent } from './history.js';
import type { CallContext } from './grpc.js';
import { EventType, anyTypeName, api, i64, num, packAny, ts, unpackAny, type temporal } from './proto.js';
import type { ExecutionState } from './state.js';
import { encodeToken } from './tokens.js';
import { status } from '@grpc/grpc-js';

const E = api.enums.v1;
const Stage = E.UpdateWorkflowExecutionLifecycleStage;
type WorkflowQuery = temporal.api.query.v1.IWorkflowQuery;
type QueryResponse = temporal.api.workflowservice.v1.IQueryWorkflowResponse;
type UpdateRequest = temporal.api.update.v1.IRequest;
type Outcome = temporal.api.update.v1.IOutcome;
type Message = temporal.api.protocol.v1.IMessage;

interface QueryEntry {
  id: string;
  key: string;
  query: WorkflowQuery;
  state: 'waiting' | 'attached' | 'task' | 'started';
  seq?: number;
  resolve(res: QueryResponse): void;
  reject(err: Error): void;
}

interface UpdateEntry {
  id: string;
  request: UpdateRequest;
  state: 'admitted' | 'sent' | 'accepted' | 'completed';
  sentSeq?: number;
  acceptedEventId?: number;
  outcome?: Outcome;
  error?: ServiceError;
  waiters: Set<() => void>;
}

const STICKY_ALIVE_MS = 2_000;

export class Interactions {
  private readonly queries = new Map<string, QueryEntry>();
  private readonly updates = new Map<string, Map<string, UpdateEntry>>();

  constructor(private readonly engine: Engine) {}

  // ---------------------------------------------------------------- queries

  async query(exec: ExecutionState, query: WorkflowQuery, ctx: CallContext): Promise<QueryResponse> {
    const key = this.engine.keyOf(exec);
    return new Promise<QueryResponse>((resolve, reject) => {
      const id = randomUUID();
      const timeout = Math.max(0, Math.min(ctx.remainingMs() - 200, 120_000));
      const cleanup = () => {
        clearTimeout(timer);
        this.queries.delete(id);
      };
      const entry: QueryEntry = {
        id,
        key,
        query,
        state: 'waiting',
        resolve: (r) => {
          cleanup();
          resolve(r);
        },
        reject: (e) => {
          cleanup();
          reject(e);
        },
      };
      const timer = setTimeout(
        () => entry.reject(new ServiceError(status.DEADLINE_EXCEEDED, 'query timed out: no worker answered')),
        timeout,
      );
      void ctx.cancelled.then(() => entry.reject(new ServiceError(status.CANCELLED, 'query cancelled')));
      this.queries.set(id, entry);
      this.route(exec, entry);
    });
  }

  private route(exec: ExecutionState, entry: QueryEntry): void {
    const running = this.engine.isRunning(exec);
    const wft = exec.wft;
    if (running && (exec.lastCompletedStartedEventId === 0 || wft?.state === 'started')) {
      entry.state = 'waiting';
      return;
    }
    if (running && wft?.state === 'scheduled') {
      entry.state = 'attached';
      entry.seq = wft.seq;
      return;
    }
    entry.state = 'task';
    const sticky =
      running &&
      exec.sticky &&
      this.engine.wfMatching.hasRecentPoller(exec.namespace, exec.sticky.queue, 'workflow', STICKY_ALIVE_MS);
    const queue = sticky ? exec.sticky!.queue : exec.taskQueue;
    this.engine.wfMatching.add(exec.namespace, queue, 'workflow', {
      type: 'query',
      key: entry.key,
      queryId: entry.id,
    });
    if (sticky) {
      const ms = exec.sticky!.scheduleToStartMs;
      setTimeout(() => {
        if (this.queries.get(entry.id)?.state !== 'task') return;
        const removed = this.engine.wfMatching.remove(
          exec.namespace,
          queue,
          'workflow',
          (t) => t.type === 'query' && t.queryId === entry.id,
        );
        if (removed.length)
          this.engine.wfMatching.add(exec.namespace, exec.taskQueue, 'workflow', removed[0]!);
      }, ms).unref();
    }
  }

  /** Re-routes queries that waited for the in-flight workflow task. */
  routePending(exec: ExecutionState): void {
    const key = this.engine.keyOf(exec);
    for (const q of this.queries.values()) {
      if (q.key === key && q.state === 'waiting') this.route(exec, q);
    }
  }

  startQueryTask(
    exec: ExecutionState,
    queryId: string,
    pollQueue: string,
  ): temporal.api.workflowservice.v1.IPollWorkflowTaskQueueResponse | null {
    const entry = this.queries.get(queryId);
    if (!entry || entry.state !== 'task') return null;
    if (this.engine.isRunning(exec) && exec.wft) {
      // Events came in after the query was queued (they scheduled a workflow task): it now rides on
      // that task, as the official server, which dispatches a query task only while no workflow task
      // is pending, would have sent it. Handed out alone, its history would carry events the worker has
      // not processed (below).
      this.route(exec, entry);
      return null;
    }
    entry.state = 'started';
    // As on the official server: a query task on the sticky queue carries no events (the worker has
    // the run cached and answers from its state); elsewhere, the whole history. Events after the last
    // completed task handed to a cached run with a query (a signal or an activity result that arrived
    // after the query was queued) are applied by the SDK outside a workflow task: the run then
    // diverges from its history, and the next worker that replays it fails with a nondeterminism
    // error.
    const sticky = !!exec.sticky && pollQueue === exec.sticky.queue && this.engine.isRunning(exec);
    return {
      taskToken: encodeToken({ k: 'query', qid: queryId }),
      workflowExecution: { workflowId: exec.workflowId, runId: exec.runId },
      workflowType: { name: exec.workflowType },
      previousStartedEventId: i64(exec.lastCompletedStartedEventId),
      startedEventId: i64(0),
      attempt: 1,
      history: { events: sticky ? [] : exec.history.slice() },
      query: entry.query,
      workflowExecutionTaskQueue: { name: exec.taskQueue, kind: E.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
      scheduledTime: ts(Date.now()),
      startedTime: ts(Date.now()),
    };
  }

  respondQueryTask(
    queryId: string,
    req: temporal.api.workflowservice.v1.IRespondQueryTaskCompletedRequest,
  ): void {
    const entry = this.queries.get(queryId);
    if (!entry) throw notFound('query task not found');
    this.answer(entry, {
      resultType: req.completedType,
      answer: req.queryResult,
      errorMessage: req.errorMessage,
      failure: req.failure,
    });
  }

  private answer(entry: QueryEntry, res: temporal.api.query.v1.IWorkflowQueryResult): void {
    if (res.resultType === E.QueryResultType.QUERY_RESULT_TYPE_ANSWERED)
      entry.resolve({ queryResult: res.answer });
    else entry.reject(invalidArgument(res.errorMessage || res.failure?.message || 'query failed'));
  }

  // ---------------------------------------------------------------- updates

  private updatesOf(exec: ExecutionState): Map<string, UpdateEntry> {
    const key = this.engine.keyOf(exec);
    let m = this.updates.get(key);
    if (!m) {
      m = new Map();
      this.updates.set(key, m);
    }
    return m;
  }

  /** Finds an update known in memory or, after a restart, in history. */
  private findUpdate(exec: ExecutionState, updateId: string): UpdateEntry | undefined {
    const m = this.updatesOf(exec);
    const known = m.get(updateId);
    if (known) return known;
    let entry: UpdateEntry | undefined;
    for (const ev of exec.history) {
      const acc = ev.workflowExecutionUpdateAcceptedEventAttributes;
      if (acc && acc.protocolInstanceId === updateId) {
        entry = {
          id: updateId,
          request: acc.acceptedRequest ?? {},
          state: 'accepted',
          acceptedEventId: num(ev.eventId),
          waiters: new Set(),
        };
      }
      const done = ev.workflowExecutionUpdateCompletedEventAttributes;
      if (done && done.meta?.updateId === updateId && entry) {
        entry.state = 'completed';
        entry.outcome = done.outcome ?? {};
      }
    }
    if (entry) m.set(updateId, entry);
    return entry;
  }

  /** True when the run knows this update (admitted, accepted or completed). */
  hasUpdate(exec: ExecutionState, updateId: string): boolean {
    return !!updateId && this.findUpdate(exec, updateId) !== undefined;
  }

  /** True when the run has this update's outcome. */
  updateCompleted(exec: ExecutionState, updateId: string): boolean {
    return !!updateId && this.findUpdate(exec, updateId)?.state === 'completed';
  }

  private stageOf(u: UpdateEntry): number {
    if (u.state === 'completed') return Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED;
    if (u.state === 'accepted') return Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED;
    return Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED;
  }

  private async waitStage(u: UpdateEntry, stage: number, ctx: CallContext): Promise<void> {
    const limit = Date.now() + Math.max(0, Math.min(ctx.remainingMs() - 1000, 60_000));
    while (!u.error && this.stageOf(u) < stage && Date.now() < limit && !ctx.isCancelled()) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(t);
          u.waiters.delete(done);
          resolve();
        };
        const t = setTimeout(done, limit - Date.now());
        u.waiters.add(done);
        void ctx.cancelled.then(done);
      });
    }
    if (u.error) throw u.error;
  }

  private notify(u: UpdateEntry): void {
    for (const w of [...u.waiters]) w();
  }

  async update(
    exec: ExecutionState,
    req: temporal.api.workflowservice.v1.IUpdateWorkflowExecutionRequest,
    ctx: CallContext,
  ): Promise<temporal.api.workflowservice.v1.IUpdateWorkflowExecutionResponse> {
    const request = req.request ?? {};
    const updateId = request.meta?.updateId || randomUUID();
    let u = this.findUpdate(exec, updateId);
    if (!u) {
      if (!this.engine.isRunning(exec)) throw notFound('workflow execution already completed');
      u = { id: updateId, request, state: 'admitted', waiters: new Set() };
      this.updatesOf(exec).set(updateId, u);
      this.engine.log.debug(`update ${updateId} (${request.input?.name}) admitted for ${exec.workflowId}`);
      this.engine.scheduleWft(exec);
      this.engine.changed(exec);
    }
    const wanted = Math.max(
      req.waitPolicy?.lifecycleStage ?? 0,
      Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED,
    );
    await this.waitStage(u, wanted, ctx);
    return {
      updateRef: { workflowExecution: { workflowId: exec.workflowId, runId: exec.runId }, updateId },
      outcome: u.outcome,
      stage: this.stageOf(u),
    };
  }

  async pollUpdate(
    exec: ExecutionState,
    req: temporal.api.workflowservice.v1.IPollWorkflowExecutionUpdateRequest,
    ctx: CallContext,
  ): Promise<temporal.api.workflowservice.v1.IPollWorkflowExecutionUpdateResponse> {
    const updateId = req.updateRef?.updateId ?? '';
    const u = this.findUpdate(exec, updateId);
    if (!u) throw notFound(`update ${updateId} not found`);
    const wanted = req.waitPolicy?.lifecycleStage ?? 0;
    if (wanted > 0) await this.waitStage(u, wanted, ctx);
    return {
      outcome: u.outcome,
      stage: this.stageOf(u),
      updateRef: { workflowExecution: { workflowId: exec.workflowId, runId: exec.runId }, updateId },
    };
  }

  // ---------------------------------------------------------------- workflow task hooks

  onWorkflowTaskStarted(
    exec: ExecutionState,
    startedEventId: number,
    seq: number,
  ): { messages: Message[]; queries: Record<string, WorkflowQuery> } {
    const messages: Message[] = [];
    for (const u of this.updatesOf(exec).values()) {
      if (u.state !== 'admitted') continue;
      u.state = 'sent';
      u.sentSeq = seq;
      messages.push({
        id: `${u.id}/request`,
        protocolInstanceId: u.id,
        eventId: i64(startedEventId - 1),
        body: packAny('temporal.api.update.v1.Request', u.request),
      });
    }
    const queries: Record<string, WorkflowQuery> = {};
    const key = this.engine.keyOf(exec);
    for (const q of this.queries.values()) {
      if (q.key === key && q.state === 'attached' && q.seq === seq) queries[q.id] = q.query;
    }
    return { messages, queries };
  }

  /** The workflow task failed or timed out: resend its updates, re-route its queries. */
  onWorkflowTaskLost(exec: ExecutionState, seq: number): void {
    for (const u of this.updatesOf(exec).values()) {
      if (u.state === 'sent' && u.sentSeq === seq) u.state = 'admitted';
    }
    const key = this.engine.keyOf(exec);
    for (const q of this.queries.values()) {
      if (q.key === key && q.state === 'attached' && q.seq === seq) q.state = 'waiting';
    }
  }

  onWorkflowTaskCompleted(
    exec: ExecutionState,
    seq: number,
    results: Record<string, temporal.api.query.v1.IWorkflowQueryResult> | null | undefined,
  ): void {
    for (const [id, res] of Object.entries(results ?? {})) {
      const q = this.queries.get(id);
      if (q) this.answer(q, res);
    }
    this.onWorkflowTaskLost(exec, seq);
  }

  needsWorkflowTask(exec: ExecutionState): boolean {
    for (const u of this.updatesOf(exec).values()) if (u.state === 'admitted') return true;
    return false;
  }

  /** Handles a protocol message from RespondWorkflowTaskCompleted. */
  handleMessage(exec: ExecutionState, msg: Message): void {
    const type = anyTypeName(msg.body);
    const updateId = msg.protocolInstanceId ?? '';
    const m = this.updatesOf(exec);
    const u = this.findUpdate(exec, updateId);
    if (type === 'temporal.api.update.v1.Acceptance') {
      const acc = unpackAny<temporal.api.update.v1.IAcceptance>(msg.body);
      const request = acc.acceptedRequest ?? u?.request;
      const id = appendEvent(
        exec,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
        'workflowExecutionUpdateAcceptedEventAttributes',
        {
          protocolInstanceId: updateId,
          acceptedRequestMessageId: acc.acceptedRequestMessageId,
          acceptedRequestSequencingEventId: acc.acceptedRequestSequencingEventId,
          acceptedRequest: request,
        },
      );
      const entry = u ?? {
        id: updateId,
        request: request ?? {},
        state: 'accepted' as const,
        waiters: new Set<() => void>(),
      };
      entry.state = 'accepted';
      entry.acceptedEventId = id;
      m.set(updateId, entry);
      this.notify(entry);
    } else if (type === 'temporal.api.update.v1.Rejection') {
      const rej = unpackAny<temporal.api.update.v1.IRejection>(msg.body);
      if (u) {
        u.state = 'completed';
        u.outcome = { failure: rej.failure };
        this.notify(u);
      }
    } else if (type === 'temporal.api.update.v1.Response') {
      const res = unpackAny<temporal.api.update.v1.IResponse>(msg.body);
      appendEvent(
        exec,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED,
        'workflowExecutionUpdateCompletedEventAttributes',
        {
          meta: res.meta,
          acceptedEventId: u?.acceptedEventId ?? 0,
          outcome: res.outcome,
        },
      );
      if (u) {
        u.state = 'completed';
        u.outcome = res.outcome ?? {};
        this.notify(u);
      }
    } else {
      this.engine.log.warn(`ignoring protocol message of type ${type}`);
    }
  }

  /** A deleted run: drop what is kept in memory for it. */
  forget(key: string): void {
    this.updates.delete(key);
  }

  onClosed(exec: ExecutionState): void {
    const key = this.engine.keyOf(exec);
    const m = this.updates.get(key);
    if (m) {
      for (const u of m.values()) {
        if (u.state !== 'completed') {
          u.error = notFound('workflow execution already completed');
          this.notify(u);
        }
      }
    }
    for (const q of this.queries.values()) {
      if (q.key === key && q.state === 'attached') q.state = 'waiting';
    }
    this.routePending(exec);
  }
}
