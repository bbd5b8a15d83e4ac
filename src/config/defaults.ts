import type { MigrationPlan, TableSpec } from '../workflows/api.js';
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

/** Phase lists of the seed variants, for plans that want the shorter procedures. */
export const SEED_VARIANTS = {
  /** seed 000: sync, copy, dual write, switch reads, switch writes (5 steps). */
  seed000: [
    'PRECHECK',
    'PREPARE_TARGET',
    'START_SYNC',
    'BULK_COPY',
    'CATCH_UP_VERIFY',
    'DUAL_WRITE_SOURCE_FIRST',
    'READ_SWITCH',
    'DUAL_WRITE_TARGET_FIRST',
    'FINALIZE',
  ],
  /** seed 002: + repair loop, target-only (7 steps). */
  seed002: [
    'PRECHECK',
    'PREPARE_TARGET',
    'START_SYNC',
    'BULK_COPY',
    'CATCH_UP_VERIFY',
    'DUAL_WRITE_SOURCE_FIRST',
    'REPAIR_LOOP',
    'READ_SWITCH',
    'DUAL_WRITE_TARGET_FIRST',
    'FINALIZE',
  ],
  /** seed 004: all eight steps (the default). */
  seed004: [
    'PRECHECK',
    'PREPARE_TARGET',
    'START_SYNC',
    'BULK_COPY',
    'CATCH_UP_VERIFY',
    'DUAL_WRITE_SOURCE_FIRST',
    'REPAIR_LOOP',
    'READ_SWITCH',
    'DUAL_WRITE_TARGET_FIRST',
    'TARGET_ONLY',
    'FINALIZE',
  ],
} as const;
