/**
 * Auto-advance soak: the gate's blockers (gate-health.ts) must stay empty for `soakSeconds` of
 * consecutive health measurements. Pure module.
 */
import type { GateRule } from './api.js';

export interface SoakState {
  /** Epoch ms the current uninterrupted healthy period started, or null. */
  soakStartedAt: number | null;
}

/** Advances the soak by one measurement (at epoch ms `at`): any blocker restarts it. */
export function stepSoak(
  rule: GateRule,
  soak: SoakState,
  at: number,
  blockers: string[],
): { soak: SoakState; ready: boolean; remainingSeconds: number | null } {
  if (blockers.length > 0) return { soak: { soakStartedAt: null }, ready: false, remainingSeconds: null };
  const started = soak.soakStartedAt ?? at;
  const remaining = Math.max(0, rule.soakSeconds - (at - started) / 1000);
  return { soak: { soakStartedAt: started }, ready: remaining <= 0, remainingSeconds: remaining };
}
