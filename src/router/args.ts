import type { QueryOptions } from 'mysql2/promise';

/** QueryOptions plus the routing key for sticky reads (removed before mysql2 sees the options). */
export interface RouterQueryOptions extends QueryOptions {
  routingKey?: string | number;
}

export interface NormalisedCall {
  options: QueryOptions;
  /** The values as an array (mysql2 also accepts one bare value). */
  values: unknown[];
  routingKey?: string | number;
}

/** Accepts every promise-API call shape of mysql2: (sql), (sql, values), (options), (options, values). */
export function normaliseCall(first: string | RouterQueryOptions, second?: unknown): NormalisedCall {
  const base: RouterQueryOptions = typeof first === 'string' ? { sql: first } : { ...first };
  const { routingKey, ...options } = base;
  if (second !== undefined) options.values = second;
  const raw: unknown = options.values;
  const values = raw === undefined ? [] : Array.isArray(raw) ? (raw as unknown[]) : [raw];
  return { options, values, routingKey };
}

/** Values that mysql2 expands (arrays, objects) change the statement text: analyse the formatted SQL. */
export function needsFormatting(values: readonly unknown[]): boolean {
  return values.some(
    (v) =>
      v !== null &&
      typeof v === 'object' &&
      !Buffer.isBuffer(v) &&
      !(v instanceof Date) &&
      !(v instanceof Uint8Array),
  );
}
