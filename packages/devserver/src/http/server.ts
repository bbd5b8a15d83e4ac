/**
 * The UI port: Temporal's HTTP API (`/api/v1/...`, routes generated from the proto bindings, protojson)
 * dispatched to the same handlers the gRPC services use, `/api/v1/settings`, `/render` (markdown for the
 * UI's iframes), and the built Web UI at `/` with a single-page-app fallback.
 */
import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import type * as protobuf from 'protobufjs';
import sirv from 'sirv';
import { ServiceError } from '../errors.js';
import type { CallContext, HandlerMap } from '../grpc.js';
import type { Logger } from '../log.js';
import { decodeRequest, encodeResponse, jsonName, type Json, type JsonObject } from './protojson.js';
import { buildRoutes, matchRoute, pathExists, type ServiceName } from './routes.js';
import { renderMarkdownPage } from './render.js';
import { uiSettings } from './settings.js';

export interface HttpApiOptions {
  host: string;
  port: number;
  handlers: Record<ServiceName, HandlerMap>;
  /** The built UI (packages/devserver-ui/build); without it `/` says how to build it. */
  uiDir?: string;
  log: Logger;
  /** Resolves when the server stops: pending long polls end. */
  stopped: Promise<void>;
}

export interface HttpApi {
  port: number;
  url: string;
  close(): Promise<void>;
}

/** Longest time an HTTP call may wait (history long polls, queries): a browser tab holds no call forever. */
export const HTTP_CALL_CAP_MS = 20_000;
const MAX_BODY_BYTES = 16 * 1024 * 1024;

/** grpc-gateway's HTTPStatusFromCode. */
const HTTP_STATUS: Record<number, number> = {
  [status.OK]: 200,
  [status.CANCELLED]: 499,
  [status.UNKNOWN]: 500,
  [status.INVALID_ARGUMENT]: 400,
  [status.DEADLINE_EXCEEDED]: 504,
  [status.NOT_FOUND]: 404,
  [status.ALREADY_EXISTS]: 409,
  [status.PERMISSION_DENIED]: 403,
  [status.UNAUTHENTICATED]: 401,
  [status.RESOURCE_EXHAUSTED]: 429,
  [status.FAILED_PRECONDITION]: 400,
  [status.ABORTED]: 409,
  [status.OUT_OF_RANGE]: 400,
  [status.UNIMPLEMENTED]: 501,
  [status.INTERNAL]: 500,
  [status.UNAVAILABLE]: 503,
  [status.DATA_LOSS]: 500,
};

class HttpError extends Error {
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
  }
}

