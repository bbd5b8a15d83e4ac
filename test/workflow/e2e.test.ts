/**
 * A migration of three tables under a concurrent write load, PRECHECK -> FINALIZE, with every gate
 * advanced by signals sent by NAME with JSON payloads (what `temporal workflow signal --name advance
 * --input '{...}'` sends). Ends with both sides equal; no password in any workflow history.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  atGate,
  createSchema,
  diffSides,
  signal,
  stackSecrets,
  startEnv,
  startLoad,
  startMigration,
  status,
  summary,
  testPlan,
  waitStatus,
  type Env,
} from './helpers.js';
import type { MigrationStatus } from '../../src/workflows/api.js';

let env: Env;

before(async () => {
  env = await startEnv();
  await createSchema(env.stack);
});

after(async () => {
  await env?.stop();
});

test(
  'PRECHECK to FINALIZE under load with gates advanced by signals; both sides equal; no password in histories',
  { timeout: 170_000 },
  async () => {
    const plan = testPlan('e2e', { copy: { parallelism: 2, rangesPerTable: 2 } });
    const handle = await startMigration(env, plan);
    const load = startLoad(env.stack, plan.id);
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
      s = await status(handle);
      assert.equal(s.switches.writeMode, 'DUAL_SOURCE_FIRST');
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
      await signal(handle, 'advance', { by: 'carol' });
      await atGate(handle, 'TARGET_ONLY');
      assert.equal((await status(handle)).switches.writeMode, 'DUAL_TARGET_FIRST');
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
    const diffs = await diffSides(env.stack);
    assert.deepEqual(diffs.slice(0, 10), []);

    // Audit log: who advanced.
    const final = await status(handle);
    assert.ok(final.audit.some((a) => a.command === 'advance' && a.by === 'alice' && a.accepted));
    assert.ok(final.audit.some((a) => a.command === 'finalize' && a.by === 'dave'));

    // The schedule is gone.
    await assert.rejects(env.client.schedule.getHandle('migration-e2e-verify').describe());

    // No password anywhere: every workflow history of the run (migration + verification workflows).
    const secrets = stackSecrets(env.stack);
    let histories = 0;
    let verificationRuns = 0;
    for await (const wf of env.client.workflow.list()) {
      const history = await env.client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
      const text = JSON.stringify(history);
      histories++;
      if (wf.type === 'verificationWorkflow') verificationRuns++;
      for (const secret of secrets)
        assert.ok(!text.includes(secret), `password found in history of ${wf.workflowId}`);
      assert.ok(!/mysql:\/\/[^"]*@/.test(text), `a DSN found in history of ${wf.workflowId}`);
    }
    assert.ok(histories >= 2, `histories checked: ${histories}`);
    assert.ok(verificationRuns >= 1, 'at least one scheduled verification workflow');
  },
);
