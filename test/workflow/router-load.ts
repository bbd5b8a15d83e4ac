/**
 * The application of the workflow tests: several instances of the product's router (src/router), each
 * with its own pools, Redis connections and id, writing the tables of `createSchema` concurrently. It
 * obeys the switches only through the router: no stand-in decides where a write goes.
 *
 * Every acknowledged write is kept in a ledger (inserted orders and their lines, increments of each
 * order's amount), so a test can check that no acknowledged write is missing on a side, not only that
 * the two sides agree with each other.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import mysql from 'mysql2/promise';
import type { Stack } from '../../scripts/localstack/index.js';
import { createRouter, type Router } from '../../src/router/index.js';

export interface LoadLedger {
  /** Orders inserted and acknowledged (with their line 3). */
  inserted: number[];
  /** Acknowledged `amount = amount + 1` per order id. */
  increments: Map<number, number>;
}

export interface Load {
  /** Acknowledged writes. */
  ops: number;
  errors: string[];
  ledger: LoadLedger;
  routers: Router[];
  /** Starts no new write; resolves once every write in flight is acknowledged (or failed). */
  hold(): Promise<void>;
  release(): void;
  stop(): Promise<void>;
}

export interface LoadOptions {
  /** Router instances, each with its own writer loop (default 2; the plan's `routers.expected`). */
  routers?: number;
  /** Pause between two writes of one loop (default 15 ms). */
  pauseMs?: number;
  /** First order id inserted (default 100000). */
  baseId?: number;
  /** Rows of `createSchema` (hot rows are picked among them; default 300). */
  rows?: number;
  /** Each router's holdMaxMs, by index (default: the router's own default). */
  holdMaxMs?: (number | undefined)[];
}

export const LOAD_ROUTERS = 2;

/** Plan overrides for a test whose application is this load: every router counted in the fence. */
export function loadRouters(n = LOAD_ROUTERS): { routers: { expected: number; holdTimeoutSeconds: number } } {
  return { routers: { expected: n, holdTimeoutSeconds: 2 } };
}

export function startLoad(stack: Stack, migrationId: string, options: LoadOptions = {}): Load {
  const n = options.routers ?? LOAD_ROUTERS;
  const rows = options.rows ?? 300;
  const poolOpts = { connectionLimit: 4, connectTimeout: 5000 };
  const routers = Array.from({ length: n }, (_, i) =>
    createRouter({
      migrationId,
      routerId: `test-app-${process.pid}-${i}`,
      source: mysql.createPool({ uri: stack.source.url('app'), ...poolOpts }),
      target: mysql.createPool({ uri: stack.target.url('app'), ...poolOpts }),
      redis: stack.redis.url,
      heartbeatMs: 200,
      ...(options.holdMaxMs?.[i] !== undefined ? { holdMaxMs: options.holdMaxMs[i] } : {}),
    }),
  );
  let running = true;
  let held = false;
  let inFlight = 0;
  let idle: (() => void) | null = null;
  let nextId = options.baseId ?? 100_000;
  const load: Load = {
    ops: 0,
    errors: [],
    ledger: { inserted: [], increments: new Map() },
    routers,
    hold: () =>
      new Promise<void>((resolve) => {
        held = true;
        if (inFlight === 0) resolve();
        else idle = resolve;
      }),
    release: () => {
      held = false;
    },
    stop: async () => {},
  };

  async function write(router: Router, op: number): Promise<void> {
    const pick = op % 5;
    if (pick === 0) {
      const id = nextId++;
      // Two statements, two acknowledgements: the order, then its line.
      await router.query('INSERT INTO orders (id, customer_id, amount, note) VALUES (?, ?, ?, ?)', [
        id,
        (id % 50) + 1,
        '9.99',
        `load ${id}`,
      ]);
      await router.query('INSERT INTO order_lines (order_id, line, sku, qty) VALUES (?, 3, ?, 1)', [
        id,
        `n-${id}`,
      ]);
      load.ledger.inserted.push(id);
    } else if (pick === 1) {
      const id = 1 + ((op * 11) % rows);
      await router.query('UPDATE orders SET amount = amount + 1, note = ? WHERE id = ?', [`upd ${op}`, id]);
      load.ledger.increments.set(id, (load.ledger.increments.get(id) ?? 0) + 1);
    } else if (pick === 2) {
      await router.query('UPDATE customers SET name = ?, email = NULL WHERE id = ?', [
        `name ${op}`,
        1 + ((op * 7) % rows),
      ]);
    } else if (pick === 3) {
      await router.query('DELETE FROM order_lines WHERE order_id = ? AND line = 2', [1 + ((op * 13) % rows)]);
    } else {
      await router.query('UPDATE order_lines SET qty = qty + 1 WHERE order_id = ? AND line = 1', [
        1 + ((op * 17) % rows),
      ]);
    }
  }

  const loops = routers.map(async (router, r) => {
    while (!router.stats().switchesLoaded && running) await sleep(20);
    for (let op = r; running; op += n) {
      if (held) {
        await sleep(10);
        continue;
      }
      inFlight++;
      try {
        await write(router, op);
        load.ops++;
      } catch (err) {
        load.errors.push(`${router.routerId}: ${(err as Error).message}`);
      } finally {
        inFlight--;
        if (inFlight === 0 && idle) {
          idle();
          idle = null;
        }
      }
      await sleep(options.pauseMs ?? 15);
    }
  });

  load.stop = async () => {
    running = false;
    await Promise.all(loops);
    idle?.();
    await Promise.all(routers.map((r) => r.end().catch(() => undefined)));
  };
  return load;
}

/**
 * What the ledger says each side must hold: every acknowledged order and its line, and each order's
 * amount raised by exactly its acknowledged increments over the amount `createSchema` gave it.
 */
export async function ledgerProblems(side: mysql.ConnectionOptions, ledger: LoadLedger): Promise<string[]> {
  const conn = await mysql.createConnection(side);
  const out: string[] = [];
  try {
    if (ledger.inserted.length) {
      const [orders] = await conn.query<mysql.RowDataPacket[]>('SELECT id FROM orders WHERE id IN (?)', [
        ledger.inserted,
      ]);
      const [lines] = await conn.query<mysql.RowDataPacket[]>(
        'SELECT order_id FROM order_lines WHERE line = 3 AND order_id IN (?)',
        [ledger.inserted],
      );
      const haveOrder = new Set(orders.map((o) => Number(o.id)));
      const haveLine = new Set(lines.map((o) => Number(o.order_id)));
      for (const id of ledger.inserted) {
        if (!haveOrder.has(id)) out.push(`order ${id} acknowledged, missing`);
        if (!haveLine.has(id)) out.push(`order_lines ${id}/3 acknowledged, missing`);
      }
    }
    const ids = [...ledger.increments.keys()];
    if (ids.length) {
      const [rows] = await conn.query<mysql.RowDataPacket[]>(
        'SELECT id, amount FROM orders WHERE id IN (?)',
        [ids],
      );
      const amount = new Map(rows.map((r) => [Number(r.id), Math.round(Number(r.amount) * 100)]));
      for (const id of ids) {
        const want = Math.round((schemaAmount(id) + (ledger.increments.get(id) ?? 0)) * 100);
        if (amount.get(id) !== want)
          out.push(`orders ${id}: amount ${(amount.get(id) ?? NaN) / 100}, acknowledged ${want / 100}`);
      }
    }
  } finally {
    await conn.end();
  }
  return out;
}

/** The amount `createSchema` gives order `id`. */
export function schemaAmount(id: number): number {
  return Number((id * 3.17).toFixed(2));
}
