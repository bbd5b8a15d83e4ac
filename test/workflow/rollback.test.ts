/**
 * Rollback under a concurrent write load (two routers): from every phase one step back (then forward
 * again), then from READ_SWITCH at 50 % all the way to the start. After each rollback the switches are
 * where they were at that step. Where routers dual write, both sides are equal at once after the step
 * (every column, every acknowledged write); where CDC feeds the target, they converge once it catches
 * up. No repair is needed in a dual-write phase, and the source ends holding every acknowledged write.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { WorkflowHandle } from '@temporalio/client';
import {
  assertEqualNow,
  assertNoDualWriteRepairs,
  atGate,
  ledgerProblems,
  loadRouters,
  signal,
  startLoad,
  startMigration,
  status,
  testPlan,
  waitEqual,
  waitStatus,
  type Env,
  type Load,
  useEnv,
} from './helpers.js';
import type { MigrationStatus, Phase, WriteMode } from '../../src/workflows/api.js';
import { APP_DATABASE } from '../../scripts/localstack/index.js';
import { setTimeout as sleep } from 'node:timers/promises';

let env: Env;

useEnv(200, (e) => (env = e));

function top(s: MigrationStatus): string {
  const f = s.compensation[s.compensation.length - 1];
  return f ? `${f.phase}${f.readPercent !== undefined ? '@' + f.readPercent : ''}` : '-';
}

async function rollbackOne(
  handle: WorkflowHandle,
  expectTop: string,
  sw: { writeMode: WriteMode; readPercent: number },
  body: Record<string, unknown> = {},
): Promise<MigrationStatus> {
  await signal(handle, 'rollback', { by: 'test', reason: `back to ${expectTop}`, ...body });
  const s = await waitStatus(
    handle,
    (x) => x.state === 'WAITING' && top(x) === expectTop && x.rollingBackTo === null,
    `rolled back to ${expectTop}`,
    90_000,
  );
  assert.equal(s.switches.writeMode, sw.writeMode, `write mode after rollback to ${expectTop}`);
  assert.equal(s.switches.readPercent, sw.readPercent, `read percent after rollback to ${expectTop}`);
  return s;
}

/** With CDC feeding the target: holds the load, waits for CDC to carry the last writes over, releases. */
async function sidesConverge(load: Load, what: string): Promise<void> {
  await load.hold();
  try {
    await waitEqual(env.stack, what, 40_000);
  } finally {
    load.release();
  }
}

/**
 * Holds reverse CDC's applier: the checkpoint row it locks first in every transaction (on the source,
 * its sink) is locked here until the returned function is called. Its reader goes on reading.
 */
async function holdReverseApplier(): Promise<() => Promise<void>> {
  const conn = await env.stack.source.rootConnection(APP_DATABASE);
  await conn.query('START TRANSACTION');
  const [rows] = await conn.query('SELECT stream FROM _migrator_checkpoint FOR UPDATE');
  assert.ok((rows as unknown[]).length > 0, 'reverse CDC has a checkpoint row on the source');
  return async () => {
    await conn.query('COMMIT');
    await conn.end();
  };
}

async function advanceTo(handle: WorkflowHandle, next: Phase, percent?: number): Promise<void> {
  await atGate(handle, next, percent);
  await signal(handle, 'advance', { by: 'test' });
}

