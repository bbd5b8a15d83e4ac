/**
 * Secret detector for tests: searches everything Temporal stores or shows about a run, and the logs of
 * the processes that ran it, for the stack's secrets (passwords, DSNs).
 *
 * Nothing is stringified blindly: a Payload's `data` is a byte array (JSON.stringify would turn it into
 * a list of numbers that never matches a password). Every byte array met anywhere in a history event,
 * a description or a schedule (payload data and metadata, memo, search attributes, headers, failure
 * details and their causes, heartbeat details, markers, update and signal inputs) is decoded as text;
 * every text is searched for each secret in its raw, URL-encoded, JSON-escaped, hex and base64 forms,
 * then parsed as JSON (its strings searched again, escapes undone) and its base64-looking runs decoded
 * and searched in turn, a few levels deep.
 */
import { readFileSync } from 'node:fs';
import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';

const EventType = proto.temporal.api.enums.v1.EventType;

export interface Secret {
  /** What it is (never the value): e.g. "source password". */
  label: string;
  value: string;
}

export interface Finding {
  /** Which secret, by label; "DSN with credentials" for the pattern. */
  secret: string;
  /** How it appeared: raw, url-encoded, json-escaped, hex, base64. */
  form: string;
  /** Where: workflow id, run, event id and type, field path; or the log file and line. */
  where: string;
}

