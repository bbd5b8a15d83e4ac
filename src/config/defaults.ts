import { PHASES, type MigrationPlan, type Phase, type TableSpec } from '../workflows/api.js';
import { parsePlan } from './load.js';

/**
 * The default plan: every phase of DESIGN.md §2, which covers seed 000's 5-step, seed 002's
 * 7-step and seed 004's 8-step variants (leave phases out with `phases:` for the shorter ones).
 * Gates wait for `advance`; read steps 1, 5, 25, 50, 100.
 */
export function defaultPlan(
  id: string,
  tables: (string | TableSpec)[],
  overrides: Record<string, unknown> = {},
): MigrationPlan {
  return parsePlan({
    id,
    source: 'source',
    target: 'target',
    tables: tables.map((t) => (typeof t === 'string' ? { name: t } : t)),
    ...overrides,
  });
}

/** The procedure (PHASES without DONE) with the given optional phases left out. */
function procedureWithout(...leftOut: Phase[]): readonly Phase[] {
  return PHASES.filter((p) => p !== 'DONE' && !leftOut.includes(p));
}

/** Phase lists of the seed variants, for plans that want the shorter procedures. */
export const SEED_VARIANTS = {
  /** seed 000: sync, copy, dual write, switch reads, switch writes (5 steps). */
  seed000: procedureWithout('REPAIR_LOOP', 'TARGET_ONLY'),
  /** seed 002: + repair loop, target-only (7 steps). */
  seed002: procedureWithout('TARGET_ONLY'),
  /** seed 004: all eight steps (the default). */
  seed004: procedureWithout(),
} as const;