test(
  'rollback from every phase to the previous one, then from READ_SWITCH 50 % to the start',
  { timeout: 175_000 },
  async () => {
    const plan = testPlan('rb', loadRouters());
    const handle = await startMigration(env, plan);
    const load = startLoad(env.stack, plan.id, { rows: 200 });
    const SO = { writeMode: 'SOURCE_ONLY' as const, readPercent: 0 };
    const DSF = (readPercent: number) => ({ writeMode: 'DUAL_SOURCE_FIRST' as const, readPercent });
    try {
      // CATCH_UP_VERIFY -> BULK_COPY -> START_SYNC -> PREPARE_TARGET -> PRECHECK, one step at a time.
      await atGate(handle, 'DUAL_WRITE_SOURCE_FIRST');
      await sidesConverge(load, 'after catch-up');
      await rollbackOne(handle, 'BULK_COPY', SO);
      await rollbackOne(handle, 'START_SYNC', SO); // target truncated
      let s = await rollbackOne(handle, 'PREPARE_TARGET', SO); // CDC stopped
      assert.deepEqual(
        s.sync.filter((x) => x.running),
        [],
      );
      await rollbackOne(handle, 'PRECHECK', SO);
      // Forward again: after a rollback the first step waits for an explicit advance, then it runs on.
      await advanceTo(handle, 'PREPARE_TARGET');
      await atGate(handle, 'DUAL_WRITE_SOURCE_FIRST');
      await sidesConverge(load, 'after the re-run catch-up');

      // REPAIR_LOOP -> DUAL_WRITE_SOURCE_FIRST -> CATCH_UP_VERIFY (back to SOURCE_ONLY, CDC restarted, gap repaired).
      await signal(handle, 'advance', {});
      await atGate(handle, 'READ_SWITCH', 1);
      await rollbackOne(handle, 'DUAL_WRITE_SOURCE_FIRST', DSF(0));
      s = await rollbackOne(handle, 'CATCH_UP_VERIFY', SO);
      assert.ok(
        s.sync.some((x) => x.direction === 'forward' && x.running),
        'forward CDC restarted',
      );
      assert.equal(s.verificationScheduleId, null);
      await sidesConverge(load, 'after rolling back dual write');
      await advanceTo(handle, 'DUAL_WRITE_SOURCE_FIRST');
      await atGate(handle, 'READ_SWITCH', 1);
      await assertEqualNow(env.stack, load, 'after DUAL_WRITE_SOURCE_FIRST again');

      // Each read step back to the previous percentage.
      let previous = 0;
      for (const percent of [1, 5, 25, 50]) {
        await advanceTo(handle, 'READ_SWITCH', percent);
        await waitStatus(
          handle,
          (x) => x.switches.readPercent === percent && x.state === 'WAITING',
          `reads at ${percent}%`,
        );
        await rollbackOne(handle, previous === 0 ? 'REPAIR_LOOP' : `READ_SWITCH@${previous}`, DSF(previous));
        await advanceTo(handle, 'READ_SWITCH', percent);
        previous = percent;
      }
      await advanceTo(handle, 'READ_SWITCH', 100);
      // DUAL_WRITE_TARGET_FIRST -> READ_SWITCH@100 (source repaired from the target first).
      await advanceTo(handle, 'DUAL_WRITE_TARGET_FIRST');
      await atGate(handle, 'TARGET_ONLY');
      await assertEqualNow(env.stack, load, 'after DUAL_WRITE_TARGET_FIRST');
      await rollbackOne(handle, 'READ_SWITCH@100', DSF(100));
      await assertEqualNow(env.stack, load, 'after rolling back target-first');
      await advanceTo(handle, 'DUAL_WRITE_TARGET_FIRST');
      // TARGET_ONLY -> DUAL_WRITE_TARGET_FIRST (reverse CDC caught up, then stopped), with reverse CDC
      // lagging when the rollback starts: its applier is held at its checkpoint row on the source while
      // writes go to the target only, and let go 4 s into the rollback. Stopping it without letting it
      // catch up would leave those writes off the source, which becomes a write side again.
      await advanceTo(handle, 'TARGET_ONLY');
      await atGate(handle, 'FINALIZE');
      const release = await holdReverseApplier();
      // Writes the target alone takes while reverse CDC cannot apply them.
      const acknowledged = load.ops;
      while (load.ops < acknowledged + 30) await sleep(50);
      const releasing = sleep(4000).then(release);
      s = await rollbackOne(handle, 'DUAL_WRITE_TARGET_FIRST', {
        writeMode: 'DUAL_TARGET_FIRST',
        readPercent: 100,
      });
      await releasing;
      assert.ok(!s.sync.some((x) => x.direction === 'reverse' && x.running), 'reverse CDC stopped');
      await assertEqualNow(env.stack, load, 'after rolling back target-only');
      await signal(handle, 'rollback', { toPhase: 'READ_SWITCH', readPercent: 50 });
      await waitStatus(
        handle,
        (x) => x.state === 'WAITING' && top(x) === 'READ_SWITCH@50',
        'rolled back to READ_SWITCH 50 %',
        90_000,
      );
      s = await status(handle);
      assert.deepEqual([s.switches.writeMode, s.switches.readPercent], ['DUAL_SOURCE_FIRST', 50]);

      // From READ_SWITCH at 50 % all the way to the start.
      s = await rollbackOne(handle, 'PRECHECK', SO, { toPhase: 'PRECHECK' });
      assert.equal(s.compensation.length, 1);
      assert.equal(s.verificationScheduleId, null);
      assert.deepEqual(
        s.sync.filter((x) => x.running),
        [],
      );
      await assert.rejects(env.client.schedule.getHandle('migration-rb-verify').describe());
      assert.ok(s.audit.filter((a) => a.command === 'rollback' && a.accepted).length >= 14);
    } finally {
      await load.stop();
    }
    assert.deepEqual(load.errors, []);
    // The source took every acknowledged write (it was authoritative, or equal to the target before leaving it).
    const handleStatus = await status(handle);
    assert.equal(handleStatus.phase, 'PRECHECK');
    assert.deepEqual(await ledgerProblems(env.stack.source.clientOptions(), load.ledger), []);
    assertNoDualWriteRepairs(handleStatus);
  },
);
