/** Search attribute registry (system + custom, per namespace) and payload <-> value helpers. */
import { invalidArgument, notFound } from './errors.js';
import { api, type Payload } from './proto.js';

const T = api.enums.v1.IndexedValueType;

export const typeNames: Record<number, string> = {
  [T.INDEXED_VALUE_TYPE_TEXT]: 'Text',
  [T.INDEXED_VALUE_TYPE_KEYWORD]: 'Keyword',
  [T.INDEXED_VALUE_TYPE_INT]: 'Int',
  [T.INDEXED_VALUE_TYPE_DOUBLE]: 'Double',
  [T.INDEXED_VALUE_TYPE_BOOL]: 'Bool',
  [T.INDEXED_VALUE_TYPE_DATETIME]: 'Datetime',
  [T.INDEXED_VALUE_TYPE_KEYWORD_LIST]: 'KeywordList',
};

export const systemAttributes: Record<string, number> = {
  WorkflowId: T.INDEXED_VALUE_TYPE_KEYWORD,
  RunId: T.INDEXED_VALUE_TYPE_KEYWORD,
  WorkflowType: T.INDEXED_VALUE_TYPE_KEYWORD,
  ExecutionStatus: T.INDEXED_VALUE_TYPE_KEYWORD,
  StartTime: T.INDEXED_VALUE_TYPE_DATETIME,
  CloseTime: T.INDEXED_VALUE_TYPE_DATETIME,
  ExecutionTime: T.INDEXED_VALUE_TYPE_DATETIME,
  ExecutionDuration: T.INDEXED_VALUE_TYPE_INT,
  HistoryLength: T.INDEXED_VALUE_TYPE_INT,
  TaskQueue: T.INDEXED_VALUE_TYPE_KEYWORD,
  ParentWorkflowId: T.INDEXED_VALUE_TYPE_KEYWORD,
  ParentRunId: T.INDEXED_VALUE_TYPE_KEYWORD,
  RootWorkflowId: T.INDEXED_VALUE_TYPE_KEYWORD,
  RootRunId: T.INDEXED_VALUE_TYPE_KEYWORD,
  TemporalChangeVersion: T.INDEXED_VALUE_TYPE_KEYWORD_LIST,
  BinaryChecksums: T.INDEXED_VALUE_TYPE_KEYWORD_LIST,
  BuildIds: T.INDEXED_VALUE_TYPE_KEYWORD_LIST,
  BatcherUser: T.INDEXED_VALUE_TYPE_KEYWORD,
  TemporalScheduledStartTime: T.INDEXED_VALUE_TYPE_DATETIME,
  TemporalScheduledById: T.INDEXED_VALUE_TYPE_KEYWORD,
  TemporalSchedulePaused: T.INDEXED_VALUE_TYPE_BOOL,
  TemporalNamespaceDivision: T.INDEXED_VALUE_TYPE_KEYWORD,
  TemporalPauseInfo: T.INDEXED_VALUE_TYPE_KEYWORD_LIST,
  TemporalWorkerDeploymentVersion: T.INDEXED_VALUE_TYPE_KEYWORD,
  TemporalWorkflowVersioningBehavior: T.INDEXED_VALUE_TYPE_KEYWORD,
  TemporalWorkerDeployment: T.INDEXED_VALUE_TYPE_KEYWORD,
};

/** Custom attributes the official dev server registers out of the box. */
export const defaultCustomAttributes: Record<string, number> = {
  CustomKeywordField: T.INDEXED_VALUE_TYPE_KEYWORD,
  CustomStringField: T.INDEXED_VALUE_TYPE_TEXT,
  CustomTextField: T.INDEXED_VALUE_TYPE_TEXT,
  CustomIntField: T.INDEXED_VALUE_TYPE_INT,
  CustomDatetimeField: T.INDEXED_VALUE_TYPE_DATETIME,
  CustomDoubleField: T.INDEXED_VALUE_TYPE_DOUBLE,
  CustomBoolField: T.INDEXED_VALUE_TYPE_BOOL,
};

