/**
 * Statement tags that make the product's own writes recognisable in a binlog (see
 * src/activities/bypass/README.md). Every statement the router sends to either side starts with
 * ROUTER_TAG; every statement of the product's data plane (copier, CDC applier, repair, verification)
 * starts with PRODUCT_TAG. The server keeps the statement text, comments included, next to its row
 * events (MariaDB ANNOTATE_ROWS, MySQL Rows_query with binlog_rows_query_log_events=ON), so a binlog
 * watcher can tell these writes from those of writers that bypass the router.
 *
 * Plain comments (not `/*!` executable ones, no colon: named placeholders): the server ignores them.
 * Pure module.
 */
export const ROUTER_TAG = '/*migrator-router*/ ';
export const PRODUCT_TAG = '/*migrator-product*/ ';

export type Writer = 'router' | 'product' | 'foreign';

/** Who wrote a statement, from its text as the binlog keeps it (null: no statement text logged). */
export function writerOf(statement: string | null | undefined): Writer {
  if (!statement) return 'foreign';
  const text = statement.trimStart();
  if (text.startsWith(ROUTER_TAG.trimEnd())) return 'router';
  if (text.startsWith(PRODUCT_TAG.trimEnd())) return 'product';
  return 'foreign';
}

/** The first argument of a mysql2 query/execute call with `tag` in front of its SQL. */
export function tagSql(arg: unknown, tag: string): unknown {
  if (typeof arg === 'string') return arg.startsWith(tag) ? arg : tag + arg;
  if (arg && typeof arg === 'object' && typeof (arg as { sql?: unknown }).sql === 'string') {
    const o = arg as { sql: string };
    return o.sql.startsWith(tag) ? arg : { ...o, sql: tag + o.sql };
  }
  return arg;
}

/**
 * A view of a mysql2 promise pool (or connection) whose query/execute put `tag` in front of every
 * statement, connections it hands out included. Everything else is the object's own.
 */
export function taggedDb<T extends object>(db: T, tag: string): T {
  return new Proxy(db, {
    get(obj, prop, receiver) {
      const value: unknown = Reflect.get(obj, prop, receiver);
      if (typeof value !== 'function') return value;
      if (prop === 'query' || prop === 'execute') {
        return (...args: unknown[]) => value.apply(obj, [tagSql(args[0], tag), ...args.slice(1)]) as unknown;
      }
      if (prop === 'getConnection') {
        return async (...args: unknown[]) => taggedDb((await value.apply(obj, args)) as object, tag);
      }
      return value.bind(obj);
    },
  });
}
