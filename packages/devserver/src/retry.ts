/**
 * Retry policies, shared by activities and workflow runs: defaults filled in as the official server
 * does, and the decision whether another attempt runs (and after how long) for a failure.
 */
import { api, dur, durMs, type Failure, type RetryPolicy } from './proto.js';

const E = api.enums.v1;

export function fillRetryPolicy(p: RetryPolicy | null | undefined): RetryPolicy {
  const initial = durMs(p?.initialInterval) || 1000;
  return {
    initialInterval: dur(initial),
    backoffCoefficient: p?.backoffCoefficient || 2,
    maximumInterval:
      p?.maximumInterval && durMs(p.maximumInterval) > 0 ? p.maximumInterval : dur(initial * 100),
    maximumAttempts: p?.maximumAttempts ?? 0,
    nonRetryableErrorTypes: p?.nonRetryableErrorTypes ?? [],
  };
}

export function timeoutName(t: number): string {
  switch (t) {
    case E.TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE:
      return 'StartToClose';
    case E.TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START:
      return 'ScheduleToStart';
    case E.TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE:
      return 'ScheduleToClose';
    default:
      return 'Heartbeat';
  }
}

export interface RetryDecision {
  retry: boolean;
  delayMs: number;
  /** The RetryState recorded when no retry follows (RETRY_STATE_IN_PROGRESS when one does). */
  state: number;
}

const stop = (state: number, delayMs = 0): RetryDecision => ({ retry: false, delayMs, state });

/**
 * After attempt `attempt` failed with `failure`: not retried when the failure is non-retryable
 * (flagged, of a listed type, a cancellation or termination), when the attempts are used up, or when
 * the next attempt would start after `deadline`; otherwise retried after the failure's
 * `nextRetryDelay` or the policy's exponential backoff.
 */
export function decideRetry(
  policy: RetryPolicy,
  attempt: number,
  failure: Failure | null | undefined,
  deadline: number | undefined,
  now = Date.now(),
): RetryDecision {
  const info = failure?.applicationFailureInfo;
  if (info?.nonRetryable || failure?.canceledFailureInfo || failure?.terminatedFailureInfo) {
    return stop(E.RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE);
  }
  const timeout = failure?.timeoutFailureInfo;
  const type = info
    ? (info.type ?? '')
    : timeout
      ? `TemporalTimeout:${timeoutName(timeout.timeoutType ?? 0)}`
      : '';
  if (type && (policy.nonRetryableErrorTypes ?? []).includes(type)) {
    return stop(E.RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE);
  }
  const max = policy.maximumAttempts ?? 0;
  if (max > 0 && attempt >= max) return stop(E.RetryState.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED);
  const initial = durMs(policy.initialInterval) || 1000;
  const coefficient = policy.backoffCoefficient || 2;
  const maxInterval = durMs(policy.maximumInterval) || initial * 100;
  const delayMs =
    durMs(info?.nextRetryDelay) || Math.min(initial * coefficient ** (attempt - 1), maxInterval);
  if (deadline !== undefined && now + delayMs >= deadline)
    return stop(E.RetryState.RETRY_STATE_TIMEOUT, delayMs);
  return { retry: true, delayMs, state: E.RetryState.RETRY_STATE_IN_PROGRESS };
}
