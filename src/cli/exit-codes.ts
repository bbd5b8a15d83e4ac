/**
 * Exit codes of `migrate`, a contract scripts rely on (documented in src/cli/README.md).
 */
export const ExitCode = {
  /** The command did what it was asked. */
  Ok: 0,
  /** The workflow (an update validator) or the server refused the request; the reason is printed. */
  Rejected: 1,
  /** Bad arguments, an invalid plan, or a configuration problem (nothing was sent). */
  Usage: 2,
  /** No such migration (workflow, schedule) in the namespace. */
  NotFound: 3,
  /** Temporal is unreachable, or no worker answered in time. */
  Unavailable: 4,
  /** The migration workflow failed, was terminated, cancelled or timed out (watch, wait). */
  WorkflowFailed: 5,
  /** Interrupted by Ctrl-C (watch, wait); the workflow keeps running. */
  Interrupted: 130,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** Short, stable names for the exit codes: the `error.kind` field of `--json` error output. */
export const exitCodeKind: Record<ExitCodeValue, string> = {
  0: 'ok',
  1: 'rejected',
  2: 'usage',
  3: 'not-found',
  4: 'unavailable',
  5: 'workflow-failed',
  130: 'interrupted',
};

/** An error that ends the command with a given exit code and a one-line (or few-line) message. */
export class CliError extends Error {
  constructor(
    readonly exitCode: ExitCodeValue,
    message: string,
    /** Structured details for `--json` output (field errors, valid values, ...). */
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export const usageError = (message: string, details?: unknown) =>
  new CliError(ExitCode.Usage, message, details);
export const notFound = (message: string) => new CliError(ExitCode.NotFound, message);
export const rejected = (message: string, details?: unknown) =>
  new CliError(ExitCode.Rejected, message, details);
export const unavailable = (message: string) => new CliError(ExitCode.Unavailable, message);
