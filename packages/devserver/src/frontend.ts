/** WorkflowService and OperatorService handlers: request validation and mapping onto the engine. */
import {
  cancelActivityCompleted,
  completeActivity,
  describePendingActivities,
  failActivity,
  findStarted,
  heartbeat,
  startActivityTask,
} from './activities.js';
import { completeWorkflowTask } from './commands.js';
import type { Engine } from './engine.js';
import { invalidArgument, notFound } from './errors.js';
import type { CallContext, HandlerMap } from './grpc.js';
import { countExecutions, executionInfo, listExecutions } from './listing.js';
import { executeMultiOperation } from './multi-operation.js';
import { resetWorkflow } from './reset.js';
import { describeNamespace } from './namespaces.js';
import { api, dur, durMs, ts, type temporal } from './proto.js';
import { systemAttributes } from './search-attributes.js';
import { decodeToken, type TaskToken } from './tokens.js';

const E = api.enums.v1;

export const SERVER_VERSION = '1.28.0';

function tokenOf<K extends TaskToken['k']>(
  t: Uint8Array | null | undefined,
  kind: K,
): Extract<TaskToken, { k: K }> {
  const token = decodeToken(t);
  if (token.k !== kind) throw invalidArgument('Task token of the wrong kind.');
  return token as Extract<TaskToken, { k: K }>;
}

