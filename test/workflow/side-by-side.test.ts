/**
 * Two migrations side by side on disjoint tables, each with its own workflow id, switch keys, CDC
 * streams and verification schedule, running the shorter procedures of seeds 000 and 002 with
 * auto-advancing gates; both complete with their tables equal.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import mysql from 'mysql2/promise';
import { defaultPlan, SEED_VARIANTS } from '../../src/config/index.js';
import { atGate, diffSides, signal, startEnv, startMigration, type Env } from './helpers.js';
import type { MigrationStatus } from '../../src/workflows/api.js';

let env: Env;

before(async () => {
  env = await startEnv();
  const conn = await mysql.createConnection({ uri: env.stack.source.url(), multipleStatements: true });
  try {
    for (const t of ['a_items', 'b_items']) {
      await conn.query(`CREATE TABLE ${t} (id INT PRIMARY KEY, v VARCHAR(40) NOT NULL)`);
      const values = Array.from({ length: 200 }, (_, i) => `(${i + 1}, 'v${i + 1}')`).join(',');
      await conn.query(`INSERT INTO ${t} VALUES ${values}`);
    }
  } finally {
    await conn.end();
  }
});

after(async () => {
  await env?.stop();
});

test(
  'two migrations side by side (seed 000 and seed 002 procedures) complete independently',
  { timeout: 170_000 },
  async () => {
    const common = {
      gates: {
        default: { autoAdvance: true, soakSeconds: 1, maxLagSeconds: 5 },
        FINALIZE: { autoAdvance: false },
      },
      cdc: { catchUpLagSeconds: 2, routerAckTimeoutSeconds: 5 },
      verification: { intervalSeconds: 5 },
      repairLoop: { mode: 'binlog', intervalSeconds: 1 },
      temporal: { heartbeatTimeoutSeconds: 5, gatePollSeconds: 0.5 },
    };
    const a = defaultPlan('side-a', ['a_items'], { ...common, phases: [...SEED_VARIANTS.seed000] });
    const b = defaultPlan('side-b', ['b_items'], { ...common, phases: [...SEED_VARIANTS.seed002] });
    const [ha, hb] = await Promise.all([startMigration(env, a), startMigration(env, b)]);
    const [sa, sb] = await Promise.all([
      atGate(ha, 'FINALIZE', undefined, 150_000),
      atGate(hb, 'FINALIZE', undefined, 150_000),
    ]);
    assert.equal(sa.switches.writeMode, 'DUAL_TARGET_FIRST'); // seed 000: no TARGET_ONLY
    assert.equal(sb.switches.writeMode, 'DUAL_TARGET_FIRST');
    assert.ok(!sa.compensation.some((f) => f.phase === 'REPAIR_LOOP'));
    assert.ok(sb.compensation.some((f) => f.phase === 'REPAIR_LOOP'));
    assert.equal(sa.verificationScheduleId, 'migration-side-a-verify');
    assert.equal(sb.verificationScheduleId, 'migration-side-b-verify');
    await Promise.all([signal(ha, 'finalize', { confirm: true }), signal(hb, 'finalize', { confirm: true })]);
    const [ra, rb] = (await Promise.all([ha.result(), hb.result()])) as MigrationStatus[];
    assert.equal(ra.state, 'COMPLETED');
    assert.equal(rb.state, 'COMPLETED');
    assert.deepEqual(await diffSides(env.stack, ['a_items', 'b_items']), []);
  },
);

test(
  'a precheck problem stops the run at a "failed" gate naming the fix; abort ends it',
  { timeout: 60_000 },
  async () => {
    const conn = await mysql.createConnection({ uri: env.stack.source.url() });
    await conn.query('CREATE TABLE no_key (a INT NULL, b VARCHAR(10))');
    await conn.end();
    const plan = defaultPlan('bad', ['no_key'], {
      temporal: { heartbeatTimeoutSeconds: 5, gatePollSeconds: 0.5 },
    });
    const handle = await startMigration(env, plan);
    const s = await atGate(handle, 'PRECHECK', undefined, 30_000);
    assert.match(s.gate?.waitingFor ?? '', /PRECHECK failed: .*no_key/s);
    assert.match(s.error ?? '', /no_key/);
    await signal(handle, 'abort', { by: 'ops', reason: 'fix the table first' });
    const final = (await handle.result()) as MigrationStatus;
    assert.equal(final.state, 'ABORTED');
  },
);
