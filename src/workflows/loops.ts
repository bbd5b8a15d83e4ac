/**
 * The background loops of a run (forward CDC, reverse CDC, repair loop): long activities started and
 * stopped to match `state.loops`, the desired state the phases set. Runs in the root scope for the
 * whole run, so a step's cancellation (pause, rollback) never stops a loop by accident; a loop that
 * fails is restarted after 10 s (its activity resumes from its own checkpoint), except when the
 * failure is fatal (a purged binlog, a dropped table, a revoked privilege): then the loop stays
 * stopped and `onFatal` stops the run at a `failed` gate until the operator fixes it and advances.
 */
import * as wf from '@temporalio/workflow';
import type { FailureView } from './api.js';
import { errMessage, nowIso, type MigrationContext } from './context.js';
import { bypassWatchInput } from './bypass.js';
import { bypassWatched } from './bypass-view.js';
import { failureOf, isFatalActivityFailure } from './failures.js';
import { currentPhase, pushWarning } from './state.js';

export type LoopKind = 'forward' | 'reverse' | 'repair' | 'bypass-source' | 'bypass-target';
const KINDS: LoopKind[] = ['forward', 'reverse', 'repair', 'bypass-source', 'bypass-target'];

export class LoopManager {
  private readonly running = new Map<
    LoopKind,
    { key: string; scope: wf.CancellationScope; done: Promise<void> }
  >();
  private suspended = false;
  private reconciling = false;
  /** Loops stopped by a fatal failure: not restarted until `resumeHalted` (the operator's advance). */
  private readonly halted = new Set<LoopKind>();
  /** Called when a loop failed fatally (set by the orchestrator: stops the run at a failed gate). */
  onFatal: (failure: FailureView) => void = () => undefined;

  constructor(private readonly ctx: MigrationContext) {}

  /** Starts the reconciler (call once, from the root scope). */
  start(): void {
    void this.reconcileForever();
  }

  /** Waits until the running loops match the desired state. */
  async settle(): Promise<void> {
    await wf.condition(() => !this.differs() && !this.reconciling);
  }

  /** Stops every loop without changing the desired state (continue-as-new: the next run restarts them). */
  async suspend(): Promise<void> {
    this.suspended = true;
    await this.settle();
  }

  /** Lets halted loops start again (after the operator fixed the cause). */
  resumeHalted(): void {
    this.halted.clear();
  }

  private desiredKey(kind: LoopKind): string | null {
    if (this.suspended || this.halted.has(kind)) return null;
    const l = this.ctx.s.loops;
    if (kind === 'forward') return l.forwardSync ? (l.forwardReread ? 'reread' : 'on') : null;
    if (kind === 'reverse') return l.reverseSync ? 'on' : null;
    if (kind === 'bypass-source' || kind === 'bypass-target') return bypassWatched(this.ctx.s) ? 'on' : null;
    return l.repair;
  }

  private differs(): boolean {
    return KINDS.some((k) => (this.running.get(k)?.key ?? null) !== this.desiredKey(k));
  }

  private async reconcileForever(): Promise<void> {
    for (;;) {
      await wf.condition(() => this.differs());
      this.reconciling = true;
      try {
        for (const kind of KINDS) {
          const want = this.desiredKey(kind);
          const current = this.running.get(kind);
          if ((current?.key ?? null) === want) continue;
          if (current) {
            current.scope.cancel();
            await current.done;
          }
          if (want !== null) this.launch(kind, want);
        }
      } finally {
        this.reconciling = false;
      }
    }
  }

  private body(kind: LoopKind, key: string): Promise<void> {
    const { ctx } = this;
    const p = ctx.plan;
    if (kind === 'forward') {
      const reread = key === 'reread';
      return ctx.long(
        'runSync',
        reread ? { ...ctx.forwardSpec, reread } : ctx.forwardSpec,
        reread
          ? 'forward CDC source -> target, re-reading rows under lock (hand-over)'
          : 'forward CDC source -> target',
        true,
      );
    }
    if (kind === 'reverse') return ctx.long('runSync', ctx.reverseSpec, 'reverse CDC target -> source', true);
    if (kind === 'bypass-source' || kind === 'bypass-target') {
      const side = kind === 'bypass-source' ? 'source' : 'target';
      return ctx.long('runBypassWatch', bypassWatchInput(ctx, side), `bypass watch (${side} binlog)`, true);
    }
    const authoritative = key as 'source' | 'target';
    return ctx.long(
      'runRepairLoop',
      {
        migrationId: p.id,
        stream: ctx.repairStream(authoritative),
        source: p.source,
        target: p.target,
        tables: p.tables,
        authoritative,
        mode: p.repairLoop.mode,
        intervalMs: p.repairLoop.intervalSeconds * 1000,
      },
      `repair loop, ${authoritative} authoritative`,
      true,
    );
  }

  private launch(kind: LoopKind, key: string): void {
    const s = this.ctx.s;
    const scope = new wf.CancellationScope();
    const entry = { key, scope, done: Promise.resolve() };
    entry.done = scope
      .run(() => this.body(kind, key))
      .then(
        () => {
          pushWarning(s, nowIso(), `${kind} loop ended on its own; restarting`);
        },
        async (err: unknown) => {
          if (wf.isCancellation(err) && scope.consideredCancelled) return;
          if (isFatalActivityFailure(err)) {
            this.halted.add(kind);
            const failure = failureOf(err, kind, currentPhase(s));
            pushWarning(s, nowIso(), `${kind} loop stopped: ${failure.message}`);
            this.onFatal(failure);
            return;
          }
          pushWarning(s, nowIso(), `${kind} loop failed: ${errMessage(err)}; restarting in 10 s`);
          await wf.CancellationScope.nonCancellable(() => wf.sleep('10s'));
        },
      )
      .finally(() => {
        if (this.running.get(kind) === entry) this.running.delete(kind);
        this.markSyncRunning();
      });
    this.running.set(kind, entry);
    this.markSyncRunning();
  }

  /** Mirrors which CDC streams run into their status views. */
  markSyncRunning(): void {
    for (const view of this.ctx.s.sync) {
      view.running = this.running.has(view.direction === 'forward' ? 'forward' : 'reverse');
    }
  }
}
