/**
 * protojson (the canonical JSON mapping of proto3, as Go's protojson and grpc-gateway write it) for the
 * protobufjs reflection types: lowerCamelCase names, 64-bit integers as strings, enums by name, bytes as
 * base64, Timestamp / Duration / FieldMask / wrappers / Any / Struct in their special forms, fields at
 * their default value left out. Payloads stay in the long form (metadata + data as base64).
 */
import type * as protobuf from 'protobufjs';
import { root } from '../proto.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };
type Plain = Record<string, unknown>;

/** A JSON request the server cannot map onto the request message (answered INVALID_ARGUMENT). */
export class ProtoJsonError extends Error {
  override name = 'InvalidArgument';
}

const INT64 = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
const INT32 = new Set(['int32', 'uint32', 'sint32', 'fixed32', 'sfixed32']);
const WRAPPERS: Record<string, string> = {
  'google.protobuf.DoubleValue': 'double',
  'google.protobuf.FloatValue': 'float',
  'google.protobuf.Int64Value': 'int64',
  'google.protobuf.UInt64Value': 'uint64',
  'google.protobuf.Int32Value': 'int32',
  'google.protobuf.UInt32Value': 'uint32',
  'google.protobuf.BoolValue': 'bool',
  'google.protobuf.StringValue': 'string',
  'google.protobuf.BytesValue': 'bytes',
};

/** proto field name (snake_case) to its JSON name; lowerCamelCase names pass unchanged. */
export function jsonName(protoName: string): string {
  return protoName.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

const fullName = (t: protobuf.Type) => t.fullName.replace(/^\./, '');

function resolved(field: protobuf.Field): protobuf.Field {
  field.resolve();
  return field;
}

// ---------------------------------------------------------------- message -> JSON

function longToString(v: unknown): string {
  if (typeof v === 'object' && v !== null && 'toString' in v) return String(v);
  return String(v ?? 0);
}

function durationString(seconds: unknown, nanos: number): string {
  const s = BigInt(longToString(seconds));
  const negative = s < 0n || nanos < 0;
  const abs = (s < 0n ? -s : s).toString();
  const n = Math.abs(nanos);
  return `${negative ? '-' : ''}${abs}${fraction(n)}s`;
}

/** Go protojson: 0, 3, 6 or 9 fractional digits. */
function fraction(nanos: number): string {
  if (nanos === 0) return '';
  const nine = String(nanos).padStart(9, '0');
  if (nine.endsWith('000000')) return `.${nine.slice(0, 3)}`;
  if (nine.endsWith('000')) return `.${nine.slice(0, 6)}`;
  return `.${nine}`;
}

function timestampString(seconds: unknown, nanos: number): string {
  const ms = Number(longToString(seconds)) * 1000;
  const iso = new Date(ms).toISOString(); // YYYY-MM-DDTHH:MM:SS.000Z
  return `${iso.slice(0, 19)}${fraction(nanos)}Z`;
}

function bytesToBase64(v: unknown): string {
  if (typeof v === 'string') return v;
  return Buffer.from(v as Uint8Array).toString('base64');
}

function scalarToJson(field: protobuf.Field, v: unknown): Json {
  if (field.resolvedType && 'values' in field.resolvedType) {
    const e = field.resolvedType as protobuf.Enum;
    return e.valuesById[v as number] ?? (v as number);
  }
  if (INT64.has(field.type)) return longToString(v);
  if (field.type === 'bytes') return bytesToBase64(v);
  if ((field.type === 'double' || field.type === 'float') && typeof v === 'number' && !Number.isFinite(v)) {
    return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
  }
  return v as Json;
}

function valueToJson(field: protobuf.Field, v: unknown): Json {
  const t = field.resolvedType;
  if (t && !('values' in t)) return messageToJson(t as protobuf.Type, v as Plain);
  return scalarToJson(field, v);
}

function isDefault(field: protobuf.Field, v: unknown, own: boolean): boolean {
  if (v === undefined || v === null) return true;
  // A oneof member (proto3 `optional` fields too) is present exactly when it was on the wire.
  if (field.partOf) return !own;
  if (field.repeated) return (v as unknown[]).length === 0;
  if (field.map) return Object.keys(v as object).length === 0;
  if (field.resolvedType && !('values' in field.resolvedType)) return false;
  if (typeof v === 'object' && 'isZero' in (v as object)) return (v as { isZero(): boolean }).isZero();
  // bytes: a Buffer when decoded, the shared empty array when left at the prototype's default.
  if (field.type === 'bytes') return (v as ArrayLike<number>).length === 0;
  return v === 0 || v === '' || v === false;
}

/** A decoded protobufjs message of type `type` as protojson. */
export function messageToJson(type: protobuf.Type, msg: Plain): Json {
  const name = fullName(type);
  switch (name) {
    case 'google.protobuf.Timestamp':
      return timestampString(msg.seconds, Number(msg.nanos ?? 0));
    case 'google.protobuf.Duration':
      return durationString(msg.seconds ?? 0, Number(msg.nanos ?? 0));
    case 'google.protobuf.FieldMask':
      return ((msg.paths as string[] | undefined) ?? []).map(jsonName).join(',');
    case 'google.protobuf.Empty':
      return {};
    case 'google.protobuf.Any':
      return anyToJson(msg);
    case 'google.protobuf.Struct':
      return structToJson(msg);
    case 'google.protobuf.Value':
      return valueMsgToJson(msg);
    case 'google.protobuf.ListValue':
      return ((msg.values as Plain[] | undefined) ?? []).map(valueMsgToJson);
  }
  if (WRAPPERS[name])
    return scalarToJson(resolved(type.fields.value), msg.value ?? defaultScalar(WRAPPERS[name]));
  const out: JsonObject = {};
  for (const field of type.fieldsArray.map(resolved)) {
    const v = msg[field.name];
    if (isDefault(field, v, Object.prototype.hasOwnProperty.call(msg, field.name))) continue;
    if (field.repeated) out[field.name] = (v as unknown[]).map((item) => valueToJson(field, item));
    else if (field.map) {
      const m: JsonObject = {};
      for (const [k, item] of Object.entries(v as object)) m[k] = valueToJson(field, item);
      out[field.name] = m;
    } else out[field.name] = valueToJson(field, v);
  }
  return out;
}

function defaultScalar(kind: string): unknown {
  return kind === 'bool' ? false : kind === 'string' ? '' : kind === 'bytes' ? new Uint8Array() : 0;
}

function anyToJson(msg: Plain): Json {
  const url = String(msg.type_url ?? msg.typeUrl ?? '');
  if (!url) return {};
  const inner = root.lookupType(url.slice(url.lastIndexOf('/') + 1));
  const decoded = inner.decode((msg.value as Uint8Array | undefined) ?? new Uint8Array()) as unknown as Plain;
  const json = messageToJson(inner, decoded);
  const special = json === null || typeof json !== 'object' || Array.isArray(json);
  return special ? { '@type': url, value: json } : { '@type': url, ...json };
}

function structToJson(msg: Plain): Json {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries((msg.fields as Record<string, Plain>) ?? {}))
    out[k] = valueMsgToJson(v);
  return out;
}

