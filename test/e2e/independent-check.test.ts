/**
 * The demo's independent check can fail. One demo run (the application inside this process, so the
 * router's test-only fault hook reaches it):
 *  - the mirror corrupts one column (orders.amount) of the first rows it writes to the source once the
 *    target is authoritative (DUAL_WRITE_TARGET_FIRST): the run must fail, either because those rows
 *    differ from the application's ledger on the source, or because the product had to repair rows no
 *    router reported lost ("lost, then fixed");
 *  - after the run, one column of one row is changed identically on BOTH servers (as damage carried
 *    over by sync would be): row counts and CHECKSUM TABLE still agree, the full-row ledger check does not.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { runDemo, type DemoResult } from '../../scripts/demo/run.js';
import { mirrorFaultsApplied, setMirrorFaultForTests } from '../../src/router/faults.js';

let result: DemoResult;
let fired = 0;
const lines: string[] = [];
const context = () => `${result.failures.join('\n')}\n--- demo log ---\n${lines.join('\n')}`;

before(async () => {
  setMirrorFaultForTests({
    table: 'orders',
    column: 'amount',
    writeMode: 'DUAL_TARGET_FIRST',
    corrupt: () => '0.0001',
  });
  try {
    result = await runDemo({
      rows: 1000,
      rate: 20,
      soakSeconds: 1,
      manual: false,
      chaos: false,
      apps: 0,
      log: (line) => lines.push(line),
      onStatus: () => {
        // A few corrupted rows are enough; endless corruption would keep every gate closed.
        if (mirrorFaultsApplied() >= 3) {
          fired = Math.max(fired, mirrorFaultsApplied());
          setMirrorFaultForTests(null);
        }
      },
      beforeCheck: async (stack) => {
        for (const side of [stack.source, stack.target]) {
          const conn = await side.rootConnection('app');
          await conn.query(
            "UPDATE order_items SET note = 'tampered', updated_at = updated_at WHERE order_id = 7 AND line_no = 2",
          );
          await conn.end();
        }
      },
    });
    fired = Math.max(fired, mirrorFaultsApplied());
  } finally {
    setMirrorFaultForTests(null);
  }
});

test('damage both servers share: counts and CHECKSUM TABLE agree, the full-row ledger check fails on both', () => {
  assert.equal(result.final?.state, 'COMPLETED', context());
  assert.equal(result.ok, false, context());
  for (const c of result.comparisons) assert.ok(c.equal, `${c.table} counts/CHECKSUM differ\n${context()}`);
  const tampered = result.independent.problems.filter((p) => p.includes('order_items ["7","2"]'));
  assert.deepEqual(
    tampered.map((p) => p.split(':')[0]).sort(),
    ['source', 'target'],
    `the tampered row on each server\n${context()}`,
  );
  assert.ok(
    tampered.every((p) => /note="tampered" \(expected null\)/.test(p)),
    tampered.join('\n'),
  );
});

test('a mirror corrupting one column after DUAL_WRITE_TARGET_FIRST makes the check fail', (t) => {
  if (fired === 0) {
    t.skip('waits for the router to apply setMirrorFaultForTests (src/router/faults.ts)');
    return;
  }
  const corrupted = result.independent.problems.filter((p) => /^source: orders .*amount="0\.0001"/.test(p));
  const lostThenFixed = result.failures.filter((f) => /lost, then fixed/.test(f));
  assert.ok(
    corrupted.length > 0 || lostThenFixed.length > 0,
    `${fired} corrupted mirror writes went unnoticed\n${context()}`,
  );
});
