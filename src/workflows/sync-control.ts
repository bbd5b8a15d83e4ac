/**
 * CDC from the workflow's side: starting the forward stream at a recorded position, waiting for a
 * stream to pass a hand-over position, waiting for lag, and the health readings gates and status use.
 */
import * as wf from '@temporalio/workflow';
import type { BinlogPosition, SyncStreamSpec } from '../activities/contracts.js';
import { nowIso, type MigrationContext } from './context.js';
import type { HistoryLimit } from './history.js';
import type { LoopManager } from './loops.js';
import { pushWarning } from './state.js';
import { applyRepairProgress, applyStreamStatus } from './health-readings.js';

export class SyncControl {
  constructor(
    private readonly ctx: MigrationContext,
    private readonly loops: LoopManager,
    private readonly history: HistoryLimit,
  ) {}

  /**
   * Starts forward CDC. Idempotent: a stream that ran before resumes from its checkpoint (every event
   * since is replayed, idempotently), so stopping and restarting CDC never leaves a gap.
   */
  async startForward(): Promise<void> {
    const { ctx } = this;
    const s = ctx.s;
    if (s.loops.forwardSync) return;
    ctx.doing('recording the CDC start position and starting forward CDC');
    ctx.newStreamEpoch('forward');
    const spec = ctx.forwardSpec;
    const pos = await ctx.short('recordSyncStart', { spec }, 'record forward CDC start');
    s.loops.forwardSync = true;
    if (!s.sync.some((x) => x.stream === spec.stream)) {
      s.sync.push({
        stream: spec.stream,
        direction: 'forward',
        running: false,
        applied: null,
        head: pos,
        lagSeconds: null,
        lagBytes: null,
        checkedAt: null,
      });
    }
    await this.loops.settle();
  }

  /** Waits until the stream's committed position is at or past `pos`. */
  async waitPast(spec: SyncStreamSpec, pos: BinlogPosition): Promise<void> {
    this.ctx.doing(`letting ${spec.stream} run past ${pos.gtid ?? `${pos.file}:${pos.pos}`}`);
    for (;;) {
      const st = await this.ctx.long(
        'waitForSyncPosition',
        { spec, position: pos, timeoutMs: 60_000 },
        `wait for ${spec.stream} to pass the hand-over point`,
      );
      if (st.reached) return;
      await this.history.checkpoint();
      pushWarning(
        this.ctx.s,
        nowIso(),
        `${spec.stream} has not reached the hand-over position yet; still waiting`,
      );
    }
  }

  async waitForLag(maxLagSeconds: number): Promise<void> {
    for (;;) {
      const lag = await this.refreshHealth();
      this.ctx.doing(`waiting for CDC lag under ${maxLagSeconds} s (now ${lag ?? '?'} s)`);
      if (lag !== null && lag <= maxLagSeconds) return;
      await this.history.checkpoint();
      await wf.sleep('2s');
    }
  }

  /** Polls CDC status of the running streams (and the repair loop's counters); returns the worst lag. */
  async refreshHealth(): Promise<number | null> {
    const { ctx } = this;
    const s = ctx.s;
    let worst: number | null = null;
    for (const [spec, on] of [
      [ctx.forwardSpec, s.loops.forwardSync],
      [ctx.reverseSpec, s.loops.reverseSync],
    ] as const) {
      if (!on) continue;
      const st = await ctx.short('syncStatus', spec, `CDC status ${spec.stream}`, '60s');
      worst = Math.max(worst ?? 0, applyStreamStatus(s, spec, st));
    }
    this.loops.markSyncRunning();
    if (s.loops.repair) {
      const p = await ctx.short(
        'repairLoopProgress',
        { migrationId: ctx.plan.id, stream: ctx.repairStream(s.loops.repair) },
        'repair loop counters',
        '60s',
      );
      if (p) applyRepairProgress(s, p, true);
    }
    ctx.changed();
    return worst;
  }
}
