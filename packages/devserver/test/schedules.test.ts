/**
 * Schedules end to end: the real @temporalio/client ScheduleClient and a real worker against the
 * embedded dev server.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ScheduleNotFoundError, ScheduleOverlapPolicy } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import type { NativeConnection } from '@temporalio/worker';
import { createWorker, startEnv, uid, workflowBundle, type TestEnv } from './helpers.js';

let env: TestEnv;
let worker: Worker;
let workerConnection: NativeConnection;
let running: Promise<void>;
let taskQueue: string;

before(async () => {
  env = await startEnv();
  taskQueue = uid('sched-tq');
  const created = await createWorker(env.address, taskQueue, {}, await workflowBundle());
  worker = created.worker;
  workerConnection = created.connection;
  running = worker.run();
});

after(async () => {
  worker?.shutdown();
  await running?.catch(() => undefined);
  await workerConnection?.close();
  await env?.stop();
});

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 8000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const TIMESTAMPED = /-\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

test('an interval schedule starts workflows that carry the scheduled-by search attributes', async () => {
  const scheduleId = uid('every-second');
  const workflowId = uid('scheduled');
  const handle = await env.client.schedule.create({
    scheduleId,
    spec: { intervals: [{ every: '1s' }] },
    action: { type: 'startWorkflow', workflowType: 'timerWorkflow', args: [10], taskQueue, workflowId },
  });
  try {
    const desc = await waitFor('two actions', async () => {
      const d = await handle.describe();
      return d.info.numActionsTaken >= 2 ? d : undefined;
    });
    assert.equal(desc.scheduleId, scheduleId);
    assert.equal(desc.action.type, 'startWorkflow');
    assert.equal(desc.action.workflowType, 'timerWorkflow');
    assert.equal(desc.policies.overlap, ScheduleOverlapPolicy.SKIP);
    assert.equal(desc.spec.intervals?.[0]?.every, 1000);
    assert.ok(desc.info.createdAt instanceof Date);
    assert.ok(desc.info.nextActionTimes.length > 0);
    assert.ok(desc.info.recentActions.length >= 2);

    const first = desc.info.recentActions[0];
    assert.ok(first);
    const startedId = first.action.workflow.workflowId;
    assert.ok(startedId.startsWith(`${workflowId}-`));
    assert.match(startedId, TIMESTAMPED);
    const nominal = startedId.slice(workflowId.length + 1);
    assert.equal(new Date(nominal).getTime() % 1000, 0);
    assert.equal(first.scheduledAt.toISOString().replace('.000Z', 'Z'), nominal);

    const wf = env.client.workflow.getHandle(startedId);
    assert.equal(typeof (await wf.result()), 'number'); // timerWorkflow returns the elapsed ms
    const info = await wf.describe();
    assert.deepEqual(info.searchAttributes['TemporalScheduledById'], [scheduleId]);
    const scheduledStart = info.searchAttributes['TemporalScheduledStartTime'];
    assert.ok(Array.isArray(scheduledStart));
    assert.equal(new Date(scheduledStart[0] as Date).toISOString().replace('.000Z', 'Z'), nominal);

    const listed: string[] = [];
    for await (const w of env.client.workflow.list({ query: `TemporalScheduledById = '${scheduleId}'` })) {
      listed.push(w.workflowId);
    }
    assert.ok(listed.includes(startedId));
    assert.ok(listed.every((id) => id.startsWith(`${workflowId}-`)));

    const schedules: string[] = [];
    for await (const s of env.client.schedule.list()) {
      schedules.push(s.scheduleId);
      if (s.scheduleId === scheduleId) {
        assert.equal(s.action?.workflowType, 'timerWorkflow');
        assert.equal(s.state.paused, false);
        assert.ok(s.info.nextActionTimes.length > 0);
      }
    }
    assert.ok(schedules.includes(scheduleId));
  } finally {
    await handle.delete();
  }
});

test('pause, unpause, trigger, update and delete through the SDK client', async () => {
  const scheduleId = uid('controlled');
  const workflowId = uid('controlled-wf');
  const handle = await env.client.schedule.create({
    scheduleId,
    spec: { intervals: [{ every: '1s' }] },
    action: { type: 'startWorkflow', workflowType: 'timerWorkflow', args: [1], taskQueue, workflowId },
    state: { paused: true, note: 'created paused' },
  });

  let d = await handle.describe();
  assert.equal(d.state.paused, true);
  assert.equal(d.state.note, 'created paused');
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal((await handle.describe()).info.numActionsTaken, 0);

  await handle.trigger();
  d = await waitFor('triggered action', async () => {
    const x = await handle.describe();
    return x.info.numActionsTaken === 1 ? x : undefined;
  });
  const triggered = d.info.recentActions[0]?.action.workflow.workflowId ?? '';
  assert.match(triggered, TIMESTAMPED);
  assert.equal(typeof (await env.client.workflow.getHandle(triggered).result()), 'number');

  await handle.unpause('go');
  d = await handle.describe();
  assert.equal(d.state.paused, false);
  assert.equal(d.state.note, 'go');
  await waitFor('scheduled actions after unpause', async () =>
    (await handle.describe()).info.numActionsTaken >= 3 ? true : undefined,
  );

  await handle.pause('stop');
  const paused = await handle.describe();
  assert.equal(paused.state.paused, true);
  assert.equal(paused.state.note, 'stop');
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal((await handle.describe()).info.numActionsTaken, paused.info.numActionsTaken);

  await handle.update((prev) => ({ ...prev, spec: { intervals: [{ every: '2h' }] } }));
  d = await handle.describe();
  assert.equal(d.spec.intervals?.[0]?.every, 2 * 3600 * 1000);
  assert.equal(d.state.paused, true);

  await handle.delete();
  await assert.rejects(handle.describe(), ScheduleNotFoundError);
  for await (const s of env.client.schedule.list()) assert.notEqual(s.scheduleId, scheduleId);
});

test('creating an existing schedule id fails; a bad spec is a TypeError', async () => {
  const scheduleId = uid('dup');
  const options = {
    scheduleId,
    spec: { cronExpressions: ['0 12 * * MON-FRI'] },
    action: {
      type: 'startWorkflow' as const,
      workflowType: 'timerWorkflow',
      args: [1],
      taskQueue,
      workflowId: uid('dup-wf'),
    },
  };
  const handle = await env.client.schedule.create(options);
  try {
    const d = await handle.describe();
    assert.equal(d.spec.calendars?.[0]?.hour?.[0]?.start, 12);
    assert.deepEqual(d.spec.calendars?.[0]?.dayOfWeek, [{ start: 'MONDAY', end: 'FRIDAY', step: 1 }]);
    await assert.rejects(
      env.client.schedule.create(options),
      (err: Error) => err.name === 'ScheduleAlreadyRunning',
    );
    await assert.rejects(
      env.client.schedule.create({
        ...options,
        scheduleId: uid('bad'),
        spec: { cronExpressions: ['99 * * * *'] },
      }),
      TypeError,
    );
  } finally {
    await handle.delete();
  }
});
