import type mysql from 'mysql2/promise';
import type { LedgerEntry, Row } from './ledger.js';
import { accountEmail, datetime6, DEMO_KEYS, rng, type DemoTable } from './schema.js';

/** What the demo app needs from its database handle: a mysql2 pool, or the router that wraps two. */
export interface Queryable {
  query(sql: string, values?: unknown): Promise<[unknown, unknown]>;
}

export interface WorkloadStats {
  /** Writes the database acknowledged. */
  writes: number;
  reads: number;
  errors: number;
  /** When each error happened (epoch ms): the demo tells errors during an injected outage from others. */
  errorTimes: number[];
  /** The first errors, with their time (for the report). */
  errorSamples: { at: number; message: string }[];
  lastError?: string;
}

export interface WorkloadOptions {
  /** Operations per second of this app (all its lanes together). */
  ratePerSecond: number;
  /** Lanes of this app process, and where they sit among every lane of every app process. */
  lanes: number;
  firstLane: number;
  totalLanes: number;
  /** Seeded accounts (lane i owns the emails whose index % totalLanes == i). */
  accounts: number;
  seed?: number;
  /** Tags the orders this app inserts (payload.w), so an insert of unknown outcome can be recognised. */
  app: number;
}

/**
 * A small application: a steady mix of inserts (auto-increment ids), updates and deletes over the demo
 * tables, plus reads. Every write is recorded in a ledger with every column it set (inserts set every
 * column, updated_at included; updates set updated_at too), whether the database acknowledged it or the
 * call failed (then its outcome is unknown), in the order it was sent. Each lane owns a disjoint slice of
 * keys, so the order of the writes to one key is the order of its lane's ledger entries.
 */
export class DemoWorkload {
  readonly stats: WorkloadStats = { writes: 0, reads: 0, errors: 0, errorTimes: [], errorSamples: [] };
  readonly ledger: LedgerEntry[] = [];
  private running = false;
  private lanes: Promise<void>[] = [];
  private tick = 0;

  constructor(
    private readonly db: Queryable,
    private readonly options: WorkloadOptions,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    for (let i = 0; i < this.options.lanes; i++) this.lanes.push(this.runLane(this.options.firstLane + i));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.lanes);
    this.lanes = [];
  }

  private async runLane(lane: number): Promise<void> {
    const rand = rng((this.options.seed ?? 7) + lane);
    // ratePerSecond is this app's: its lanes share it.
    const intervalMs = (1000 * this.options.lanes) / Math.max(1, this.options.ratePerSecond);
    const myOrders: string[] = [];
    let n = 0;
    while (this.running) {
      const started = Date.now();
      try {
        await this.step(rand, lane, myOrders, n++);
      } catch (err) {
        const at = Date.now();
        this.stats.errors++;
        this.stats.errorTimes.push(at);
        this.stats.lastError = (err as Error).message;
        if (this.stats.errorSamples.length < 50)
          this.stats.errorSamples.push({ at, message: (err as Error).message });
      }
      const wait = intervalMs - (Date.now() - started);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  }

  private now(): string {
    return datetime6(Date.now(), this.tick++);
  }

  /** Sends one write and records it: acknowledged, or (when the call failed) of unknown outcome. */
  private async write(
    lane: number,
    table: DemoTable,
    op: LedgerEntry['op'],
    key: Row | null,
    values: Row | undefined,
    sql: string,
    params: unknown[],
  ): Promise<mysql.ResultSetHeader> {
    const entry: LedgerEntry = { seq: this.ledger.length, lane, table, op, key, values, outcome: 'unknown' };
    this.ledger.push(entry);
    const [result] = await this.db.query(sql, params);
    entry.outcome = 'ack';
    this.stats.writes++;
    return result as mysql.ResultSetHeader;
  }

  private async step(rand: () => number, lane: number, myOrders: string[], n: number): Promise<void> {
    const dice = rand();
    if (dice < 0.3 || myOrders.length === 0) {
      const order: Row = {
        id: null,
        customer_email: accountEmail(Math.floor(rand() * this.options.accounts)),
        amount: (rand() * 1000).toFixed(4),
        status: 'new',
        payload: JSON.stringify({ w: `${this.options.app}-${lane}-${n}`, big: 9007199254740993n.toString() }),
        created_at: this.now(),
        updated_at: this.now(),
      };
      const cols = Object.keys(order).filter((c) => c !== 'id');
      const entryIndex = this.ledger.length;
      const result = await this.write(
        lane,
        'orders',
        'insert',
        null,
        order,
        `INSERT INTO orders (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`,
        cols.map((c) => order[c]),
      );
      // Acknowledged: the generated id is known now.
      const id = String(result.insertId);
      const entry = this.ledger[entryIndex];
      entry.key = { id };
      entry.values = { ...order, id };
      myOrders.push(id);
      const item: Row = {
        order_id: id,
        line_no: '1',
        sku: `SKU-${Math.floor(rand() * 1000)}`,
        qty: '1',
        price: '9.99',
        note: null,
        updated_at: this.now(),
      };
      await this.write(
        lane,
        'order_items',
        'insert',
        pick(item, DEMO_KEYS.order_items),
        item,
        'INSERT INTO order_items (order_id, line_no, sku, qty, price, note, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
        [item.order_id, item.line_no, item.sku, item.qty, item.price, item.note, item.updated_at],
      );
    } else if (dice < 0.6) {
      const id = myOrders[Math.floor(rand() * myOrders.length)];
      const set: Row = {
        status: ['paid', 'shipped'][Math.floor(rand() * 2)],
        amount: (rand() * 1000).toFixed(4),
        updated_at: this.now(),
      };
      await this.write(
        lane,
        'orders',
        'update',
        { id },
        set,
        'UPDATE orders SET status = ?, amount = ?, updated_at = ? WHERE id = ?',
        [set.status, set.amount, set.updated_at, id],
      );
    } else if (dice < 0.7) {
      const index = Math.floor(rand() * myOrders.length);
      const id = myOrders[index];
      myOrders.splice(index, 1);
      await this.write(
        lane,
        'order_items',
        'delete',
        { order_id: id, line_no: '1' },
        undefined,
        'DELETE FROM order_items WHERE order_id = ?',
        [id],
      );
      await this.write(lane, 'orders', 'delete', { id }, undefined, 'DELETE FROM orders WHERE id = ?', [id]);
    } else if (dice < 0.8) {
      const total = this.options.totalLanes;
      const slot = Math.floor(rand() * Math.floor(this.options.accounts / total)) * total + lane;
      const email = accountEmail(slot);
      const set: Row = { balance: (rand() * 100000).toFixed(6), updated_at: this.now() };
      await this.write(
        lane,
        'accounts',
        'update',
        { email },
        set,
        'UPDATE accounts SET balance = ?, updated_at = ? WHERE email = ?',
        [set.balance, set.updated_at, email],
      );
    } else {
      const id = myOrders[Math.floor(rand() * myOrders.length)] ?? '1';
      await this.db.query('SELECT id, status, amount FROM orders WHERE id = ?', [id]);
      this.stats.reads++;
    }
  }
}

function pick(row: Row, columns: readonly string[]): Row {
  return Object.fromEntries(columns.map((c) => [c, row[c]]));
}