function valueMsgToJson(v: Plain): Json {
  switch (v.kind) {
    case 'numberValue':
      return Number(v.numberValue);
    case 'stringValue':
      return String(v.stringValue);
    case 'boolValue':
      return Boolean(v.boolValue);
    case 'structValue':
      return structToJson(v.structValue as Plain);
    case 'listValue':
      return (((v.listValue as Plain).values as Plain[] | undefined) ?? []).map(valueMsgToJson);
    default:
      return null;
  }
}

// ---------------------------------------------------------------- JSON -> plain object for Type.fromObject

function fieldByJsonKey(type: protobuf.Type, key: string): protobuf.Field | undefined {
  return type.fields[key] ?? type.fields[jsonName(key)];
}

function parseDuration(s: string, where: string): Plain {
  const m = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/.exec(s);
  if (!m) throw new ProtoJsonError(`${where}: invalid duration ${JSON.stringify(s)}`);
  const sign = m[1] ? -1 : 1;
  const nanos = m[3] ? Number(m[3].padEnd(9, '0')) : 0;
  return { seconds: m[1] ? `-${m[2]}` : m[2], nanos: sign * nanos };
}

function parseTimestamp(s: string, where: string): Plain {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/i.exec(s);
  const ms = m ? Date.parse(`${m[1]}${m[3]}`) : NaN;
  if (!m || Number.isNaN(ms)) throw new ProtoJsonError(`${where}: invalid timestamp ${JSON.stringify(s)}`);
  return { seconds: String(Math.floor(ms / 1000)), nanos: m[2] ? Number(m[2].padEnd(9, '0')) : 0 };
}

function normalizeBase64(s: string): string {
  return s.replace(/-/g, '+').replace(/_/g, '/');
}

function scalarFromJson(field: protobuf.Field, v: Json, where: string): unknown {
  const t = field.resolvedType;
  if (t && 'values' in t) {
    const e = t as protobuf.Enum;
    if (typeof v === 'number') return v;
    if (typeof v === 'string' && /^-?\d+$/.test(v)) return Number(v);
    if (typeof v === 'string' && v in e.values) return e.values[v];
    if (v === null) return 0;
    throw new ProtoJsonError(`${where}: invalid value ${JSON.stringify(v)} for enum ${e.name}`);
  }
  if (v === null) return undefined;
  if (field.type === 'bool') {
    if (typeof v === 'boolean') return v;
    if (v === 'true' || v === 'false') return v === 'true';
  } else if (field.type === 'string') {
    if (typeof v === 'string') return v;
  } else if (field.type === 'bytes') {
    if (typeof v === 'string') return normalizeBase64(v);
  } else if (INT64.has(field.type)) {
    if ((typeof v === 'string' && /^-?\d+$/.test(v)) || (typeof v === 'number' && Number.isInteger(v))) {
      return String(v);
    }
  } else if (INT32.has(field.type)) {
    const n = typeof v === 'string' ? Number(v) : v;
    if (typeof n === 'number' && Number.isInteger(n)) return n;
  } else if (field.type === 'double' || field.type === 'float') {
    const n = typeof v === 'string' ? Number(v) : v;
    if (typeof n === 'number' && !Number.isNaN(n)) return n;
    if (v === 'NaN') return NaN;
  }
  throw new ProtoJsonError(`${where}: invalid value ${JSON.stringify(v)} for a ${field.type} field`);
}

