/**
 * Gate health and auto-advance soak. Pure module.
 */
import type { GateRule, VerificationSummary } from './api.js';

export interface HealthSample {
  /** Epoch ms of the sample. */
  at: number;
  /** Worst CDC/reverse-sync lag in seconds, or null when no stream runs. */
  lagSeconds: number | null;
  latestVerification: VerificationSummary | null;
}

export interface HealthResult {
  healthy: boolean;
  blockers: string[];
}

export function evaluateHealth(
  rule: GateRule,
  sample: HealthSample,
  soakStartedAt: number | null,
): HealthResult {
  const blockers: string[] = [];
  if (sample.lagSeconds !== null && sample.lagSeconds > rule.maxLagSeconds) {
    blockers.push(`CDC lag ${sample.lagSeconds.toFixed(1)} s is over ${rule.maxLagSeconds} s`);
  }
  if (rule.requireNoMismatches) {
    const v = sample.latestVerification;
    if (!v) blockers.push('no verification result yet');
    else if (v.totalMismatches > 0)
      blockers.push(`latest verification (${v.origin}) found ${v.totalMismatches} mismatches`);
  }
  void soakStartedAt;
  return { healthy: blockers.length === 0, blockers };
}

export interface SoakState {
  /** Epoch ms the current uninterrupted healthy period started, or null. */
  soakStartedAt: number | null;
}

/** Advances the soak by one health sample: any unhealthy sample restarts it. */
export function stepSoak(
  rule: GateRule,
  soak: SoakState,
  sample: HealthSample,
): { soak: SoakState; ready: boolean; remainingSeconds: number | null; blockers: string[] } {
  const health = evaluateHealth(rule, sample, soak.soakStartedAt);
  if (!health.healthy)
    return { soak: { soakStartedAt: null }, ready: false, remainingSeconds: null, blockers: health.blockers };
  const started = soak.soakStartedAt ?? sample.at;
  const elapsed = (sample.at - started) / 1000;
  const remaining = Math.max(0, rule.soakSeconds - elapsed);
  return {
    soak: { soakStartedAt: started },
    ready: remaining <= 0,
    remainingSeconds: remaining,
    blockers: [],
  };
}
