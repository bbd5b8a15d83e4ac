/**
 * Error classification for activities: configuration problems fail at once (non-retryable), with the
 * data plane's message (which names the table/column/setting and the fix); cancellation is reported
 * as cancellation; everything else is retried by Temporal.
 */
import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';

/** Data-plane error names that retrying cannot fix. */
const CONFIGURATION_ERRORS = new Set([
  'TableNotFoundError',
  'NoUsableKeyError',
  'UnknownColumnError',
  'ColumnMappingError',
  'IncompatibleTablesError',
  'InvalidIdentifierError',
  'ConnectionNotConfiguredError',
  'InvalidIdError',
  'InvalidSwitchChangeError',
  'StreamNotStartedError',
  'SyncNotStartedError',
  // The binlog says something the applier must not guess about: an operator has to look.
  'DdlOnWatchedTableError',
  'StatementFormatError',
  'RowImageError',
  'BinlogUnavailableError',
]);

export function nonRetryable(message: string, type: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, type);
}

export async function classify<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const signal = Context.current().cancellationSignal;
    if (signal.aborted) {
      const reason: unknown = signal.reason;
      throw reason instanceof CancelledFailure ? reason : new CancelledFailure('activity cancelled');
    }
    if (err instanceof ApplicationFailure || err instanceof CancelledFailure) throw err;
    const e = err as Error;
    if (e && CONFIGURATION_ERRORS.has(e.name)) throw nonRetryable(e.message, e.name);
    throw err;
  }
}
