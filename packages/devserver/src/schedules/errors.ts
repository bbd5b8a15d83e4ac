/**
 * Errors thrown by the ScheduleManager. The server core maps `name` to a gRPC status
 * (`code` carries the same status number for convenience).
 */
export type ScheduleErrorName = 'InvalidArgument' | 'NotFound' | 'AlreadyExists' | 'FailedPrecondition';

const CODES: Record<ScheduleErrorName, number> = {
  InvalidArgument: 3,
  NotFound: 5,
  AlreadyExists: 6,
  FailedPrecondition: 9,
};

export class ScheduleError extends Error {
  override readonly name: ScheduleErrorName;
  /** gRPC status code matching `name`. */
  readonly code: number;

  constructor(name: ScheduleErrorName, message: string) {
    super(message);
    this.name = name;
    this.code = CODES[name];
  }
}

export const invalidArgument = (msg: string): ScheduleError => new ScheduleError('InvalidArgument', msg);
export const notFound = (msg: string): ScheduleError => new ScheduleError('NotFound', msg);
export const alreadyExists = (msg: string): ScheduleError => new ScheduleError('AlreadyExists', msg);
/** The SDK client turns INVALID_ARGUMENT messages with this prefix into a TypeError. */
export const invalidSpec = (msg: string): ScheduleError => invalidArgument(`Invalid schedule spec: ${msg}`);
