/**
 * What a gate's health rules block on. Pure module: each criterion reads one part of the measured
 * health and names what is wrong; the gate shows the union as `gate.blockers`, auto-advance waits for
 * it to be empty for the soak, and a manual `advance` past a non-empty list needs `force`.
 *
 * To add a criterion: put its reading in {@link GateHealthInput} (filled by the
 * gate from the state) and append a function to {@link GATE_CRITERIA}.
 */
import type { GateRule, HealthView, VerificationSummary } from './api.js';

export interface GateHealthInput {
  /** Epoch ms now. */
  now: number;
  health: HealthView;
  /** The latest verification the workflow ran itself or confirmed against its scheduled run. */
  latestVerification: VerificationSummary | null;
  /** Health older than this (ms) no longer counts: the refresh itself is stuck. */
  maxHealthAgeMs: number;
  /** Writes that bypassed the router and are not seen repaired yet (bypass-view.ts). */
  bypassBlockers: string[];
}

export type GateCriterion = (rule: GateRule, input: GateHealthInput) => string[];

/**
 * Mismatches a verification left unresolved. A repairing run leaves none: it repaired each confirmed
 * difference (a difference gone by the time of the repair counts as found, not as repaired), or failed.
 */
export function unresolvedMismatches(v: VerificationSummary): number {
  return v.repair ? 0 : v.totalMismatches;
}

const freshness: GateCriterion = (_rule, { now, health, maxHealthAgeMs }) => {
  if (health.checkedAt === null) return ['health not measured yet'];
  const age = now - Date.parse(health.checkedAt);
  return age > maxHealthAgeMs ? [`health last measured ${Math.round(age / 1000)} s ago (refresh stuck)`] : [];
};

/** Unknown lag blocks: a failed health check must never read as healthy. */
const lag: GateCriterion = (rule, { health }) => {
  if (health.lagUnknown !== null) return [`CDC lag unknown: ${health.lagUnknown}`];
  if (health.lagSeconds !== null && health.lagSeconds > rule.maxLagSeconds)
    return [`CDC lag ${health.lagSeconds.toFixed(1)} s is over ${rule.maxLagSeconds} s`];
  return [];
};

const verification: GateCriterion = (rule, { latestVerification: v }) => {
  if (!rule.requireNoMismatches) return [];
  if (!v) return ['no verification result yet'];
  const open = unresolvedMismatches(v);
  return open > 0 ? [`latest verification (${v.origin}) found ${open} unresolved mismatches`] : [];
};

const bypass: GateCriterion = (_rule, { bypassBlockers }) => bypassBlockers;

export const GATE_CRITERIA: readonly GateCriterion[] = [freshness, lag, verification, bypass];

export function gateBlockers(rule: GateRule, input: GateHealthInput): string[] {
  return GATE_CRITERIA.flatMap((c) => c(rule, input));
}
