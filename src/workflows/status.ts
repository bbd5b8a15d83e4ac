/** Builds the `status` query answer from the state. Pure module. */
import type { MigrationStatus } from './api.js';
import { bypassLines } from './bypass-view.js';
import { currentPhase, currentReadStep, type MigrationState } from './state.js';

export function buildStatus(s: MigrationState): MigrationStatus {
  const rollingTo = s.pending.rollbackTo;
  return {
    migrationId: s.migrationId,
    phase: currentPhase(s),
    readStep: currentReadStep(s),
    state:
      s.paused && s.state !== 'ROLLING_BACK' && s.state !== 'COMPLETED' && s.state !== 'ABORTED'
        ? 'PAUSED'
        : s.state,
    paused: s.paused,
    rollingBackTo:
      s.rollingBackTo ??
      (rollingTo !== null ? (rollingTo >= 0 ? (s.frames[rollingTo]?.phase ?? null) : 'PRECHECK') : null),
    activity: s.activity,
    gate: s.gate,
    switches: s.switches,
    tables: s.tables,
    sync: s.sync,
    repair: s.repair,
    lastVerification: s.lastVerification,
    lastScheduledVerification: s.lastScheduledVerification,
    verificationScheduleId: s.verificationScheduleId,
    bypass: s.bypass ?? [],
    compensation: s.frames,
    health: s.health,
    activities: s.activities,
    failure: s.failure,
    audit: s.audit,
    warnings: s.warnings,
    error: s.error,
    startedAt: s.startedAt,
    updatedAt: s.updatedAt,
    runCount: s.runCount,
  };
}

/** The one-screen text shown as the workflow's current details in Temporal UI. */
export function currentDetails(s: MigrationState): string {
  const st = buildStatus(s);
  const lines = [
    `**${st.phase}**${st.readStep !== null ? ` (${st.readStep}% reads on target)` : ''} - ${st.state}`,
    '',
    `Doing: ${st.activity}`,
    `Switches: write ${st.switches.writeMode}, reads on target ${st.switches.readPercent}% (v${st.switches.version})`,
  ];
  if (st.gate) {
    lines.push(
      `Gate: ${st.gate.waitingFor}${st.gate.soakRemainingSeconds !== null ? ` (soak ${Math.ceil(st.gate.soakRemainingSeconds)} s left)` : ''}`,
    );
    if (st.gate.blockers.length) lines.push(`Blocked by: ${st.gate.blockers.join('; ')}`);
  }
  if (st.failure) lines.push(`**Failed** (${st.failure.where}): ${st.failure.message}`);
  if (st.health.lagUnknown) lines.push(`CDC lag unknown: ${st.health.lagUnknown}`);
  for (const a of st.activities) {
    if (a.attempt <= 1 && !a.lastFailure) continue;
    lines.push(
      `- ${a.activity}: attempt ${a.attempt}${a.lastFailure ? `, last error: ${a.lastFailure}` : ''}${a.nextAttemptAt ? `, next try ${a.nextAttemptAt}` : ''}`,
    );
  }
  for (const t of st.tables) lines.push(`- ${t.table}: ${t.state} ${t.rowsCopied} rows copied`);
  for (const x of st.sync)
    lines.push(`- ${x.stream}: ${x.running ? 'running' : 'stopped'}, lag ${x.lagSeconds ?? '?'} s`);
  if (st.lastVerification)
    lines.push(
      `Last verification (${st.lastVerification.origin}): ${st.lastVerification.totalMismatches} mismatches`,
    );
  lines.push(...bypassLines(st.bypass));
  if (st.warnings.length) lines.push(`Last warning: ${st.warnings[st.warnings.length - 1].message}`);
  return lines.join('\n');
}
