/**
 * The main job under failure: the demo's migration (application writing through the router, worker
 * process, every phase with short auto-advance soaks) while the worker is SIGKILLed three times (copy,
 * CDC, repair loop), the embedded Temporal server restarts from its state file, and the target MariaDB
 * and Redis restart once each. The independent check must hold: equal row counts and CHECKSUM TABLE,
 * zero application errors, every acknowledged write on the target.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runDemo } from '../../scripts/demo/run.js';

test(
  'the demo migration survives worker kills and restarts of Temporal, the target MariaDB and Redis',
  { timeout: 480_000 },
  async () => {
    const lines: string[] = [];
    const result = await runDemo({
      rows: 3000,
      rate: 30,
      soakSeconds: 2,
      manual: false,
      chaos: true,
      log: (line) => lines.push(line),
    });
    const context = `${result.failures.join('\n')}\n--- demo log ---\n${lines.join('\n')}`;
    assert.equal(result.chaosEvents.length, 6, context);
    assert.equal(result.chaosEvents.filter((e) => e.startsWith('worker killed')).length, 3, context);
    assert.equal(result.final?.state, 'COMPLETED', context);
    assert.equal(result.final?.phase, 'DONE', context);
    for (const c of result.comparisons) {
      assert.equal(c.sourceRows, c.targetRows, `${c.table} row counts\n${context}`);
      assert.equal(c.sourceChecksum, c.targetChecksum, `${c.table} CHECKSUM TABLE\n${context}`);
    }
    assert.equal(result.app.errors, 0, `application errors: ${result.app.lastError}\n${context}`);
    assert.ok(result.app.writes > 100, `the application kept writing (${result.app.writes} writes)`);
    assert.ok(result.acknowledged.checked > 50);
    assert.deepEqual(result.acknowledged.missing, [], context);
    assert.ok(result.ok, context);
  },
);
