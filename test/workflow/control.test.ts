/**
 * The control surface against a live workflow: invalid commands are rejected by the update validator
 * (with the reason) and ignored with a warning + audit entry as signals, the state unchanged; pause
 * stops at a safe point (the copy activity is cancelled) and resume continues from the checkpoint;
 * valid updates answer accepted; setReadPercent; search attributes and memo follow the phase.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import {
  atGate,
  signal,
  startMigration,
  status,
  testPlan,
  waitEqual,
  waitStatus,
  type Env,
  useEnv,
} from './helpers.js';
import type { CommandResult, MigrationStatus } from '../../src/workflows/api.js';

let env: Env;

useEnv(400, (e) => (env = e));

/** The parts of the status a rejected command must not change. */
function core(s: MigrationStatus) {
  return {
    phase: s.phase,
    readStep: s.readStep,
    paused: s.paused,
    gate: s.gate?.next,
    switches: [s.switches.writeMode, s.switches.readPercent, s.switches.version],
    frames: s.compensation.map((f) => [f.phase, f.readPercent, f.actions.length]),
    rollingBackTo: s.rollingBackTo,
  };
}

async function expectRejected(
  handle: WorkflowHandle,
  name: string,
  payload: Record<string, unknown>,
  reason: RegExp,
): Promise<void> {
  const before = core(await status(handle));
  // Update: rejected by the validator, with the reason.
  await assert.rejects(handle.executeUpdate(name, { args: [payload] }), (err: unknown) => {
    assert.ok(
      err instanceof WorkflowUpdateFailedError,
      `expected WorkflowUpdateFailedError, got ${String(err)}`,
    );
    assert.match(String(err.cause?.message), reason);
    return true;
  });
  // Signal: ignored, recorded as a warning and a rejected audit entry.
  const warningsBefore = (await status(handle)).warnings.length;
  await signal(handle, name, { ...payload, by: 'mallory' });
  const after = await waitStatus(
    handle,
    (s) => s.warnings.length > warningsBefore,
    `warning for ${name}`,
    10_000,
  );
  assert.match(
    after.warnings[after.warnings.length - 1].message,
    new RegExp(`ignored signal ${name}: .*${reason.source}`),
  );
  const audit = after.audit[after.audit.length - 1];
  assert.equal(audit.accepted, false);
  assert.equal(audit.by, 'mallory');
  assert.deepEqual(core(after), before, `${name} ${JSON.stringify(payload)} changed the state`);
}

test(
  'pause during the copy stops at a safe point; invalid commands are rejected; resume continues',
  { timeout: 170_000 },
  async () => {
    // Throttled copy: long enough to pause in the middle.
    const plan = testPlan('ctl', {
      tables: [
        { name: 'customers', chunkSize: 20, maxRowsPerSecond: 150 },
        { name: 'orders', chunkSize: 20, maxRowsPerSecond: 150 },
        { name: 'order_lines', chunkSize: 40, maxRowsPerSecond: 300 },
      ],
      copy: { parallelism: 3, rangesPerTable: 1 },
    });
    const handle = await startMigration(env, plan);
    await waitStatus(handle, (s) => s.phase === 'BULK_COPY', 'BULK_COPY');
    // No gate is open while copying.
    await expectRejected(handle, 'advance', {}, /no gate is open/);

    const paused = (await handle.executeUpdate('pause', {
      args: [{ by: 'ops', reason: 'db maintenance' }],
    })) as CommandResult;
    assert.equal(paused.accepted, true);
    let s = await waitStatus(
      handle,
      (x) => x.state === 'PAUSED' && /paused in BULK_COPY/.test(x.activity),
      'paused in BULK_COPY',
    );
    assert.ok(
      s.tables.some((t) => t.state !== 'done'),
      'paused before the copy finished',
    );
    await expectRejected(handle, 'advance', {}, /paused/);
    await expectRejected(handle, 'pause', {}, /already paused/);
    await expectRejected(handle, 'rollback', { toPhase: 'NO_SUCH_PHASE' }, /unknown phase/);
    await expectRejected(handle, 'rollback', { toPhase: 'READ_SWITCH' }, /not an earlier step/);
    await expectRejected(handle, 'rollback', { toPhase: 'FINALIZE' }, /cannot roll back to FINALIZE/);
    await expectRejected(handle, 'setReadPercent', { percent: 150 }, /outside 0-100/);
    await expectRejected(handle, 'setReadPercent', { percent: -5 }, /outside 0-100/);
    await expectRejected(handle, 'finalize', { confirm: false }, /confirm/);

    await signal(handle, 'resume', { by: 'ops' });
    await atGate(handle, 'DUAL_WRITE_SOURCE_FIRST', undefined, 120_000);
    s = await status(handle);
    assert.ok(s.tables.every((t) => t.state === 'done'));
    assert.equal(s.lastVerification?.totalMismatches, 0, JSON.stringify(s.lastVerification));
    await waitEqual(env.stack, 'after resumed copy');

    // At a gate: FINALIZE is not the next gate; percent only at READ_SWITCH gates; rollback to a later phase.
    await expectRejected(handle, 'finalize', { confirm: true }, /FINALIZE gate is not open/);
    await expectRejected(handle, 'setReadPercent', { percent: 10 }, /only be set at a READ_SWITCH gate/);
    await expectRejected(handle, 'rollback', { toPhase: 'TARGET_ONLY' }, /not an earlier step/);
    await expectRejected(handle, 'resume', {}, /not paused/);

    // Valid update: accepted with an answer.
    const adv = (await handle.executeUpdate('advance', { args: [{ by: 'alice' }] })) as CommandResult;
    assert.equal(adv.accepted, true);
    assert.match(adv.message, /DUAL_WRITE_SOURCE_FIRST/);
    await atGate(handle, 'READ_SWITCH', 1);
    const set = (await handle.executeUpdate('setReadPercent', {
      args: [{ percent: 30, by: 'alice' }],
    })) as CommandResult;
    assert.equal(set.accepted, true);
    s = await waitStatus(
      handle,
      (x) => x.switches.readPercent === 30 && x.state === 'WAITING',
      'reads at 30%',
    );
    assert.equal(s.gate?.nextReadPercent, 50);

    // Search attributes and memo follow the phase and switches.
    const d = await handle.describe();
    assert.equal(d.searchAttributes.MigrationPhase?.[0], 'READ_SWITCH');
    assert.equal(d.searchAttributes.MigrationWriteMode?.[0], 'DUAL_SOURCE_FIRST');
    assert.equal(Number(d.searchAttributes.MigrationReadPercent?.[0]), 30);
    assert.deepEqual(d.memo?.readPercent, 30);

    // Abort: everything rolled back, the run ends.
    const ab = (await handle.executeUpdate('abort', {
      args: [{ by: 'alice', reason: 'test over' }],
    })) as CommandResult;
    assert.equal(ab.accepted, true);
    const final = (await handle.result()) as MigrationStatus;
    assert.equal(final.state, 'ABORTED');
    assert.deepEqual([final.switches.writeMode, final.switches.readPercent], ['SOURCE_ONLY', 0]);
  },
);
