/**
 * Writers that bypass the router, from the workflow's side (src/activities/bypass/README.md): which
 * sides are watched, the watchers' reports in status, and the gate criterion. While the write mode is
 * dual, a watcher tails each side's binlog; status shows every migrated-table change no router and no
 * product writer made (table, count, first keys), and auto-advance waits while any of them is not yet
 * seen repaired (bypass-view.ts). Deterministic: no I/O, activities only.
 */
import type { BypassWatchInput } from '../activities/bypass/types.js';
import type { Side } from '../activities/contracts.js';
import { errMessage, nowIso, type MigrationContext } from './context.js';
import { bypassWatched } from './bypass-view.js';
import { pushWarning } from './state.js';

export function bypassWatchInput(ctx: MigrationContext, side: Side): BypassWatchInput {
  const p = ctx.plan;
  return {
    migrationId: p.id,
    side,
    source: p.source,
    target: p.target,
    tables: p.tables,
    // The source watcher starts where forward CDC stopped carrying source writes over (gapless).
    ...(side === 'source' ? { handOverStream: ctx.forwardSpec.stream } : {}),
  };
}

/** Reads the watchers' latest reports into the state (while watched, or once they have reported). */
export async function refreshBypass(ctx: MigrationContext): Promise<void> {
  const s = ctx.s;
  s.bypass ??= [];
  if (!bypassWatched(s) && s.bypass.length === 0) return;
  try {
    s.bypass = await ctx.short(
      'bypassReports',
      { migrationId: ctx.plan.id },
      'bypass watchers reports',
      '60s',
    );
    ctx.changed();
  } catch (err) {
    pushWarning(s, nowIso(), `could not read the bypass watchers' reports: ${errMessage(err)}`);
  }
}
