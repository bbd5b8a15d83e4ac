import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import protoPkg from '@temporalio/proto';
import type { google, temporal } from '@temporalio/proto';
import { ScheduleManager, type Clock, type ScheduleHost } from '../src/schedules/index.js';

const { ScheduleOverlapPolicy: Overlap, WorkflowExecutionStatus: Status } = protoPkg.temporal.api.enums.v1;

type StartRequest = temporal.api.workflowservice.v1.IStartWorkflowExecutionRequest;

/** A clock whose timers only fire when the test advances time. */
class FakeClock implements Clock {
  private timers: Array<{ id: number; at: number; fn: () => void }> = [];
  private seq = 0;

  constructor(public t: number) {}

  now(): number {
    return this.t;
  }

  setTimer(fn: () => void, delayMs: number): unknown {
    const id = ++this.seq;
    this.timers.push({ id, at: this.t + Math.max(0, delayMs), fn });
    return id;
  }

  clearTimer(handle: unknown): void {
    this.timers = this.timers.filter((x) => x.id !== handle);
  }

  pending(): number[] {
    return this.timers.map((x) => x.at).sort((a, b) => a - b);
  }

  /** Moves time forward to `target`, firing due timers in order and letting the manager settle. */
  async advanceTo(target: number, settle: () => Promise<void>): Promise<void> {
    for (;;) {
      const due = this.timers.filter((x) => x.at <= target).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.timers = this.timers.filter((x) => x !== due);
      this.t = Math.max(this.t, due.at);
      due.fn();
      await settle();
    }
    this.t = Math.max(this.t, target);
    await settle();
  }
}

interface FakeWorkflow {
  workflowId: string;
  runId: string;
  running: boolean;
  request: StartRequest;
  startedAt: number;
}

/** Test double for the server core. */
class FakeHost implements ScheduleHost {
  readonly workflows: FakeWorkflow[] = [];
  readonly logs: string[] = [];
  persisted = 0;
  private listeners: Array<(ns: string, wid: string, rid: string, status: number) => void> = [];
  private seq = 0;

  constructor(private readonly clock: Clock) {}

  async startWorkflow(_namespace: string, request: StartRequest): Promise<{ runId: string }> {
    const id = request.workflowId ?? '';
    if (this.workflows.some((w) => w.workflowId === id && w.running)) {
      throw new Error(`workflow ${id} already running`);
    }
    const runId = `run-${++this.seq}`;
    this.workflows.push({ workflowId: id, runId, running: true, request, startedAt: this.clock.now() });
    return { runId };
  }

  isWorkflowRunning(_namespace: string, workflowId: string, runId: string): boolean {
    return this.workflows.some((w) => w.workflowId === workflowId && w.runId === runId && w.running);
  }

  onWorkflowClosed(listener: (ns: string, wid: string, rid: string, status: number) => void): void {
    this.listeners.push(listener);
  }

  persist(): void {
    this.persisted++;
  }

  log(level: string, msg: string): void {
    this.logs.push(`${level}: ${msg}`);
  }

  close(workflowId: string, status: number = Status.WORKFLOW_EXECUTION_STATUS_COMPLETED): void {
    const wf = this.workflows.find((w) => w.workflowId === workflowId && w.running);
    assert.ok(wf, `no running workflow ${workflowId}`);
    wf.running = false;
    for (const l of this.listeners) l('default', wf.workflowId, wf.runId, status);
  }

  ids(): string[] {
    return this.workflows.map((w) => w.workflowId);
  }
}

const T0 = Date.parse('2026-11-21T10:00:03Z');
const at = (iso: string): number => Date.parse(iso);

function setup(start = T0) {
  const clock = new FakeClock(start);
  const host = new FakeHost(clock);
  const manager = new ScheduleManager(host, { clock });
  const settle = () => manager.idle();
  const advanceTo = (iso: string) => clock.advanceTo(at(iso), settle);
  return { clock, host, manager, settle, advanceTo };
}

const seconds = (s: number) => ({ seconds: s });

