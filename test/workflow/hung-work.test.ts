/**
 * Hung work is detected and retried: the target MariaDB is frozen (SIGSTOP) during the bulk copy, so
 * statements neither finish nor fail and the server cannot enforce its statement timeout. The copy
 * activity must stop heartbeating once a statement outlives the stall limit (statement timeout + 5 s),
 * Temporal times the attempt out after the heartbeat timeout and retries it; after SIGCONT the
 * migration completes the copy with nothing lost.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeActivities } from '../../src/activities/temporal/health.js';
import {
  atGate,
  createSchema,
  diffSides,
  startEnv,
  startMigration,
  testPlan,
  waitStatus,
  type Env,
} from './helpers.js';

// The worker (in this process) limits every statement to 2 s: the stall limit is 7 s.
process.env.MIGRATOR_STATEMENT_TIMEOUT = '2';
const HEARTBEAT_TIMEOUT_S = 3;

let env: Env;
let stopped: number | undefined;

before(async () => {
  env = await startEnv();
  await createSchema(env.stack, 400);
});

after(async () => {
  if (stopped) process.kill(stopped, 'SIGCONT');
  await env?.stop();
});

test(
  'a frozen target is detected within the stall limit + heartbeat timeout and the copy retried',
  { timeout: 170_000 },
  async () => {
    const plan = testPlan('hung', {
      temporal: { heartbeatTimeoutSeconds: HEARTBEAT_TIMEOUT_S, gatePollSeconds: 1 },
    });
    // A slow copy of orders, so that the server can be frozen in the middle of it.
    plan.tables = plan.tables.map((t) =>
      t.name === 'orders' ? { ...t, chunkSize: 20, maxRowsPerSecond: 40 } : t,
    );
    const handle = await startMigration(env, plan);
    await waitStatus(handle, (s) => s.phase === 'BULK_COPY', 'bulk copy', 60_000);
    await sleep(1500);

    const pid = Number(readFileSync(join(env.stack.target.dir, 'mysqld.pid'), 'utf8').trim());
    process.kill(pid, 'SIGSTOP');
    stopped = pid;
    const frozenAt = Date.now();
    let detectedAfterMs = 0;
    try {
      for (;;) {
        // What the workflow's activityHealth activity reports (src/activities/temporal/health.ts).
        const { raw } = await handle.describe();
        const copy = describeActivities(raw.pendingActivities ?? []).find(
          (a) => a.activity === 'copyTable' && a.attempt >= 2,
        );
        if (copy) {
          detectedAfterMs = Date.now() - frozenAt;
          assert.match(copy.lastFailure?.message ?? '', /heartbeat/i, JSON.stringify(copy));
          assert.equal(copy.lastFailure?.fatal, false);
          assert.ok((copy.secondsSinceProgress ?? 0) >= 5, JSON.stringify(copy));
          break;
        }
        assert.ok(Date.now() - frozenAt < 40_000, 'the hung copy was not retried within 40 s');
        await sleep(250);
      }
    } finally {
      process.kill(pid, 'SIGCONT');
      stopped = undefined;
    }
    // Stall limit (2 s statement timeout + 5 s) + heartbeat timeout + the first retry interval, with slack.
    assert.ok(
      detectedAfterMs < 7_000 + HEARTBEAT_TIMEOUT_S * 1000 + 1_000 + 6_000,
      `detected after ${detectedAfterMs} ms`,
    );

    const s = await atGate(handle, 'DUAL_WRITE_SOURCE_FIRST', undefined, 120_000);
    assert.ok(
      s.tables.every((t) => t.state === 'done'),
      JSON.stringify(s.tables),
    );
    assert.equal(s.lastVerification?.totalMismatches, 0, JSON.stringify(s.lastVerification));
    assert.deepEqual(await diffSides(env.stack), []);
  },
);
