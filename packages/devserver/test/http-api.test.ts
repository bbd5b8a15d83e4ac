/**
 * The HTTP API of the UI port (what Temporal Web UI calls), against workflows the real SDK worker runs:
 * protojson shapes, list/count (GROUP BY), describe with a pending activity, history paging and the
 * long poll, query, signal, schedules, search attributes, error shapes and the same-origin rule.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { CompleteAsyncError } from '@temporalio/activity';
import { ScheduleOverlapPolicy } from '@temporalio/client';
import { startEnvWithWorker, uid, type TestEnv } from './helpers.js';

const TQ = 'http-api';
let env: TestEnv;
let api: string;

type Obj = Record<string, unknown>;

async function call(
  path: string,
  init: RequestInit = {},
): Promise<{ status: number; body: Obj; headers: Headers }> {
  const res = await fetch(`${api}${path}`, init);
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Obj) : {}, headers: res.headers };
}

async function get(path: string): Promise<Obj> {
  const r = await call(path);
  assert.equal(r.status, 200, `GET ${path}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

async function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Obj> {
  const r = await call(path, { method: 'POST', body: JSON.stringify(body), headers });
  assert.equal(r.status, 200, `POST ${path}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
const unb64 = (s: string) => Buffer.from(s, 'base64').toString();
/** A JSON payload in the long form the UI sends and reads. */
const jsonPayload = (v: unknown) => ({
  metadata: { encoding: b64('json/plain') },
  data: b64(JSON.stringify(v)),
});
const payloadValue = (p: unknown) => JSON.parse(unb64((p as { data: string }).data)) as unknown;

const wfPath = (id: string) => `/api/v1/namespaces/default/workflows/${encodeURIComponent(id)}`;

before(async () => {
  env = await startEnvWithWorker(
    TQ,
    {
      async asyncComplete() {
        throw new CompleteAsyncError(); // stays pending: the describe test reads it
      },
      async echo(s: string) {
        return s;
      },
    },
    { uiPort: 0 },
  );
  api = env.uiUrl!;
});

after(async () => {
  await env?.stop();
});

test('settings: as the ui-server answers (auth off, writes allowed, a version with current request shapes)', async () => {
  const s = await get('/api/v1/settings');
  assert.deepEqual(s.Auth, { Enabled: false, Options: null });
  assert.equal(s.DisableWriteActions, false);
  assert.equal(s.WorkflowSignalDisabled, false);
  assert.equal(s.DefaultNamespace, 'default');
  assert.equal(s.Version, '2.38.0');
  const ns = await get('/api/v1/namespaces/default');
  assert.equal((ns.namespaceInfo as Obj).name, 'default');
  assert.equal((ns.config as Obj).workflowExecutionRetentionTtl, '86400s', 'Duration as a string');
});

