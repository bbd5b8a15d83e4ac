import type { QueryResult } from 'mysql2/promise';

function normaliseValue(v: unknown): unknown {
  if (Buffer.isBuffer(v)) return { hex: v.toString('hex') };
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'bigint') return String(v);
  if (Array.isArray(v)) return v.map(normaliseValue);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) out[k] = normaliseValue((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}

/** Result rows as comparable strings; unordered results (no ORDER BY) are compared as multisets. */
export function comparable(result: QueryResult, ordered: boolean): string[] {
  const rows = Array.isArray(result) ? (result as unknown[]) : [result];
  const out = rows.map((r) => JSON.stringify(normaliseValue(r)));
  return ordered ? out : out.sort();
}

export function sameResult(a: QueryResult, b: QueryResult, ordered: boolean): boolean {
  const x = comparable(a, ordered);
  const y = comparable(b, ordered);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

export function rowCount(result: QueryResult): number {
  return Array.isArray(result) ? result.length : 1;
}
