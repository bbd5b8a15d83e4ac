/**
 * The workflow owns the switches: it writes them to Redis (always the full desired state) and waits
 * until every live router acknowledged the new version before the run goes on.
 */
import * as wf from '@temporalio/workflow';
import type { SwitchChange, Switches } from '../activities/contracts.js';
import { authoritativeSide } from '../shared/switches.js';
import { migrationWorkflowId, type FenceRecord } from './api.js';
import { errMessage, nowIso, type MigrationContext } from './context.js';
import { tallyRepairs } from './health-readings.js';
import type { HistoryLimit } from './history.js';
import { pushWarning } from './state.js';

export class SwitchControl {
  /** updatedAt of the switches this run last wrote: tells a re-created hash from ours. */
  private updatedAt: string | null = null;

  constructor(
    private readonly ctx: MigrationContext,
    private readonly history: HistoryLimit,
  ) {}

  private get by(): string {
    return `workflow:${migrationWorkflowId(this.ctx.plan.id)}`;
  }

  /** Creates the switches (SOURCE_ONLY, 0 %) when absent and adopts what Redis holds. */
  async init(): Promise<void> {
    const sw = await this.ctx.short(
      'initSwitches',
      { migrationId: this.ctx.plan.id },
      'initialise switches',
      '60s',
    );
    this.adopt(sw);
  }

  private adopt(sw: Switches): void {
    this.updatedAt = sw.updatedAt;
    this.ctx.s.switches = {
      writeMode: sw.writeMode,
      readPercent: sw.readPercent,
      version: sw.version,
      ackedBy: [],
      fences: this.ctx.s.switches.fences,
    };
    this.ctx.changed();
  }

  /** Writes `full` to Redis as it is (no fence): a no-op when Redis already holds it. */
  private write(full: SwitchChange, summary: string): Promise<Switches> {
    return this.ctx.short(
      'setSwitches',
      { migrationId: this.ctx.plan.id, change: full, by: this.by },
      summary,
      '60s',
    );
  }

  /**
   * Always writes the FULL desired state (not just the changed field): if Redis lost the switches, a
   * partial change would re-create them from defaults (e.g. SOURCE_ONLY at 50 % reads).
   */
  async set(change: SwitchChange, why: string): Promise<void> {
    const { ctx } = this;
    const s = ctx.s;
    const full: SwitchChange = {
      writeMode: change.writeMode ?? s.switches.writeMode,
      readPercent: change.readPercent ?? s.switches.readPercent,
    };
    const write = (summary: string) => this.write(full, summary);
    let sw = full.writeMode !== s.switches.writeMode ? await this.fenced(full, why) : await write(why);
    this.adopt(sw);
    const timeoutMs = ctx.plan.cdc.routerAckTimeoutSeconds * 1000;
    for (;;) {
      ctx.doing(`waiting for every live router to acknowledge switch version ${sw.version}`);
      const acks = await ctx.short(
        'waitForRouterAcks',
        {
          migrationId: ctx.plan.id,
          version: sw.version,
          timeoutMs,
          expectedRouters: ctx.plan.routers.expected,
        },
        `router acks v${sw.version}`,
        `${ctx.plan.cdc.routerAckTimeoutSeconds + 30}s`,
      );
      s.switches.ackedBy = acks.acked;
      if (acks.allAcked) break;
      await this.history.checkpoint();
      if (wf.patched('reapply-switches-in-ack-wait')) {
        // Redis may have lost the switches meanwhile (a restart without persistence): no router can
        // acknowledge a version that is gone, and they refuse writes until the switches are back. The
        // full state again: a no-op while Redis holds it, re-created otherwise; then wait for that.
        const again = await write('re-apply the switches while waiting for router acks');
        if (again.version !== sw.version || again.updatedAt !== sw.updatedAt) {
          pushWarning(
            s,
            nowIso(),
            `switches in Redis were lost or changed while waiting for router acks (v${sw.version} -> v${again.version}); re-applied ${full.writeMode}, ${full.readPercent}% reads on target`,
          );
          sw = again;
          this.adopt(sw);
          continue;
        }
      }
      pushWarning(
        s,
        nowIso(),
        `routers ${acks.pending.join(', ')} have not acknowledged switch version ${sw.version}; still waiting`,
      );
    }
    ctx.changed();
  }