export class SearchAttributeRegistry {
  private readonly custom = new Map<string, Map<string, number>>();

  private ns(namespace: string): Map<string, number> {
    let m = this.custom.get(namespace);
    if (!m) {
      m = new Map(Object.entries(defaultCustomAttributes));
      this.custom.set(namespace, m);
    }
    return m;
  }

  customOf(namespace: string): Map<string, number> {
    return this.ns(namespace);
  }

  /** System and custom attributes together (what list queries may use). */
  all(namespace: string): Map<string, number> {
    return new Map([...Object.entries(systemAttributes), ...this.ns(namespace)]);
  }

  typeOf(namespace: string, name: string): number | undefined {
    return this.ns(namespace).get(name) ?? systemAttributes[name];
  }

  add(namespace: string, attrs: Record<string, number>): void {
    const m = this.ns(namespace);
    for (const [name, type] of Object.entries(attrs)) {
      if (systemAttributes[name] !== undefined)
        throw invalidArgument(`Search attribute ${name} is reserved by system.`);
      if (!typeNames[type]) throw invalidArgument(`Unknown search attribute type ${type} for ${name}.`);
      const existing = m.get(name);
      if (existing !== undefined && existing !== type) {
        throw invalidArgument(`Search attribute ${name} already exists with another type.`);
      }
      m.set(name, type);
    }
  }

  remove(namespace: string, names: string[]): void {
    const m = this.ns(namespace);
    for (const n of names) {
      if (!m.has(n)) throw notFound(`Search attribute ${n} doesn't exist.`);
      m.delete(n);
    }
  }

  /** Throws INVALID_ARGUMENT naming the first attribute that is not registered. */
  validate(namespace: string, fields: Record<string, Payload> | null | undefined): void {
    for (const name of Object.keys(fields ?? {})) {
      if (this.typeOf(namespace, name) === undefined) {
        throw invalidArgument(`Namespace ${namespace} has no mapping defined for search attribute ${name}`);
      }
    }
  }

  /** Adds the `type` metadata the SDK uses to decode typed search attributes. */
  stamp(namespace: string, fields: Record<string, Payload>): Record<string, Payload> {
    const out: Record<string, Payload> = {};
    for (const [name, p] of Object.entries(fields)) {
      const type = this.typeOf(namespace, name);
      const metadata: Record<string, Uint8Array> = { ...(p.metadata ?? {}) };
      if (type !== undefined && !metadata.type) metadata.type = Buffer.from(typeNames[type] ?? 'Keyword');
      if (!metadata.encoding) metadata.encoding = Buffer.from('json/plain');
      out[name] = { metadata, data: p.data };
    }
    return out;
  }

  snapshot(): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {};
    for (const [ns, m] of this.custom) out[ns] = Object.fromEntries(m);
    return out;
  }

  restore(data: Record<string, Record<string, number>>): void {
    for (const [ns, m] of Object.entries(data)) this.custom.set(ns, new Map(Object.entries(m)));
  }
}

/** Decodes a json/plain payload; undefined when it is not JSON. */
export function payloadValue(p: Payload | null | undefined): unknown {
  if (!p?.data || p.data.length === 0) return null;
  try {
    return JSON.parse(Buffer.from(p.data).toString('utf8'));
  } catch {
    return undefined;
  }
}

export function jsonPayload(value: unknown, type?: string): Payload {
  const metadata: Record<string, Uint8Array> = { encoding: Buffer.from('json/plain') };
  if (type) metadata.type = Buffer.from(type);
  return { metadata, data: Buffer.from(JSON.stringify(value)) };
}

/** Merges an upsert: a null / empty list value removes the attribute. */
export function mergeSearchAttributes(
  target: Record<string, Payload>,
  upsert: Record<string, Payload> | null | undefined,
): void {
  for (const [k, p] of Object.entries(upsert ?? {})) {
    const v = payloadValue(p);
    if (v === null || (Array.isArray(v) && v.length === 0)) delete target[k];
    else target[k] = p;
  }
}