function sendJson(res: ServerResponse, httpStatus: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(httpStatus, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** The google.rpc.Status body grpc-gateway writes for an error. */
function sendError(res: ServerResponse, code: status, message: string): void {
  if (res.headersSent || res.destroyed) return;
  sendJson(res, HTTP_STATUS[code] ?? 500, { code, message, details: [] });
}

/** Non-GET requests from a browser must come from this origin (the UI itself), never from another site. */
function sameOrigin(req: IncomingMessage): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site && site !== 'same-origin' && site !== 'none') return false;
  const origin = req.headers.origin;
  if (!origin) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(status.RESOURCE_EXHAUSTED, 'request body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Sets a dotted field path (JSON names) in `obj`, appending when the field is repeated (query parameters). */
function setField(
  type: protobuf.Type,
  obj: JsonObject,
  path: string[],
  value: string,
  append: boolean,
): void {
  let t: protobuf.Type | undefined = type;
  let target = obj;
  for (let i = 0; i < path.length; i++) {
    const name = jsonName(path[i]);
    const field: protobuf.Field | undefined = t?.fields[name];
    if (!field) throw new HttpError(status.INVALID_ARGUMENT, `unknown field "${path.join('.')}"`);
    field.resolve();
    if (i === path.length - 1) {
      if (field.repeated && append) target[name] = [...((target[name] as Json[] | undefined) ?? []), value];
      else target[name] = field.repeated ? [value] : value;
      return;
    }
    const next = target[name];
    target = next && typeof next === 'object' && !Array.isArray(next) ? next : (target[name] = {});
    t =
      field.resolvedType && !('values' in field.resolvedType)
        ? (field.resolvedType as protobuf.Type)
        : undefined;
  }
}

function callContext(req: IncomingMessage, res: ServerResponse, stopped: Promise<void>): CallContext {
  const deadline = Date.now() + HTTP_CALL_CAP_MS;
  let cancelled = false;
  let cancel!: () => void;
  const promise = new Promise<void>((resolve) => {
    cancel = () => {
      cancelled = true;
      resolve();
    };
  });
  // The client went away before the answer: end the long poll / query it was waiting on.
  res.on('close', () => {
    if (!res.writableFinished) cancel();
  });
  void stopped.then(cancel);
  return { remainingMs: () => deadline - Date.now(), cancelled: promise, isCancelled: () => cancelled };
}

export async function startHttpApi(options: HttpApiOptions): Promise<HttpApi> {
  const { log, handlers } = options;
  const routes = buildRoutes();
  const uiDir = options.uiDir && existsSync(join(options.uiDir, 'index.html')) ? options.uiDir : undefined;
  const assets = uiDir ? sirv(uiDir, { single: true, dev: false, etag: true }) : undefined;

  async function api(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const verb = req.method ?? 'GET';
    if (url.pathname === '/api/v1/settings' && verb === 'GET') return sendJson(res, 200, uiSettings());
    if (verb !== 'GET' && verb !== 'HEAD' && !sameOrigin(req)) {
      return sendError(res, status.PERMISSION_DENIED, 'cross-origin request refused');
    }
    const match = matchRoute(routes, verb, url.pathname);
    if (!match) {
      return pathExists(routes, url.pathname)
        ? sendJson(res, 405, { code: status.UNIMPLEMENTED, message: 'Method Not Allowed', details: [] })
        : sendError(res, status.NOT_FOUND, 'Not Found');
    }
    const { route, vars } = match;
    const handler = handlers[route.service][route.rpc];
    const text = await readBody(req);
    let json: JsonObject = {};
    if (route.body && text.trim()) {
      // Whatever the content type (browsers send text/plain to avoid a pre-flight): the body is JSON.
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (e) {
        throw new HttpError(status.INVALID_ARGUMENT, `request body is not JSON: ${(e as Error).message}`);
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        throw new HttpError(status.INVALID_ARGUMENT, 'request body must be a JSON object');
      }
      json = route.body === '*' ? (parsed as JsonObject) : { [jsonName(route.body)]: parsed as JsonObject };
    }
    if (route.body !== '*') {
      const seen = new Set<string>();
      for (const [key, value] of url.searchParams) {
        setField(route.requestType, json, key.split('.'), value, seen.has(key));
        seen.add(key);
      }
    }
    for (const [path, value] of vars) setField(route.requestType, json, path, value, false);
    if (!handler) {
      throw new HttpError(status.UNIMPLEMENTED, `${route.rpc} is not implemented by the embedded dev server`);
    }
    const request = decodeRequest(route.requestType, json);
    const ctx = callContext(req, res, options.stopped);
    const started = Date.now();
    const response = await (handler as (r: object, c: CallContext) => Promise<object>)(request, ctx);
    log.debug(`HTTP ${verb} ${url.pathname} -> ${route.rpc} ok in ${Date.now() - started}ms`);
    if (!res.destroyed) sendJson(res, 200, encodeResponse(route.responseType, response));
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname.startsWith('/api/')) {
      api(req, res, url).catch((err: unknown) => {
        if (err instanceof ServiceError || err instanceof HttpError)
          return sendError(res, err.code, err.message);
        if (err instanceof Error && err.name === 'InvalidArgument') {
          return sendError(res, status.INVALID_ARGUMENT, err.message);
        }
        log.error(
          `HTTP ${req.method} ${url.pathname} failed: ${err instanceof Error ? err.stack : String(err)}`,
        );
        sendError(res, status.INTERNAL, err instanceof Error ? err.message : String(err));
      });
      return;
    }
    if (url.pathname === '/render' && req.method === 'GET') {
      const { html, csp } = renderMarkdownPage(
        url.searchParams.get('content') ?? '',
        url.searchParams.get('theme') ?? '',
      );
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': csp });
      res.end(html);
      return;
    }
    if (assets) {
      assets(req, res, () => sendError(res, status.NOT_FOUND, 'Not Found'));
      return;
    }
    res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('The Temporal Web UI is not built. Run `npm run ui:build`, then restart the server.\n');
  });

  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : options.port);
    });
  });
  const url = `http://${options.host}:${port}`;
  log.info(`Temporal Web UI and HTTP API on ${url}${uiDir ? '' : ' (UI not built: npm run ui:build)'}`);
  return {
    port,
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
