/**
 * Schedule specs: canonicalisation (calendar strings and cron strings into structured calendars),
 * validation, and "next matching time after t" — following the official scheduler's rules.
 */
import protoPkg from '@temporalio/proto';
import type { temporal } from '@temporalio/proto';
import { invalidSpec } from './errors.js';
import { durationToMs, msToDuration, timestampToMs } from './time.js';

type IScheduleSpec = temporal.api.schedule.v1.IScheduleSpec;
type IStructuredCalendarSpec = temporal.api.schedule.v1.IStructuredCalendarSpec;
type ICalendarSpec = temporal.api.schedule.v1.ICalendarSpec;
type IRange = temporal.api.schedule.v1.IRange;

const { ScheduleSpec } = protoPkg.temporal.api.schedule.v1;

export const MIN_CALENDAR_YEAR = 2000;
export const MAX_CALENDAR_YEAR = 2100;

interface Range {
  start: number;
  end: number;
  step: number;
}

interface Structured {
  second: Range[];
  minute: Range[];
  hour: Range[];
  dayOfMonth: Range[];
  month: Range[];
  year: Range[];
  dayOfWeek: Range[];
  comment: string;
}

interface Interval {
  intervalSec: number;
  phaseSec: number;
}

export interface CompiledSpec {
  /** The canonical form (structured calendars only), as describe/list return it. */
  readonly canonical: temporal.api.schedule.v1.ScheduleSpec;
  /** Earliest nominal fire time strictly after `afterMs` (epoch ms), or undefined if none. */
  next(afterMs: number): number | undefined;
}

// ---------------------------------------------------------------------------------------------
// Parsing calendar strings ("1-5/2,8", "mon-fri", "*") and cron strings.

type ParseMode = 'int' | 'year' | 'month' | 'dow';

const MONTHS = [
  'january',
  'february',
  'march',
  'april',
  'may',
  'june',
  'july',
  'august',
  'september',
  'october',
  'november',
  'december',
];
const DAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];

function parseValue(s: string, min: number, max: number, mode: ParseMode): number | undefined {
  const lower = s.toLowerCase();
  if (mode === 'month' && lower.length >= 3) {
    const i = MONTHS.findIndex((m) => m.startsWith(lower));
    if (i >= 0) return i + 1 >= min && i + 1 <= max ? i + 1 : undefined;
  } else if (mode === 'dow' && lower.length >= 2) {
    const i = DAYS.findIndex((d) => d.startsWith(lower));
    if (i >= 0) return i >= min && i <= max ? i : undefined;
  }
  if (!/^\d+$/.test(s)) return undefined;
  const n = Number(s);
  return n >= min && n <= max ? n : undefined;
}

function makeRanges(
  raw: string | null | undefined,
  field: string,
  def: string,
  min: number,
  max: number,
  mode: ParseMode,
): Range[] {
  let s = (raw ?? '').trim();
  if (s === '') s = def;
  if (s === '*' && mode === 'year') return [];
  const ranges: Range[] = [];
  for (let part of s.split(',')) {
    part = part.trim();
    let step = 1;
    let hasStep = false;
    const slashes = part.split('/').length - 1;
    if (slashes > 1) throw new Error(`${field} has too many slashes`);
    if (slashes === 1) {
      const [left = '', right = ''] = part.split('/');
      if (right === '') throw new Error(`${field} missing step value`);
      if (!/^\d+$/.test(right) || Number(right) < 1) throw new Error(`${field} has invalid Step`);
      step = Number(right);
      part = left;
      hasStep = true;
    }
    let start = min;
    let end = max;
    if (part !== '*') {
      if (part.includes('-')) {
        const pieces = part.split('-');
        if (pieces.length > 2) throw new Error(`${field} has too many dashes`);
        const a = parseValue(pieces[0] ?? '', min, max, mode);
        if (a === undefined) throw new Error(`${field} Start is not in range [${min}-${max}]`);
        const b = parseValue(pieces[1] ?? '', a, max, mode);
        if (b === undefined) throw new Error(`${field} End is before Start or not in range [${min}-${max}]`);
        start = a;
        end = b;
      } else {
        const v = parseValue(part, min, max, mode);
        if (v === undefined) throw new Error(`${field} is not in range [${min}-${max}]`);
        start = v;
        if (!hasStep) end = v;
      }
    }
    // Sunday may be written as 7: fold it into 0 (adding a separate 0 where needed).
    if (mode === 'dow' && end === 7) {
      if ((7 - start) % step === 0 && (step > 1 || start > 1)) {
        ranges.push({ start: 0, end: 0, step: 1 });
        if (start === 7) continue;
      }
      end = 6;
    }
    ranges.push({ start, end, step });
  }
  return ranges;
}

