/**
 * Which step comes next, and which gate guards it. Pure module.
 * A step is a phase, or one read-switch percentage inside READ_SWITCH.
 */
import {
  GATED_PHASES,
  type CompensationFrame,
  type GateRule,
  type MigrationPlan,
  type Phase,
} from './api.js';

export interface Step {
  phase: Phase;
  readPercent?: number;
}

/** The step after the given top frame (undefined: nothing ran yet -> PRECHECK). null: after FINALIZE. */
export function nextStep(plan: MigrationPlan, top: CompensationFrame | undefined): Step | null {
  if (!top) return { phase: plan.phases[0] };
  if (top.phase === 'READ_SWITCH') {
    const current = top.readPercent ?? 0;
    const further = plan.readSteps.find((p) => p > current);
    if (further !== undefined) return { phase: 'READ_SWITCH', readPercent: further };
  }
  const idx = plan.phases.indexOf(top.phase);
  const phase = plan.phases[idx + 1];
  if (!phase) return null;
  if (phase === 'READ_SWITCH') return { phase, readPercent: plan.readSteps[0] };
  return { phase };
}

export function isGated(step: Step): boolean {
  return GATED_PHASES.includes(step.phase);
}

export function gateRule(plan: MigrationPlan, step: Step): GateRule | null {
  if (!isGated(step)) return null;
  return plan.gates[step.phase as keyof MigrationPlan['gates']];
}

export function describeStep(step: Step): string {
  return step.phase === 'READ_SWITCH' ? `READ_SWITCH ${step.readPercent}%` : step.phase;
}

/** Order of phases in the full procedure (for "later than" comparisons). */
export function phaseIndex(plan: MigrationPlan, phase: Phase): number {
  return plan.phases.indexOf(phase);
}
