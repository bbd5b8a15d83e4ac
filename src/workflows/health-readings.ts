/**
 * Readings taken into the state: a CDC stream's status, the repair loop's counters, and repairs made
 * by any mechanism, tallied by the phase the run was in when they were reported. Pure module.
 *
 * Why repairs by phase: from DUAL_WRITE_SOURCE_FIRST on, every write goes through the routers, which
 * mirror it before the authoritative commit; a repair made then is a write that was lost and found
 * ("lost, then fixed"), not CDC lag. Tests assert those phases need none; an operator reads the same.
 */
import type { SyncStatus, SyncStreamSpec } from '../activities/contracts.js';
import type { MismatchCounts, PhaseRepairs } from './api.js';
import { nowIso } from './context.js';
import { currentPhase, type MigrationState } from './state.js';

function total(c: MismatchCounts): number {
  return c.missing + c.extra + c.different;
}

/** Adds `n` repairs made by `by` to the current phase's tally. */
export function tallyRepairs(s: MigrationState, by: 'loop' | 'verification' | 'drain', n: number): void {
  if (n <= 0) return;
  const phase = currentPhase(s);
  const list = s.repair.byPhase;
  let row = list.find((r) => r.phase === phase);
  if (!row) {
    row = { phase, loop: 0, verification: 0, drain: 0 } satisfies PhaseRepairs;
    list.push(row);
  }
  row[by] += n;
}

/** Takes the repair loop's counters (cumulative per loop run; a new run starts again from zero). */
export function applyRepairProgress(
  s: MigrationState,
  p: { checked: number; repaired: MismatchCounts },
  countPass: boolean,
): void {
  const before = s.repair.repaired;
  const restarted = (Object.keys(before) as (keyof MismatchCounts)[]).some((k) => p.repaired[k] < before[k]);
  tallyRepairs(s, 'loop', restarted ? total(p.repaired) : total(p.repaired) - total(before));
  if (countPass) s.repair.passes += 1;
  s.repair.rowsChecked = p.checked;
  s.repair.repaired = p.repaired;
  s.repair.lastPassAt = nowIso();
}

/** Takes a CDC stream's status into its view (created on first sight); returns its lag in seconds. */
export function applyStreamStatus(s: MigrationState, spec: SyncStreamSpec, st: SyncStatus): number {
  let view = s.sync.find((x) => x.stream === spec.stream);
  if (!view) {
    view = {
      stream: spec.stream,
      direction: spec.direction,
      running: true,
      applied: null,
      head: null,
      lagSeconds: null,
      lagBytes: null,
      checkedAt: null,
    };
    s.sync.push(view);
  }
  Object.assign(view, {
    applied: st.applied,
    head: st.head,
    lagSeconds: st.lagSeconds,
    lagBytes: st.lagBytes,
    checkedAt: nowIso(),
  });
  return st.lagSeconds;
}
