/**
 * Auto-advancing gates (healthy soak) and bounded history: with a low continue-as-new threshold the
 * run continues as new several times, carrying its full state, and completes once FINALIZE is confirmed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { atGate, diffSides, signal, startMigration, testPlan, type Env, useEnv } from './helpers.js';
import type { MigrationStatus } from '../../src/workflows/api.js';

let env: Env;

useEnv(150, (e) => (env = e));

test(
  'gates auto-advance after a healthy soak; history stays bounded with continue-as-new',
  { timeout: 170_000 },
  async () => {
    const plan = testPlan('auto', {
      gates: {
        default: { autoAdvance: true, soakSeconds: 2, maxLagSeconds: 5 },
        FINALIZE: { autoAdvance: false },
      },
      temporal: { heartbeatTimeoutSeconds: 5, gatePollSeconds: 0.5, continueAsNewAfterEvents: 200 },
    });
    const handle = await startMigration(env, plan);
    const s = await atGate(handle, 'FINALIZE', undefined, 150_000);
    assert.equal(s.switches.writeMode, 'TARGET_ONLY');
    assert.equal(s.switches.readPercent, 100);
    const autos = s.audit.filter((a) => a.command === 'auto-advance');
    assert.ok(autos.length >= 8, `auto-advances: ${autos.map((a) => a.message).join(', ')}`);
    assert.ok(s.runCount > 1, `continued as new (runs: ${s.runCount})`);
    // The FINALIZE gate never auto-advances.
    assert.equal(s.gate?.autoAdvance, false);
    await signal(handle, 'finalize', { confirm: true, by: 'ops' });
    const final = (await handle.result()) as MigrationStatus;
    assert.equal(final.state, 'COMPLETED');
    assert.ok(final.runCount > 1);
    assert.deepEqual(await diffSides(env.stack), []);
    // Each run's history stayed under the threshold plus one step's worth of events.
    const info = await handle.describe();
    assert.ok(info.historyLength < 600, `last run history ${info.historyLength}`);
  },
);