function calendarToStructured(cal: ICalendarSpec): Structured {
  const errors: string[] = [];
  const r = (
    raw: string | null | undefined,
    field: string,
    def: string,
    min: number,
    max: number,
    mode: ParseMode,
  ) => {
    try {
      return makeRanges(raw, field, def, min, max, mode);
    } catch (e) {
      errors.push((e as Error).message);
      return [];
    }
  };
  const out: Structured = {
    second: r(cal.second, 'Second', '0', 0, 59, 'int'),
    minute: r(cal.minute, 'Minute', '0', 0, 59, 'int'),
    hour: r(cal.hour, 'Hour', '0', 0, 23, 'int'),
    dayOfWeek: r(cal.dayOfWeek, 'DayOfWeek', '*', 0, 7, 'dow'),
    dayOfMonth: r(cal.dayOfMonth, 'DayOfMonth', '*', 1, 31, 'int'),
    month: r(cal.month, 'Month', '*', 1, 12, 'month'),
    year: r(cal.year, 'Year', '*', MIN_CALENDAR_YEAR, MAX_CALENDAR_YEAR, 'year'),
    comment: cal.comment ?? '',
  };
  if (errors.length > 0) throw new Error(errors.join(', '));
  return out;
}

const PREDEFINED_CRON: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/** Go-style duration ("1h30m", "90s", "2d") to whole seconds. */
function parseGoDurationSec(s: string): number {
  const units: Record<string, number> = {
    ns: 1e-9,
    us: 1e-6,
    µs: 1e-6,
    ms: 1e-3,
    s: 1,
    m: 60,
    h: 3600,
    d: 86400,
  };
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h|d))+$/.test(s)) throw new Error(`invalid duration "${s}"`);
  let total = 0;
  for (const m of s.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d)/g)) {
    total += Number(m[1]) * (units[m[2] ?? 's'] ?? 0);
  }
  return total;
}

function parseCron(input: string): { structured?: Structured; interval?: Interval; tz: string } {
  let c = input.trim();
  let tz = '';
  if (c.startsWith('TZ=') || c.startsWith('CRON_TZ=')) {
    const space = c.indexOf(' ');
    if (space < 0) throw new Error('CronString has time zone but missing fields');
    tz = c.slice(c.indexOf('=') + 1, space);
    c = c.slice(space + 1);
  }
  let comment = '';
  const hash = c.indexOf('#');
  if (hash >= 0) {
    comment = c.slice(hash + 1).trim();
    c = c.slice(0, hash);
  }
  c = c.trim();
  if (c.startsWith('@every')) {
    const rest = c.slice('@every'.length).trim();
    if (rest === '') throw new Error('CronString does not have interval after @every');
    const [iv = '', phase] = rest.split('/');
    return {
      interval: { intervalSec: parseGoDurationSec(iv), phaseSec: phase ? parseGoDurationSec(phase) : 0 },
      tz: '',
    };
  }
  c = PREDEFINED_CRON[c] ?? c;
  const f = c.split(/\s+/).filter((x) => x !== '');
  const cal: ICalendarSpec = { comment };
  if (f.length === 5) [cal.minute, cal.hour, cal.dayOfMonth, cal.month, cal.dayOfWeek] = f;
  else if (f.length === 6) [cal.minute, cal.hour, cal.dayOfMonth, cal.month, cal.dayOfWeek, cal.year] = f;
  else if (f.length === 7)
    [cal.second, cal.minute, cal.hour, cal.dayOfMonth, cal.month, cal.dayOfWeek, cal.year] = f;
  else throw new Error('CronString does not have 5-7 fields');
  return { structured: calendarToStructured(cal), tz };
}

// ---------------------------------------------------------------------------------------------
// Canonicalisation and validation.