  /**
   * A write-mode change is fenced: routers hold writes, acknowledge, and only then does the new mode
   * take effect (no two routers ever write under different modes). When the authority flips, failed
   * mirrors of the old mode are repaired from the old authority while writes are held. A change the
   * routers do not all acknowledge within the hold bound is called off (writes resume in the old mode)
   * and tried again.
   */
  private async fenced(full: SwitchChange, why: string): Promise<Switches> {
    const { ctx } = this;
    const p = ctx.plan;
    const from = ctx.s.switches.writeMode;
    const to = full.writeMode ?? from;
    const flips = authoritativeSide(from) !== authoritativeSide(to);
    for (let attempt = 1; ; attempt++) {
      ctx.doing(`fenced switch change ${from} -> ${to} (attempt ${attempt})`);
      const r = await ctx.short(
        'fencedWriteMode',
        {
          migrationId: p.id,
          change: full,
          by: this.by,
          holdTimeoutMs: p.routers.holdTimeoutSeconds * 1000,
          expectedRouters: p.routers.expected,
          drain: flips
            ? {
                source: p.source,
                target: p.target,
                tables: p.tables,
                authoritative: authoritativeSide(from),
                loopStream: ctx.repairStream(authoritativeSide(from)),
              }
            : undefined,
        },
        why,
        // Bounded by the hold. A worker that dies mid-hold: the routers release the hold after its
        // lease (src/switches/fence.ts), and this retries once the attempt times out.
        `${p.routers.holdTimeoutSeconds + 30}s`,
      );
      const record: FenceRecord = { at: nowIso(), from, to, heldMs: r.heldMs };
      if (r.calledOff) record.calledOff = r.calledOff;
      if (r.drained) {
        const d = r.drained;
        record.drained = {
          entries: d.entries,
          keys: d.keys,
          repaired: d.repaired.missing + d.repaired.extra + d.repaired.different,
        };
        tallyRepairs(ctx.s, 'drain', record.drained.repaired);
      }
      if (r.warning) pushWarning(ctx.s, nowIso(), r.warning);
      const fences = [...(ctx.s.switches.fences ?? []), record].slice(-20);
      this.adopt(r.switches);
      ctx.s.switches.fences = fences;
      if (!r.calledOff) return r.switches;
      pushWarning(
        ctx.s,
        nowIso(),
        `switch change ${from} -> ${to} called off: ${r.calledOff}; retrying in 5 s`,
      );
      await this.history.checkpoint();
      await wf.sleep('5s');
    }
  }

  /**
   * The workflow, not Redis, is the source of truth for the switches. Redis can lose them (a restart
   * without persistence, a failover); routers keep serving with their last known switches meanwhile.
   * Setting the full desired state is a no-op while Redis holds it, and re-creates it otherwise; the
   * routers then follow and acknowledge it again.
   */
  async reconcile(): Promise<void> {
    const { ctx } = this;
    const want = ctx.s.switches;
    let sw: Switches;
    try {
      sw = await this.write(
        { writeMode: want.writeMode, readPercent: want.readPercent },
        'check the switches in Redis',
      );
    } catch (err) {
      pushWarning(ctx.s, nowIso(), `could not check the switches in Redis: ${errMessage(err)}`);
      return;
    }
    // After continue-as-new this run has not written the switches yet: the version alone decides.
    if (sw.version === want.version && (this.updatedAt ?? sw.updatedAt) === sw.updatedAt) {
      this.updatedAt = sw.updatedAt;
      return;
    }
    pushWarning(
      ctx.s,
      nowIso(),
      `switches in Redis were lost or changed (v${want.version} -> v${sw.version}); re-applied ${want.writeMode}, ${want.readPercent}% reads on target`,
    );
    await this.set({}, 're-apply the switches and wait for router acks');
  }
}
