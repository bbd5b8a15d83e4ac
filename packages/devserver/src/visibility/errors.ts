/**
 * The one error type the query compiler throws. Its `name` is `InvalidArgument`, which the
 * server core maps to gRPC INVALID_ARGUMENT; its message follows the official server's
 * "invalid query: <reason>" wording.
 */
export class InvalidQueryError extends Error {
  override readonly name = 'InvalidArgument';

  constructor(detail: string) {
    super(`invalid query: ${detail}`);
  }
}

export const MALFORMED = 'malformed SQL query';
export const NOT_SUPPORTED = 'operation is not supported';
export const INVALID_EXPRESSION = 'invalid expression';

export function malformed(detail: string): InvalidQueryError {
  return new InvalidQueryError(`${MALFORMED}: ${detail}`);
}

export function notSupported(detail: string): InvalidQueryError {
  return new InvalidQueryError(`${NOT_SUPPORTED}: ${detail}`);
}

export function invalidExpression(detail: string): InvalidQueryError {
  return new InvalidQueryError(`${INVALID_EXPRESSION}: ${detail}`);
}
