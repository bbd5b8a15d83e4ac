import { setTimeout as sleep } from 'node:timers/promises';
import mysql from 'mysql2/promise';
import { startStack, type Stack, type StackOptions } from '../../scripts/localstack/index.js';
import { SwitchStore, type SwitchChange } from '../../src/switches/index.js';
import { createRouter, type Router, type RouterOptions } from '../../src/router/index.js';

export const ITEMS_DDL = `CREATE TABLE items (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  sku VARCHAR(20) NOT NULL,
  qty INT NOT NULL DEFAULT 0,
  price DECIMAL(12,4) NULL,
  note VARCHAR(100) NULL,
  blob_col VARBINARY(16) NULL,
  updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  UNIQUE KEY uk_sku (sku)
)`;

export async function createTables(stack: Stack, ddl: string[]): Promise<void> {
  for (const side of [stack.source, stack.target]) {
    const admin = await side.rootConnection('app');
    try {
      for (const d of ddl) await admin.query(d);
    } finally {
      await admin.end();
    }
  }
}

export async function adminQuery(stack: Stack, side: 'source' | 'target', sql: string): Promise<unknown[]> {
  const admin = await stack[side].rootConnection('app');
  try {
    const [rows] = await admin.query(sql);
    return rows as unknown[];
  } finally {
    await admin.end();
  }
}

/** Every row of a table on one side, as comparable plain objects. */
export async function dump(
  stack: Stack,
  side: 'source' | 'target',
  table: string,
  orderBy = 'id',
): Promise<Record<string, unknown>[]> {
  const rows = (await adminQuery(stack, side, `SELECT * FROM \`${table}\` ORDER BY ${orderBy}`)) as Record<
    string,
    unknown
  >[];
  return rows.map((r) =>
    Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Buffer.isBuffer(v) ? v.toString('hex') : v])),
  );
}

export function pools(stack: Stack): { source: mysql.Pool; target: mysql.Pool } {
  const opts = { connectionLimit: 10, connectTimeout: 2000 };
  return {
    source: mysql.createPool({ uri: stack.source.url('app'), ...opts }),
    target: mysql.createPool({ uri: stack.target.url('app'), ...opts }),
  };
}

export function makeRouter(stack: Stack, migrationId: string, extra: Partial<RouterOptions> = {}): Router {
  const p = pools(stack);
  return createRouter({
    migrationId,
    source: p.source,
    target: p.target,
    redis: stack.redis.url,
    heartbeatMs: 200,
    ...extra,
  });
}

export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await sleep(10);
  }
}

/** Sets switches and waits until every router given applies them. */
export async function setSwitches(
  store: SwitchStore,
  migrationId: string,
  change: SwitchChange,
  routers: Router[],
): Promise<number> {
  const s = await store.set(migrationId, change, 'test');
  await waitFor(
    () => routers.every((r) => r.switches.version >= s.version),
    5000,
    `routers at version ${s.version}`,
  );
  return s.version;
}

/** A stack with the tables created on both sides, the migration's switches initialised and a router. */
export async function startRouterEnv(
  migrationId: string,
  ddl: string[],
  stackOptions: StackOptions = {},
): Promise<{ stack: Stack; store: SwitchStore; router: Router; stop(): Promise<void> }> {
  const stack = await startStack(stackOptions);
  await createTables(stack, ddl);
  const store = new SwitchStore(stack.redis.url);
  await store.initialise(migrationId);
  const router = makeRouter(stack, migrationId);
  return {
    stack,
    store,
    router,
    async stop() {
      await router.end();
      await store.close();
      await stack.stop();
    },
  };
}