export function workflowServiceHandlers(engine: Engine): HandlerMap {
  const nsOf = (ns: string | null | undefined) => {
    const name = ns || 'default';
    engine.namespaces.get(name);
    return name;
  };
  const emptyWorkflowPoll = {};
  /** The started activity a task token names (RespondActivityTask*, RecordActivityTaskHeartbeat). */
  const startedByToken = (taskToken: Uint8Array | null | undefined) =>
    findStarted(engine, { token: tokenOf(taskToken, 'act') });
  /** The started activity a *ById request names. */
  const startedById = (req: {
    namespace?: string | null;
    workflowId?: string | null;
    runId?: string | null;
    activityId?: string | null;
  }) =>
    findStarted(engine, {
      ns: nsOf(req.namespace),
      workflowId: req.workflowId ?? '',
      runId: req.runId,
      activityId: req.activityId ?? '',
    });

  /** The run a cancel/terminate names; with `firstExecutionRunId`, the current run of that chain only. */
  const inChain = (req: {
    namespace?: string | null;
    workflowExecution?: temporal.api.common.v1.IWorkflowExecution | null;
    firstExecutionRunId?: string | null;
  }) => {
    const first = req.firstExecutionRunId;
    const exec = engine.get(
      nsOf(req.namespace),
      req.workflowExecution?.workflowId ?? '',
      first ? undefined : req.workflowExecution?.runId,
    );
    if (first && exec.firstRunId !== first) throw notFound(`workflow not found for ID: ${exec.workflowId}`);
    return exec;
  };

  const handlers = {
    async GetSystemInfo() {
      return {
        serverVersion: SERVER_VERSION,
        capabilities: {
          signalAndQueryHeader: true,
          internalErrorDifferentiation: true,
          activityFailureIncludeHeartbeat: true,
          supportsSchedules: true,
          encodedFailureAttributes: true,
          buildIdBasedVersioning: false,
          upsertMemo: true,
          eagerWorkflowStart: true,
          sdkMetadata: true,
          countGroupByExecutionStatus: true,
          nexus: false,
        },
      };
    },

    async GetClusterInfo() {
      return {
        supportedClients: {
          'temporal-cli': '< 2.0.0',
          'temporal-go': '< 2.0.0',
          'temporal-typescript': '< 2.0.0',
        },
        serverVersion: SERVER_VERSION,
        clusterId: 'embedded-devserver',
        clusterName: 'active',
        historyShardCount: 1,
        persistenceStore: 'embedded',
        visibilityStore: 'embedded',
        failoverVersionIncrement: 10,
        initialFailoverVersion: 1,
      };
    },

    async DescribeNamespace(req: temporal.api.workflowservice.v1.IDescribeNamespaceRequest) {
      const rec = req.namespace
        ? engine.namespaces.get(req.namespace)
        : (engine.namespaces.list().find((n) => n.id === req.id) ?? engine.namespaces.get(req.id ?? ''));
      return describeNamespace(rec, dur);
    },

    async ListNamespaces() {
      return {
        namespaces: engine.namespaces.list().map((n) => describeNamespace(n, dur)),
        nextPageToken: Buffer.alloc(0),
      };
    },

    async RegisterNamespace(req: temporal.api.workflowservice.v1.IRegisterNamespaceRequest) {
      if (!req.namespace) throw invalidArgument('Namespace is not set on request.');
      engine.namespaces.add(req.namespace, {
        description: req.description ?? '',
        ownerEmail: req.ownerEmail ?? '',
        retentionMs: durMs(req.workflowExecutionRetentionPeriod),
        data: (req.data ?? {}) as Record<string, string>,
      });
      engine.log.info(`registered namespace ${req.namespace}`);
      engine.onChange();
      return {};
    },

    /** Description, owner, data and retention (which applies to runs that close from now on). */
    async UpdateNamespace(req: temporal.api.workflowservice.v1.IUpdateNamespaceRequest) {
      const rec = engine.namespaces.get(nsOf(req.namespace));
      const info = req.updateInfo;
      if (info?.description) rec.description = info.description;
      if (info?.ownerEmail) rec.ownerEmail = info.ownerEmail;
      if (info?.data) rec.data = { ...rec.data, ...(info.data as Record<string, string>) };
      const retentionMs = durMs(req.config?.workflowExecutionRetentionTtl);
      if (retentionMs > 0) rec.retentionMs = retentionMs;
      engine.log.info(`updated namespace ${rec.name}`);
      engine.onChange();
      return describeNamespace(rec, dur);
    },

    async GetSearchAttributes() {
      const keys: Record<string, number> = {
        ...systemAttributes,
        ...Object.fromEntries(engine.searchAttributes.customOf('default')),
      };
      return { keys };
    },

    async StartWorkflowExecution(req: temporal.api.workflowservice.v1.IStartWorkflowExecutionRequest) {
      nsOf(req.namespace);
      const before = engine.runSeq;
      const { runId, started, exec } = engine.startWorkflow(req);
      // Eager start: a new run (not a retried request) without a start delay hands its first task back.
      const fresh = exec.runSeq === engine.runSeq && engine.runSeq > before;
      const eagerWorkflowTask =
        req.requestEagerExecution && fresh && !exec.wft?.notBefore
          ? engine.startEagerWorkflowTask(exec, req.identity ?? '')
          : undefined;
      return { runId, started, status: exec.status, eagerWorkflowTask };
    },

    async SignalWorkflowExecution(req: temporal.api.workflowservice.v1.ISignalWorkflowExecutionRequest) {
      const exec = engine.get(
        nsOf(req.namespace),
        req.workflowExecution?.workflowId ?? '',
        req.workflowExecution?.runId,
      );
      // A retried call is acknowledged again, even once the run has closed (as the official server does).
      if (engine.signalSeen(exec, req.requestId)) return {};
      if (!engine.isRunning(exec)) throw notFound('workflow execution already completed');
      engine.signal(exec, {
        name: req.signalName ?? '',
        input: req.input,
        header: req.header,
        identity: req.identity ?? '',
        requestId: req.requestId,
      });
      return {};
    },

    async SignalWithStartWorkflowExecution(
      req: temporal.api.workflowservice.v1.ISignalWithStartWorkflowExecutionRequest,
    ) {
      const ns = nsOf(req.namespace);
      const { runId, started } = engine.startWorkflow(
        {
          ...req,
          namespace: ns,
          workflowIdConflictPolicy:
            req.workflowIdConflictPolicy ||
            E.WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
        },
        {
          signal: {
            name: req.signalName ?? '',
            input: req.signalInput,
            header: req.header,
            identity: req.identity ?? '',
            requestId: req.requestId,
          },
        },
      );
      return { runId, started };
    },

    async RequestCancelWorkflowExecution(
      req: temporal.api.workflowservice.v1.IRequestCancelWorkflowExecutionRequest,
    ) {
      const exec = inChain(req);
      // Idempotent, as on the official server: a closed run or one already asked succeeds, once.
      if (engine.isRunning(exec) && !exec.cancelRequested)
        engine.requestCancel(exec, req.reason ?? '', req.identity ?? '');
      return {};
    },

    async TerminateWorkflowExecution(
      req: temporal.api.workflowservice.v1.ITerminateWorkflowExecutionRequest,
    ) {
      // The request has no request id: a retried call finds the run closed (NOT_FOUND), never twice terminated.
      const exec = inChain(req);
      if (!engine.isRunning(exec)) throw notFound('workflow execution already completed');
      engine.terminate(exec, req.reason ?? '', req.details, req.identity ?? '');
      return {};
    },

    async DeleteWorkflowExecution(req: temporal.api.workflowservice.v1.IDeleteWorkflowExecutionRequest) {
      const exec = engine.get(
        nsOf(req.namespace),
        req.workflowExecution?.workflowId ?? '',
        req.workflowExecution?.runId,
      );
      if (engine.isRunning(exec)) engine.terminate(exec, 'Delete workflow execution', null, '');
      engine.deleteExecution(exec);
      return {};
    },

    async ResetWorkflowExecution(req: temporal.api.workflowservice.v1.IResetWorkflowExecutionRequest) {
      return resetWorkflow(engine, { ...req, namespace: nsOf(req.namespace) });
    },

    async DescribeWorkflowExecution(req: temporal.api.workflowservice.v1.IDescribeWorkflowExecutionRequest) {
      const exec = engine.get(nsOf(req.namespace), req.execution?.workflowId ?? '', req.execution?.runId);
      const wft = exec.wft;
      return {
        executionConfig: {
          taskQueue: { name: exec.taskQueue, kind: E.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
          workflowExecutionTimeout: exec.executionTimeoutMs ? dur(exec.executionTimeoutMs) : undefined,
          workflowRunTimeout: exec.runTimeoutMs ? dur(exec.runTimeoutMs) : undefined,
          defaultWorkflowTaskTimeout: dur(exec.taskTimeoutMs),
          userMetadata: exec.userMetadata,
        },
        workflowExecutionInfo: executionInfo(engine, exec),
        pendingActivities: describePendingActivities(exec),
        pendingChildren: exec.children
          .filter((c) => c.runId)
          .map((c) => ({
            workflowId: c.workflowId,
            runId: c.runId,
            workflowTypeName: c.workflowType,
            initiatedId: c.initiatedEventId,
            parentClosePolicy: c.parentClosePolicy,
          })),
        pendingWorkflowTask: wft
          ? {
              state:
                wft.state === 'started'
                  ? E.PendingWorkflowTaskState.PENDING_WORKFLOW_TASK_STATE_STARTED
                  : E.PendingWorkflowTaskState.PENDING_WORKFLOW_TASK_STATE_SCHEDULED,
              scheduledTime: ts(wft.scheduledTime),
              originalScheduledTime: ts(wft.scheduledTime),
              startedTime: wft.startedTime ? ts(wft.startedTime) : undefined,
              attempt: wft.attempt,
            }
          : undefined,
      };
    },

    async GetWorkflowExecutionHistory(
      req: temporal.api.workflowservice.v1.IGetWorkflowExecutionHistoryRequest,
      ctx: CallContext,
    ) {
      const exec = engine.get(nsOf(req.namespace), req.execution?.workflowId ?? '', req.execution?.runId);
      const limit = Date.now() + Math.max(0, Math.min(ctx.remainingMs() - 1000, 60_000));
      if (req.historyEventFilterType === E.HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT) {
        while (req.waitNewEvent && engine.isRunning(exec) && Date.now() < limit && !ctx.isCancelled()) {
          await engine.waitForChange(exec, limit - Date.now(), ctx.cancelled);
        }
        if (engine.isRunning(exec)) return { history: { events: [] }, nextPageToken: Buffer.from('close') };
        return {
          history: { events: [exec.history[exec.history.length - 1]] },
          nextPageToken: Buffer.alloc(0),
        };
      }
      const raw =
        req.nextPageToken && req.nextPageToken.length ? Number(Buffer.from(req.nextPageToken).toString()) : 0;
      const offset = Number.isFinite(raw) ? raw : 0;
      while (
        req.waitNewEvent &&
        engine.isRunning(exec) &&
        exec.history.length <= offset &&
        Date.now() < limit &&
        !ctx.isCancelled()
      ) {
        await engine.waitForChange(exec, limit - Date.now(), ctx.cancelled);
      }
      const size = req.maximumPageSize && req.maximumPageSize > 0 ? req.maximumPageSize : 1000;
      const events = exec.history.slice(offset, offset + size);
      const next = offset + events.length;
      const more = next < exec.history.length || (req.waitNewEvent && engine.isRunning(exec));
      return {
        history: { events },
        nextPageToken: more ? Buffer.from(String(next)) : Buffer.alloc(0),
        archived: false,
      };
    },

    async GetWorkflowExecutionHistoryReverse(
      req: temporal.api.workflowservice.v1.IGetWorkflowExecutionHistoryReverseRequest,
    ) {
      const exec = engine.get(nsOf(req.namespace), req.execution?.workflowId ?? '', req.execution?.runId);
      const all = [...exec.history].reverse();
      const offset =
        req.nextPageToken && req.nextPageToken.length
          ? Number(Buffer.from(req.nextPageToken).toString()) || 0
          : 0;
      const size = req.maximumPageSize && req.maximumPageSize > 0 ? req.maximumPageSize : 1000;
      const events = all.slice(offset, offset + size);
      return {
        history: { events },
        nextPageToken: offset + size < all.length ? Buffer.from(String(offset + size)) : Buffer.alloc(0),
      };
    },

    async PollWorkflowTaskQueue(
      req: temporal.api.workflowservice.v1.IPollWorkflowTaskQueueRequest,
      ctx: CallContext,
    ) {
      const ns = nsOf(req.namespace);
      const queue = req.taskQueue?.name ?? '';
      if (!queue) throw invalidArgument('TaskQueue is not set on request.');
      const res = await engine.wfMatching.poll(ns, queue, 'workflow', ctx, (ref) =>
        engine.startWorkflowTask(ref, queue, req.identity ?? ''),
      );
      return res ?? emptyWorkflowPoll;
    },

    async RespondWorkflowTaskCompleted(
      req: temporal.api.workflowservice.v1.IRespondWorkflowTaskCompletedRequest,
    ) {
      const token = tokenOf(req.taskToken, 'wft');
      completeWorkflowTask(engine, token, req);
      return {};
    },

    async RespondWorkflowTaskFailed(req: temporal.api.workflowservice.v1.IRespondWorkflowTaskFailedRequest) {
      const token = tokenOf(req.taskToken, 'wft');
      const exec = engine.taskFor(token);
      engine.failWft(exec, req.cause ?? 0, req.failure, req.identity ?? '');
      return {};
    },

    async RespondQueryTaskCompleted(req: temporal.api.workflowservice.v1.IRespondQueryTaskCompletedRequest) {
      const token = tokenOf(req.taskToken, 'query');
      engine.interactions.respondQueryTask(token.qid, req);
      return {};
    },

    async PollActivityTaskQueue(
      req: temporal.api.workflowservice.v1.IPollActivityTaskQueueRequest,
      ctx: CallContext,
    ) {
      const ns = nsOf(req.namespace);
      const queue = req.taskQueue?.name ?? '';
      if (!queue) throw invalidArgument('TaskQueue is not set on request.');
      const res = await engine.actMatching.poll(ns, queue, 'activity', ctx, (ref) =>
        startActivityTask(engine, ref, req.identity ?? ''),
      );
      return res ?? {};
    },

    async RecordActivityTaskHeartbeat(
      req: temporal.api.workflowservice.v1.IRecordActivityTaskHeartbeatRequest,
    ) {
      const { exec, act } = startedByToken(req.taskToken);
      return { ...heartbeat(engine, exec, act, req.details), activityPaused: false, activityReset: false };
    },

    async RecordActivityTaskHeartbeatById(
      req: temporal.api.workflowservice.v1.IRecordActivityTaskHeartbeatByIdRequest,
    ) {
      const { exec, act } = startedById(req);
      return { ...heartbeat(engine, exec, act, req.details), activityPaused: false, activityReset: false };
    },

    async RespondActivityTaskCompleted(
      req: temporal.api.workflowservice.v1.IRespondActivityTaskCompletedRequest,
    ) {
      const { exec, act } = startedByToken(req.taskToken);
      completeActivity(engine, exec, act, req.result, req.identity ?? '');
      return {};
    },

    async RespondActivityTaskCompletedById(
      req: temporal.api.workflowservice.v1.IRespondActivityTaskCompletedByIdRequest,
    ) {
      const { exec, act } = startedById(req);
      completeActivity(engine, exec, act, req.result, req.identity ?? '');
      return {};
    },

    async RespondActivityTaskFailed(req: temporal.api.workflowservice.v1.IRespondActivityTaskFailedRequest) {
      const { exec, act } = startedByToken(req.taskToken);
      failActivity(engine, exec, act, req.failure, req.lastHeartbeatDetails, req.identity ?? '');
      return { failures: [] };
    },

    async RespondActivityTaskFailedById(
      req: temporal.api.workflowservice.v1.IRespondActivityTaskFailedByIdRequest,
    ) {
      const { exec, act } = startedById(req);
      failActivity(engine, exec, act, req.failure, req.lastHeartbeatDetails, req.identity ?? '');
      return { failures: [] };
    },

    async RespondActivityTaskCanceled(
      req: temporal.api.workflowservice.v1.IRespondActivityTaskCanceledRequest,
    ) {
      const { exec, act } = startedByToken(req.taskToken);
      cancelActivityCompleted(engine, exec, act, req.details, req.identity ?? '');
      return {};
    },

    async RespondActivityTaskCanceledById(
      req: temporal.api.workflowservice.v1.IRespondActivityTaskCanceledByIdRequest,
    ) {
      const { exec, act } = startedById(req);
      cancelActivityCompleted(engine, exec, act, req.details, req.identity ?? '');
      return {};
    },

    async QueryWorkflow(req: temporal.api.workflowservice.v1.IQueryWorkflowRequest, ctx: CallContext) {
      const exec = engine.get(nsOf(req.namespace), req.execution?.workflowId ?? '', req.execution?.runId);
      if (!req.query?.queryType) throw invalidArgument('QueryType is not set on request.');
      return engine.interactions.query(exec, req.query, ctx);
    },

    async UpdateWorkflowExecution(
      req: temporal.api.workflowservice.v1.IUpdateWorkflowExecutionRequest,
      ctx: CallContext,
    ) {
      const exec = engine.get(
        nsOf(req.namespace),
        req.workflowExecution?.workflowId ?? '',
        req.workflowExecution?.runId,
      );
      if (!req.request?.input?.name) throw invalidArgument('Update name is not set on request.');
      return engine.interactions.update(exec, req, ctx);
    },

    async ExecuteMultiOperation(
      req: temporal.api.workflowservice.v1.IExecuteMultiOperationRequest,
      ctx: CallContext,
    ) {
      return executeMultiOperation(engine, req, ctx);
    },

    async PollWorkflowExecutionUpdate(
      req: temporal.api.workflowservice.v1.IPollWorkflowExecutionUpdateRequest,
      ctx: CallContext,
    ) {
      const we = req.updateRef?.workflowExecution;
      const exec = engine.get(nsOf(req.namespace), we?.workflowId ?? '', we?.runId);
      return engine.interactions.pollUpdate(exec, req, ctx);
    },

    async ResetStickyTaskQueue(req: temporal.api.workflowservice.v1.IResetStickyTaskQueueRequest) {
      const exec = engine.get(nsOf(req.namespace), req.execution?.workflowId ?? '', req.execution?.runId);
      exec.sticky = null;
      return {};
    },

    async ShutdownWorker(req: temporal.api.workflowservice.v1.IShutdownWorkerRequest) {
      const ns = nsOf(req.namespace);
      if (req.stickyTaskQueue) {
        engine.log.debug(`worker ${req.identity} shut down; dropping sticky queue ${req.stickyTaskQueue}`);
        engine.dropStickyQueue(ns, req.stickyTaskQueue);
      }
      return {};
    },

    async DescribeTaskQueue(req: temporal.api.workflowservice.v1.IDescribeTaskQueueRequest) {
      const ns = nsOf(req.namespace);
      const name = req.taskQueue?.name ?? '';
      const kind = req.taskQueueType === E.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY ? 'activity' : 'workflow';
      const m = kind === 'activity' ? engine.actMatching : engine.wfMatching;
      const last = m.lastPoll(ns, name, kind);
      return {
        pollers: last ? [{ lastAccessTime: ts(last), identity: 'worker', ratePerSecond: 100000 }] : [],
        taskQueueStatus: { backlogCountHint: m.backlog(ns, name, kind) },
      };
    },

    async ListWorkflowExecutions(req: temporal.api.workflowservice.v1.IListWorkflowExecutionsRequest) {
      return listExecutions(
        engine,
        nsOf(req.namespace),
        req.query ?? '',
        req.pageSize ?? 0,
        req.nextPageToken,
      );
    },

    async ScanWorkflowExecutions(req: temporal.api.workflowservice.v1.IScanWorkflowExecutionsRequest) {
      return handlers.ListWorkflowExecutions(req);
    },

    async CountWorkflowExecutions(req: temporal.api.workflowservice.v1.ICountWorkflowExecutionsRequest) {
      return countExecutions(engine, nsOf(req.namespace), req.query ?? '');
    },
  };
  return handlers as unknown as HandlerMap;
}

export function operatorServiceHandlers(engine: Engine): HandlerMap {
  const handlers = {
    async AddSearchAttributes(req: temporal.api.operatorservice.v1.IAddSearchAttributesRequest) {
      const ns = req.namespace || 'default';
      engine.namespaces.get(ns);
      engine.searchAttributes.add(ns, (req.searchAttributes ?? {}) as Record<string, number>);
      engine.log.info(
        `search attributes added in ${ns}: ${Object.keys(req.searchAttributes ?? {}).join(', ')}`,
      );
      engine.onChange();
      return {};
    },
    async RemoveSearchAttributes(req: temporal.api.operatorservice.v1.IRemoveSearchAttributesRequest) {
      const ns = req.namespace || 'default';
      engine.namespaces.get(ns);
      engine.searchAttributes.remove(ns, req.searchAttributes ?? []);
      engine.onChange();
      return {};
    },
    async ListSearchAttributes(req: temporal.api.operatorservice.v1.IListSearchAttributesRequest) {
      const ns = req.namespace || 'default';
      engine.namespaces.get(ns);
      return {
        customAttributes: Object.fromEntries(engine.searchAttributes.customOf(ns)),
        systemAttributes: { ...systemAttributes },
        storageSchema: {},
      };
    },
    async DeleteNamespace(req: temporal.api.operatorservice.v1.IDeleteNamespaceRequest) {
      throw notFound(`Deleting namespaces (${req.namespace}) is not supported by the embedded dev server.`);
    },
  };
  return handlers as unknown as HandlerMap;
}

export type { temporal };
