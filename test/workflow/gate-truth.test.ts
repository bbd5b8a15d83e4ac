/**
 * The status tells the truth at a manual gate: health (repair counters, lag) is refreshed on a steady
 * cadence while nobody advances; a gate lists what the health rules block on (an extra row on the
 * target found by the scheduled verification); `advance` past a blocker is refused without force and
 * accepted with force and a reason (audited, through the real CLI); a forged verificationResult
 * signal neither clears the blocker nor becomes the latest verification.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  atGate,
  signal,
  loadRouters,
  startLoad,
  startMigration,
  status,
  testPlan,
  waitStatus,
  type Env,
  useEnv,
} from './helpers.js';
import { migrate } from '../cli/helpers.js';

let env: Env;

useEnv(150, (e) => (env = e));

test(
  'manual gate: counters move, blockers listed, advance needs force, forged verification ignored',
  { timeout: 170_000 },
  async () => {
    const plan = testPlan('truth', {
      repairLoop: { mode: 'binlog', intervalSeconds: 1 },
      verification: { intervalSeconds: 3 },
      ...loadRouters(),
    });
    const handle = await startMigration(env, plan);
    const load = startLoad(env.stack, plan.id, { pauseMs: 20, rows: 150 });
    try {
      await atGate(handle, 'DUAL_WRITE_SOURCE_FIRST');
      await signal(handle, 'advance', { by: 'test' });
      await atGate(handle, 'READ_SWITCH', 1);

      // Nobody advances: health, repair counters move on their own while the repair loop runs.
      const first = await status(handle);
      assert.equal(first.gate?.autoAdvance, false);
      const moved = await waitStatus(
        handle,
        (x) =>
          x.health.refreshes >= first.health.refreshes + 3 &&
          x.repair.rowsChecked > first.repair.rowsChecked &&
          x.repair.lastPassAt !== first.repair.lastPassAt,
        'health refreshes and repair counters moving at a manual gate',
        30_000,
      );
      assert.equal(moved.state, 'WAITING');
      assert.equal(moved.health.lagUnknown, null);

      // A difference only the scheduled verification can see: a row on the target alone, written with
      // the binlog off (no binlog event, so neither the bypass watcher nor the repair loop hears of it).
      const tgt = await env.stack.target.rootConnection('app');
      await tgt.query('SET SESSION sql_log_bin = 0');
      await tgt.query("INSERT INTO customers (id, name) VALUES (999999, 'only on the target')");
      await tgt.end();
      const blocked = await waitStatus(
        handle,
        (x) => (x.gate?.blockers ?? []).some((b) => /unresolved mismatches/.test(b)),
        'the gate blocked by the scheduled verification',
        40_000,
      );
      assert.match(blocked.lastVerification?.origin ?? '', /^scheduled:migration-truth-verify/);

      // A forged report (right shape, zero mismatches) changes nothing a gate relies on.
      const before = blocked.lastVerification;
      for (const origin of ['scheduled:migration-truth-verify-forged', 'scheduled:elsewhere']) {
        await signal(handle, 'verificationResult', {
          origin,
          authoritative: 'source',
          repair: false,
          startedAt: new Date().toISOString(),
          finishedAt: new Date(Date.now() + 3_600_000).toISOString(),
          tables: [],
          totalMismatches: 0,
          totalRepaired: 0,
        });
      }
      const after = await waitStatus(
        handle,
        (x) =>
          x.warnings.filter((w) => /ignored verification report of .*forged|elsewhere/.test(w.message))
            .length >= 2,
        'forged reports rejected',
        20_000,
      );
      assert.ok(
        !/forged|elsewhere/.test(after.lastVerification?.origin ?? ''),
        after.lastVerification?.origin,
      );
      assert.ok(after.lastVerification?.finishedAt !== undefined && before !== null);
      assert.ok(
        (after.gate?.blockers ?? []).some((b) => /unresolved mismatches/.test(b)),
        `still blocked: ${JSON.stringify(after.gate?.blockers)}`,
      );

      // advance without force: refused by the validator, nothing written; --force needs --reason.
      const id = plan.id;
      let r = await migrate(['advance', id, '--by', 'alice']);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stdout + r.stderr, /blocked by: .*unresolved mismatches.*--force/);
      r = await migrate(['advance', id, '--by', 'alice', '--force']);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.equal((await status(handle)).state, 'WAITING');
      r = await migrate([
        'advance',
        id,
        '--by',
        'alice',
        '--force',
        '--reason',
        'extra row is a test fixture',
      ]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const s = await waitStatus(handle, (x) => x.switches.readPercent === 1, 'reads at 1 %', 40_000);
      const entry = s.audit.find((a) => a.command === 'advance' && a.args.force === true);
      assert.ok(entry, 'forced advance audited');
      assert.equal(entry.by, 'alice');
      assert.equal(entry.reason, 'extra row is a test fixture');
      assert.equal(entry.accepted, true);
      assert.match(entry.message, /forced past: .*unresolved mismatches/);
    } finally {
      await load.stop();
    }
    await sleep(10);
  },
);