function createRequest(
  scheduleId: string,
  opts: {
    spec?: temporal.api.schedule.v1.IScheduleSpec;
    overlap?: number;
    paused?: boolean;
    remainingActions?: number;
    catchupWindowSec?: number;
    searchAttributes?: Record<string, unknown>;
    workflowId?: string;
  } = {},
): temporal.api.workflowservice.v1.ICreateScheduleRequest {
  const enc = new TextEncoder();
  return {
    namespace: 'default',
    scheduleId,
    requestId: `req-${scheduleId}`,
    schedule: {
      spec: opts.spec ?? { interval: [{ interval: seconds(10) as never }] },
      action: {
        startWorkflow: {
          workflowId: opts.workflowId ?? 'wf',
          workflowType: { name: 'migrateTable' },
          taskQueue: { name: 'migrations' },
          input: {
            payloads: [{ metadata: { encoding: enc.encode('json/plain') }, data: enc.encode('"x"') }],
          },
          searchAttributes: {
            indexedFields: {
              MigrationId: {
                metadata: { encoding: enc.encode('json/plain'), type: enc.encode('Keyword') },
                data: enc.encode('"m-1"'),
              },
            },
          },
        },
      },
      policies: {
        overlapPolicy: opts.overlap ?? Overlap.SCHEDULE_OVERLAP_POLICY_UNSPECIFIED,
        ...(opts.catchupWindowSec ? { catchupWindow: seconds(opts.catchupWindowSec) as never } : {}),
      },
      state: {
        paused: opts.paused ?? false,
        ...(opts.remainingActions !== undefined
          ? { limitedActions: true, remainingActions: opts.remainingActions as never }
          : {}),
      },
    },
    ...(opts.searchAttributes
      ? {
          searchAttributes: {
            indexedFields: Object.fromEntries(
              Object.entries(opts.searchAttributes).map(([k, v]) => [
                k,
                {
                  metadata: { encoding: enc.encode('json/plain'), type: enc.encode('Keyword') },
                  data: enc.encode(JSON.stringify(v)),
                },
              ]),
            ),
          },
        }
      : {}),
  };
}

const tsIso = (t: google.protobuf.ITimestamp | null | undefined): string => {
  assert.ok(t);
  return new Date(Number(t.seconds) * 1000 + Math.floor((t.nanos ?? 0) / 1e6))
    .toISOString()
    .replace('.000Z', 'Z');
};

const decode = (
  p: temporal.api.common.v1.IPayload | undefined,
): { data: unknown; type: string; encoding: string } => {
  assert.ok(p);
  const d = new TextDecoder();
  return {
    data: JSON.parse(d.decode(p.data ?? new Uint8Array())) as unknown,
    type: d.decode(p.metadata?.['type'] ?? new Uint8Array()),
    encoding: d.decode(p.metadata?.['encoding'] ?? new Uint8Array()),
  };
};

async function expectError(p: Promise<unknown>, name: string, message?: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof Error);
    assert.equal(err.name, name);
    if (message) assert.match(err.message, message);
    return true;
  });
}