function valueFromJson(field: protobuf.Field, v: Json, where: string): unknown {
  const t = field.resolvedType;
  if (t && !('values' in t)) return messageFromJson(t as protobuf.Type, v, where);
  return scalarFromJson(field, v, where);
}

/** protojson (either name form) to a plain object protobufjs's `Type.fromObject` maps exactly. */
export function messageFromJson(type: protobuf.Type, json: Json, where = fullName(type)): Plain | undefined {
  const name = fullName(type);
  if (json === null && name !== 'google.protobuf.Value') return undefined;
  switch (name) {
    case 'google.protobuf.Timestamp':
      if (typeof json !== 'string') throw new ProtoJsonError(`${where}: a timestamp is an RFC 3339 string`);
      return parseTimestamp(json, where);
    case 'google.protobuf.Duration':
      if (typeof json !== 'string') throw new ProtoJsonError(`${where}: a duration is a string like "1.5s"`);
      return parseDuration(json, where);
    case 'google.protobuf.FieldMask':
      if (typeof json !== 'string')
        throw new ProtoJsonError(`${where}: a field mask is a comma-separated string`);
      return {
        paths: json ? json.split(',').map((p) => p.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)) : [],
      };
    case 'google.protobuf.Any':
      return anyFromJson(json, where);
    case 'google.protobuf.Struct':
      return structFromJson(json, where);
    case 'google.protobuf.Value':
      return valueMsgFromJson(json);
  }
  if (WRAPPERS[name]) return { value: scalarFromJson(resolved(type.fields.value), json, where) };
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ProtoJsonError(`${where}: expected an object for ${type.name}`);
  }
  const out: Plain = {};
  for (const [key, v] of Object.entries(json)) {
    const field = fieldByJsonKey(type, key);
    if (!field) throw new ProtoJsonError(`${where}: unknown field "${key}" in ${type.name}`);
    resolved(field);
    const at = `${where}.${field.name}`;
    if (v === null) continue;
    if (field.repeated) {
      if (!Array.isArray(v)) throw new ProtoJsonError(`${at}: expected an array`);
      out[field.name] = v.map((item, i) => valueFromJson(field, item, `${at}[${i}]`));
    } else if (field.map) {
      if (typeof v !== 'object' || Array.isArray(v)) throw new ProtoJsonError(`${at}: expected an object`);
      const m: Plain = {};
      for (const [k, item] of Object.entries(v)) m[k] = valueFromJson(field, item, `${at}.${k}`);
      out[field.name] = m;
    } else out[field.name] = valueFromJson(field, v, at);
  }
  return out;
}

function anyFromJson(json: Json, where: string): Plain {
  if (typeof json !== 'object' || json === null || Array.isArray(json) || typeof json['@type'] !== 'string') {
    throw new ProtoJsonError(`${where}: an Any needs "@type"`);
  }
  const url = json['@type'];
  const inner = root.lookupType(url.slice(url.lastIndexOf('/') + 1));
  const { '@type': _t, ...rest } = json;
  const body = WRAPPERS[fullName(inner)] || /^google\.protobuf\./.test(fullName(inner)) ? rest.value : rest;
  const value = inner.encode(inner.fromObject(messageFromJson(inner, body ?? null, where) ?? {})).finish();
  return { type_url: url, value };
}

function structFromJson(json: Json, where: string): Plain {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ProtoJsonError(`${where}: expected an object`);
  }
  return { fields: Object.fromEntries(Object.entries(json).map(([k, v]) => [k, valueMsgFromJson(v)])) };
}

function valueMsgFromJson(v: Json): Plain {
  if (v === null) return { nullValue: 0 };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(valueMsgFromJson) } };
  return { structValue: structFromJson(v, '') };
}

/** A JSON request body / query / path values as the decoded message a gRPC handler would receive. */
export function decodeRequest(type: protobuf.Type, json: JsonObject): object {
  const plain = messageFromJson(type, json) ?? {};
  return type.decode(type.encode(type.fromObject(plain)).finish());
}

/** A handler's response (a plain object or message) as protojson. */
export function encodeResponse(type: protobuf.Type, response: object): Json {
  const normalized = type.decode(type.encode(response).finish()) as unknown as Plain;
  return messageToJson(type, normalized);
}

export type { Json, JsonObject };