/** Forms a secret can take once written somewhere. */
function forms(value: string): { form: string; text: string }[] {
  const out = [
    { form: 'raw', text: value },
    { form: 'url-encoded', text: encodeURIComponent(value) },
    { form: 'json-escaped', text: JSON.stringify(value).slice(1, -1) },
    { form: 'hex', text: Buffer.from(value).toString('hex') },
  ];
  // base64 of the secret at each of the three byte alignments it can have inside a longer blob: keep
  // the characters whose 6 bits come from the secret's bytes only.
  const n = Buffer.byteLength(value);
  for (let shift = 0; shift < 3; shift++) {
    const encoded = Buffer.concat([Buffer.alloc(shift), Buffer.from(value)]).toString('base64');
    const core = encoded.slice(Math.ceil((8 * shift) / 6), Math.floor((8 * (shift + n)) / 6));
    if (core.length >= 8) {
      out.push({ form: 'base64', text: core });
      out.push({ form: 'base64url', text: core.replace(/\+/g, '-').replace(/\//g, '_') });
    }
  }
  return out.filter((f, i) => out.findIndex((g) => g.text === f.text) === i);
}

/**
 * A URL carrying credentials (user:password@), whatever its scheme; the product's own hint
 * `mysql://user:password@host:port/database` (literally) is a template, not a secret.
 */
const DSN = /\b[a-z][a-z0-9+.-]*:\/\/(?!user:password@)[^\s/@"'`]+:[^\s/@"'`]+@/i;
const BASE64_RUN = /[A-Za-z0-9+/_-]{16,}={0,2}/g;
const MAX_DEPTH = 4;

export class SecretScanner {
  readonly findings: Finding[] = [];
  /** What was searched (a detector that searched nothing proves nothing). */
  readonly searched = { texts: 0, byteArrays: 0, events: 0, histories: 0, logLines: 0 };
  private readonly compiled: { label: string; form: string; text: string }[];

  constructor(secrets: Secret[]) {
    if (secrets.length === 0) throw new Error('no secret to search for');
    this.compiled = secrets.flatMap((s) => forms(s.value).map((f) => ({ label: s.label, ...f })));
  }

  private found(secret: string, form: string, where: string): void {
    if (!this.findings.some((f) => f.secret === secret && f.form === form && f.where === where))
      this.findings.push({ secret, form, where });
  }

  /** Searches one text (and what it decodes to). */
  text(text: string, where: string, depth = 0): void {
    this.searched.texts++;
    for (const c of this.compiled) if (text.includes(c.text)) this.found(c.label, c.form, where);
    if (DSN.test(text)) this.found('DSN with credentials', 'raw', where);
    if (depth >= MAX_DEPTH) return;
    const trimmed = text.trim();
    if (/^[[{"]/.test(trimmed)) {
      try {
        this.value(JSON.parse(trimmed) as unknown, `${where} (json)`, depth + 1);
      } catch {
        /* not JSON */
      }
    }
    for (const run of text.match(BASE64_RUN) ?? []) {
      const bytes = Buffer.from(run.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
      if (bytes.length >= 8) this.bytes(bytes, `${where} (base64)`, depth + 1);
    }
  }

  /** Decodes a byte array as text and searches it. */
  bytes(bytes: Uint8Array, where: string, depth = 0): void {
    this.searched.byteArrays++;
    this.text(Buffer.from(bytes).toString('utf8'), where, depth);
  }

  /** Walks any decoded protobuf message / plain value: strings and byte arrays are searched. */
  value(v: unknown, where: string, depth = 0): void {
    if (v === null || v === undefined) return;
    if (typeof v === 'string') return this.text(v, where, depth);
    if (v instanceof Uint8Array) return this.bytes(v, where, depth);
    if (typeof v !== 'object') return;
    // protobufjs int64 values (Long): numbers, nothing to search.
    if ('low' in v && 'high' in v && 'unsigned' in v) return;
    if (Array.isArray(v)) {
      v.forEach((x, i) => this.value(x, `${where}[${i}]`, depth));
      return;
    }
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (typeof x === 'function') continue;
      this.value(x, `${where}.${k}`, depth);
    }
  }

  /** Every line of a log file. */
  logFile(file: string, label: string): void {
    const lines = readFileSync(file, 'utf8').split('\n');
    lines.forEach((line, i) => {
      this.searched.logLines++;
      this.text(line, `${label}:${i + 1}`);
    });
  }

  /**
   * Every workflow of the namespace (every run: continue-as-new chains, scheduled verification runs):
   * its history event by event, its description (pending activities' heartbeat details and last
   * failures, memo, search attributes), and every schedule's description (the action's arguments).
   */
  async temporal(client: Client): Promise<{ workflows: number; types: Map<string, number> }> {
    const types = new Map<string, number>();
    let workflows = 0;
    for await (const wf of client.workflow.list()) {
      workflows++;
      types.set(wf.type, (types.get(wf.type) ?? 0) + 1);
      const id = `${wf.workflowId}/${wf.runId}`;
      this.value(wf.raw, `${id} listing`);
      const handle = client.workflow.getHandle(wf.workflowId, wf.runId);
      const history = await handle.fetchHistory();
      this.searched.histories++;
      for (const event of history.events ?? []) {
        this.searched.events++;
        const { eventId, eventType, ...rest } = event;
        const type = typeof eventType === 'number' ? EventType[eventType] : String(eventType);
        this.value(rest, `${id} event ${String(eventId)} ${type}`);
      }
      const description = await handle.describe();
      this.value(description.raw, `${id} describe`);
    }
    for await (const s of client.schedule.list()) {
      const description = await client.schedule.getHandle(s.scheduleId).describe();
      this.value(description.raw, `schedule ${s.scheduleId}`);
    }
    return { workflows, types };
  }

  /** One line per finding, for assertion messages. */
  report(): string {
    return this.findings.map((f) => `${f.secret} (${f.form}) in ${f.where}`).join('\n');
  }
}

/** The secrets of a stack: both MariaDB passwords and every connection URL it hands out. */
export function stackSecrets(stack: {
  source: { password: string };
  target: { password: string };
  env: Record<string, string>;
}): Secret[] {
  const out: Secret[] = [
    { label: 'source password', value: stack.source.password },
    { label: 'target password', value: stack.target.password },
  ];
  for (const [name, value] of Object.entries(stack.env))
    if (/^MIGRATOR_DB_/.test(name)) out.push({ label: `${name} (DSN)`, value });
  return out.filter((s) => s.value.length > 0);
}