describe('ScheduleManager: interval schedules', () => {
  it('starts workflows at the interval with timestamped ids and scheduled-by search attributes', async () => {
    const { host, manager, advanceTo } = setup();
    const created = await manager.createSchedule(createRequest('nightly'));
    assert.equal(created.conflictToken.length, 8);

    let d = await manager.describeSchedule({ namespace: 'default', scheduleId: 'nightly' });
    assert.deepEqual(d.info?.futureActionTimes?.slice(0, 3).map(tsIso), [
      '2026-11-21T10:00:10Z',
      '2026-11-21T10:00:20Z',
      '2026-11-21T10:00:30Z',
    ]);
    assert.equal(d.info?.futureActionTimes?.length, 10);
    assert.equal(tsIso(d.info?.createTime), '2026-11-21T10:00:03Z');
    assert.equal(d.schedule?.policies?.overlapPolicy, Overlap.SCHEDULE_OVERLAP_POLICY_SKIP);
    assert.equal(Number(d.schedule?.policies?.catchupWindow?.seconds), 365 * 24 * 3600);
    assert.equal(Number(d.schedule?.spec?.interval?.[0]?.interval?.seconds), 10);

    await advanceTo('2026-11-21T10:00:09Z');
    assert.deepEqual(host.ids(), []);
    await advanceTo('2026-11-21T10:00:10Z');
    assert.deepEqual(host.ids(), ['wf-2026-11-21T10:00:10Z']);

    const req = host.workflows[0]?.request;
    assert.ok(req);
    assert.equal(req.workflowType?.name, 'migrateTable');
    assert.equal(req.taskQueue?.name, 'migrations');
    assert.equal(req.namespace, 'default');
    assert.equal(req.identity, 'temporal-scheduler-default-nightly');
    assert.equal(req.input?.payloads?.length, 1);
    const fields = req.searchAttributes?.indexedFields ?? {};
    assert.deepEqual(decode(fields['TemporalScheduledById']), {
      data: 'nightly',
      type: 'Keyword',
      encoding: 'json/plain',
    });
    assert.deepEqual(decode(fields['TemporalScheduledStartTime']), {
      data: '2026-11-21T10:00:10Z',
      type: 'Datetime',
      encoding: 'json/plain',
    });
    assert.equal(decode(fields['MigrationId']).data, 'm-1');

    d = await manager.describeSchedule({ namespace: 'default', scheduleId: 'nightly' });
    assert.equal(Number(d.info?.actionCount), 1);
    assert.deepEqual(
      d.info?.runningWorkflows?.map((w) => [w.workflowId, w.runId]),
      [['wf-2026-11-21T10:00:10Z', 'run-1']],
    );
    const recent = d.info?.recentActions?.[0];
    assert.equal(tsIso(recent?.scheduleTime), '2026-11-21T10:00:10Z');
    assert.equal(recent?.startWorkflowResult?.workflowId, 'wf-2026-11-21T10:00:10Z');
    assert.equal(recent?.startWorkflowStatus, Status.WORKFLOW_EXECUTION_STATUS_RUNNING);
    assert.equal(tsIso(d.info?.futureActionTimes?.[0]), '2026-11-21T10:00:20Z');

    host.close('wf-2026-11-21T10:00:10Z');
    await advanceTo('2026-11-21T10:00:20Z');
    assert.deepEqual(host.ids(), ['wf-2026-11-21T10:00:10Z', 'wf-2026-11-21T10:00:20Z']);
    d = await manager.describeSchedule({ namespace: 'default', scheduleId: 'nightly' });
    assert.equal(d.info?.recentActions?.[0]?.startWorkflowStatus, Status.WORKFLOW_EXECUTION_STATUS_COMPLETED);
    assert.ok(host.persisted > 0);
    manager.stop();
  });

  it('interval phase (offset) shifts fire times', async () => {
    const { manager } = setup();
    await manager.createSchedule(
      createRequest('phased', {
        spec: { interval: [{ interval: seconds(60) as never, phase: seconds(15) as never }] },
      }),
    );
    const d = await manager.describeSchedule({ namespace: 'default', scheduleId: 'phased' });
    assert.deepEqual(d.info?.futureActionTimes?.slice(0, 2).map(tsIso), [
      '2026-11-21T10:00:15Z',
      '2026-11-21T10:01:15Z',
    ]);
    manager.stop();
  });

  it('SKIP: fires while the previous workflow runs are skipped and counted', async () => {
    const { host, manager, advanceTo } = setup();
    await manager.createSchedule(createRequest('skip'));
    await advanceTo('2026-11-21T10:00:40Z');
    assert.deepEqual(host.ids(), ['wf-2026-11-21T10:00:10Z']);
    let d = await manager.describeSchedule({ namespace: 'default', scheduleId: 'skip' });
    assert.equal(Number(d.info?.overlapSkipped), 3);
    assert.equal(Number(d.info?.bufferSize), 0);
    host.close('wf-2026-11-21T10:00:10Z');
    await advanceTo('2026-11-21T10:00:45Z');
    assert.equal(host.workflows.length, 1, 'closing does not start a skipped one');
    await advanceTo('2026-11-21T10:00:50Z');
    assert.deepEqual(host.ids(), ['wf-2026-11-21T10:00:10Z', 'wf-2026-11-21T10:00:50Z']);
    d = await manager.describeSchedule({ namespace: 'default', scheduleId: 'skip' });
    assert.equal(Number(d.info?.actionCount), 2);
    manager.stop();
  });

  it('BUFFER_ONE: one overlapping fire waits and starts when the running one closes', async () => {
    const { host, manager, advanceTo } = setup();
    await manager.createSchedule(
      createRequest('buf', { overlap: Overlap.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE }),
    );
    await advanceTo('2026-11-21T10:00:30Z');
    assert.deepEqual(host.ids(), ['wf-2026-11-21T10:00:10Z']);
    const d = await manager.describeSchedule({ namespace: 'default', scheduleId: 'buf' });
    assert.equal(Number(d.info?.bufferSize), 1);
    assert.equal(Number(d.info?.overlapSkipped), 1);
    await advanceTo('2026-11-21T10:00:33Z');
    host.close('wf-2026-11-21T10:00:10Z');
    await manager.idle();
    // The buffered start keeps its nominal time (10:00:20) in the id, though it starts at :33.
    assert.deepEqual(host.ids(), ['wf-2026-11-21T10:00:10Z', 'wf-2026-11-21T10:00:20Z']);
    assert.equal(host.workflows[1]?.startedAt, at('2026-11-21T10:00:33Z'));
    manager.stop();
  });

  it('ALLOW_ALL: every fire starts even while others run', async () => {
    const { host, manager, advanceTo } = setup();
    await manager.createSchedule(
      createRequest('all', { overlap: Overlap.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL }),
    );
    await advanceTo('2026-11-21T10:00:30Z');
    assert.deepEqual(host.ids(), [
      'wf-2026-11-21T10:00:10Z',
      'wf-2026-11-21T10:00:20Z',
      'wf-2026-11-21T10:00:30Z',
    ]);
    assert.ok(host.workflows.every((w) => w.running));
    manager.stop();
  });

  it('limited actions: stops after remainingActions runs out', async () => {
    const { host, manager, advanceTo } = setup();
    await manager.createSchedule(
      createRequest('limited', { overlap: Overlap.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL, remainingActions: 2 }),
    );
    let d = await manager.describeSchedule({ namespace: 'default', scheduleId: 'limited' });
    assert.equal(d.info?.futureActionTimes?.length, 2);
    await advanceTo('2026-11-21T10:01:00Z');
    assert.deepEqual(host.ids(), ['wf-2026-11-21T10:00:10Z', 'wf-2026-11-21T10:00:20Z']);
    d = await manager.describeSchedule({ namespace: 'default', scheduleId: 'limited' });
    assert.equal(d.schedule?.state?.limitedActions, true);
    assert.equal(Number(d.schedule?.state?.remainingActions), 0);
    assert.equal(d.info?.futureActionTimes?.length, 0);
    manager.stop();
  });

  it('startTime/endTime bound the fire times', async () => {
    const { manager } = setup();
    await manager.createSchedule(
      createRequest('bounded', {
        spec: {
          interval: [{ interval: seconds(60) as never }],
          startTime: { seconds: at('2026-11-21T11:00:00Z') / 1000 } as never,
          endTime: { seconds: at('2026-11-21T11:02:30Z') / 1000 } as never,
        },
      }),
    );
    const d = await manager.describeSchedule({ namespace: 'default', scheduleId: 'bounded' });
    assert.deepEqual(d.info?.futureActionTimes?.map(tsIso), [
      '2026-11-21T11:00:00Z',
      '2026-11-21T11:01:00Z',
      '2026-11-21T11:02:00Z',
    ]);
    manager.stop();
  });
});

