/**
 * A migration of three tables under a concurrent write load, PRECHECK -> FINALIZE, with every gate
 * advanced by signals sent by NAME with JSON payloads (what `temporal workflow signal --name advance
 * --input '{...}'` sends). Ends with both sides equal; no secret of the stack in anything Temporal
 * stores or shows about the run (every history, decoded), nor in the worker's or the server's log.
 * (test/workflow/secret-detector.test.ts proves the detector finds planted secrets.)
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  assertEqualNow,
  assertNoDualWriteRepairs,
  atGate,
  createSchema,
  loadRouters,
  signal,
  startLoad,
  startMigration,
  status,
  summary,
  testPlan,
  waitStatus,
  type Env,
} from './helpers.js';
import type { MigrationStatus } from '../../src/workflows/api.js';
import { SecretScanner, stackSecrets } from '../support/secret-scan.js';
import { startLoggedEnv, type WorkerChild } from '../support/worker-child.js';

let env: Env;
let worker: WorkerChild;
let logged: Awaited<ReturnType<typeof startLoggedEnv>>;

before(async () => {
  // The server and the worker run as processes of their own, so that their logs can be searched.
  logged = await startLoggedEnv('INFO');
  ({ env, worker } = logged);
  await createSchema(env.stack);
});

after(async () => {
  await logged?.stop();
});

test(
  'PRECHECK to FINALIZE under load with gates advanced by signals; both sides equal; no secret in histories or logs',
  { timeout: 170_000 },
  async () => {
    const plan = testPlan('e2e', { copy: { parallelism: 2, rangesPerTable: 2 }, ...loadRouters() });
    const handle = await startMigration(env, plan);
    // The second router gives up on a held write after 3.5 s, before the hold's 4 s lease: the fence
    // says so (its holds last milliseconds here, so no write fails).
    const load = startLoad(env.stack, plan.id, { holdMaxMs: [undefined, 3500] });
    try {
      await atGate(handle, 'DUAL_WRITE_SOURCE_FIRST');
      let s = await status(handle);
      assert.equal(s.lastVerification?.origin, 'catch-up');
      assert.ok(
        s.tables.every((t) => t.state === 'done'),
        JSON.stringify(s.tables),
      );
      assert.ok(s.compensation.length >= 5);

      await signal(handle, 'advance', { by: 'alice', reason: 'catch-up verified' });
      // REPAIR_LOOP runs by itself, then the first read step's gate.
      await atGate(handle, 'READ_SWITCH', 1);
      // CDC handed over to the routers' dual writes: equal now, before any repair had a reason to run.
      await assertEqualNow(env.stack, load, 'after DUAL_WRITE_SOURCE_FIRST');
      s = await status(handle);
      assert.equal(s.switches.writeMode, 'DUAL_SOURCE_FIRST');
      assert.ok(
        s.warnings.some((w) => /test-app-\d+-1 \(holdMaxMs 3500\).*lease of 4000 ms/.test(w.message)),
        JSON.stringify(s.warnings),
      );
      assert.ok(!s.warnings.some((w) => /test-app-\d+-0 \(holdMaxMs/.test(w.message)));
      assert.ok(s.verificationScheduleId, 'verification schedule created');
      for (const percent of [1, 5, 25, 50, 100]) {
        await atGate(handle, 'READ_SWITCH', percent);
        await signal(handle, 'advance', { by: 'bob' });
        await waitStatus(handle, (x) => x.switches.readPercent === percent, `reads at ${percent}%`);
      }
      await atGate(handle, 'DUAL_WRITE_TARGET_FIRST');
      // A scheduled verification run has reported by now (interval 5 s).
      await waitStatus(
        handle,
        (x) => x.lastScheduledVerification !== null,
        'a scheduled verification result',
        30_000,
      );
      // While loops run: running activities' heartbeat details and the schedule's action are searched too.
      const midRun = new SecretScanner(stackSecrets(env.stack));
      await midRun.temporal(env.client);
      assert.deepEqual(midRun.findings, [], midRun.report());
      await signal(handle, 'advance', { by: 'carol' });
      await atGate(handle, 'TARGET_ONLY');
      assert.equal((await status(handle)).switches.writeMode, 'DUAL_TARGET_FIRST');
      // The authority flip (a fenced change, every router acknowledging the hold): equal at once.
      await assertEqualNow(env.stack, load, 'after DUAL_WRITE_TARGET_FIRST');
      await signal(handle, 'advance', {});
      await atGate(handle, 'FINALIZE');
      s = await status(handle);
      assert.equal(s.switches.writeMode, 'TARGET_ONLY');
      assert.equal(s.gate?.requiresConfirmation, true);
      await load.stop();
      await signal(handle, 'finalize', { confirm: true, by: 'dave', reason: 'all good' });
      const final = (await handle.result()) as MigrationStatus;
      assert.equal(final.state, 'COMPLETED', JSON.stringify(summary(final)));
      assert.equal(final.phase, 'DONE');
    } finally {
      await load.stop();
    }
    assert.deepEqual(load.errors, []);
    assert.ok(load.ops > 50, `load ran ${load.ops} ops`);
    // Writes went to the target only at the end; FINALIZE let the reverse CDC catch up before stopping it.
    await assertEqualNow(env.stack, load, 'after FINALIZE');
    // While the routers dual wrote, nothing had to be repaired: no acknowledged write was lost and fixed.
    assertNoDualWriteRepairs(await status(handle));

    // Audit log: who advanced.
    const final = await status(handle);
    assert.ok(final.audit.some((a) => a.command === 'advance' && a.by === 'alice' && a.accepted));
    assert.ok(final.audit.some((a) => a.command === 'finalize' && a.by === 'dave'));

    // The schedule is gone.
    await assert.rejects(env.client.schedule.getHandle('migration-e2e-verify').describe());

    // No secret anywhere: every workflow of the run (migration + verification workflows), decoded,
    // and the logs of the worker and of the embedded server.
    const scanner = new SecretScanner(stackSecrets(env.stack));
    const { workflows, types } = await scanner.temporal(env.client);
    scanner.logFile(worker.logFile, 'worker log');
    scanner.logFile(env.stack.temporal!.logFile!, 'server log');
    assert.deepEqual(scanner.findings, [], scanner.report());
    assert.ok(workflows >= 2, `workflows searched: ${workflows}`);
    assert.ok((types.get('verificationWorkflow') ?? 0) >= 1, 'at least one scheduled verification workflow');
    assert.ok(scanner.searched.events > 200, JSON.stringify(scanner.searched));
    assert.ok(scanner.searched.byteArrays > 200, JSON.stringify(scanner.searched));
    assert.ok(scanner.searched.logLines > 50, JSON.stringify(scanner.searched));
  },
);
