/**
 * Bypass writes in status, current details and the gate criterion (see bypass.ts). Pure module.
 */
import type { BypassReport } from '../activities/bypass/types.js';
import { currentPhase, type MigrationState } from './state.js';

/**
 * Watchers run while both sides are written (from the dual-write hand-over until TARGET_ONLY), and
 * stop at FINALIZE (plans without TARGET_ONLY finish in DUAL_TARGET_FIRST).
 */
export function bypassWatched(s: MigrationState): boolean {
  const phase = currentPhase(s);
  if (phase === 'FINALIZE' || phase === 'DONE') return false;
  return s.switches.writeMode === 'DUAL_SOURCE_FIRST' || s.switches.writeMode === 'DUAL_TARGET_FIRST';
}

/** Gate criterion: every write that bypassed the router must be seen repaired. */
export function bypassBlockers(s: MigrationState): string[] {
  const out: string[] = [];
  for (const r of s.bypass ?? []) {
    for (const t of r.tables) {
      if (t.unrepaired > 0)
        out.push(
          `${t.unrepaired} write(s) to ${t.table} that bypassed the router (${r.side} binlog) not repaired yet` +
            ' (the repair loop repairs them; without one, a verification with repair does)',
        );
    }
  }
  return out;
}

/** Lines for Temporal UI's current details and the CLI. */
export function bypassLines(reports: readonly BypassReport[] | undefined): string[] {
  const out: string[] = [];
  for (const r of reports ?? []) {
    if (r.unavailable) out.push(`Bypass watch (${r.side}): not watched: ${r.unavailable}`);
    for (const t of r.tables) {
      out.push(
        `Bypass writes (${r.side}) ${t.table}: ${t.count} row change(s), ${t.unrepaired} unrepaired, first keys ${t.firstKeys
          .slice(0, 5)
          .map((k) => JSON.stringify(k))
          .join(' ')}`,
      );
    }
  }
  return out;
}
