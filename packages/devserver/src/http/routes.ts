/**
 * The HTTP route table, generated from the `google.api.http` bindings that @temporalio/proto's reflection
 * root carries on every RPC (the `/api/v1/...` ones, as Temporal's HTTP API and ui-server serve them).
 */
import type * as protobuf from 'protobufjs';
import { root } from '../proto.js';
import { jsonName } from './protojson.js';

export const SERVICES = [
  'temporal.api.workflowservice.v1.WorkflowService',
  'temporal.api.operatorservice.v1.OperatorService',
] as const;
export type ServiceName = (typeof SERVICES)[number];

type Segment = { literal: string } | { field: string[] };

export interface Route {
  verb: string; // GET, POST, DELETE, ...
  template: string;
  segments: Segment[];
  /** '*' (the whole request is the body), a field name, or '' (no body). */
  body: string;
  service: ServiceName;
  rpc: string;
  requestType: protobuf.Type;
  responseType: protobuf.Type;
}

export interface RouteMatch {
  route: Route;
  /** Path variables: JSON field path (lowerCamelCase) -> decoded value. */
  vars: Array<[string[], string]>;
}

interface HttpRule {
  get?: string;
  put?: string;
  post?: string;
  delete?: string;
  patch?: string;
  body?: string;
  additional_bindings?: HttpRule | HttpRule[];
}

const VERBS = ['get', 'put', 'post', 'delete', 'patch'] as const;

function parseTemplate(template: string): Segment[] {
  return template
    .split('/')
    .filter(Boolean)
    .map((part) => {
      const m = /^\{([^}=]+)(?:=[^}]*)?\}$/.exec(part);
      return m ? { field: m[1].split('.').map(jsonName) } : { literal: part };
    });
}

/** Literal segments outrank variables, position by position (so `/workflow-count` beats `/{workflow_id}`). */
function compareSpecificity(a: Route, b: Route): number {
  for (let i = 0; i < Math.min(a.segments.length, b.segments.length); i++) {
    const la = 'literal' in a.segments[i];
    const lb = 'literal' in b.segments[i];
    if (la !== lb) return la ? -1 : 1;
  }
  return b.segments.length - a.segments.length;
}

export function buildRoutes(): Route[] {
  const routes: Route[] = [];
  for (const service of SERVICES) {
    const svc = root.lookupService(service);
    for (const method of Object.values(svc.methods) as protobuf.Method[]) {
      method.resolve();
      const parsed = (method.parsedOptions ?? []) as Array<Record<string, HttpRule>>;
      for (const option of parsed) {
        const rule = option['(google.api.http)'];
        if (!rule) continue;
        const rules = [rule, ...[rule.additional_bindings ?? []].flat()];
        for (const r of rules) {
          const verb = VERBS.find((v) => r[v]);
          const template = verb ? r[verb] : undefined;
          if (!verb || !template?.startsWith('/api/v1/')) continue;
          routes.push({
            verb: verb.toUpperCase(),
            template,
            segments: parseTemplate(template),
            body: r.body ?? '',
            service,
            rpc: method.name,
            requestType: method.resolvedRequestType as protobuf.Type,
            responseType: method.resolvedResponseType as protobuf.Type,
          });
        }
      }
    }
  }
  return routes.sort(compareSpecificity);
}

/**
 * Finds the route for a request path (without query). Segments are split on '/' before they are
 * percent-decoded, so an encoded '/' (%2F) stays inside a workflow id.
 */
export function matchRoute(routes: Route[], verb: string, path: string): RouteMatch | undefined {
  const parts = path.split('/').filter(Boolean);
  for (const route of routes) {
    if (route.verb !== verb || route.segments.length !== parts.length) continue;
    const vars: Array<[string[], string]> = [];
    let ok = true;
    for (let i = 0; i < parts.length && ok; i++) {
      const seg = route.segments[i];
      if ('literal' in seg) ok = seg.literal === parts[i];
      else vars.push([seg.field, decodeURIComponent(parts[i])]);
    }
    if (ok) return { route, vars };
  }
  return undefined;
}

/** True when some route serves this path with another verb (answered 405 rather than 404). */
export function pathExists(routes: Route[], path: string): boolean {
  return ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'].some((v) => matchRoute(routes, v, path));
}
