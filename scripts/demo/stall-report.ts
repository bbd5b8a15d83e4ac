import { existsSync, readFileSync } from 'node:fs';
import type { WorkflowHandle } from '@temporalio/client';
import proto from '@temporalio/proto';

const { PendingActivityState, PendingWorkflowTaskState } = proto.temporal.api.enums.v1;

/** Lines of each log worth reading after a stall: warnings and errors, newest last. */
const LOG_LINES = 30;

/**
 * What the demo knows about a run that did not end in time, for the error it throws: how old its last
 * answered status is (a query that keeps failing freezes it), the last query error, what Temporal says
 * is pending (activities with their attempts and failures, the workflow task) and the worker's and the
 * Temporal server's recent log warnings. A stall in CI is then diagnosable from the test's output alone.
 */
export async function stallReport(
  handle: WorkflowHandle,
  query: { lastAnsweredAt: number | null; lastError: string | null },
  logs: { label: string; path: string }[],
): Promise<string> {
  const out: string[] = [];
  const age =
    query.lastAnsweredAt === null
      ? 'never'
      : `${Math.round((Date.now() - query.lastAnsweredAt) / 1000)} s ago`;
  out.push(`last status answered ${age}; last query error: ${query.lastError ?? 'none'}`);
  try {
    const raw = (await handle.describe()).raw;
    const wft = raw.pendingWorkflowTask;
    out.push(
      wft
        ? `pending workflow task: state ${PendingWorkflowTaskState[wft.state ?? 0]}, attempt ${wft.attempt}, scheduled ${wft.scheduledTime?.seconds?.toString() ?? '?'}`
        : 'no pending workflow task',
    );
    for (const a of raw.pendingActivities ?? [])
      out.push(
        `pending activity ${a.activityType?.name ?? '?'} (${a.activityId}): state ${PendingActivityState[a.state ?? 0]}, attempt ${a.attempt}, last worker ${a.lastWorkerIdentity ?? '-'}${a.lastFailure?.message ? `, last failure: ${a.lastFailure.message.slice(0, 300)}` : ''}`,
      );
  } catch (err) {
    out.push(`describe failed: ${(err as Error).message}`);
  }
  for (const log of logs) {
    if (!existsSync(log.path)) continue;
    const lines = readFileSync(log.path, 'utf8')
      .split('\n')
      .filter((l) => /WARN|ERROR|Error|worker running|READY/.test(l));
    out.push(
      `${log.label} (${log.path}), last warnings:`,
      ...lines.slice(-LOG_LINES).map((l) => `  ${l.slice(0, 400)}`),
    );
  }
  return out.join('\n');
}