describe('ScheduleManager: patch, update, delete', () => {
  it('pause stops firing with notes; unpause resumes without catching up paused time', async () => {
    const { host, manager, advanceTo } = setup();
    await manager.createSchedule(createRequest('p', { overlap: Overlap.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL }));
    const before = await manager.describeSchedule({ namespace: 'default', scheduleId: 'p' });
    await manager.patchSchedule({ namespace: 'default', scheduleId: 'p', patch: { pause: 'maintenance' } });
    let d = await manager.describeSchedule({ namespace: 'default', scheduleId: 'p' });
    assert.equal(d.schedule?.state?.paused, true);
    assert.equal(d.schedule?.state?.notes, 'maintenance');
    assert.notDeepEqual(d.conflictToken, before.conflictToken);
    await advanceTo('2026-11-21T10:01:05Z');
    assert.deepEqual(host.ids(), []);

    await manager.patchSchedule({ namespace: 'default', scheduleId: 'p', patch: { unpause: 'done' } });
    d = await manager.describeSchedule({ namespace: 'default', scheduleId: 'p' });
    assert.equal(d.schedule?.state?.paused, false);
    assert.equal(d.schedule?.state?.notes, 'done');
    assert.equal(tsIso(d.info?.futureActionTimes?.[0]), '2026-11-21T10:01:10Z');
    await advanceTo('2026-11-21T10:01:10Z');
    assert.deepEqual(host.ids(), ['wf-2026-11-21T10:01:10Z']);
    manager.stop();
  });

  it('created paused: nothing fires until unpaused', async () => {
    const { host, manager, advanceTo } = setup();
    await manager.createSchedule(createRequest('cp', { paused: true }));
    await advanceTo('2026-11-21T10:00:30Z');
    assert.deepEqual(host.ids(), []);
    manager.stop();
  });

  it('trigger starts now and respects the overlap policy given in the patch', async () => {
    const { host, manager, advanceTo } = setup();
    await manager.createSchedule(
      createRequest('t', { spec: { interval: [{ interval: seconds(3600) as never }] } }),
    );
    await manager.patchSchedule({
      namespace: 'default',
      scheduleId: 't',
      patch: { triggerImmediately: { overlapPolicy: Overlap.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL } },
    });
    assert.deepEqual(host.ids(), ['wf-2026-11-21T10:00:03Z']);
    assert.equal(
      decode(host.workflows[0]?.request.searchAttributes?.indexedFields?.['TemporalScheduledStartTime']).data,
      '2026-11-21T10:00:03Z',
    );
    // SKIP while a (tracked) run is going: the trigger is skipped.
    await advanceTo('2026-11-21T10:00:05Z');
    await manager.patchSchedule({
      namespace: 'default',
      scheduleId: 't',
      patch: { triggerImmediately: { overlapPolicy: Overlap.SCHEDULE_OVERLAP_POLICY_SKIP } },
    });
    assert.deepEqual(host.ids(), ['wf-2026-11-21T10:00:03Z', 'wf-2026-11-21T10:00:05Z']);
    await advanceTo('2026-11-21T10:00:07Z');
    await manager.patchSchedule({
      namespace: 'default',
      scheduleId: 't',
      patch: { triggerImmediately: { overlapPolicy: Overlap.SCHEDULE_OVERLAP_POLICY_SKIP } },
    });
    assert.equal(host.workflows.length, 2);
    const d = await manager.describeSchedule({ namespace: 'default', scheduleId: 't' });
    assert.equal(Number(d.info?.overlapSkipped), 1);
    assert.equal(Number(d.info?.actionCount), 2);
    manager.stop();
  });

  it('backfill starts one workflow per matching time in the range (inclusive start)', async () => {
    const { host, manager } = setup();
    await manager.createSchedule(
      createRequest('bf', { spec: { interval: [{ interval: seconds(60) as never }] } }),
    );
    await manager.patchSchedule({
      namespace: 'default',
      scheduleId: 'bf',
      patch: {
        backfillRequest: [
          {
            startTime: { seconds: at('2026-11-21T09:00:00Z') / 1000 } as never,
            endTime: { seconds: at('2026-11-21T09:02:30Z') / 1000 } as never,
            overlapPolicy: Overlap.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL,
          },
        ],
      },
    });
    assert.deepEqual(host.ids(), [
      'wf-2026-11-21T09:00:00Z',
      'wf-2026-11-21T09:01:00Z',
      'wf-2026-11-21T09:02:00Z',
    ]);
    manager.stop();
  });

  it('update replaces spec, policies and state; conflicting token is ignored', async () => {
    const { host, manager, advanceTo } = setup();
    await manager.createSchedule(createRequest('u'));
    const d0 = await manager.describeSchedule({ namespace: 'default', scheduleId: 'u' });
    const req = createRequest('u', {
      spec: { interval: [{ interval: seconds(60) as never }] },
      overlap: Overlap.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE,
    });
    await manager.updateSchedule({ namespace: 'default', scheduleId: 'u', schedule: req.schedule ?? null });
    let d = await manager.describeSchedule({ namespace: 'default', scheduleId: 'u' });
    assert.equal(Number(d.schedule?.spec?.interval?.[0]?.interval?.seconds), 60);
    assert.equal(d.schedule?.policies?.overlapPolicy, Overlap.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE);
    assert.ok(d.info?.updateTime);
    assert.deepEqual(d.info?.futureActionTimes?.slice(0, 1).map(tsIso), ['2026-11-21T10:01:00Z']);

    // Stale token (from before the update): the update is dropped, like the official server.
    const stale = createRequest('u', { spec: { interval: [{ interval: seconds(5) as never }] } });
    await manager.updateSchedule({
      namespace: 'default',
      scheduleId: 'u',
      schedule: stale.schedule ?? null,
      conflictToken: d0.conflictToken,
    });
    d = await manager.describeSchedule({ namespace: 'default', scheduleId: 'u' });
    assert.equal(Number(d.schedule?.spec?.interval?.[0]?.interval?.seconds), 60);

    await advanceTo('2026-11-21T10:00:59Z');
    assert.deepEqual(host.ids(), []);
    await advanceTo('2026-11-21T10:01:00Z');
    assert.deepEqual(host.ids(), ['wf-2026-11-21T10:01:00Z']);
    manager.stop();
  });

  it('delete stops firing and later calls say NotFound', async () => {
    const { clock, host, manager, advanceTo } = setup();
    await manager.createSchedule(createRequest('gone'));
    assert.equal(clock.pending().length, 1);
    await manager.deleteSchedule({ namespace: 'default', scheduleId: 'gone' });
    assert.equal(clock.pending().length, 0);
    await advanceTo('2026-11-21T10:05:00Z');
    assert.deepEqual(host.ids(), []);
    await expectError(manager.describeSchedule({ namespace: 'default', scheduleId: 'gone' }), 'NotFound');
    await expectError(manager.deleteSchedule({ namespace: 'default', scheduleId: 'gone' }), 'NotFound');
    await expectError(
      manager.patchSchedule({ namespace: 'default', scheduleId: 'gone', patch: { pause: 'x' } }),
      'NotFound',
    );
    manager.stop();
  });

  it('pauseOnFailure pauses the schedule when a started workflow fails', async () => {
    const { host, manager, advanceTo } = setup();
    const req = createRequest('pof');
    req.schedule = { ...req.schedule, policies: { pauseOnFailure: true } };
    await manager.createSchedule(req);
    await advanceTo('2026-11-21T10:00:10Z');
    host.close('wf-2026-11-21T10:00:10Z', Status.WORKFLOW_EXECUTION_STATUS_FAILED);
    await manager.idle();
    const d = await manager.describeSchedule({ namespace: 'default', scheduleId: 'pof' });
    assert.equal(d.schedule?.state?.paused, true);
    assert.match(d.schedule?.state?.notes ?? '', /paused due to workflow failure: wf-2026-11-21T10:00:10Z/);
    manager.stop();
  });
});