function rangesFromProto(list: IRange[] | null | undefined): Range[] {
  return (list ?? []).map((r) => {
    const start = r.start ?? 0;
    const step = r.step ?? 0;
    let end = r.end ?? 0;
    if (end < start) end = start;
    return { start, end, step: step === 0 ? 1 : step };
  });
}

function structuredFromProto(s: IStructuredCalendarSpec): Structured {
  const raw = (list: IRange[] | null | undefined) => list ?? [];
  // Validate on the raw values (End 0 means "same as start").
  const errors: string[] = [];
  const check = (list: IRange[], field: string, min: number, max: number) => {
    for (const r of list) {
      const start = r.start ?? 0;
      const end = r.end ?? 0;
      if (start < min || start > max) errors.push(`${field} Start is not in range [${min}-${max}]`);
      if (end !== 0 && (end < start || end > max)) {
        errors.push(`${field} End is before Start or not in range [${min}-${max}]`);
      }
      if ((r.step ?? 0) < 0) errors.push(`${field} has invalid Step`);
    }
  };
  check(raw(s.second), 'Second', 0, 59);
  check(raw(s.minute), 'Minute', 0, 59);
  check(raw(s.hour), 'Hour', 0, 23);
  check(raw(s.dayOfMonth), 'DayOfMonth', 1, 31);
  check(raw(s.month), 'Month', 1, 12);
  check(raw(s.year), 'Year', MIN_CALENDAR_YEAR, MAX_CALENDAR_YEAR);
  check(raw(s.dayOfWeek), 'DayOfWeek', 0, 6);
  if ((s.comment ?? '').length > 200) errors.push('comment is too long');
  if (errors.length > 0) throw new Error(`invalid calendar spec: ${errors.join(', ')}`);
  return {
    second: rangesFromProto(s.second),
    minute: rangesFromProto(s.minute),
    hour: rangesFromProto(s.hour),
    dayOfMonth: rangesFromProto(s.dayOfMonth),
    month: rangesFromProto(s.month),
    year: rangesFromProto(s.year),
    dayOfWeek: rangesFromProto(s.dayOfWeek),
    comment: s.comment ?? '',
  };
}

function validateInterval(iv: Interval): void {
  if (iv.intervalSec < 1) throw new Error('interval is too small');
  if (iv.phaseSec < 0) throw new Error('phase is negative');
  if (iv.phaseSec >= iv.intervalSec) throw new Error('phase cannot be greater than Interval');
}

