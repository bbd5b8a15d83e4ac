/**
 * Races the official server resolves in a defined way, each provoked many times through the real SDK:
 * the outcome must be what that server records, and the worker must never see a history it cannot
 * replay (a nondeterminism failure would show as failed workflow tasks and a stuck run).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowNotFoundError } from '@temporalio/client';
import { api, num, type HistoryEvent } from '../src/proto.js';
import { startEnvWithWorker, uid, type TestEnv } from './helpers.js';
import {
  activityCancelRaceWorkflow,
  ping,
  signalStormWorkflow,
  timerCancelRaceWorkflow,
} from './fixtures/workflows.js';

const SPIN = 6_000_000;
const taskQueue = uid('races');
let env: TestEnv;
before(async () => {
  env = await startEnvWithWorker(taskQueue, {
    async finishAfter(ms: number) {
      await sleep(ms);
      return 'completed';
    },
  });
});
after(async () => {
  await env?.stop();
});

const eventMs = (e: HistoryEvent) =>
  num(e.eventTime?.seconds) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6);
const durMs = (d: { seconds?: unknown; nanos?: number | null } | null | undefined) =>
  num(d?.seconds) * 1000 + Math.floor((d?.nanos ?? 0) / 1e6);

function failedTasks(events: HistoryEvent[]): HistoryEvent[] {
  return events.filter((e) => e.workflowTaskFailedEventAttributes);
}

test(
  'a timer firing while the task that cancels it runs: TimerCanceled, the fire dropped, no failed task',
  { timeout: 60_000 },
  async () => {
    const rounds = 36;
    const handle = await env.client.workflow.start(timerCancelRaceWorkflow, {
      taskQueue,
      workflowId: uid('timer-race'),
      args: [rounds, 80, SPIN],
    });
    const outcomes = await handle.result();
    const events = (await handle.fetchHistory()).events ?? [];
    assert.deepEqual(failedTasks(events), [], 'no workflow task failed');
    assert.equal(outcomes.length, rounds);
    assert.ok(
      outcomes.every((o) => o === 'fired' || o === 'cancelled'),
      outcomes.join(','),
    );
    const started = new Map<string, HistoryEvent>();
    let raced = 0;
    for (const e of events) {
      const s = e.timerStartedEventAttributes;
      if (s) started.set(s.timerId!, e);
      const c = e.timerCanceledEventAttributes;
      if (c) {
        const st = started.get(c.timerId!)!;
        const due = eventMs(st) + durMs(st.timerStartedEventAttributes!.startToFireTimeout);
        // Cancelled well after it was due: its fire was buffered behind the running task.
        if (eventMs(e) >= due + 3) raced++;
        assert.ok(
          !events.some((f) => f.timerFiredEventAttributes?.timerId === c.timerId),
          `timer ${c.timerId} is cancelled and fired`,
        );
      }
    }
    assert.ok(raced >= 6, `the race happened in ${raced} of ${rounds} rounds`);
  },
);

test(
  'an activity finishing while the task that cancels it runs: cancel requested, then its outcome, no failed task',
  { timeout: 60_000 },
  async () => {
    const rounds = 24;
    const handle = await env.client.workflow.start(activityCancelRaceWorkflow, {
      taskQueue,
      workflowId: uid('activity-race'),
      args: [rounds, 150, SPIN],
    });
    const outcomes = await handle.result();
    const events = (await handle.fetchHistory()).events ?? [];
    assert.deepEqual(failedTasks(events), [], 'no workflow task failed');
    assert.equal(outcomes.length, rounds);
    assert.ok(
      outcomes.every((o) => o === 'completed' || o === 'cancelled'),
      outcomes.join(','),
    );
    let raced = 0;
    for (const e of events) {
      const req = e.activityTaskCancelRequestedEventAttributes;
      if (!req) continue;
      const sched = num(req.scheduledEventId);
      const completed = events.find(
        (c) => num(c.activityTaskCompletedEventAttributes?.scheduledEventId) === sched,
      );
      if (completed && num(completed.eventId) > num(e.eventId)) raced++;
    }
    assert.ok(raced >= 4, `the race happened in ${raced} of ${rounds} rounds`);
  },
);

test(
  'signals arriving while the completing task runs: the completion is refused until the workflow has seen them all',
  { timeout: 150_000 }, // six rounds of a signal flood: over a minute on a heavily loaded machine
  async () => {
    const E = api.enums.v1;
    let unhandled = 0;
    for (let round = 0; round < 6; round++) {
      const handle = await env.client.workflow.start(signalStormWorkflow, {
        taskQueue,
        workflowId: uid('storm'),
        args: [15, 1_500_000],
      });
      const acked: number[] = [];
      let closed = false;
      // A bounded flood: an endless one would keep refusing the completion (on any server).
      const senders = Array.from({ length: 4 }, async (_, s) => {
        for (let i = s; !closed && i < 80; i += 4) {
          try {
            await handle.signal(ping, i);
            acked.push(i);
          } catch (err) {
            assert.ok(err instanceof WorkflowNotFoundError, `signal after close: ${String(err)}`);
            closed = true;
          }
        }
      });
      assert.ok((await handle.result()) >= 15);
      closed = true;
      await Promise.all(senders);
      const events = (await handle.fetchHistory()).events ?? [];
      const signalled = events.filter((e) => e.workflowExecutionSignaledEventAttributes);
      assert.ok(signalled.length >= acked.length, 'every acknowledged signal is in history');
      // The task that closed the run was started after the last signal: the workflow saw every one.
      const lastStarted = events.filter((e) => e.workflowTaskStartedEventAttributes).pop()!;
      const lastSignal = signalled[signalled.length - 1]!;
      assert.ok(
        num(lastSignal.eventId) < num(lastStarted.eventId),
        'no signal arrived unseen before the close',
      );
      assert.ok(events[events.length - 1]!.workflowExecutionCompletedEventAttributes);
      unhandled += failedTasks(events).filter(
        (e) =>
          e.workflowTaskFailedEventAttributes!.cause ===
          E.WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND,
      ).length;
    }
    assert.ok(unhandled >= 1, `completions refused because of new signals: ${unhandled}`);
  },
);
