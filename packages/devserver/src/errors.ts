/** gRPC-status errors raised by handlers; the binding turns them into call errors. */
import { status } from '@grpc/grpc-js';
import type { google } from '@temporalio/proto';
import { packAny } from './proto.js';

export class ServiceError extends Error {
  constructor(
    readonly code: status,
    message: string,
    /** Typed details sent in `grpc-status-details-bin` (google.rpc.Status), which the SDK decodes. */
    readonly details: google.protobuf.IAny[] = [],
  ) {
    super(message);
    this.name = 'ServiceError';
  }
}

export const notFound = (msg: string) => new ServiceError(status.NOT_FOUND, msg);
export const invalidArgument = (msg: string) => new ServiceError(status.INVALID_ARGUMENT, msg);
export const alreadyExists = (msg: string) => new ServiceError(status.ALREADY_EXISTS, msg);
export const failedPrecondition = (msg: string) => new ServiceError(status.FAILED_PRECONDITION, msg);
export const unimplemented = (msg: string) => new ServiceError(status.UNIMPLEMENTED, msg);

export const workflowAlreadyStarted = (msg: string, startRequestId: string, runId: string) =>
  new ServiceError(status.ALREADY_EXISTS, msg, [
    packAny('temporal.api.errordetails.v1.WorkflowExecutionAlreadyStartedFailure', { startRequestId, runId }),
  ]);

/** An operation of a multi-operation call that did not run because another one failed. */
export const multiOperationAborted = () =>
  new ServiceError(status.ABORTED, 'Operation was aborted.', [
    packAny('temporal.api.failure.v1.MultiOperationExecutionAborted', {}),
  ]);

/**
 * The error of a multi-operation call, as the official server builds it: one status per operation
 * (OK for those that succeeded), the call's code being the first that is neither OK nor aborted.
 */
export function multiOperationError(message: string, errors: Array<ServiceError | undefined>): ServiceError {
  const statuses = errors.map((e) =>
    e ? { code: e.code, message: e.message, details: e.details } : { code: 0 },
  );
  const first = errors.find((e) => e && e.code !== status.ABORTED);
  return new ServiceError(first?.code ?? status.ABORTED, message, [
    packAny('temporal.api.errordetails.v1.MultiOperationExecutionFailure', { statuses }),
  ]);
}
