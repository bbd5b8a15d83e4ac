/**
 * Compensation planning: which frames a rollback pops and which undo actions run, LIFO. Pure module.
 */
import type { CompensationAction, CompensationFrame, Phase } from './api.js';

/** Index of the frame a rollback keeps as the new top, or a reason it cannot. -1: pop all (abort). */
export function rollbackTargetIndex(
  frames: CompensationFrame[],
  toPhase: Phase | undefined,
  readPercent: number | undefined,
): { index: number } | { error: string } {
  if (frames.length === 0) return { error: 'nothing to roll back: no phase has run yet' };
  if (frames.some((f) => f.phase === 'FINALIZE')) {
    return { error: 'FINALIZE has started: it is irreversible, nothing can be rolled back any more' };
  }
  const top = frames.length - 1;
  if (toPhase === undefined) {
    if (top === 0)
      return {
        error: `already at the first phase (${frames[0].phase}): nothing to roll back to; use abort to undo everything and end`,
      };
    return { index: top - 1 };
  }
  const current = frames[top];
  for (let i = top - 1; i >= 0; i--) {
    const f = frames[i];
    if (f.phase !== toPhase) continue;
    if (readPercent !== undefined && f.readPercent !== readPercent) continue;
    // The earliest frame of that phase unless a read step was named: rolling back "to READ_SWITCH"
    // from a later phase lands on its last step (the first match from the top).
    return { index: i };
  }
  if (toPhase === current.phase && (readPercent === undefined || readPercent === current.readPercent)) {
    return {
      error: `already in ${toPhase}${current.readPercent !== undefined ? ` at ${current.readPercent}%` : ''}: roll back to an earlier phase, or omit toPhase to go one step back`,
    };
  }
  const reached = frames.map((f) => (f.readPercent !== undefined ? `${f.phase}@${f.readPercent}` : f.phase));
  return {
    error:
      `cannot roll back to ${toPhase}${readPercent !== undefined ? ` at ${readPercent}%` : ''}: it is not an earlier step of this run ` +
      `(steps reached: ${reached.join(', ')})`,
  };
}

export interface PlannedUndo {
  frameIndex: number;
  phase: Phase;
  readPercent?: number;
  action: CompensationAction;
}

/** The undo actions, in the order they must run (top frame first, each frame's actions last-pushed first). */
export function planRollback(frames: CompensationFrame[], keepIndex: number): PlannedUndo[] {
  const out: PlannedUndo[] = [];
  for (let i = frames.length - 1; i > keepIndex; i--) {
    const f = frames[i];
    for (let a = f.actions.length - 1; a >= 0; a--) {
      out.push({ frameIndex: i, phase: f.phase, readPercent: f.readPercent, action: f.actions[a] });
    }
  }
  return out;
}

export function describeAction(a: CompensationAction): string {
  switch (a.kind) {
    case 'dropCreatedTables':
      return `drop target tables this run created (${a.tables.join(', ') || 'none'})`;
    case 'stopForwardSync':
      return 'stop forward CDC';
    case 'truncateTarget':
      return `truncate copied target tables (${a.tables.join(', ')})`;
    case 'backToSourceOnly':
      return 'write switch -> SOURCE_ONLY, restart CDC from the current source position, repair the gap';
    case 'stopRepairLoop':
      return 'stop the repair loop';
    case 'restoreReadPercent':
      return `restore read percent to ${a.percent}%`;
    case 'backToSourceFirst':
      return 'reverse-repair source from target, then write switch -> DUAL_SOURCE_FIRST';
    case 'backToTargetFirst':
      return 'write switch -> DUAL_TARGET_FIRST, let reverse CDC catch up, stop it';
    case 'deleteVerificationSchedule':
      return 'delete the verification schedule';
  }
}
