import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  defaultPlan,
  loadPlanFile,
  parsePlan,
  parsePlanText,
  PlanError,
  SEED_VARIANTS,
} from '../../src/config/index.js';
import { PHASES } from '../../src/workflows/api.js';

test('the default plan runs every phase with read steps 1,5,25,50,100 and manual gates', () => {
  const plan = defaultPlan('orders', ['orders', 'customers']);
  assert.deepEqual(
    plan.phases,
    PHASES.filter((p) => p !== 'DONE'),
  );
  assert.deepEqual(plan.readSteps, [1, 5, 25, 50, 100]);
  assert.equal(plan.gates.READ_SWITCH.autoAdvance, false);
  assert.equal(plan.source, 'source');
  assert.equal(plan.tables.length, 2);
});

test('seed variants (000, 002, 004) are valid phase lists', () => {
  for (const phases of Object.values(SEED_VARIANTS)) {
    const plan = defaultPlan('x', ['t'], { phases: [...phases] });
    assert.deepEqual(plan.phases, phases);
  }
});

test('examples/plan.yaml parses', () => {
  const plan = loadPlanFile('examples/plan.yaml');
  assert.equal(plan.id, 'shop');
  assert.ok(plan.tables.length >= 2);
  assert.equal(plan.gates.DUAL_WRITE_SOURCE_FIRST.autoAdvance, true);
  assert.equal(plan.gates.FINALIZE.autoAdvance, false);
  assert.equal(plan.verification.intervalSeconds, 300);
});

test('errors name the field path', () => {
  const err = (raw: unknown) => {
    try {
      parsePlan(raw);
    } catch (e) {
      assert.ok(e instanceof PlanError);
      return e.message;
    }
    assert.fail('expected a PlanError');
  };
  assert.match(err({ id: 'a', tables: [{ name: 'ok' }, { name: 'bad name' }] }), /tables\[1\]\.name/);
  assert.match(
    err({ id: 'a', tables: [{ name: 't' }], readSteps: [1, 50, 20, 100] }),
    /readSteps\[2\]: read steps must be strictly increasing/,
  );
  assert.match(err({ id: 'a', tables: [{ name: 't' }], readSteps: [10, 50] }), /last read step must be 100/);
  assert.match(
    err({ id: 'a', tables: [{ name: 't' }], gates: { FINALIZE: { autoAdvance: true } } }),
    /gates\.FINALIZE\.autoAdvance/,
  );
  assert.match(
    err({ id: 'a', tables: [{ name: 't' }], gates: { READ_SWITCH: { soakSeconds: 'soon' } } }),
    /gates\.READ_SWITCH\.soakSeconds: not a duration/,
  );
  assert.match(
    err({ id: 'a', tables: [{ name: 't' }], phases: ['PRECHECK', 'BULK_COPY'] }),
    /phases: phase PREPARE_TARGET is mandatory/,
  );
  assert.match(err({ id: 'a', tables: [{ name: 't', chunkSize: 0 }] }), /tables\[0\]\.chunkSize/);
  assert.match(err({ id: 'a', tables: [{ name: 't', colour: 'red' }] }), /tables\[0\].*colour/);
});

test('durations accept seconds and unit strings', () => {
  const plan = parsePlanText(
    'id: a\ntables: [{name: t}]\ngates:\n  default: {soakSeconds: 5m, maxLagSeconds: 1500ms}\nverification: {intervalSeconds: 1h}\n',
  );
  assert.equal(plan.gates.READ_SWITCH.soakSeconds, 300);
  assert.equal(plan.gates.TARGET_ONLY.maxLagSeconds, 1.5);
  assert.equal(plan.verification.intervalSeconds, 3600);
});

test('secrets in a plan are refused with a clear error', () => {
  assert.throws(
    () => parsePlan({ id: 'a', tables: [{ name: 't' }], password: 'hunter2' }),
    /password.*credential.*MIGRATOR_DB_/s,
  );
  assert.throws(
    () => parsePlan({ id: 'a', source: 'mysql://root:pw@db:3306/app', tables: [{ name: 't' }] }),
    /source: this value looks like a connection URL/,
  );
  assert.throws(
    () => parsePlan({ id: 'a', tables: [{ name: 't' }], connections: { source: { dsn: 'x' } } }),
    /connections\.source\.dsn/,
  );
  // A column called password may be migrated and mapped.
  const plan = parsePlan({ id: 'a', tables: [{ name: 'users', columnMap: { password: 'password_hash' } }] });
  assert.deepEqual(plan.tables[0].columnMap, { password: 'password_hash' });
});

test('JSON plans load too', () => {
  const text = JSON.stringify({ id: 'j', tables: [{ name: 't' }] });
  assert.equal(parsePlanText(text).id, 'j');
  assert.ok(readFileSync('examples/plan.yaml', 'utf8').includes('MIGRATOR_DB_SOURCE'));
});
