import type mysql from 'mysql2/promise';

/** The demo's sample schema: an auto-increment key, a composite key and a string key; rich column types. */
export const DEMO_TABLES = ['orders', 'order_items', 'accounts'] as const;
export type DemoTable = (typeof DEMO_TABLES)[number];

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
  const micros = String(Math.floor(rand() * 1000)).padStart(3, '0');
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '') + micros;
}

/**
 * Creates the sample tables on the source and fills them: `rows` orders (2-3 items each) and rows/4
 * accounts. Multi-row inserts in batches, so tens of thousands of rows take seconds.
 */
export async function createDemoData(
  conn: mysql.Connection,
  rows: number,
  seed = 42,
): Promise<Record<DemoTable, number>> {
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
      values.push([
        accountEmail(i),
        `${NAMES[i % NAMES.length]} ${i} 🚀`,
        (rand() * 100000).toFixed(6),
        i % 7 === 0 ? null : Buffer.from(Array.from({ length: 64 }, () => Math.floor(rand() * 256))),
        i % 5 === 0
          ? null
          : JSON.stringify({ theme: i % 2 ? 'dark' : 'light', big: '9007199254740993', n: i }),
        i % 3 === 0 ? null : timestamp(rand),
      ]);
    }
    await conn.query(
      'INSERT INTO accounts (email, display_name, balance, avatar, prefs, last_login) VALUES ?',
      [values],
    );
  }
  let items = 0;
  for (let start = 0; start < rows; start += batch) {
    const orders: unknown[][] = [];
    const lines: unknown[][] = [];
    for (let i = start; i < Math.min(rows, start + batch); i++) {
      const id = i + 1;
      orders.push([
        id,
        accountEmail(Math.floor(rand() * accounts)),
        (rand() * 5000).toFixed(4),
        ['new', 'paid', 'shipped', 'cancelled'][Math.floor(rand() * 4)],
        JSON.stringify({ channel: 'web', tags: ['a', 'b'], ref: 12345678901234567890n.toString() }),
        timestamp(rand),
      ]);
      const count = 2 + Math.floor(rand() * 2);
      for (let line = 1; line <= count; line++) {
        lines.push([
          id,
          line,
          `SKU-${Math.floor(rand() * 1000)}`,
          1 + Math.floor(rand() * 5),
          (rand() * 200).toFixed(2),
          line === 1 ? '' : null,
        ]);
        items++;
      }
    }
    await conn.query(
      'INSERT INTO orders (id, customer_email, amount, status, payload, created_at) VALUES ?',
      [orders],
    );
    await conn.query('INSERT INTO order_items (order_id, line_no, sku, qty, price, note) VALUES ?', [lines]);
  }
  return { orders: rows, order_items: items, accounts };
}
