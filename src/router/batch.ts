/**
 * One round trip for the authoritative side of a dual write: `START TRANSACTION`, the statement and
 * the image reads its capture will make, as one multi-statement query on a connection of
 * sessions.ts. The capture (mirror.ts) then runs unchanged: its run() returns the statement's result,
 * and its reads are answered from what the batch read when they are the same query (same text and
 * values), from the connection otherwise. Everything runs in the transaction the batch opened: a
 * failure anywhere rolls it back (router.ts).
 */
import type { FieldPacket, QueryOptions, QueryResult, ResultSetHeader } from 'mysql2/promise';
import { ROUTER_TAG } from '../shared/write-tags.js';
import type { NormalisedCall } from './args.js';
import { isResultHeader, type Cell, type Queryable, type QueryReturn } from './db.js';
import type { PlannedRead } from './mirror.js';
import type { Session } from './sessions.js';

/** Server status flag of a result followed by more results (not part of the statement's own status). */
const SERVER_MORE_RESULTS_EXISTS = 0x08;

type Core = NonNullable<Session['core']>;

const tagged = (sql: string) => (sql.startsWith(ROUTER_TAG) ? sql : ROUTER_TAG + sql);

/**
 * Formatted statements as one multi-statement query: each carries the router tag (the binlog annotates
 * each statement of a multi-statement query with its own text), separated by "\n;" (a trailing
 * `-- comment` of one cannot swallow the next).
 */
export function batchText(pieces: readonly string[]): string {
  return pieces.map(tagged).join('\n;');
}

export async function sendBatch(
  db: Queryable,
  core: Core,
  call: NormalisedCall,
  plan: readonly PlannedRead[],
): Promise<{ result: QueryReturn; db: Queryable }> {
  const text = (o: QueryOptions) => core.format(o.sql, o.values ?? []);
  // Formatted as mysql2's query() would (the pool's timezone, stringifyObjects).
  const pieces = [
    'START TRANSACTION',
    core.format(call.options.sql, call.values),
    ...plan.map((r) => text(r.send)),
  ];
  const options: QueryOptions = { sql: batchText(pieces) };
  if (call.options.timeout !== undefined) options.timeout = call.options.timeout;
  if (plan.length > 0) {
    options.rowsAsArray = true;
    options.typeCast = plan[0].send.typeCast;
  }
  let results: QueryResult[];
  let fields: (FieldPacket[] | undefined)[];
  try {
    [results, fields] = (await db.query(options)) as unknown as [
      QueryResult[],
      (FieldPacket[] | undefined)[],
    ];
  } catch (err) {
    // The error names the statement, as when it runs alone (not the batch around it).
    const e = err as { sql?: string };
    if (e && typeof e === 'object' && 'sql' in e) e.sql = tagged(pieces[1]);
    throw err;
  }
  const header = Array.isArray(results) && results.length === pieces.length ? results[1] : undefined;
  if (!header || !isResultHeader(header))
    throw new Error('dual write: unexpected results from the statement batch (rolled back)');
  // The statement's status as if it had been sent alone (its "more results" flag belongs to the batch).
  (header as ResultSetHeader).serverStatus &= ~SERVER_MORE_RESULTS_EXISTS;
  const prefetched = new Map<string, QueryReturn>();
  plan.forEach((r, i) => {
    const rows = results[2 + i] as unknown as Cell[][];
    const as = r.as(header, rows);
    if (as) prefetched.set(text(as), [rows as unknown as QueryResult, fields[2 + i] ?? []]);
  });
  const answering: Queryable = {
    query: (o) => {
      const key = text(o);
      const hit = prefetched.get(key);
      if (!hit) return db.query(o);
      prefetched.delete(key);
      return Promise.resolve(hit);
    },
    execute: (o) => db.execute(o),
  };
  return { result: [header, fields[1] as unknown as FieldPacket[]], db: answering };
}
