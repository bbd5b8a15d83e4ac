import type mysql from 'mysql2/promise';
import { accountEmail, rng } from './schema.js';

/** What the demo app needs from its database handle: a mysql2 pool, or the router that wraps two. */
export interface Queryable {
  query(sql: string, values?: unknown): Promise<[unknown, unknown]>;
}

type Expected = { kind: 'row'; columns: Record<string, string> } | { kind: 'deleted' };

export interface WorkloadStats {
  writes: number;
  reads: number;
  errors: number;
  lastError?: string;
}

/**
 * A small application: a steady mix of inserts (auto-increment ids), updates, deletes and upserts over
 * the demo tables, plus reads. Every acknowledged write is recorded in a ledger (key -> expected
 * values or deleted), so the end of the demo can prove that none was lost on the target.
 * Each lane owns a disjoint slice of keys, so the order of writes to one key is the order of the ledger.
 */
export class DemoWorkload {
  readonly stats: WorkloadStats = { writes: 0, reads: 0, errors: 0 };
  private readonly ledger = new Map<
    string,
    { table: string; where: Record<string, string>; expected: Expected }
  >();
  private running = false;
  private lanes: Promise<void>[] = [];

  constructor(
    private readonly db: Queryable,
    private readonly options: { ratePerSecond: number; lanes?: number; accounts: number; seed?: number },
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    const lanes = this.options.lanes ?? 4;
    for (let lane = 0; lane < lanes; lane++) this.lanes.push(this.runLane(lane, lanes));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.lanes);
    this.lanes = [];
  }

  get acknowledgedKeys(): number {
    return this.ledger.size;
  }

  private async runLane(lane: number, lanes: number): Promise<void> {
    const rand = rng((this.options.seed ?? 7) + lane);
    const intervalMs = (1000 * lanes) / Math.max(1, this.options.ratePerSecond);
    const myOrders: number[] = [];
    while (this.running) {
      const started = Date.now();
      try {
        await this.step(rand, lane, lanes, myOrders);
      } catch (err) {
        this.stats.errors++;
        this.stats.lastError = (err as Error).message;
      }
      const wait = intervalMs - (Date.now() - started);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  }

  private record(table: string, where: Record<string, string>, expected: Expected): void {
    this.ledger.set(`${table}:${JSON.stringify(where)}`, { table, where, expected });
    this.stats.writes++;
  }

  private async step(rand: () => number, lane: number, lanes: number, myOrders: number[]): Promise<void> {
    const dice = rand();
    const now = new Date().toISOString().replace('T', ' ').replace('Z', '');
    if (dice < 0.3 || myOrders.length === 0) {
      const email = accountEmail(Math.floor(rand() * this.options.accounts));
      const amount = (rand() * 1000).toFixed(4);
      const [result] = await this.db.query(
        'INSERT INTO orders (customer_email, amount, status, payload, created_at) VALUES (?, ?, ?, ?, ?)',
        [email, amount, 'new', JSON.stringify({ lane, big: 9007199254740993n.toString() }), now],
      );
      const id = String((result as mysql.ResultSetHeader).insertId);
      myOrders.push(Number(id));
      this.record(
        'orders',
        { id },
        { kind: 'row', columns: { customer_email: email, amount, status: 'new' } },
      );
      const sku = `SKU-${Math.floor(rand() * 1000)}`;
      await this.db.query(
        'INSERT INTO order_items (order_id, line_no, sku, qty, price) VALUES (?, 1, ?, 1, ?)',
        [id, sku, '9.99'],
      );
      this.record('order_items', { order_id: id, line_no: '1' }, { kind: 'row', columns: { sku, qty: '1' } });
    } else if (dice < 0.6) {
      const id = String(myOrders[Math.floor(rand() * myOrders.length)]);
      const status = ['paid', 'shipped'][Math.floor(rand() * 2)];
      const amount = (rand() * 1000).toFixed(4);
      await this.db.query('UPDATE orders SET status = ?, amount = ? WHERE id = ?', [status, amount, id]);
      const prev = this.ledger.get(`orders:${JSON.stringify({ id })}`);
      if (prev?.expected.kind === 'row') {
        this.record('orders', { id }, { kind: 'row', columns: { ...prev.expected.columns, status, amount } });
      }
    } else if (dice < 0.7) {
      const index = Math.floor(rand() * myOrders.length);
      const id = String(myOrders[index]);
      myOrders.splice(index, 1);
      await this.db.query('DELETE FROM order_items WHERE order_id = ?', [id]);
      await this.db.query('DELETE FROM orders WHERE id = ?', [id]);
      this.record('order_items', { order_id: id, line_no: '1' }, { kind: 'deleted' });
      this.record('orders', { id }, { kind: 'deleted' });
    } else if (dice < 0.8) {
      // Accounts in this lane's slice only: lane i owns emails with index % lanes == i.
      const slot = Math.floor(rand() * Math.floor(this.options.accounts / lanes)) * lanes + lane;
      const email = accountEmail(slot);
      const balance = (rand() * 100000).toFixed(6);
      await this.db.query('UPDATE accounts SET balance = ? WHERE email = ?', [balance, email]);
      const prev = this.ledger.get(`accounts:${JSON.stringify({ email })}`);
      this.record(
        'accounts',
        { email },
        {
          kind: 'row',
          columns: { ...(prev?.expected.kind === 'row' ? prev.expected.columns : {}), balance },
        },
      );
    } else {
      const id = String(myOrders[Math.floor(rand() * myOrders.length)] ?? 1);
      await this.db.query('SELECT id, status, amount FROM orders WHERE id = ?', [id]);
      this.stats.reads++;
    }
  }

  /** Every acknowledged write, checked on one side (the target, at the end of the demo). */
  async verifyLedger(conn: mysql.Connection): Promise<{ checked: number; missing: string[] }> {
    const missing: string[] = [];
    for (const [label, entry] of this.ledger) {
      const columns = Object.keys(entry.where);
      const where = columns.map((c) => `\`${c}\` = ?`).join(' AND ');
      const [rows] = await conn.query<mysql.RowDataPacket[]>(
        `SELECT * FROM \`${entry.table}\` WHERE ${where}`,
        Object.values(entry.where),
      );
      if (entry.expected.kind === 'deleted') {
        if (rows.length) missing.push(`${label}: deleted by the app but present`);
        continue;
      }
      if (!rows.length) {
        missing.push(`${label}: missing`);
        continue;
      }
      for (const [col, value] of Object.entries(entry.expected.columns)) {
        if (String(rows[0][col]) !== value)
          missing.push(`${label}: ${col}=${String(rows[0][col])}, expected ${value}`);
      }
    }
    return { checked: this.ledger.size, missing };
  }
}
