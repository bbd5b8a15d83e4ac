/**
 * State file: the whole server state as JSON, written atomically (tmp file + rename), debounced.
 * Bytes are stored as {"$b": base64}; int64 values become numbers.
 */
import { existsSync, readFileSync, renameSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from './log.js';

export function toPlain(v: unknown): unknown {
  if (v === null || v === undefined) return v;
  if (typeof v !== 'object') return v;
  if (v instanceof Uint8Array) return { $b: Buffer.from(v).toString('base64') };
  if (Array.isArray(v)) return v.map(toPlain);
  if (
    'toNumber' in v &&
    typeof (v as { toNumber: unknown }).toNumber === 'function' &&
    'low' in v &&
    'high' in v
  ) {
    return (v as { toNumber(): number }).toNumber();
  }
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) {
    const x = (v as Record<string, unknown>)[k];
    if (x !== undefined && typeof x !== 'function') out[k] = toPlain(x);
  }
  return out;
}

export function fromPlain(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(fromPlain);
  const o = v as Record<string, unknown>;
  if (typeof o.$b === 'string' && Object.keys(o).length === 1) return Buffer.from(o.$b, 'base64');
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(o)) out[k] = fromPlain(x);
  return out;
}

export class StateFile {
  private timer: NodeJS.Timeout | undefined;
  private dirty = false;

  constructor(
    readonly path: string,
    private readonly log: Logger,
    private readonly snapshot: () => unknown,
    private readonly debounceMs = 200,
  ) {}

  load(): unknown {
    if (!existsSync(this.path)) return undefined;
    const text = readFileSync(this.path, 'utf8');
    if (!text.trim()) return undefined;
    return fromPlain(JSON.parse(text));
  }

  /** Asks for a save soon (coalesces bursts of changes). */
  requestSave(): void {
    this.dirty = true;
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.saveNow();
    }, this.debounceMs);
  }

  saveNow(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (!this.dirty) return;
    this.dirty = false;
    const started = Date.now();
    const data = JSON.stringify(toPlain(this.snapshot()));
    mkdirSync(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(tmp, data);
    renameSync(tmp, this.path);
    this.log.debug(`state saved to ${this.path} (${data.length} bytes, ${Date.now() - started}ms)`);
  }

  stop(): void {
    this.saveNow();
  }
}
