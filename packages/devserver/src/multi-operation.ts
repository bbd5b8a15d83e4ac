/**
 * ExecuteMultiOperation: update-with-start (exactly [Start, Update] on one workflow id), as the
 * official server runs it:
 * - the update already has an outcome on the current run: that outcome, nothing started;
 * - the current run is running and the start is a retry (same request id), or the update is already
 *   known there, or the conflict policy is USE_EXISTING: the update goes to that run;
 * - otherwise the workflow is started (with its id reuse / conflict policies) and the update is
 *   admitted before its first workflow task is handed out, so that task carries the update.
 * Errors are MultiOperationExecutionFailure statuses, one per operation (aborted for the one that
 * did not run), which the SDK unpacks.
 */
import type { Engine } from './engine.js';
import { ServiceError, invalidArgument, multiOperationAborted, multiOperationError } from './errors.js';
import type { CallContext } from './grpc.js';
import { api, type temporal } from './proto.js';
import { execKey, wfKey } from './state.js';

const E = api.enums.v1;
type Request = temporal.api.workflowservice.v1.IExecuteMultiOperationRequest;
type Response = temporal.api.workflowservice.v1.IExecuteMultiOperationResponse;
type StartRequest = temporal.api.workflowservice.v1.IStartWorkflowExecutionRequest;
type UpdateRequest = temporal.api.workflowservice.v1.IUpdateWorkflowExecutionRequest;

const MESSAGE = 'Update-with-Start could not be executed.';

function asServiceError(err: unknown): ServiceError {
  if (err instanceof ServiceError) return err;
  return new ServiceError(13, err instanceof Error ? err.message : String(err));
}

/** Frontend validation: one error per operation, or none. */
function validate(ns: string, start: StartRequest, update: UpdateRequest): Array<ServiceError | undefined> {
  const startErr =
    start.namespace && start.namespace !== ns
      ? invalidArgument("Operation namespace did not match request's namespace.")
      : start.cronSchedule
        ? invalidArgument('CronSchedule is not allowed.')
        : start.requestEagerExecution
          ? invalidArgument('RequestEagerExecution is not supported.')
          : start.workflowStartDelay &&
              (Number(start.workflowStartDelay.seconds) || start.workflowStartDelay.nanos)
            ? invalidArgument('WorkflowStartDelay is not supported.')
            : undefined;
  const updateErr =
    update.namespace && update.namespace !== ns
      ? invalidArgument("Operation namespace did not match request's namespace.")
      : update.firstExecutionRunId
        ? invalidArgument('FirstExecutionRunId is not allowed.')
        : update.workflowExecution?.runId
          ? invalidArgument('RunId is not allowed.')
          : update.workflowExecution?.workflowId !== start.workflowId
            ? invalidArgument('WorkflowId is not consistent with previous operation(s).')
            : !update.request?.input?.name
              ? invalidArgument('Update name is not set on request.')
              : undefined;
  if (!startErr && !updateErr) return [];
  return [startErr ?? multiOperationAborted(), updateErr ?? multiOperationAborted()];
}

export async function executeMultiOperation(
  engine: Engine,
  req: Request,
  ctx: CallContext,
): Promise<Response> {
  const ns = req.namespace || 'default';
  engine.namespaces.get(ns);
  const ops = req.operations ?? [];
  const start = ops[0]?.startWorkflow;
  const update = ops[1]?.updateWorkflow;
  if (ops.length !== 2 || !start || !update)
    throw invalidArgument('Operations have to be exactly [Start, Update].');
  const invalid = validate(ns, start, update);
  if (invalid.length) throw multiOperationError(MESSAGE, invalid);

  const updateId = update.request?.meta?.updateId ?? '';
  const updateReq: UpdateRequest = { ...update, namespace: ns };
  const runId = engine.current.get(wfKey(ns, start.workflowId ?? ''));
  const cur = runId ? engine.executions.get(execKey(ns, start.workflowId ?? '', runId)) : undefined;
  const respond = (
    exec: NonNullable<typeof cur>,
    started: boolean,
    updated: temporal.api.workflowservice.v1.IUpdateWorkflowExecutionResponse,
  ): Response => ({
    responses: [
      { startWorkflow: { runId: exec.runId, started, status: exec.status } },
      { updateWorkflow: updated },
    ],
  });

  if (cur) {
    const existing =
      engine.interactions.updateCompleted(cur, updateId) ||
      (engine.isRunning(cur) &&
        (cur.requestIds.includes(start.requestId ?? '') ||
          engine.interactions.hasUpdate(cur, updateId) ||
          start.workflowIdConflictPolicy ===
            E.WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING));
    if (existing) {
      try {
        return respond(cur, false, await engine.interactions.update(cur, updateReq, ctx));
      } catch (err) {
        throw multiOperationError(MESSAGE, [multiOperationAborted(), asServiceError(err)]);
      }
    }
  }

  let exec: NonNullable<typeof cur>;
  try {
    ({ exec } = engine.startWorkflow({ ...start, namespace: ns }));
  } catch (err) {
    throw multiOperationError(MESSAGE, [asServiceError(err), multiOperationAborted()]);
  }
  // Admitted in the same turn as the start: the first workflow task carries the update.
  try {
    return respond(exec, true, await engine.interactions.update(exec, updateReq, ctx));
  } catch (err) {
    throw multiOperationError(MESSAGE, [undefined, asServiceError(err)]);
  }
}