describe('ScheduleManager: calendars and cron', () => {
  it('cron strings are canonicalised to structured calendars and match UTC times', async () => {
    const { manager } = setup();
    await manager.createSchedule(createRequest('cron', { spec: { cronString: ['30 12 * * MON-FRI'] } }));
    const d = await manager.describeSchedule({ namespace: 'default', scheduleId: 'cron' });
    const spec = d.schedule?.spec;
    assert.equal(spec?.cronString?.length ?? 0, 0);
    const cal = spec?.structuredCalendar?.[0];
    assert.deepEqual(
      cal?.minute?.map((r) => [r.start, r.end, r.step]),
      [[30, 30, 1]],
    );
    assert.deepEqual(
      cal?.hour?.map((r) => [r.start, r.end, r.step]),
      [[12, 12, 1]],
    );
    assert.deepEqual(
      cal?.dayOfWeek?.map((r) => [r.start, r.end, r.step]),
      [[1, 5, 1]],
    );
    // 2026-11-21 is a Saturday.
    assert.deepEqual(d.info?.futureActionTimes?.slice(0, 3).map(tsIso), [
      '2026-11-23T12:30:00Z',
      '2026-11-24T12:30:00Z',
      '2026-11-25T12:30:00Z',
    ]);
    manager.stop();
  });

  it('structured calendars as the SDK sends them, with excludes', async () => {
    const { manager } = setup();
    const every = (start: number, end: number) => [{ start, end, step: 1 }];
    await manager.createSchedule(
      createRequest('cal', {
        spec: {
          structuredCalendar: [
            {
              second: [{ start: 0 }],
              minute: [{ start: 0 }],
              hour: [{ start: 9 }, { start: 17 }],
              dayOfMonth: every(1, 31),
              month: every(1, 12),
              dayOfWeek: every(0, 6),
            },
          ],
          excludeStructuredCalendar: [
            {
              second: every(0, 59),
              minute: every(0, 59),
              hour: every(0, 23),
              dayOfMonth: [{ start: 22 }],
              month: every(1, 12),
              dayOfWeek: every(0, 6),
            },
          ],
        },
      }),
    );
    const d = await manager.describeSchedule({ namespace: 'default', scheduleId: 'cal' });
    assert.deepEqual(d.info?.futureActionTimes?.slice(0, 3).map(tsIso), [
      '2026-11-21T17:00:00Z',
      '2026-11-23T09:00:00Z',
      '2026-11-23T17:00:00Z',
    ]);
    manager.stop();
  });

  it('cron with a time zone, @every and @daily; listScheduleMatchingTimes', async () => {
    const { manager } = setup();
    await manager.createSchedule(
      createRequest('tz', { spec: { cronString: ['CRON_TZ=America/New_York 0 9 * * *'] } }),
    );
    const tz = await manager.listScheduleMatchingTimes({
      namespace: 'default',
      scheduleId: 'tz',
      startTime: { seconds: at('2026-10-31T00:00:00Z') / 1000 } as never,
      endTime: { seconds: at('2026-11-03T00:00:00Z') / 1000 } as never,
    });
    // US daylight saving ends on 2026-11-01.
    assert.deepEqual(tz.startTime.map(tsIso), [
      '2026-10-31T13:00:00Z',
      '2026-11-01T14:00:00Z',
      '2026-11-02T14:00:00Z',
    ]);
    const described = await manager.describeSchedule({ namespace: 'default', scheduleId: 'tz' });
    assert.equal(described.schedule?.spec?.timezoneName, 'America/New_York');

    await manager.createSchedule(createRequest('every', { spec: { cronString: ['@every 90m'] } }));
    const ev = await manager.describeSchedule({ namespace: 'default', scheduleId: 'every' });
    assert.equal(Number(ev.schedule?.spec?.interval?.[0]?.interval?.seconds), 5400);
    assert.equal(tsIso(ev.info?.futureActionTimes?.[0]), '2026-11-21T10:30:00Z');

    await manager.createSchedule(createRequest('daily', { spec: { cronString: ['@daily'] } }));
    const daily = await manager.describeSchedule({ namespace: 'default', scheduleId: 'daily' });
    assert.equal(tsIso(daily.info?.futureActionTimes?.[0]), '2026-11-22T00:00:00Z');
    manager.stop();
  });

  it('calendar strings (CalendarSpec) are parsed like the official server', async () => {
    const { manager } = setup();
    await manager.createSchedule(
      createRequest('calstr', {
        spec: { calendar: [{ hour: '8-18/5', minute: '15', dayOfWeek: 'sat,7', comment: 'weekend' }] },
      }),
    );
    const d = await manager.describeSchedule({ namespace: 'default', scheduleId: 'calstr' });
    assert.deepEqual(d.info?.futureActionTimes?.slice(0, 4).map(tsIso), [
      '2026-11-21T13:15:00Z',
      '2026-11-21T18:15:00Z',
      '2026-11-22T08:15:00Z',
      '2026-11-22T13:15:00Z',
    ]);
    assert.equal(d.schedule?.spec?.structuredCalendar?.[0]?.comment, 'weekend');
    manager.stop();
  });
});

