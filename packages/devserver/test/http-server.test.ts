/**
 * The HTTP layer itself (no engine): a call's wait is capped and ends when the client goes away; the
 * route table comes from the proto bindings; the built UI is served with a single-page-app fallback.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CallContext } from '../src/grpc.js';
import { createLogger } from '../src/log.js';
import { HTTP_CALL_CAP_MS, startHttpApi, type HttpApi } from '../src/http/server.js';
import { buildRoutes, matchRoute } from '../src/http/routes.js';

const WF = 'temporal.api.workflowservice.v1.WorkflowService';
const OP = 'temporal.api.operatorservice.v1.OperatorService';

let http: HttpApi;
let uiDir: string;
let stop!: () => void;
/** What the probe handler saw, per call. */
const seen: Array<{ remainingMs: number; cancelledAfterMs?: number }> = [];

before(async () => {
  uiDir = mkdtempSync(join(tmpdir(), 'ui-build-'));
  mkdirSync(join(uiDir, '_app'));
  writeFileSync(join(uiDir, 'index.html'), '<!doctype html><title>shell</title>');
  writeFileSync(join(uiDir, '_app', 'app.js'), 'export {}');
  const handlers = {
    [WF]: {
      // Waits until cancelled (what a history long poll does when nothing happens).
      async GetWorkflowExecutionHistory(_req: never, ctx: CallContext) {
        const entry: (typeof seen)[number] = { remainingMs: ctx.remainingMs() };
        seen.push(entry);
        const t0 = Date.now();
        await ctx.cancelled;
        entry.cancelledAfterMs = Date.now() - t0;
        return {};
      },
    },
    [OP]: {},
  };
  http = await startHttpApi({
    host: '127.0.0.1',
    port: 0,
    handlers,
    uiDir,
    log: createLogger('error'),
    stopped: new Promise<void>((r) => (stop = r)),
  });
});

after(async () => {
  stop();
  await http?.close();
  rmSync(uiDir, { recursive: true, force: true });
});

test('routes come from the google.api.http bindings, with nested path variables', () => {
  const routes = buildRoutes();
  assert.ok(routes.length > 60, `only ${routes.length} routes`);
  const m = matchRoute(routes, 'POST', '/api/v1/namespaces/ns/workflows/a%2Fb/signal/go');
  assert.equal(m?.route.rpc, 'SignalWorkflowExecution');
  assert.deepEqual(m?.vars, [
    [['namespace'], 'ns'],
    [['workflowExecution', 'workflowId'], 'a/b'],
    [['signalName'], 'go'],
  ]);
  assert.equal(
    matchRoute(routes, 'GET', '/api/v1/namespaces/ns/workflow-count')?.route.rpc,
    'CountWorkflowExecutions',
  );
  assert.equal(matchRoute(routes, 'GET', '/api/v1/namespaces/ns/search-attributes')?.route.service, OP);
});

test('a waiting call is capped and is cancelled when the client disconnects', async () => {
  const aborter = new AbortController();
  const pending = fetch(`${http.url}/api/v1/namespaces/default/workflows/w/history?waitNewEvent=true`, {
    signal: aborter.signal,
  }).catch((err: Error) => err);
  for (let i = 0; i < 50 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(seen.length, 1);
  assert.ok(seen[0].remainingMs <= HTTP_CALL_CAP_MS && seen[0].remainingMs > HTTP_CALL_CAP_MS - 2000);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(seen[0].cancelledAfterMs, undefined, 'still waiting while the client is there');
  aborter.abort();
  await pending;
  for (let i = 0; i < 50 && seen[0].cancelledAfterMs === undefined; i++)
    await new Promise((r) => setTimeout(r, 20));
  assert.ok(seen[0].cancelledAfterMs !== undefined, 'the handler saw the cancellation');
  assert.ok(seen[0].cancelledAfterMs < 2000);
});

test('the built UI is served at /, with index.html for every client-side route', async () => {
  const root = await fetch(`${http.url}/`);
  assert.equal(root.status, 200);
  assert.match(await root.text(), /<title>shell<\/title>/);
  const deep = await fetch(`${http.url}/namespaces/default/workflows/migration-x/run-1/history`);
  assert.equal(deep.status, 200);
  assert.match(await deep.text(), /<title>shell<\/title>/);
  const asset = await fetch(`${http.url}/_app/app.js`);
  assert.equal(asset.status, 200);
  assert.equal(await asset.text(), 'export {}');
});

test('without a built UI, / says how to build it and the API still answers', async () => {
  let stopOther!: () => void;
  const other = await startHttpApi({
    host: '127.0.0.1',
    port: 0,
    handlers: { [WF]: {}, [OP]: {} },
    uiDir: join(uiDir, 'missing'),
    log: createLogger('error'),
    stopped: new Promise<void>((r) => (stopOther = r)),
  });
  try {
    const page = await fetch(`${other.url}/`);
    assert.equal(page.status, 503);
    assert.match(await page.text(), /npm run ui:build/);
    assert.equal((await fetch(`${other.url}/api/v1/settings`)).status, 200);
  } finally {
    stopOther();
    await other.close();
  }
});

test('/render: markdown as a sandboxed page, raw HTML shown as text', async () => {
  const content = '**Phase** CATCH_UP\n\n- gate open <img src=x onerror=alert(1)>';
  const res = await fetch(`${http.url}/render?content=${encodeURIComponent(content)}&theme=dark`);
  assert.equal(res.status, 200);
  assert.match(
    res.headers.get('content-security-policy') ?? '',
    /sandbox .*script-src 'none'|script-src 'none'.*sandbox/,
  );
  const html = await res.text();
  assert.match(html, /<strong>Phase<\/strong> CATCH_UP/);
  assert.match(html, /<li>gate open &lt;img src=x onerror=alert\(1\)&gt;<\/li>/);
  assert.doesNotMatch(html, /<img/);
});