test('list and count: protojson executions, paging, GROUP BY ExecutionStatus', async () => {
  const type = 'counterWorkflow';
  const ids = [uid('list-a'), uid('list-b'), uid('list-c')];
  for (const id of ids) await env.client.workflow.start(type, { taskQueue: TQ, workflowId: id, args: [0] });
  const done = uid('list-done');
  await env.client.workflow.execute('echoWorkflow', { taskQueue: TQ, workflowId: done, args: ['x'] });

  const q = encodeURIComponent(
    `WorkflowType = '${type}' AND WorkflowId IN (${ids.map((i) => `'${i}'`).join(',')})`,
  );
  const page1 = await get(`/api/v1/namespaces/default/workflows?query=${q}&pageSize=2`);
  const first = page1.executions as Obj[];
  assert.equal(first.length, 2);
  assert.ok(typeof page1.nextPageToken === 'string' && page1.nextPageToken.length > 0, 'bytes as base64');
  const e = first[0];
  assert.equal((e.type as Obj).name, type);
  assert.equal(e.status, 'WORKFLOW_EXECUTION_STATUS_RUNNING', 'enum by name');
  assert.match(String(e.startTime), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/, 'Timestamp as RFC 3339');
  assert.equal(typeof e.historyLength, 'string', 'int64 as a string');
  assert.equal((e.taskQueue as string) ?? TQ, TQ);
  // The next page, with the snake_case parameter name.
  const page2 = await get(
    `/api/v1/namespaces/default/workflows?query=${q}&page_size=2&next_page_token=${encodeURIComponent(String(page1.nextPageToken))}`,
  );
  const all = [...first, ...(page2.executions as Obj[])].map((x) => (x.execution as Obj).workflowId);
  assert.deepEqual(new Set(all), new Set(ids));

  const count = await get(`/api/v1/namespaces/default/workflow-count?query=${q}`);
  assert.equal(count.count, '3');
  const groupQ = encodeURIComponent(`WorkflowId IN ('${ids[0]}','${done}') GROUP BY ExecutionStatus`);
  const grouped = await get(`/api/v1/namespaces/default/workflow-count?query=${groupQ}`);
  assert.equal(grouped.count, '2');
  const groups = (grouped.groups as Obj[]).map((g) => [payloadValue((g.groupValues as Obj[])[0]), g.count]);
  assert.deepEqual(
    new Map(groups as [string, string][]),
    new Map([
      ['Running', '1'],
      ['Completed', '1'],
    ]),
  );
});

