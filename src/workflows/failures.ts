/**
 * Failures that stop the run at a `failed` gate: an activity error classified fatal (its details name
 * the table/setting and the fix, src/activities/temporal/errors.ts), a compensation that failed or ran
 * out of time, or any other exception of a step. Deterministic.
 */
import * as wf from '@temporalio/workflow';
import type { FailureView, Phase } from './api.js';
import { nowIso } from './context.js';

/** details[0] of an activity's ApplicationFailure (FailureDetails in activities/temporal/errors.ts). */
interface Details {
  activity?: unknown;
  table?: unknown;
  setting?: unknown;
  fix?: unknown;
}

const text = (v: unknown): string | null => (typeof v === 'string' && v ? v : null);

/** Whether `err` is an activity failure the activity classified fatal (not retried). */
export function isFatalActivityFailure(err: unknown): boolean {
  return (
    err instanceof wf.ActivityFailure &&
    err.cause instanceof wf.ApplicationFailure &&
    err.cause.nonRetryable === true
  );
}

export function failureOf(err: unknown, where: FailureView['where'], phase: Phase): FailureView {
  let activity: string | null = null;
  let message = err instanceof Error ? err.message : String(err);
  let kind: FailureView['kind'] = 'other';
  let details: Details = {};
  if (err instanceof wf.ActivityFailure) {
    activity = err.activityType ?? null;
    const cause = err.cause;
    if (cause instanceof wf.ApplicationFailure) {
      message = cause.message;
      if (cause.nonRetryable) kind = 'fatal';
      const d: unknown = cause.details?.[0];
      if (d && typeof d === 'object') details = d as Details;
    } else if (cause instanceof wf.TimeoutFailure) {
      message = `${activity ?? 'activity'} timed out (${cause.message})`;
      kind = 'timeout';
    } else if (cause) message = cause.message;
  }
  return {
    at: nowIso(),
    where,
    phase,
    activity: text(details.activity) ?? activity,
    message,
    kind,
    table: text(details.table),
    setting: text(details.setting),
    fix: text(details.fix),
  };
}

const LOOP_NAMES: Record<FailureView['where'], string> = {
  step: 'the step',
  compensation: 'the compensation',
  forward: 'forward CDC',
  reverse: 'reverse CDC',
  repair: 'the repair loop',
  'bypass-source': 'the bypass watch (source)',
  'bypass-target': 'the bypass watch (target)',
};

export function describeFailure(f: FailureView): string {
  const what =
    f.where === 'step'
      ? `${f.phase} failed`
      : f.where === 'compensation'
        ? `rollback of ${f.phase} failed`
        : `${LOOP_NAMES[f.where]} stopped`;
  const where = [f.table && `table ${f.table}`, f.setting && `setting ${f.setting}`].filter(Boolean);
  const fixed = f.fix && !f.message.includes(f.fix) ? ` Fix: ${f.fix}` : '';
  return `${what}${where.length ? ` (${where.join(', ')})` : ''}: ${f.message}${fixed}`;
}
