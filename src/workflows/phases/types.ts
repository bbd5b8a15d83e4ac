/**
 * A phase of the procedure as one unit (the saga pattern): what it does and how it is undone, side by
 * side. `run` pushes its compensation onto the frame (ctx.ensure) BEFORE it acts, so a rollback that
 * interrupts it still undoes whatever part of it happened; every step and every undo is idempotent
 * (a step re-runs from the start after pause, continue-as-new or a failure).
 */
import type { CompensationAction, CompensationFrame } from '../api.js';
import type { MigrationContext } from '../context.js';
import type { HistoryLimit } from '../history.js';
import type { LoopManager } from '../loops.js';
import type { SwitchControl } from '../switch-control.js';
import type { SyncControl } from '../sync-control.js';
import type { VerificationRuns } from '../verification-runs.js';

/** Everything a phase may use. */
export interface Run {
  ctx: MigrationContext;
  loops: LoopManager;
  switches: SwitchControl;
  sync: SyncControl;
  verify: VerificationRuns;
  history: HistoryLimit;
}

export interface PhaseModule<A extends CompensationAction = never> {
  run(run: Run, frame: CompensationFrame): Promise<void>;
  /** Undoes one action this phase pushed (phases without compensation have none). */
  undo?(run: Run, action: A): Promise<void>;
}

export type ActionOf<K extends CompensationAction['kind']> = Extract<CompensationAction, { kind: K }>;
