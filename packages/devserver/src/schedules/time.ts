import protoPkg from '@temporalio/proto';
import type { google } from '@temporalio/proto';

const { Timestamp, Duration } = protoPkg.google.protobuf;

/** int64 as it may arrive: number, Long, decimal string. */
export function int64ToNumber(v: unknown): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return Number(v);
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'object' && 'toNumber' in v) {
    const fn = (v as { toNumber: unknown }).toNumber;
    if (typeof fn === 'function') return (fn as () => number).call(v);
  }
  return Number(v);
}

export function timestampToMs(t: google.protobuf.ITimestamp | null | undefined): number | undefined {
  if (!t) return undefined;
  return int64ToNumber(t.seconds) * 1000 + Math.floor((t.nanos ?? 0) / 1e6);
}

export function durationToMs(d: google.protobuf.IDuration | null | undefined): number | undefined {
  if (!d) return undefined;
  return int64ToNumber(d.seconds) * 1000 + Math.floor((d.nanos ?? 0) / 1e6);
}

export function msToTimestamp(ms: number): google.protobuf.Timestamp {
  const seconds = Math.floor(ms / 1000);
  return Timestamp.fromObject({ seconds, nanos: Math.round((ms - seconds * 1000) * 1e6) });
}

export function msToDuration(ms: number): google.protobuf.Duration {
  const seconds = Math.floor(ms / 1000);
  return Duration.fromObject({ seconds, nanos: Math.round((ms - seconds * 1000) * 1e6) });
}

/** RFC3339 with second precision, as the official scheduler appends to workflow ids. */
export function rfc3339Seconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** Time source and timers; injectable so tests can drive time by hand. */
export interface Clock {
  now(): number;
  setTimer(fn: () => void, delayMs: number): unknown;
  clearTimer(handle: unknown): void;
}

/** setTimeout can wait at most 2^31-1 ms; longer waits re-arm on wake. */
const MAX_TIMER_MS = 2_147_483_647;

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer: (fn, delayMs) => {
    const t = setTimeout(fn, Math.min(Math.max(0, delayMs), MAX_TIMER_MS));
    t.unref?.();
    return t;
  },
  clearTimer: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
