import type { Redis } from 'ioredis';
import type { EncodedKey, EncodedValue, Side } from '../shared/switches.js';
import { migrationKeys } from './keys.js';

/**
 * The repair stream `migrator:<id>:repairs`: one entry per write that reached the authoritative side
 * but failed on the other one. The repair loop re-reads the authoritative side for each key (it never
 * trusts the entry's contents beyond table and key) and writes the other side.
 */
export const REPAIR_FIELDS = {
  /** Table name (as the application names it). */
  table: 'table',
  /** JSON EncodedKey (key column values in key order), or JSON null: keys unknown, verify the whole table. */
  key: 'key',
  /** insert | update | delete: what the application did. */
  op: 'op',
  /** The side the write failed on (the one to repair). */
  side: 'side',
  /** The error message. */
  error: 'error',
  /** ISO time of the failure. */
  at: 'at',
} as const;

export type RepairOp = 'insert' | 'update' | 'delete';

export interface RepairEntry {
  table: string;
  /** null: the keys could not be determined; the whole table needs a verify+repair pass. */
  key: EncodedKey | null;
  op: RepairOp;
  side: Side;
  error: string;
  at: string;
}

export interface RepairRecord extends RepairEntry {
  /** Stream entry id, e.g. "1700000000000-0". */
  id: string;
}

/** A key column value from mysql2 in JSON-safe form: Buffers as base64, bigints and Dates as strings. */
export function encodeKeyValue(value: unknown): EncodedValue {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'number') return value;
  if (typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (Buffer.isBuffer(value)) return { b64: value.toString('base64') };
  if (value instanceof Uint8Array) return { b64: Buffer.from(value).toString('base64') };
  if (value instanceof Date) return value.toISOString();
  return String(value);
}

export function encodeKey(values: readonly unknown[]): EncodedKey {
  return values.map(encodeKeyValue);
}

/** The inverse of encodeKeyValue (binary back to a Buffer), for use as a query parameter. */
export function decodeKeyValue(value: EncodedValue): string | number | null | Buffer {
  if (value !== null && typeof value === 'object') return Buffer.from(value.b64, 'base64');
  return value;
}

function toFields(entry: RepairEntry): string[] {
  return [
    REPAIR_FIELDS.table,
    entry.table,
    REPAIR_FIELDS.key,
    JSON.stringify(entry.key),
    REPAIR_FIELDS.op,
    entry.op,
    REPAIR_FIELDS.side,
    entry.side,
    REPAIR_FIELDS.error,
    entry.error.slice(0, 1000),
    REPAIR_FIELDS.at,
    entry.at,
  ];
}

function fromFields(id: string, flat: string[]): RepairRecord | undefined {
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) f[flat[i]] = flat[i + 1];
  let key: EncodedKey | null;
  try {
    key = JSON.parse(f[REPAIR_FIELDS.key] ?? 'null') as EncodedKey | null;
  } catch {
    return undefined;
  }
  const op = f[REPAIR_FIELDS.op];
  const side = f[REPAIR_FIELDS.side];
  if (op !== 'insert' && op !== 'update' && op !== 'delete') return undefined;
  if (side !== 'source' && side !== 'target') return undefined;
  return {
    id,
    table: f[REPAIR_FIELDS.table] ?? '',
    key,
    op,
    side,
    error: f[REPAIR_FIELDS.error] ?? '',
    at: f[REPAIR_FIELDS.at] ?? '',
  };
}

export interface ReadRepairsOptions {
  /** Return entries after this id (exclusive); default "0-0" (from the start). Persist the last id read. */
  after?: string;
  /** At most this many entries (default 500). */
  count?: number;
  /** Wait up to this long for new entries when none are there (XREAD BLOCK: use a dedicated connection). */
  blockMs?: number;
}

/** Reader/writer of one migration's repair stream. */
export class RepairStream {
  readonly key: string;

  constructor(
    private readonly redis: Redis,
    readonly migrationId: string,
  ) {
    this.key = migrationKeys(migrationId).repairs;
  }

  /** Appends entries in one round trip; returns their ids. */
  async append(entries: readonly RepairEntry[]): Promise<string[]> {
    if (entries.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const e of entries) pipeline.xadd(this.key, '*', ...toFields(e));
    const results = (await pipeline.exec()) ?? [];
    return results.map(([err, id]) => {
      if (err) throw err;
      return String(id);
    });
  }

  /** Entries after `after`, oldest first. Malformed entries are skipped (and keep their ids in order). */
  async read(options: ReadRepairsOptions = {}): Promise<RepairRecord[]> {
    const after = options.after ?? '0-0';
    const count = options.count ?? 500;
    const reply =
      options.blockMs !== undefined
        ? await this.redis.xread('COUNT', count, 'BLOCK', options.blockMs, 'STREAMS', this.key, after)
        : await this.redis.xread('COUNT', count, 'STREAMS', this.key, after);
    if (!reply) return [];
    const out: RepairRecord[] = [];
    for (const [, entries] of reply) {
      for (const [id, flat] of entries) {
        const rec = fromFields(id, flat);
        if (rec) out.push(rec);
      }
    }
    return out;
  }

  /** Deletes processed entries. */
  async delete(ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return 0;
    return this.redis.xdel(this.key, ...ids);
  }

  /** Entries still in the stream. */
  length(): Promise<number> {
    return this.redis.xlen(this.key);
  }
}
