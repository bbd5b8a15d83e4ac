import type { Redis } from 'ioredis';
import type { EncodedKey } from '../contracts.js';
import { REPAIR_FIELDS } from '../../switches/index.js';

export interface FailureRecord {
  id: string;
  table: string;
  /** null: keys unknown, the whole table needs verification. */
  key: EncodedKey | null;
  op?: string;
  side?: string;
}

function isEncodedKey(v: unknown): v is EncodedKey {
  return (
    Array.isArray(v) &&
    v.every(
      (x) =>
        x === null ||
        typeof x === 'string' ||
        typeof x === 'number' ||
        (typeof x === 'object' && typeof (x as { b64?: unknown }).b64 === 'string'),
    )
  );
}

/**
 * Reads the Redis stream of failed dual writes (written by src/switches RepairStream for the router): the
 * fields `table` and `key` (JSON EncodedKey or null) matter; `op`, `side` and any other field are carried or
 * ignored. Malformed entries are skipped, but `lastId` still moves past them so they are never re-read.
 */
export async function readFailures(
  redis: Redis,
  stream: string,
  after: string,
  count: number,
  blockMs: number,
): Promise<{ records: FailureRecord[]; lastId?: string }> {
  const reply = await redis.xread('COUNT', count, 'BLOCK', blockMs, 'STREAMS', stream, after);
  if (!reply) return { records: [] };
  const records: FailureRecord[] = [];
  let lastId: string | undefined;
  for (const [, entries] of reply) {
    for (const [id, flat] of entries) {
      lastId = id;
      const f = new Map<string, string>();
      for (let i = 0; i + 1 < flat.length; i += 2) f.set(flat[i], flat[i + 1]);
      const table = f.get(REPAIR_FIELDS.table);
      if (!table) continue;
      let key: unknown;
      try {
        key = JSON.parse(f.get(REPAIR_FIELDS.key) ?? 'null');
      } catch {
        continue;
      }
      if (key !== null && !isEncodedKey(key)) continue;
      records.push({ id, table, key, op: f.get(REPAIR_FIELDS.op), side: f.get(REPAIR_FIELDS.side) });
    }
  }
  return { records, lastId };
}