function validTimeZone(tz: string): boolean {
  if (tz === '' || tz === 'UTC' || tz === 'Local') return true;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Canonicalises and compiles a spec; throws InvalidArgument "Invalid schedule spec: ..." when bad. */
export function compileSpec(spec: IScheduleSpec | null | undefined): CompiledSpec {
  try {
    return compileSpecUnchecked(spec ?? {});
  } catch (e) {
    if (e instanceof Error && e.name === 'InvalidArgument') throw e;
    throw invalidSpec((e as Error).message);
  }
}

function compileSpecUnchecked(spec: IScheduleSpec): CompiledSpec {
  const calendars: Structured[] = (spec.structuredCalendar ?? []).map(structuredFromProto);
  for (const cal of spec.calendar ?? []) calendars.push(calendarToStructured(cal));
  const excludes: Structured[] = (spec.excludeStructuredCalendar ?? []).map(structuredFromProto);
  for (const cal of spec.excludeCalendar ?? []) excludes.push(calendarToStructured(cal));
  const intervals: Interval[] = (spec.interval ?? []).map((iv) => ({
    intervalSec: Math.floor((durationToMs(iv.interval) ?? 0) / 1000),
    phaseSec: Math.floor((durationToMs(iv.phase) ?? 0) / 1000),
  }));

  let cronTz: string | undefined;
  for (const cron of spec.cronString ?? []) {
    const parsed = parseCron(cron);
    if (cronTz !== undefined && parsed.tz !== cronTz) throw new Error('conflicting timezone names');
    cronTz = parsed.tz;
    if (parsed.structured) calendars.push(parsed.structured);
    if (parsed.interval) intervals.push(parsed.interval);
  }
  let timezoneName = spec.timezoneName ?? '';
  if (cronTz) {
    if (timezoneName !== '' && timezoneName !== cronTz) throw new Error('conflicting timezone names');
    timezoneName = cronTz;
  }
  if (!validTimeZone(timezoneName)) throw new Error(`unknown time zone ${timezoneName}`);
  for (const iv of intervals) validateInterval(iv);

  const toProtoRanges = (list: Range[]) =>
    list.map((r) => ({
      start: r.start,
      ...(r.end !== r.start ? { end: r.end } : {}),
      ...(r.step !== 1 ? { step: r.step } : {}),
    }));
  const toProtoCal = (c: Structured) => ({
    second: toProtoRanges(c.second),
    minute: toProtoRanges(c.minute),
    hour: toProtoRanges(c.hour),
    dayOfMonth: toProtoRanges(c.dayOfMonth),
    month: toProtoRanges(c.month),
    year: toProtoRanges(c.year),
    dayOfWeek: toProtoRanges(c.dayOfWeek),
    ...(c.comment ? { comment: c.comment } : {}),
  });

  const canonical = ScheduleSpec.fromObject({
    structuredCalendar: calendars.map(toProtoCal),
    excludeStructuredCalendar: excludes.map(toProtoCal),
    interval: intervals.map((iv) => ({
      interval: msToDuration(iv.intervalSec * 1000),
      ...(iv.phaseSec ? { phase: msToDuration(iv.phaseSec * 1000) } : {}),
    })),
    ...(spec.startTime ? { startTime: spec.startTime } : {}),
    ...(spec.endTime ? { endTime: spec.endTime } : {}),
    ...(spec.jitter ? { jitter: spec.jitter } : {}),
    ...(timezoneName ? { timezoneName } : {}),
  });

  const tz = timezoneName === '' || timezoneName === 'Local' ? 'UTC' : timezoneName;
  const compiledCals = calendars.map((c) => new CompiledCalendar(c, tz));
  const compiledExcludes = excludes.map((c) => new CompiledCalendar(c, tz));
  const startMs = timestampToMs(spec.startTime);
  const endMs = timestampToMs(spec.endTime);

  const rawNext = (afterMs: number): number | undefined => {
    let best: number | undefined;
    for (const cal of compiledCals) {
      const n = cal.next(afterMs);
      if (n !== undefined && (best === undefined || n < best)) best = n;
    }
    const ts = Math.floor(afterMs / 1000);
    for (const iv of intervals) {
      const n = (Math.floor((ts - iv.phaseSec) / iv.intervalSec) + 1) * iv.intervalSec + iv.phaseSec;
      if (best === undefined || n * 1000 < best) best = n * 1000;
    }
    return best;
  };

  return {
    canonical,
    next(afterMs: number): number | undefined {
      let after = startMs !== undefined ? Math.max(afterMs, startMs - 1000) : afterMs;
      for (let i = 0; i < 100_000; i++) {
        const nominal = rawNext(after);
        if (nominal === undefined) return undefined;
        if (
          (endMs !== undefined && nominal > endMs) ||
          new Date(nominal).getUTCFullYear() > MAX_CALENDAR_YEAR
        ) {
          return undefined;
        }
        if (!compiledExcludes.some((x) => x.matches(nominal))) return nominal;
        after = nominal;
      }
      return undefined;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Calendar matching in a time zone.

function bitSet(ranges: Range[], size: number, allIfEmpty: boolean): (v: number) => boolean {
  if (ranges.length === 0 && allIfEmpty) return () => true;
  const bits = new Array<boolean>(size).fill(false);
  for (const r of ranges) {
    for (let v = r.start; v <= r.end; v += r.step) if (v >= 0 && v < size) bits[v] = true;
  }
  return (v) => bits[v] === true;
}

interface LocalFields {
  y: number;
  mo: number;
  d: number;
  h: number;
  m: number;
  s: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function localFields(ms: number, tz: string): LocalFields {
  if (tz === 'UTC') {
    const t = new Date(ms);
    return {
      y: t.getUTCFullYear(),
      mo: t.getUTCMonth() + 1,
      d: t.getUTCDate(),
      h: t.getUTCHours(),
      m: t.getUTCMinutes(),
      s: t.getUTCSeconds(),
    };
  }
  let fmt = formatters.get(tz);
  if (!fmt) {
    fmt = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(tz, fmt);
  }
  const parts: Record<string, number> = {};
  for (const p of fmt.formatToParts(new Date(ms))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return {
    y: parts['year'] ?? 0,
    mo: parts['month'] ?? 1,
    d: parts['day'] ?? 1,
    h: (parts['hour'] ?? 0) % 24,
    m: parts['minute'] ?? 0,
    s: parts['second'] ?? 0,
  };
}

/** Local wall time in `tz` to epoch ms (the earlier instant when ambiguous). */
function localToUtc(f: LocalFields, tz: string): number {
  const asUtc = Date.UTC(f.y, f.mo - 1, f.d, f.h, f.m, f.s);
  if (tz === 'UTC') return asUtc;
  const offsetAt = (ms: number): number => {
    const l = localFields(ms, tz);
    return Date.UTC(l.y, l.mo - 1, l.d, l.h, l.m, l.s) - ms;
  };
  const first = asUtc - offsetAt(asUtc);
  const second = asUtc - offsetAt(first);
  return Math.min(first, second);
}

function daysInMonth(mo: number, y: number): number {
  return new Date(Date.UTC(y, mo, 0)).getUTCDate();
}

class CompiledCalendar {
  private readonly year: (v: number) => boolean;
  private readonly month: (v: number) => boolean;
  private readonly dayOfMonth: (v: number) => boolean;
  private readonly dayOfWeek: (v: number) => boolean;
  private readonly hour: (v: number) => boolean;
  private readonly minute: (v: number) => boolean;
  private readonly second: (v: number) => boolean;

  constructor(
    cal: Structured,
    private readonly tz: string,
  ) {
    this.year = bitSet(cal.year, MAX_CALENDAR_YEAR + 1, true);
    this.month = bitSet(cal.month, 13, false);
    this.dayOfMonth = bitSet(cal.dayOfMonth, 32, false);
    this.dayOfWeek = bitSet(cal.dayOfWeek, 7, false);
    this.hour = bitSet(cal.hour, 24, false);
    this.minute = bitSet(cal.minute, 60, false);
    this.second = bitSet(cal.second, 60, false);
  }

  matches(ms: number): boolean {
    const f = localFields(ms, this.tz);
    const dow = new Date(Date.UTC(f.y, f.mo - 1, f.d)).getUTCDay();
    return (
      this.year(f.y) &&
      this.month(f.mo) &&
      this.dayOfMonth(f.d) &&
      this.dayOfWeek(dow) &&
      this.hour(f.h) &&
      this.minute(f.m) &&
      this.second(f.s)
    );
  }

  /** Earliest matching whole second strictly after `afterMs`. */
  next(afterMs: number): number | undefined {
    let { y, mo, d, h, m, s } = localFields(Math.floor(afterMs / 1000) * 1000, this.tz);
    s++;
    for (let guard = 0; guard < 1_000_000; guard++) {
      if (s >= 60) [m, s] = [m + 1, 0];
      if (m >= 60) [h, m] = [h + 1, 0];
      if (h >= 24) [d, h] = [d + 1, 0];
      if (d > daysInMonth(mo, y)) [mo, d] = [mo + 1, 1];
      if (mo > 12) [y, mo] = [y + 1, 1];
      if (y > MAX_CALENDAR_YEAR) return undefined;
      if (!this.year(y)) {
        [y, mo, d, h, m, s] = [y + 1, 1, 1, 0, 0, 0];
        continue;
      }
      if (!this.month(mo)) {
        [mo, d, h, m, s] = [mo + 1, 1, 0, 0, 0];
        continue;
      }
      if (!this.dayOfMonth(d) || !this.dayOfWeek(new Date(Date.UTC(y, mo - 1, d)).getUTCDay())) {
        [d, h, m, s] = [d + 1, 0, 0, 0];
        continue;
      }
      if (!this.hour(h)) {
        [h, m, s] = [h + 1, 0, 0];
        continue;
      }
      if (!this.minute(m)) {
        [m, s] = [m + 1, 0];
        continue;
      }
      if (!this.second(s)) {
        s++;
        continue;
      }
      const candidate = localToUtc({ y, mo, d, h, m, s }, this.tz);
      // A wall time skipped by a DST jump does not exist: move on to the next hour.
      if (localFields(candidate, this.tz).h !== h) {
        [h, m, s] = [h + 1, 0, 0];
        continue;
      }
      if (candidate <= afterMs) {
        s++;
        continue;
      }
      return candidate;
    }
    return undefined;
  }
}
