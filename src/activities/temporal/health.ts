/**
 * What the workflow cannot see by itself about its running activities: each one's attempt, last
 * failure (message, type, fatal or not), last heartbeat, and the time since it last reported progress.
 * Read from the server (DescribeWorkflowExecution's pending activities) by an activity, so the workflow
 * can put it in its status on its health cadence.
 */
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import proto from '@temporalio/proto';
import { PROGRESS_AT } from './context.js';
import type { ActivityHealth } from './types.js';

type Timestamp = proto.google.protobuf.ITimestamp | null | undefined;

function ms(t: Timestamp): number | null {
  if (!t || t.seconds === null || t.seconds === undefined) return null;
  return Number(t.seconds) * 1000 + Math.floor((t.nanos ?? 0) / 1e6);
}

function iso(t: Timestamp): string | null {
  const v = ms(t);
  return v === null ? null : new Date(v).toISOString();
}

const STATES: Record<number, ActivityHealth['state']> = {
  1: 'scheduled',
  2: 'started',
  3: 'cancel-requested',
  4: 'paused',
  5: 'pause-requested',
};

/** The progress time the activity put in its heartbeat details (context.ts), if any. */
function progressAt(details: proto.temporal.api.common.v1.IPayloads | null | undefined): number | null {
  const payload = details?.payloads?.[0];
  if (!payload) return null;
  try {
    const value = defaultPayloadConverter.fromPayload<Record<string, unknown>>(payload);
    const at = value?.[PROGRESS_AT];
    return typeof at === 'number' ? at : null;
  } catch {
    return null;
  }
}

export function describeActivities(
  pending: proto.temporal.api.workflow.v1.IPendingActivityInfo[],
  now: number = Date.now(),
): ActivityHealth[] {
  return pending.map((a) => {
    const failure = a.lastFailure;
    const app = failure?.applicationFailureInfo;
    const since = progressAt(a.heartbeatDetails) ?? ms(a.lastStartedTime);
    return {
      activity: a.activityType?.name ?? '?',
      activityId: a.activityId ?? '',
      state: STATES[Number(a.state ?? 0)] ?? 'scheduled',
      attempt: a.attempt ?? 1,
      lastFailure: failure
        ? {
            message: failure.message ?? '',
            type: app?.type ?? (failure.timeoutFailureInfo ? 'Timeout' : null),
            fatal: app?.nonRetryable ?? false,
          }
        : null,
      lastHeartbeatAt: iso(a.lastHeartbeatTime),
      startedAt: iso(a.lastStartedTime),
      nextAttemptAt: iso(a.nextAttemptScheduleTime),
      secondsSinceProgress: since === null ? null : Math.max(0, Math.round((now - since) / 1000)),
    };
  });
}

export function healthActivities(client: Client) {
  return {
    async activityHealth(input: { workflowId: string }): Promise<ActivityHealth[]> {
      const { raw } = await client.workflow.getHandle(input.workflowId).describe();
      return describeActivities(raw.pendingActivities ?? []);
    },
  };
}