test('describe: execution info and the pending activity', async () => {
  const id = uid('describe');
  const handle = await env.client.workflow.start('asyncCompletionWorkflow', {
    taskQueue: TQ,
    workflowId: id,
    args: ['k'],
  });
  let d: Obj = {};
  for (let i = 0; i < 100; i++) {
    d = await get(`${wfPath(id)}?execution.runId=${handle.firstExecutionRunId}`);
    if (((d.pendingActivities as Obj[] | undefined) ?? []).length) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const info = d.workflowExecutionInfo as Obj;
  assert.equal((info.execution as Obj).runId, handle.firstExecutionRunId);
  assert.equal((info.type as Obj).name, 'asyncCompletionWorkflow');
  const [pending] = d.pendingActivities as Obj[];
  assert.equal((pending.activityType as Obj).name, 'asyncComplete');
  assert.equal(pending.state, 'PENDING_ACTIVITY_STATE_STARTED');
  assert.equal(pending.attempt, 1, 'int32 as a number');
  assert.equal(
    (d.executionConfig as Obj).taskQueue && ((d.executionConfig as Obj).taskQueue as Obj).name,
    TQ,
  );
  await handle.terminate('done');
});

test('history: paging with both parameter spellings, long poll woken by a signal sent over HTTP', async () => {
  const id = uid('history');
  const handle = await env.client.workflow.start('counterWorkflow', {
    taskQueue: TQ,
    workflowId: id,
    args: [7],
  });
  await handle.query('total'); // the first workflow task has completed
  const p1 = await get(
    `${wfPath(id)}/history?execution.runId=${handle.firstExecutionRunId}&maximumPageSize=2`,
  );
  const events = (p1.history as Obj).events as Obj[];
  assert.deepEqual(
    events.map((e) => [e.eventId, e.eventType]),
    [
      ['1', 'EVENT_TYPE_WORKFLOW_EXECUTION_STARTED'],
      ['2', 'EVENT_TYPE_WORKFLOW_TASK_SCHEDULED'],
    ],
  );
  const started = events[0].workflowExecutionStartedEventAttributes as Obj;
  const [arg] = (started.input as Obj).payloads as Obj[];
  assert.equal(unb64(String((arg.metadata as Obj).encoding)), 'json/plain', 'payload metadata as base64');
  assert.equal(payloadValue(arg), 7);
  const p2 = await get(
    `${wfPath(id)}/history?maximum_page_size=100&next_page_token=${encodeURIComponent(String(p1.nextPageToken))}`,
  );
  const rest = (p2.history as Obj).events as Obj[];
  assert.equal(rest[0].eventId, '3');
  const after = 2 + rest.length;

  // Long poll from the end: it waits, and the signal (sent as the UI sends it) wakes it.
  const token = Buffer.from(String(after)).toString('base64');
  const t0 = Date.now();
  const poll = call(`${wfPath(id)}/history?waitNewEvent=true&nextPageToken=${encodeURIComponent(token)}`);
  await new Promise((r) => setTimeout(r, 500));
  await post(
    `${wfPath(id)}/signal/bump`,
    { input: { payloads: [jsonPayload(5)] } },
    { 'content-type': 'text/plain' },
  );
  const woken = await poll;
  assert.equal(woken.status, 200);
  assert.ok(Date.now() - t0 >= 500, 'the long poll waited for the new event');
  const newEvents = (woken.body.history as Obj).events as Obj[];
  assert.equal(newEvents[0].eventType, 'EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED');
  assert.equal(
    payloadValue(
      (((newEvents[0].workflowExecutionSignaledEventAttributes as Obj).input as Obj).payloads as Obj[])[0],
    ),
    5,
  );
  assert.equal(await handle.query('total'), 12);
  await handle.signal('finish');
});

test('query: POST with the query type in the path, the result as payloads', async () => {
  const id = uid('query');
  const handle = await env.client.workflow.start('counterWorkflow', {
    taskQueue: TQ,
    workflowId: id,
    args: [3],
  });
  const r = await post(`${wfPath(id)}/query/total`, {
    execution: { runId: handle.firstExecutionRunId },
    query: {},
  });
  assert.equal(payloadValue(((r.queryResult as Obj).payloads as Obj[])[0]), 3);
  await handle.signal('finish');
});

test('signal: only from the same origin', async () => {
  const id = uid('origin');
  const handle = await env.client.workflow.start('counterWorkflow', {
    taskQueue: TQ,
    workflowId: id,
    args: [0],
  });
  const body = JSON.stringify({ input: { payloads: [jsonPayload(1)] } });
  const foreign = await call(`${wfPath(id)}/signal/bump`, {
    method: 'POST',
    body,
    headers: { origin: 'http://evil.example' },
  });
  assert.equal(foreign.status, 403);
  assert.equal(foreign.body.code, 7);
  const crossSite = await call(`${wfPath(id)}/signal/bump`, {
    method: 'POST',
    body,
    headers: { 'sec-fetch-site': 'cross-site' },
  });
  assert.equal(crossSite.status, 403);
  const same = await call(`${wfPath(id)}/signal/bump`, { method: 'POST', body, headers: { origin: api } });
  assert.equal(same.status, 200);
  assert.equal(await handle.query('total'), 1, 'only the same-origin signal arrived');
  await handle.signal('finish');
});

test('schedules: list, describe (spec in protojson), patch (pause) over HTTP', async () => {
  const scheduleId = uid('http-schedule');
  const schedule = await env.client.schedule.create({
    scheduleId,
    spec: { intervals: [{ every: '1h' }] },
    action: { type: 'startWorkflow', workflowType: 'echoWorkflow', taskQueue: TQ, args: ['s'] },
    policies: { overlap: ScheduleOverlapPolicy.SKIP },
  });
  const list = await get('/api/v1/namespaces/default/schedules');
  const entry = (list.schedules as Obj[]).find((s) => s.scheduleId === scheduleId);
  assert.ok(entry, 'the schedule is listed');
  const d = await get(`/api/v1/namespaces/default/schedules/${encodeURIComponent(scheduleId)}`);
  const spec = (d.schedule as Obj).spec as Obj;
  assert.equal(((spec.interval as Obj[])[0] as Obj).interval, '3600s');
  assert.equal((((d.schedule as Obj).policies as Obj) ?? {}).overlapPolicy, 'SCHEDULE_OVERLAP_POLICY_SKIP');
  await post(`/api/v1/namespaces/default/schedules/${encodeURIComponent(scheduleId)}/patch`, {
    patch: { pause: 'paused from the UI' },
  });
  const after = await schedule.describe();
  assert.equal(after.state.paused, true);
  // CountSchedules (the schedules page's counter), with a query on the paused flag.
  const q = (query: string) => `/api/v1/namespaces/default/schedule-count?query=${encodeURIComponent(query)}`;
  assert.ok(Number((await get(q(''))).count) >= 1);
  assert.equal((await get(q(`ScheduleId = '${scheduleId}' AND TemporalSchedulePaused = true`))).count, '1');
  const unpaused = await get(q(`ScheduleId = '${scheduleId}' AND TemporalSchedulePaused = false`));
  assert.equal(unpaused.count ?? '0', '0', 'zero is omitted, as protojson does');
  const viaGrpc = await env.client.workflowService.countSchedules({
    namespace: 'default',
    query: `ScheduleId = '${scheduleId}'`,
  });
  assert.equal(Number(viaGrpc.count), 1);
  assert.equal(after.state.note, 'paused from the UI');
  await schedule.delete();
});

test('search attributes: the registry, and a list filtered by a custom attribute', async () => {
  const sa = await get('/api/v1/namespaces/default/search-attributes');
  assert.equal((sa.customAttributes as Obj).CustomKeywordField, 'INDEXED_VALUE_TYPE_KEYWORD');
  assert.equal((sa.systemAttributes as Obj).ExecutionStatus, 'INDEXED_VALUE_TYPE_KEYWORD');
  const tag = uid('tag');
  const id = uid('sa');
  const handle = await env.client.workflow.start('searchAttributesWorkflow', {
    taskQueue: TQ,
    workflowId: id,
    args: [tag],
  });
  let found: Obj[] = [];
  for (let i = 0; i < 100 && found.length === 0; i++) {
    const r = await get(
      `/api/v1/namespaces/default/workflows?query=${encodeURIComponent(`CustomKeywordField = '${tag}'`)}`,
    );
    found = (r.executions as Obj[] | undefined) ?? [];
    if (!found.length) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(found.length, 1);
  const fields = (found[0].searchAttributes as Obj).indexedFields as Obj;
  assert.deepEqual(payloadValue(fields.CustomKeywordField), [tag]);
  await handle.signal('finish');
});

test('errors: {code, message, details} with the HTTP status of the gRPC code', async () => {
  const missing = await call(wfPath('no-such-workflow'));
  assert.equal(missing.status, 404);
  assert.equal(missing.body.code, 5);
  assert.match(String(missing.body.message), /no-such-workflow/);
  assert.deepEqual(missing.body.details, []);

  const badQuery = await call(`/api/v1/namespaces/default/workflows?query=${encodeURIComponent('Nope ~ 1')}`);
  assert.equal(badQuery.status, 400);
  assert.equal(badQuery.body.code, 3);

  const badJson = await call(`${wfPath('x')}/signal/bump`, { method: 'POST', body: '{not json' });
  assert.equal(badJson.status, 400);
  assert.equal(badJson.body.code, 3);

  const badField = await call(`${wfPath('x')}/signal/bump`, { method: 'POST', body: '{"inptu": {}}' });
  assert.equal(badField.status, 400);
  assert.match(String(badField.body.message), /unknown field "inptu"/);

  const unimplemented = await call('/api/v1/nexus/endpoints');
  assert.equal(unimplemented.status, 501);
  assert.equal(unimplemented.body.code, 12);

  const noRoute = await call('/api/v1/no/such/route');
  assert.equal(noRoute.status, 404);
  assert.equal(noRoute.body.code, 5);

  const wrongVerb = await call('/api/v1/namespaces/default/workflow-count', { method: 'DELETE' });
  assert.equal(wrongVerb.status, 405);

  const exists = await call(wfPath(uid('dup')), {
    method: 'POST',
    body: JSON.stringify({ workflowType: { name: 'counterWorkflow' }, taskQueue: { name: TQ }, input: {} }),
  });
  assert.equal(exists.status, 200, 'StartWorkflowExecution through its POST binding');
  const started = exists.body as { runId: string };
  assert.ok(started.runId);
});
