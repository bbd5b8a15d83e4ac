/**
 * Fault injection for tests only: a mirror that writes a wrong value into one column, so that a test can
 * show the demo's independent check catches it. Off by default; only code can turn it on (no option,
 * environment variable or file reaches it), and it lives in this process only.
 */
import type { WriteMode } from '../shared/switches.js';

export interface MirrorFault {
  /** Only rows of this table are corrupted. */
  table: string;
  /** The column whose mirrored value is replaced. */
  column: string;
  /** Only while mirroring under this write mode (DUAL_TARGET_FIRST: the source receives the bad value). */
  writeMode: WriteMode;
  /** The value written to the other side instead of the authoritative one. */
  corrupt(original: unknown): unknown;
}

let active: MirrorFault | null = null;
let applied = 0;

/** Turns the fault on (or off with null) for every router of this process. Tests only. */
export function setMirrorFaultForTests(fault: MirrorFault | null): void {
  active = fault;
  applied = 0;
}

/** For the router's mirror: the fault for this table and mode, or null (always, unless a test set one). */
export function mirrorFault(table: string, writeMode: WriteMode): MirrorFault | null {
  return active && active.table === table && active.writeMode === writeMode ? active : null;
}

/** The router counts each mirrored row it corrupted, so a test knows the fault really fired. */
export function noteMirrorFaultApplied(): void {
  applied++;
}

export function mirrorFaultsApplied(): number {
  return applied;
}
