/** gRPC-status errors raised by handlers; the binding turns them into call errors. */
import { status } from '@grpc/grpc-js';

export class ServiceError extends Error {
  constructor(
    readonly code: status,
    message: string,
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
