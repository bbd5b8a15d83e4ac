import protoPkg from '@temporalio/proto';

const { ScheduleOverlapPolicy: P } = protoPkg.temporal.api.enums.v1;

/** A pending action: nominal (spec) time, actual time, overlap policy (0 = schedule's), manual. */
export interface BufferedStart {
  nominal: number;
  actual: number;
  overlap: number;
  manual: boolean;
}

export interface BufferDecision {
  /** ALLOW_ALL starts: all start now. */
  overlapping: BufferedStart[];
  /** At most one non-overlapping start to start now. */
  nonOverlapping?: BufferedStart;
  /** What stays buffered. */
  buffer: BufferedStart[];
  needCancel: boolean;
  needTerminate: boolean;
  skipped: number;
}

/**
 * Decides what to start from the buffer given whether a workflow the schedule started is still
 * running — the official overlap-policy rules (SKIP, BUFFER_ONE, BUFFER_ALL, CANCEL_OTHER,
 * TERMINATE_OTHER, ALLOW_ALL).
 */
export function decideBuffer(
  buffer: BufferedStart[],
  isRunning: boolean,
  resolve: (policy: number) => number,
): BufferDecision {
  const out: BufferDecision = {
    overlapping: [],
    buffer: [],
    needCancel: false,
    needTerminate: false,
    skipped: 0,
  };
  for (const start of buffer) {
    const policy = resolve(start.overlap);
    if (policy === P.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL) {
      out.overlapping.push(start);
      continue;
    }
    if (!isRunning && out.nonOverlapping === undefined) {
      out.nonOverlapping = start;
      continue;
    }
    switch (policy) {
      case P.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE:
        if (out.buffer.length === 0) out.buffer.push(start);
        else out.skipped++;
        break;
      case P.SCHEDULE_OVERLAP_POLICY_BUFFER_ALL:
        out.buffer.push(start);
        break;
      case P.SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER:
      case P.SCHEDULE_OVERLAP_POLICY_TERMINATE_OTHER:
        if (isRunning) {
          if (policy === P.SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER) out.needCancel = true;
          else out.needTerminate = true;
          out.buffer.push(start);
        } else {
          out.nonOverlapping = start;
        }
        break;
      default: // SKIP
        out.skipped++;
        break;
    }
  }
  if (out.needCancel || out.needTerminate) out.overlapping = [];
  return out;
}
