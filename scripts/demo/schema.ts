import type mysql from 'mysql2/promise';
import type { Row } from './ledger.js';

/** The demo's sample schema: an auto-increment key, a composite key and a string key; rich column types. */
export const DEMO_TABLES = ['orders', 'order_items', 'accounts'] as const;
export type DemoTable = (typeof DEMO_TABLES)[number];

/** Every column of each table (the independent check compares all of them) and its key. */
export const DEMO_COLUMNS: Record<DemoTable, readonly string[]> = {
  orders: ['id', 'customer_email', 'amount', 'status', 'payload', 'created_at', 'updated_at'],
  order_items: ['order_id', 'line_no', 'sku', 'qty', 'price', 'note', 'updated_at'],
  accounts: ['email', 'display_name', 'balance', 'avatar', 'prefs', 'last_login', 'updated_at'],
};
export const DEMO_KEYS: Record<DemoTable, readonly string[]> = {
  orders: ['id'],
  order_items: ['order_id', 'line_no'],
  accounts: ['email'],
};

/** DATETIME(6) text as the server returns it (UTC, the migration's session time zone). */
export function datetime6(ms: number, micros = 0): string {
  return `${new Date(ms).toISOString().replace('T', ' ').replace('Z', '')}${String(micros % 1000).padStart(3, '0')}`;
}

export const DEMO_DDL: Record<DemoTable, string> = {
  orders: `CREATE TABLE orders (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    customer_email VARCHAR(191) NOT NULL,
    amount DECIMAL(14,4) NOT NULL,
    status ENUM('new','paid','shipped','cancelled') NOT NULL DEFAULT 'new',
    payload JSON NULL,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
    KEY idx_customer (customer_email),
    KEY idx_updated (updated_at)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
  order_items: `CREATE TABLE order_items (
    order_id BIGINT UNSIGNED NOT NULL,
    line_no SMALLINT UNSIGNED NOT NULL,
    sku VARCHAR(64) NOT NULL,
    qty INT NOT NULL,
    price DECIMAL(10,2) NOT NULL,
    note VARCHAR(255) NULL,
    updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
    PRIMARY KEY (order_id, line_no),
    KEY idx_updated (updated_at)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
  accounts: `CREATE TABLE accounts (
    email VARCHAR(191) NOT NULL PRIMARY KEY,
    display_name VARCHAR(100) NOT NULL,
    balance DECIMAL(20,6) NOT NULL DEFAULT 0,
    avatar BLOB NULL,
    prefs JSON NULL,
    last_login DATETIME(6) NULL,
    updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
    KEY idx_updated (updated_at)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
};

/** Deterministic pseudo-random numbers so a demo run can be reproduced. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NAMES = ['Ada', 'Grace', 'Linus', 'Ken', 'Barbara', 'Edsger', 'Zoë', '李雷', 'Ñandú', 'Émile'];

export function accountEmail(i: number): string {
  return `user${i}@example.test`;
}

function timestamp(rand: () => number): string {
  const ms = Date.UTC(2024, 0, 1) + Math.floor(rand() * 365 * 24 * 3600 * 1000);
  return datetime6(ms, Math.floor(rand() * 1000));
}

const hex = (b: Buffer | null): string | null => (b ? `x${b.toString('hex')}` : null);

/**
 * Creates the sample tables on the source and fills them: `rows` orders (2-3 items each) and rows/4
 * accounts. Multi-row inserts in batches, so tens of thousands of rows take seconds. Returns what it
 * wrote, every column of every row as the server gives it back (the independent check's start).
 */
export async function createDemoData(
  conn: mysql.Connection,
  rows: number,
  seed = 42,
): Promise<{ counts: Record<DemoTable, number>; rows: Record<DemoTable, Row[]> }> {
  const written: Record<DemoTable, Row[]> = { orders: [], order_items: [], accounts: [] };
  const seededAt = datetime6(Date.UTC(2024, 11, 31, 23, 59, 59));
  for (const table of DEMO_TABLES) {
    await conn.query(`DROP TABLE IF EXISTS \`${table}\``);
    await conn.query(DEMO_DDL[table]);
  }
  const rand = rng(seed);
  const accounts = Math.max(10, Math.floor(rows / 4));
  const batch = 1000;
  for (let start = 0; start < accounts; start += batch) {
    const values: unknown[][] = [];
    for (let i = start; i < Math.min(accounts, start + batch); i++) {
      const avatar =
        i % 7 === 0 ? null : Buffer.from(Array.from({ length: 64 }, () => Math.floor(rand() * 256)));
      const row = {
        email: accountEmail(i),
        display_name: `${NAMES[i % NAMES.length]} ${i} 🚀`,
        balance: (rand() * 100000).toFixed(6),
        prefs:
          i % 5 === 0
            ? null
            : JSON.stringify({ theme: i % 2 ? 'dark' : 'light', big: '9007199254740993', n: i }),
        last_login: i % 3 === 0 ? null : timestamp(rand),
        updated_at: seededAt,
      };
      values.push([
        row.email,
        row.display_name,
        row.balance,
        avatar,
        row.prefs,
        row.last_login,
        row.updated_at,
      ]);
      written.accounts.push({ ...row, avatar: hex(avatar) });
    }
    await conn.query(
      'INSERT INTO accounts (email, display_name, balance, avatar, prefs, last_login, updated_at) VALUES ?',
      [values],
    );
  }
  let items = 0;
  for (let start = 0; start < rows; start += batch) {
    const orders: unknown[][] = [];
    const lines: unknown[][] = [];
    for (let i = start; i < Math.min(rows, start + batch); i++) {
      const order: Row = {
        id: String(i + 1),
        customer_email: accountEmail(Math.floor(rand() * accounts)),
        amount: (rand() * 5000).toFixed(4),
        status: ['new', 'paid', 'shipped', 'cancelled'][Math.floor(rand() * 4)],
        payload: JSON.stringify({ channel: 'web', tags: ['a', 'b'], ref: 12345678901234567890n.toString() }),
        created_at: timestamp(rand),
        updated_at: seededAt,
      };
      orders.push(DEMO_COLUMNS.orders.map((c) => order[c]));
      written.orders.push(order);
      const count = 2 + Math.floor(rand() * 2);
      for (let line = 1; line <= count; line++) {
        const item: Row = {
          order_id: order.id,
          line_no: String(line),
          sku: `SKU-${Math.floor(rand() * 1000)}`,
          qty: String(1 + Math.floor(rand() * 5)),
          price: (rand() * 200).toFixed(2),
          note: line === 1 ? '' : null,
          updated_at: seededAt,
        };
        lines.push(DEMO_COLUMNS.order_items.map((c) => item[c]));
        written.order_items.push(item);
        items++;
      }
    }
    await conn.query(`INSERT INTO orders (${DEMO_COLUMNS.orders.join(', ')}) VALUES ?`, [orders]);
    await conn.query(`INSERT INTO order_items (${DEMO_COLUMNS.order_items.join(', ')}) VALUES ?`, [lines]);
  }
  return { counts: { orders: rows, order_items: items, accounts }, rows: written };
}
