/**
 * A mysql2 pool that reports every statement it is given, through the pool and through the connections
 * it hands out alike, promise API and the callback connection under it (round trips counted at the
 * pool: test/router/batched-writes, the router bench). `onStatement` may return a promise: the
 * statement is sent once it resolves (test/router/commit-together holds a COMMIT back).
 */
import type mysql from 'mysql2/promise';

export function recordingPool(
  pool: mysql.Pool,
  onStatement: (sql: string) => void | Promise<void>,
): mysql.Pool {
  const wrap = <T extends object>(o: T): T =>
    new Proxy(o, {
      get(obj, prop, receiver) {
        const v: unknown = Reflect.get(obj, prop, receiver);
        // The mysql2 connection under a promise one: the router sends its own statements there.
        if (prop === 'connection' && typeof v === 'object' && v !== null) return wrap(v);
        if (typeof v !== 'function') return v;
        if (prop === 'query' || prop === 'execute')
          return (...args: unknown[]) => {
            const a = args[0] as string | { sql: string };
            const wait = onStatement(typeof a === 'string' ? a : a.sql);
            const send = () => v.apply(obj, args) as unknown;
            if (!(wait instanceof Promise)) return send();
            // The callback API returns its command object (a thenable that refuses to be awaited):
            // nothing here uses it when delayed.
            if (typeof args[args.length - 1] === 'function')
              return void wait.then(() => {
                send();
              });
            return wait.then(send);
          };
        if (prop === 'getConnection') return async () => wrap((await v.apply(obj)) as object);
        return v.bind(obj);
      },
    });
  return wrap(pool);
}
