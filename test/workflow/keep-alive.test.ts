/**
 * The worker's keep-alive heartbeats (activities/temporal/keep-alive.ts), run in the SDK's activity
 * context: a short activity is heartbeated while it runs, and once an activity heartbeats its own
 * progress (activityRun) the keep-alive never sends another heartbeat, so the progress it would resume
 * from is never replaced by the previous attempt's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { MockActivityEnvironment } from '@temporalio/testing';
import { keepAliveInterceptor } from '../../src/activities/temporal/keep-alive.js';
import { activityRun } from '../../src/activities/temporal/context.js';

const TICK_MS = 50;

function environment(heartbeatDetails?: unknown): { env: MockActivityEnvironment; beats: unknown[] } {
  const env = new MockActivityEnvironment(
    { heartbeatTimeoutMs: 5000, heartbeatDetails },
    { interceptors: [(ctx) => keepAliveInterceptor(ctx, TICK_MS)] },
  );
  const beats: unknown[] = [];
  env.on('heartbeat', (d: unknown) => beats.push(d));
  return { env, beats };
}

test('a short activity is heartbeated while it runs, and no longer after it returned', async () => {
  const { env, beats } = environment();
  assert.equal(
    await env.run(async () => {
      await sleep(TICK_MS * 6);
      return 'done';
    }),
    'done',
  );
  const whileRunning = beats.length;
  assert.ok(whileRunning >= 3, `${whileRunning} keep-alive heartbeats in ${TICK_MS * 6} ms`);
  await sleep(TICK_MS * 4);
  assert.equal(beats.length, whileRunning, 'no heartbeat after the activity returned');
});

test('an activity heartbeating its own progress: the keep-alive stops, its details are never replaced', async () => {
  const previous = { rowsCopied: 10 };
  const { env, beats } = environment(previous);
  await env.run(async () => {
    // Something slow before the body takes over: the keep-alive re-sends the previous attempt's details.
    await sleep(TICK_MS * 3);
    const run = await activityRun<{ rowsCopied: number }>({ tickMs: 10_000 });
    try {
      for (let n = 20; n <= 60; n += 10) {
        run.ctx.progress?.({ rowsCopied: n });
        await sleep(TICK_MS * 2);
      }
    } finally {
      await run.close();
    }
  });
  const copied = beats.map((d) => (d as { rowsCopied?: number } | undefined)?.rowsCopied);
  const first = copied.indexOf(20);
  assert.ok(first > 0, `keep-alive heartbeats before the body took over: ${JSON.stringify(copied)}`);
  assert.deepEqual(copied.slice(0, first), Array(first).fill(10), 'before: the previous attempt’s details');
  assert.deepEqual(copied.slice(first), [20, 30, 40, 50, 60], 'after: only the body’s own progress');
});
