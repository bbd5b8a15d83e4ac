/**
 * Glue between the ScheduleManager and the embedded server's engine: the ScheduleHost
 * implementation and the WorkflowService schedule RPC handlers.
 */
import type { temporal } from '@temporalio/proto';
import type { Engine } from '../engine.js';
import { ServiceError } from '../errors.js';
import type { HandlerMap } from '../grpc.js';
import type { Payload } from '../proto.js';
import { execKey, wfKey } from '../state.js';
import { ScheduleError } from './errors.js';
import { ScheduleManager, type ScheduleHost } from './manager.js';

/** A ScheduleHost backed by the engine. */
export function engineScheduleHost(engine: Engine): ScheduleHost {
  const current = (ns: string, workflowId: string) => {
    const runId = engine.current.get(wfKey(ns, workflowId));
    return runId ? engine.executions.get(execKey(ns, workflowId, runId)) : undefined;
  };
  return {
    async startWorkflow(namespace, request) {
      const { runId } = engine.startWorkflow({ ...request, namespace });
      return { runId };
    },
    isWorkflowRunning(namespace, workflowId, runId) {
      const exec = current(namespace, workflowId);
      return exec !== undefined && engine.isRunning(exec) && exec.firstRunId === runId;
    },
    onWorkflowClosed(listener) {
      engine.closeListeners.push(listener);
    },
    persist() {
      engine.onChange();
    },
    log(level, msg) {
      engine.log.log(level, msg);
    },
    cancelWorkflow(namespace, workflowId, _runId, reason) {
      const exec = current(namespace, workflowId);
      if (exec && engine.isRunning(exec)) engine.requestCancel(exec, reason, 'temporal-scheduler');
    },
    terminateWorkflow(namespace, workflowId, _runId, reason) {
      const exec = current(namespace, workflowId);
      if (exec && engine.isRunning(exec)) engine.terminate(exec, reason, undefined, 'temporal-scheduler');
    },
    searchAttributeTypes(namespace) {
      return engine.searchAttributes.customOf(namespace);
    },
  };
}

/** WorkflowService handlers for the schedule RPCs. */
export function scheduleHandlers(engine: Engine, manager: ScheduleManager): HandlerMap {
  const ns = (name: string | null | undefined): string => {
    const n = name || 'default';
    engine.namespaces.get(n);
    return n;
  };
  const call = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof ScheduleError) throw new ServiceError(err.code, err.message);
      throw err;
    }
  };
  const validateSearchAttributes = (
    namespace: string,
    schedule: temporal.api.schedule.v1.ISchedule | null | undefined,
  ) => {
    const fields = schedule?.action?.startWorkflow?.searchAttributes?.indexedFields;
    engine.searchAttributes.validate(namespace, fields as Record<string, Payload> | undefined);
  };
  return {
    CreateSchedule: (req: temporal.api.workflowservice.v1.ICreateScheduleRequest) =>
      call(() => {
        const namespace = ns(req.namespace);
        validateSearchAttributes(namespace, req.schedule);
        return manager.createSchedule({ ...req, namespace });
      }),
    DescribeSchedule: (req: temporal.api.workflowservice.v1.IDescribeScheduleRequest) =>
      call(() => manager.describeSchedule({ ...req, namespace: ns(req.namespace) })),
    UpdateSchedule: (req: temporal.api.workflowservice.v1.IUpdateScheduleRequest) =>
      call(() => {
        const namespace = ns(req.namespace);
        validateSearchAttributes(namespace, req.schedule);
        return manager.updateSchedule({ ...req, namespace });
      }),
    PatchSchedule: (req: temporal.api.workflowservice.v1.IPatchScheduleRequest) =>
      call(() => manager.patchSchedule({ ...req, namespace: ns(req.namespace) })),
    DeleteSchedule: (req: temporal.api.workflowservice.v1.IDeleteScheduleRequest) =>
      call(() => manager.deleteSchedule({ ...req, namespace: ns(req.namespace) })),
    ListSchedules: (req: temporal.api.workflowservice.v1.IListSchedulesRequest) =>
      call(() => manager.listSchedules({ ...req, namespace: ns(req.namespace) })),
    CountSchedules: (req: temporal.api.workflowservice.v1.ICountSchedulesRequest) =>
      call(() => manager.countSchedules({ ...req, namespace: ns(req.namespace) })),
    ListScheduleMatchingTimes: (req: temporal.api.workflowservice.v1.IListScheduleMatchingTimesRequest) =>
      call(() => manager.listScheduleMatchingTimes({ ...req, namespace: ns(req.namespace) })),
  } as HandlerMap;
}
