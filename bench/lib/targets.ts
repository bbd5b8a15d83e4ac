// Issue 12's targets as the sections measured them in this run, printed together at the end of
// `npm run bench`: each figure, its goal, and whether this run met it.

export interface TargetReading {
  /** What was measured, e.g. "copy, narrow table: copyTable / dump pipeline". */
  what: string;
  value: number;
  /** The figure as printed, e.g. "1.69x" or "60,847 rows/s". */
  shown: string;
  /** 'min': the value must be at least `goal`; 'max': at most. */
  kind: 'min' | 'max';
  goal: number;
  goalShown: string;
  /**
   * Where a target is out of reach, what bounds it, measured in the same run: e.g. the same work
   * without the mechanism's overhead (the dual write's statements on bare connections).
   */
  floor?: string;
}

const readings: TargetReading[] = [];

export function recordTarget(r: TargetReading): void {
  readings.push(r);
}

export function met(r: TargetReading): boolean {
  return r.kind === 'min' ? r.value >= r.goal : r.value <= r.goal;
}

/** One line per target measured in this run; none when no section recorded one. */
export function targetSummary(): string[] {
  const width = Math.max(0, ...readings.map((r) => r.what.length));
  return readings.map(
    (r) =>
      `${met(r) ? 'met    ' : 'NOT met'}  ${r.what.padEnd(width)}  ${r.shown} (target ${r.kind === 'min' ? '>=' : '<='} ${r.goalShown}` +
      `${r.floor ? `; ${r.floor}` : ''})`,
  );
}
