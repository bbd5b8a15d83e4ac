import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Context, CompleteAsyncError, ApplicationFailure } from '@temporalio/activity';
import { startEnvWithWorker, uid, type TestEnv } from './helpers.js';
import {
  asyncCompletionWorkflow,
  cancelActivityWorkflow,
  echoWorkflow,
  failingActivityWorkflow,
  heartbeatDetailsWorkflow,
  retryWorkflow,
  timeoutWorkflow,
} from './fixtures/workflows.js';

let env: TestEnv;
const taskQueue = uid('activities');
const attempts = new Map<string, number[]>();
const seenDetails = new Map<string, unknown[]>();
const tokens = new Map<string, Uint8Array>();
let cancelledSeen = false;

const activities = {
  async echo(s: string) {
    return `echo:${s}`;
  },
  async flaky(key: string, failures: number) {
    const list = attempts.get(key) ?? [];
    list.push(Date.now());
    attempts.set(key, list);
    if (Context.current().info.attempt <= failures)
      throw new Error(`flaky failure ${Context.current().info.attempt}`);
    return Context.current().info.attempt;
  },
  async alwaysFails(kind: string) {
    const list = attempts.get(kind) ?? [];
    list.push(Date.now());
    attempts.set(kind, list);
    throw ApplicationFailure.create({
      message: `boom-${kind}`,
      type: kind === 'fatal' ? 'Fatal' : 'Transient',
      nonRetryable: kind === 'explicit',
    });
  },
  async slow(ms: number) {
    await new Promise((r) => setTimeout(r, ms));
    return 'slow done';
  },
  async heartbeater(ms: number) {
    const ctx = Context.current();
    const end = Date.now() + ms;
    // Heartbeats only on the first attempt when used for the heartbeat-timeout test? No: keeps beating.
    while (Date.now() < end) {
      if (ctx.info.heartbeatTimeoutMs && ctx.info.heartbeatTimeoutMs < 1000) {
        // heartbeat-timeout test: stop heartbeating so the server times the attempt out
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      ctx.heartbeat('beat');
      try {
        await ctx.sleep(200);
      } catch (err) {
        cancelledSeen = true;
        throw err;
      }
    }
    return 'heartbeater done';
  },
  async resumable(key: string) {
    const ctx = Context.current();
    const list = seenDetails.get(key) ?? [];
    list.push(ctx.info.heartbeatDetails);
    seenDetails.set(key, list);
    const from = (ctx.info.heartbeatDetails as number | undefined) ?? 0;
    ctx.heartbeat(from + 10);
    await new Promise((r) => setTimeout(r, 300));
    if (ctx.info.attempt === 1) throw new Error('fail after heartbeating');
    return from;
  },
  async asyncComplete(key: string) {
    tokens.set(key, Context.current().info.taskToken);
    throw new CompleteAsyncError();
  },
};

before(async () => {
  env = await startEnvWithWorker(taskQueue, activities);
});
after(() => env?.stop());

const run = <T>(wf: (...args: never[]) => Promise<T>, args: unknown[]) =>
  env.client.workflow.execute(wf as never, {
    taskQueue,
    workflowId: uid('wf'),
    args: args as never,
  }) as Promise<T>;

test('activity result reaches the workflow', async () => {
  assert.equal(await run(echoWorkflow, ['a']), 'echo:a');
});

test('activity retries with backoff until it succeeds', async () => {
  const key = uid('flaky');
  assert.equal(await run(retryWorkflow, [key, 2, 5]), 3);
  const times = attempts.get(key)!;
  assert.equal(times.length, 3);
  assert.ok(times[1]! - times[0]! >= 80, `first backoff ${times[1]! - times[0]!}ms`);
  assert.ok(times[2]! - times[1]! >= 180, `second backoff ${times[2]! - times[1]!}ms (coefficient 2)`);
});

test('activity retries stop at maximum attempts and the failure reaches the workflow', async () => {
  const key = uid('flaky');
  await assert.rejects(
    run(retryWorkflow, [key, 10, 3]),
    (err: Error & { cause?: { cause?: { message?: string }; retryState?: string } }) => {
      assert.equal(err.cause?.cause?.message, 'flaky failure 3');
      assert.equal(err.cause?.retryState, 'MAXIMUM_ATTEMPTS_REACHED');
      return true;
    },
  );
  assert.equal(attempts.get(key)!.length, 3);
});

test('non-retryable error types and non-retryable failures are not retried', async () => {
  assert.equal(
    await run(failingActivityWorkflow, ['fatal']),
    'failed:Fatal:boom-fatal:NON_RETRYABLE_FAILURE',
  );
  assert.equal(attempts.get('fatal')!.length, 1);
  assert.equal(
    await run(failingActivityWorkflow, ['explicit']),
    'failed:Transient:boom-explicit:NON_RETRYABLE_FAILURE',
  );
  assert.equal(attempts.get('explicit')!.length, 1);
  assert.equal(
    await run(failingActivityWorkflow, ['transient']),
    'failed:Transient:boom-transient:MAXIMUM_ATTEMPTS_REACHED',
  );
  assert.equal(attempts.get('transient')!.length, 5);
});

test('start-to-close timeout times out each attempt', async () => {
  assert.equal(await run(timeoutWorkflow, ['startToClose']), 'TimeoutFailure:START_TO_CLOSE');
});

test('heartbeat timeout times out an activity that stops heartbeating', async () => {
  assert.equal(await run(timeoutWorkflow, ['heartbeat']), 'TimeoutFailure:HEARTBEAT');
});

test('heartbeat details reach the next attempt', async () => {
  const key = uid('resume');
  assert.equal(await run(heartbeatDetailsWorkflow, [key]), 10);
  assert.deepEqual(seenDetails.get(key), [undefined, 10]);
});

test('cancellation reaches a heartbeating activity', async () => {
  cancelledSeen = false;
  assert.equal(await run(cancelActivityWorkflow, []), 'cancelled');
  assert.equal(cancelledSeen, true);
});

test('async completion by task token', async () => {
  const key = uid('async');
  const handle = await env.client.workflow.start(asyncCompletionWorkflow, {
    taskQueue,
    workflowId: uid('wf'),
    args: [key],
  });
  while (!tokens.has(key)) await new Promise((r) => setTimeout(r, 50));
  await env.client.activity.complete(tokens.get(key)!, 'completed from outside');
  assert.equal(await handle.result(), 'completed from outside');
});

test('async completion by id, and unknown tokens are NOT_FOUND', async () => {
  const key = uid('async');
  const workflowId = uid('wf');
  const handle = await env.client.workflow.start(asyncCompletionWorkflow, {
    taskQueue,
    workflowId,
    args: [key],
  });
  while (!tokens.has(key)) await new Promise((r) => setTimeout(r, 50));
  await env.client.activity.complete({ workflowId, activityId: '1' }, 'by id');
  assert.equal(await handle.result(), 'by id');
  await assert.rejects(env.client.activity.complete(tokens.get(key)!, 'again'), /not found/i);
});
