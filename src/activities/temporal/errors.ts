/**
 * Error classification for activities (db/classify.ts decides): fatal errors fail at once
 * (non-retryable ApplicationFailure whose message names the table/setting and the fix, and whose
 * details carry them as data), transient ones fail the attempt with a clean message and type, and
 * Temporal retries them with back-off; cancellation is reported as cancellation.
 */
import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import { classifyError, describeClass, type ErrorClass } from '../db/classify.js';

/** The failure's details[0]: what the workflow shows at a failed gate. */
export interface FailureDetails {
  kind: ErrorClass['kind'];
  activity: string;
  table?: string;
  setting?: string;
  fix?: string;
  errno?: number;
  code?: string;
}

/** The Temporal failure for an error an activity body threw (exported for tests). */
export function toFailure(err: unknown, activity: string): ApplicationFailure {
  const c = classifyError(err);
  const details: FailureDetails = {
    kind: c.kind,
    activity,
    ...(c.table ? { table: c.table } : {}),
    ...(c.setting ? { setting: c.setting } : {}),
    ...(c.fix ? { fix: c.fix } : {}),
    ...(c.errno !== undefined ? { errno: c.errno } : {}),
    ...(c.code ? { code: c.code } : {}),
  };
  return ApplicationFailure.create({
    message: `${activity}: ${describeClass(c)}`,
    type: c.type,
    nonRetryable: c.kind === 'fatal',
    details: [details],
    cause: err instanceof Error ? err : undefined,
  });
}

export async function classify<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const actx = Context.current();
    const signal = actx.cancellationSignal;
    if (signal.aborted) {
      const reason: unknown = signal.reason;
      throw reason instanceof CancelledFailure ? reason : new CancelledFailure('activity cancelled');
    }
    if (err instanceof ApplicationFailure || err instanceof CancelledFailure) throw err;
    throw toFailure(err, actx.info.activityType);
  }
}
