/** Access to Temporal's protobuf reflection root plus small conversion helpers (time, durations, int64, Any). */
import protoRoot from '@temporalio/proto';
import type { temporal, google } from '@temporalio/proto';
import type * as protobuf from 'protobufjs';

export type { temporal, google };
export const root = protoRoot as unknown as protobuf.Root;
export const api = (protoRoot as unknown as { temporal: typeof temporal }).temporal.api;

export type Payloads = temporal.api.common.v1.IPayloads;
export type Payload = temporal.api.common.v1.IPayload;
export type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
export type Failure = temporal.api.failure.v1.IFailure;
export type RetryPolicy = temporal.api.common.v1.IRetryPolicy;
export type Duration = google.protobuf.IDuration;
export type Timestamp = google.protobuf.ITimestamp;

export const enums = api.enums.v1;
export const EventType = enums.EventType;

/** int64 (number | Long | string | null) to a JS number. */
export function num(v: unknown): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return Number(v);
  if (
    typeof v === 'object' &&
    v !== null &&
    'toNumber' in v &&
    typeof (v as { toNumber: unknown }).toNumber === 'function'
  ) {
    return (v as { toNumber(): number }).toNumber();
  }
  return Number(v);
}

export function ts(ms: number): Timestamp {
  const seconds = Math.floor(ms / 1000);
  return { seconds: seconds as unknown as Int64, nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

export function tsMs(t: Timestamp | null | undefined): number | undefined {
  if (!t) return undefined;
  return num(t.seconds) * 1000 + Math.floor((t.nanos ?? 0) / 1e6);
}

export function dur(ms: number): Duration {
  const seconds = Math.floor(ms / 1000);
  return { seconds: seconds as unknown as Int64, nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

/** Duration to milliseconds; 0 when unset. */
export function durMs(d: Duration | null | undefined): number {
  if (!d) return 0;
  return num(d.seconds) * 1000 + Math.floor((d.nanos ?? 0) / 1e6);
}

export function packAny(typeName: string, value: object): google.protobuf.IAny {
  const t = root.lookupType(typeName);
  return {
    type_url: `type.googleapis.com/${typeName}`,
    value: t.encode(value).finish(),
  } as google.protobuf.IAny;
}

export function anyTypeName(a: google.protobuf.IAny | null | undefined): string {
  const url =
    (a as { type_url?: string; typeUrl?: string } | null | undefined)?.type_url ??
    (a as { typeUrl?: string } | null | undefined)?.typeUrl ??
    '';
  return url.slice(url.lastIndexOf('/') + 1);
}

export function unpackAny<T>(a: google.protobuf.IAny | null | undefined): T {
  const t = root.lookupType(anyTypeName(a));
  return t.decode(a?.value ?? new Uint8Array()) as unknown as T;
}

/** Encode a plain object as a proto message then decode it back: a deep, normalized copy. */
export function roundTrip<T>(typeName: string, value: T): T {
  const t = root.lookupType(typeName);
  return t.decode(t.encode(value as object).finish()) as unknown as T;
}

export function encodeB64(typeName: string, value: object): string {
  return Buffer.from(root.lookupType(typeName).encode(value).finish()).toString('base64');
}

export function decodeB64<T>(typeName: string, data: string): T {
  return root.lookupType(typeName).decode(Buffer.from(data, 'base64')) as unknown as T;
}

/** The int64 type of the generated interfaces; protobufjs encodes plain numbers for it too. */
export type Int64 = NonNullable<temporal.api.history.v1.IHistoryEvent['eventId']>;
export function i64(n: number): Int64 {
  return n as unknown as Int64;
}
