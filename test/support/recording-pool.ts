/**
 * A mysql2 pool that reports every statement it is given, through the pool and through the connections
 * it hands out alike (round trips counted at the pool: test/router/batched-writes, the router bench).
 */
import type mysql from 'mysql2/promise';

export function recordingPool(pool: mysql.Pool, onStatement: (sql: string) => void): mysql.Pool {
  const wrap = <T extends object>(o: T): T =>
    new Proxy(o, {
      get(obj, prop, receiver) {
        const v: unknown = Reflect.get(obj, prop, receiver);
        if (typeof v !== 'function') return v;
        if (prop === 'query' || prop === 'execute')
          return (...args: unknown[]) => {
            const a = args[0] as string | { sql: string };
            onStatement(typeof a === 'string' ? a : a.sql);
            return v.apply(obj, args) as unknown;
          };
        if (prop === 'getConnection') return async () => wrap((await v.apply(obj)) as object);
        return v.bind(obj);
      },
    });
  return wrap(pool);
}
