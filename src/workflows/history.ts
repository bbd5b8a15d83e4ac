/**
 * Keeping the history bounded: a run continues as new when its history is long (or the server
 * suggests it). The full state is carried; loops stop first and the next run restarts them from their
 * own checkpoints.
 */
import * as wf from '@temporalio/workflow';
import type { MigrationInput, MigrationStatus } from './api.js';
import type { MigrationContext } from './context.js';
import type { LoopManager } from './loops.js';

export class HistoryLimit {
  constructor(
    private readonly ctx: MigrationContext,
    private readonly loops: LoopManager,
  ) {}

  get due(): boolean {
    const info = wf.workflowInfo();
    return (
      info.continueAsNewSuggested || info.historyLength > this.ctx.plan.temporal.continueAsNewAfterEvents
    );
  }

  /**
   * Inside a long in-step wait: continue as new when the history is long. The step is not marked done,
   * so the new run performs it again from the start (every step is idempotent).
   */
  async checkpoint(): Promise<void> {
    if (this.due) await this.continueAsNew();
  }

  async continueAsNew(): Promise<never> {
    this.ctx.doing('continuing as new (history size); loops resume from their checkpoints');
    await this.loops.suspend();
    await wf.condition(wf.allHandlersFinished);
    this.ctx.s.runCount += 1;
    return wf.continueAsNew<(input: MigrationInput) => Promise<MigrationStatus>>({
      plan: this.ctx.plan,
      carried: this.ctx.s,
    });
  }
}