describe('ScheduleManager: errors, list, persistence', () => {
  it('errors: AlreadyExists, NotFound, InvalidArgument with the spec prefix the SDK expects', async () => {
    const { manager } = setup();
    await manager.createSchedule(createRequest('dup'));
    // Same request id is an idempotent retry.
    await manager.createSchedule(createRequest('dup'));
    await expectError(
      manager.createSchedule({ ...createRequest('dup'), requestId: 'other' }),
      'AlreadyExists',
    );
    await expectError(manager.describeSchedule({ namespace: 'default', scheduleId: 'nope' }), 'NotFound');
    await expectError(
      manager.createSchedule(
        createRequest('bad1', { spec: { interval: [{ interval: { nanos: 500_000_000 } }] } }),
      ),
      'InvalidArgument',
      /^Invalid schedule spec: interval is too small/,
    );
    await expectError(
      manager.createSchedule(createRequest('bad2', { spec: { cronString: ['61 * * * *'] } })),
      'InvalidArgument',
      /^Invalid schedule spec: Minute is not in range \[0-59\]/,
    );
    await expectError(
      manager.createSchedule(createRequest('bad3', { spec: { cronString: ['* * *'] } })),
      'InvalidArgument',
      /does not have 5-7 fields/,
    );
    await expectError(
      manager.createSchedule(createRequest('bad4', { spec: { timezoneName: 'Mars/Olympus' } })),
      'InvalidArgument',
      /unknown time zone/,
    );
    const noType = createRequest('bad5');
    noType.schedule = {
      ...noType.schedule,
      action: { startWorkflow: { workflowId: 'x', taskQueue: { name: 'q' } } },
    };
    await expectError(manager.createSchedule(noType), 'InvalidArgument', /WorkflowType is not set/);
    manager.stop();
  });

  it('list returns entries with info, filters by query and pages', async () => {
    const { manager } = setup();
    await manager.createSchedule(createRequest('a', { searchAttributes: { Team: 'db' } }));
    await manager.createSchedule(createRequest('b', { paused: true }));
    await manager.createSchedule(createRequest('c', { searchAttributes: { Team: 'web' } }));
    const all = await manager.listSchedules({ namespace: 'default' });
    assert.deepEqual(all.schedules.map((s) => s.scheduleId).sort(), ['a', 'b', 'c']);
    const a = all.schedules.find((s) => s.scheduleId === 'a');
    assert.equal(a?.info?.workflowType?.name, 'migrateTable');
    assert.equal(a?.info?.futureActionTimes?.length, 5);
    assert.equal(Number(a?.info?.spec?.interval?.[0]?.interval?.seconds), 10);
    assert.equal(all.schedules.find((s) => s.scheduleId === 'b')?.info?.paused, true);

    const q = async (query: string) =>
      (await manager.listSchedules({ namespace: 'default', query })).schedules
        .map((s) => s.scheduleId)
        .sort();
    assert.deepEqual(await q(`ScheduleId = 'a'`), ['a']);
    assert.deepEqual(await q(`TemporalSchedulePaused = true`), ['b']);
    assert.deepEqual(await q(`Team = 'web'`), ['c']);
    await expectError(manager.listSchedules({ namespace: 'default', query: 'Nope = 1' }), 'InvalidArgument');

    const page1 = await manager.listSchedules({ namespace: 'default', maximumPageSize: 2 });
    assert.equal(page1.schedules.length, 2);
    assert.ok(page1.nextPageToken.length > 0);
    const page2 = await manager.listSchedules({
      namespace: 'default',
      maximumPageSize: 2,
      nextPageToken: page1.nextPageToken,
    });
    assert.equal(page2.schedules.length, 1);
    assert.equal(page2.nextPageToken.length, 0);
    assert.equal((await manager.listSchedules({ namespace: 'other' })).schedules.length, 0);
    manager.stop();
  });

  it('snapshot/restore keeps schedules, state and the next fire time', async () => {
    const first = setup();
    await first.manager.createSchedule(
      createRequest('keep', { overlap: Overlap.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL }),
    );
    await first.manager.patchSchedule({ namespace: 'default', scheduleId: 'keep', patch: { pause: 'x' } });
    await first.manager.patchSchedule({ namespace: 'default', scheduleId: 'keep', patch: { unpause: 'y' } });
    await first.advanceTo('2026-11-21T10:00:10Z');
    const before = await first.manager.describeSchedule({ namespace: 'default', scheduleId: 'keep' });
    const json = JSON.stringify(first.manager.snapshot());
    first.manager.stop();

    // Restart 2 s later: nothing was missed, the next fire is still 10:00:20.
    const second = setup(at('2026-11-21T10:00:12Z'));
    second.manager.restore(JSON.parse(json));
    const after = await second.manager.describeSchedule({ namespace: 'default', scheduleId: 'keep' });
    assert.deepEqual(after.info?.futureActionTimes?.map(tsIso), before.info?.futureActionTimes?.map(tsIso));
    assert.equal(after.schedule?.state?.notes, 'y');
    assert.equal(Number(after.info?.actionCount), 1);
    assert.equal(tsIso(after.info?.createTime), '2026-11-21T10:00:03Z');
    assert.deepEqual(after.conflictToken, before.conflictToken);
    assert.deepEqual(
      after.schedule?.action?.startWorkflow?.input?.payloads?.[0]?.data,
      before.schedule?.action?.startWorkflow?.input?.payloads?.[0]?.data,
    );
    assert.deepEqual(second.clock.pending(), [at('2026-11-21T10:00:20Z')]);
    await second.advanceTo('2026-11-21T10:00:20Z');
    assert.deepEqual(second.host.ids(), ['wf-2026-11-21T10:00:20Z']);
    second.manager.stop();
  });

  it('after downtime, at most the most recent missed action runs (within the catchup window)', async () => {
    const first = setup();
    await first.manager.createSchedule(
      createRequest('late', { overlap: Overlap.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL }),
    );
    await first.manager.createSchedule(
      createRequest('strict', {
        spec: { interval: [{ interval: seconds(60) as never }] },
        overlap: Overlap.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL,
        catchupWindowSec: 10,
        workflowId: 'st',
      }),
    );
    const json = JSON.stringify(first.manager.snapshot());
    first.manager.stop();

    // Down from 10:00:03 to 10:05:05: 30 fires of 'late' and 5 of 'strict' were missed.
    const second = setup(at('2026-11-21T10:05:05Z'));
    second.manager.restore(JSON.parse(json));
    await second.advanceTo('2026-11-21T10:05:05Z');
    assert.deepEqual(second.host.ids().sort(), ['st-2026-11-21T10:05:00Z', 'wf-2026-11-21T10:05:00Z']);
    second.manager.stop();

    // Down until 10:05:25: 'strict' last fired 25 s ago, outside its 10 s window.
    const third = setup(at('2026-11-21T10:05:25Z'));
    third.manager.restore(JSON.parse(json));
    await third.advanceTo('2026-11-21T10:05:25Z');
    assert.deepEqual(third.host.ids(), ['wf-2026-11-21T10:05:20Z']);
    const missed = await third.manager.describeSchedule({ namespace: 'default', scheduleId: 'strict' });
    assert.equal(Number(missed.info?.missedCatchupWindow), 1);
    assert.equal(Number(missed.info?.actionCount), 0);
    assert.equal(tsIso(missed.info?.futureActionTimes?.[0]), '2026-11-21T10:06:00Z');
    await third.advanceTo('2026-11-21T10:06:00Z');
    assert.deepEqual(third.host.ids().slice(-2).sort(), [
      'st-2026-11-21T10:06:00Z',
      'wf-2026-11-21T10:06:00Z',
    ]);
    third.manager.stop();
  });
});
