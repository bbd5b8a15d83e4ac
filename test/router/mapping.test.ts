/**
 * A mapped table through the real router (issue 10, hazard 8): `customers` is `clients` on the target,
 * with two renamed columns and one excluded column; `orders` keeps its name but renames a column. The
 * application writes source SQL through every write mode; after each step both sides hold the same rows
 * (compared through the mapping, every mapped column) and the repair stream holds NO entry: the router
 * mirrored everything itself. Reads at 100 % and shadow reads are answered by the rewritten statement.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { startStack, type Stack } from '../../scripts/localstack/index.js';
import { RepairStream, SwitchStore } from '../../src/switches/index.js';
import { UnmappableStatementError, type Router, type RouterEvent } from '../../src/router/index.js';
import { adminQuery, dump, makeRouter, setSwitches } from './helpers.js';

const ID = 'mapping';
let stack: Stack;
let store: SwitchStore;
let router: Router;
const events: RouterEvent[] = [];

const SOURCE_DDL = [
  `CREATE TABLE customers (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    fullname VARCHAR(60) NOT NULL,
    zip VARCHAR(10) NULL,
    legacy VARCHAR(20) NOT NULL DEFAULT 'L',
    email VARCHAR(80) NOT NULL,
    balance DECIMAL(12,4) NOT NULL DEFAULT 0,
    updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
    UNIQUE KEY uk_email (email)
  )`,
  `CREATE TABLE orders (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    customer_id BIGINT UNSIGNED NOT NULL,
    total DECIMAL(12,2) NOT NULL,
    created_at DATETIME(6) NOT NULL DEFAULT NOW(6)
  )`,
];
const TARGET_DDL = [
  `CREATE TABLE clients (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    full_name VARCHAR(60) NOT NULL,
    postcode VARCHAR(10) NULL,
    email VARCHAR(80) NOT NULL,
    balance DECIMAL(12,4) NOT NULL DEFAULT 0,
    updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
    UNIQUE KEY uk_email (email)
  )`,
  `CREATE TABLE orders (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    client_id BIGINT UNSIGNED NOT NULL,
    total DECIMAL(12,2) NOT NULL,
    created_at DATETIME(6) NOT NULL DEFAULT NOW(6)
  )`,
];

const TABLES = {
  customers: {
    targetName: 'clients',
    columnMap: { fullname: 'full_name', zip: 'postcode' },
    excludeColumns: ['legacy'],
  },
  orders: { columnMap: { customer_id: 'client_id' } },
};

before(async () => {
  stack = await startStack();
  for (const [side, ddl] of [
    ['source', SOURCE_DDL],
    ['target', TARGET_DDL],
  ] as const) {
    for (const d of ddl) await adminQuery(stack, side, d);
  }
  store = new SwitchStore(stack.redis.url);
  await store.initialise(ID);
  router = makeRouter(stack, ID, { tables: TABLES, onEvent: (e) => events.push(e) });
});

after(async () => {
  await router?.end();
  await store?.close();
  await stack?.stop();
});

/** Both sides through the mapping: the source's rows renamed, minus the excluded column. */
async function assertMappedEqual(step: string): Promise<void> {
  const src = await dump(stack, 'source', 'customers');
  const tgt = await dump(stack, 'target', 'clients');
  const mapped = src.map(({ fullname, zip, legacy, ...rest }) => {
    void legacy;
    return { ...rest, full_name: fullname, postcode: zip };
  });
  const norm = (rows: Record<string, unknown>[]) =>
    rows.map((r) =>
      JSON.stringify(Object.fromEntries(Object.entries(r).sort(([a], [b]) => a.localeCompare(b)))),
    );
  assert.deepEqual(norm(tgt), norm(mapped), `${step}: clients (target) differ from customers (source)`);
  const so = await dump(stack, 'source', 'orders');
  const to = await dump(stack, 'target', 'orders');
  assert.deepEqual(
    norm(to),
    norm(so.map(({ customer_id, ...rest }) => ({ ...rest, client_id: customer_id }))),
    `${step}: orders differ`,
  );
  assert.ok(src.length > 0, `${step}: rows written`);
}

async function assertNoRepairs(step: string): Promise<void> {
  await router.flush();
  const entries = await new RepairStream(store.redis, ID).read();
  assert.deepEqual(entries, [], `${step}: repair entries`);
  const s = router.stats();
  assert.equal(s.dualWriteFailures, 0, `${step}: dual-write failures`);
  assert.equal(s.tableLevelRepairs, 0, `${step}: table-level repairs`);
}

/** A write load in source SQL: every statement shape the router mirrors row by row. */
async function workload(tag: string): Promise<void> {
  const [one] = await router.query<ResultSetHeader>(
    'INSERT INTO customers (fullname, zip, email) VALUES (?, ?, ?)',
    [`${tag} Ann`, '10115', `${tag}-ann@x`],
  );
  const ann = one.insertId;
  await router.execute(
    'INSERT INTO customers (fullname, zip, email, balance) VALUES (?, ?, ?, ?), (?, NULL, ?, DEFAULT)',
    [`${tag} Bob`, '20095', `${tag}-bob@x`, '12.3456', `${tag} Cid`, `${tag}-cid@x`],
  );
  await router.query('INSERT INTO customers SET fullname = ?, email = ?', [`${tag} Dee`, `${tag}-dee@x`]);
  // IGNORE and ON DUPLICATE KEY UPDATE: rows found again by the unique key (email), renamed on the target.
  await router.query('INSERT IGNORE INTO customers (fullname, email) VALUES (?, ?), (?, ?)', [
    'dup',
    `${tag}-ann@x`,
    `${tag} Eve`,
    `${tag}-eve@x`,
  ]);
  await router.query(
    'INSERT INTO customers (fullname, zip, email) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE zip = VALUES(zip), fullname = CONCAT(fullname, ?)',
    [`${tag} Bob2`, '99999', `${tag}-bob@x`, '+'],
  );
  await router.query('REPLACE INTO customers (id, fullname, email) VALUES (?, ?, ?)', [
    ann,
    `${tag} Ann R`,
    `${tag}-ann@x`,
  ]);
  // Updates and deletes by key and by arbitrary WHERE (renamed columns in SET and WHERE).
  await router.query('UPDATE customers SET zip = ?, balance = balance + ? WHERE id = ?', ['11111', 5, ann]);
  await router.query(
    'UPDATE customers c SET c.fullname = UPPER(c.fullname) WHERE c.zip = ? AND c.email LIKE ?',
    ['99999', `${tag}-%`],
  );
  await router.query('DELETE FROM customers WHERE fullname = ?', [`${tag} Dee`]);
  // orders: renamed column; INSERT ... SELECT of generated ids; UPDATE by WHERE on the renamed column.
  await router.query('INSERT INTO orders (customer_id, total) VALUES (?, ?), (?, ?)', [
    ann,
    '10.50',
    ann,
    '3.00',
  ]);
  await router.query(
    'INSERT INTO orders (customer_id, total) SELECT c.id, 1.25 FROM customers c WHERE c.email LIKE ? ORDER BY c.id',
    [`${tag}-%`],
  );
  await router.query('UPDATE orders SET total = total * 2 WHERE customer_id = ? AND total < ?', [ann, 5]);
  await router.query('DELETE FROM orders WHERE customer_id = ? AND total = ?', [ann, '10.50']);
  // A transaction: captured on the authoritative side, replayed on the other after COMMIT.
  const conn = await router.getConnection();
  try {
    await conn.beginTransaction();
    const [r] = await conn.query<ResultSetHeader>('INSERT INTO customers (fullname, email) VALUES (?, ?)', [
      `${tag} Tx`,
      `${tag}-tx@x`,
    ]);
    await conn.query('INSERT INTO orders (customer_id, total) VALUES (?, 7)', [r.insertId]);
    const [own] = await conn.query<RowDataPacket[]>('SELECT fullname FROM customers WHERE id = ?', [
      r.insertId,
    ]);
    assert.equal(own[0]?.fullname, `${tag} Tx`, 'the transaction reads its own write, source column names');
    await conn.query('UPDATE customers SET zip = ? WHERE id = ?', ['T1', r.insertId]);
    await conn.commit();
  } finally {
    conn.release();
  }
}

test('DUAL_SOURCE_FIRST: source SQL mirrored to the renamed table through the mapping, no repair entry', async () => {
  await setSwitches(store, ID, { writeMode: 'DUAL_SOURCE_FIRST' }, [router]);
  // Different counters: ids must travel from the authoritative side.
  await adminQuery(stack, 'source', 'ALTER TABLE customers AUTO_INCREMENT = 1000');
  await adminQuery(stack, 'target', 'ALTER TABLE clients AUTO_INCREMENT = 5');
  await router.query('INSERT INTO customers (fullname, email, legacy) VALUES (?, ?, ?)', [
    'Leg',
    'leg@x',
    'kept',
  ]);
  await workload('sf');
  await assertMappedEqual('DUAL_SOURCE_FIRST');
  await assertNoRepairs('DUAL_SOURCE_FIRST');
});

test('READ_SWITCH at 100 % with shadow reads: rewritten reads give the source names and rows; no mismatch', async () => {
  await setSwitches(store, ID, { readPercent: 100, shadowRead: true }, [router]);
  const before = router.stats();
  const reads: [string, unknown[]][] = [
    ['SELECT id, fullname, zip FROM customers WHERE email = ?', ['sf-ann@x']],
    ['SELECT c.fullname, o.total FROM customers c JOIN orders o ON o.customer_id = c.id ORDER BY o.id', []],
    [
      'SELECT customer_id, COUNT(*), SUM(total) AS s FROM orders GROUP BY customer_id HAVING COUNT(*) >= ? ORDER BY customer_id',
      [1],
    ],
    [
      'SELECT * FROM orders WHERE customer_id IN (SELECT id FROM customers WHERE zip = ?) ORDER BY id',
      ['11111'],
    ],
    [
      'SELECT fullname FROM customers WHERE id IN (SELECT customer_id FROM orders) ORDER BY fullname LIMIT ?',
      [3],
    ],
    // As ORMs write them: quoted qualifiers; expressions keep the names MySQL gives them on the source.
    [
      'SELECT `customers`.`fullname`, `customers`.`zip` FROM `customers` WHERE `customers`.`id` > ? ORDER BY `customers`.`id`',
      [0],
    ],
    [
      "SELECT UPPER(fullname), CAST(id AS CHAR), IFNULL(zip, 'none') z, CASE WHEN zip IS NULL THEN 0 ELSE 1 END FROM customers ORDER BY id",
      [],
    ],
    [
      "SELECT zip, GROUP_CONCAT(fullname ORDER BY id SEPARATOR '|') AS names FROM customers GROUP BY zip ORDER BY zip",
      [],
    ],
    [
      'SELECT d.zip, d.n FROM (SELECT zip, COUNT(*) AS n FROM customers GROUP BY zip) AS d ORDER BY d.zip',
      [],
    ],
    [
      'WITH big AS (SELECT customer_id, SUM(total) AS t FROM orders GROUP BY customer_id) SELECT c.fullname, big.t FROM big JOIN customers c ON c.id = big.customer_id ORDER BY c.id',
      [],
    ],
    [
      'SELECT c.fullname FROM customers c WHERE EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id AND o.total > ?) ORDER BY c.id',
      [2],
    ],
  ];
  for (const [sql, values] of reads) {
    const [got] = await router.query<RowDataPacket[]>(sql, values);
    const [src] = await router.pools.source.query({ sql, values });
    assert.deepEqual(got, src, `target answer of ${sql} equals the source's`);
  }
  // Prepared statements too (execute), and rows as arrays.
  const one = 'SELECT fullname, zip FROM customers WHERE email = ?';
  const [exe] = await router.execute<RowDataPacket[]>(one, ['sf-ann@x']);
  assert.deepEqual(exe, (await router.pools.source.execute({ sql: one, values: ['sf-ann@x'] }))[0]);
  const all = 'SELECT zip, fullname FROM customers ORDER BY id';
  const [arr] = await router.query<RowDataPacket[]>({ sql: all, rowsAsArray: true });
  assert.deepEqual(arr, (await router.pools.source.query({ sql: all, rowsAsArray: true }))[0]);
  await router.flush();
  const after = router.stats();
  assert.equal(
    after.reads.target - before.reads.target,
    reads.length + 2,
    'every read answered by the target',
  );
  assert.equal(after.shadowReads - before.shadowReads, reads.length + 2);
  assert.equal(after.shadowMismatches, 0, 'shadow mismatches');
  assert.equal(after.shadowErrors, 0, 'shadow errors');
  // What the target cannot answer is answered by the source before TARGET_ONLY: counted, reported.
  const [star] = await router.query<RowDataPacket[]>('SELECT * FROM customers WHERE email = ?', ['leg@x']);
  assert.equal(star[0]?.legacy, 'kept');
  const [leg] = await router.query<RowDataPacket[]>('SELECT legacy FROM customers WHERE email = ?', [
    'leg@x',
  ]);
  assert.equal(leg[0]?.legacy, 'kept');
  assert.equal(router.stats().unmappedReads, 2);
  assert.ok(events.some((e) => e.type === 'unmapped-read' && /excluded/.test(e.reason)));
});

test('DUAL_TARGET_FIRST: the target runs rewritten SQL, its ids and images reach the source; no repair entry', async () => {
  await setSwitches(store, ID, { writeMode: 'DUAL_TARGET_FIRST' }, [router]);
  await adminQuery(stack, 'target', 'ALTER TABLE clients AUTO_INCREMENT = 5000');
  await adminQuery(stack, 'source', 'ALTER TABLE customers AUTO_INCREMENT = 3');
  await workload('tf');
  await router.query('UPDATE customers SET zip = ? WHERE email = ?', ['L2', 'leg@x']);
  await assertMappedEqual('DUAL_TARGET_FIRST');
  await assertNoRepairs('DUAL_TARGET_FIRST');
  const ids = (await dump(stack, 'target', 'clients')).map((r) => Number(r.id));
  assert.ok(
    ids.some((id) => id >= 5000),
    'ids generated by the target',
  );
  // The source's excluded column: kept on updated rows, its default on rows the target inserted.
  const legacy = (await adminQuery(
    stack,
    'source',
    'SELECT email, legacy FROM customers ORDER BY id',
  )) as RowDataPacket[];
  assert.equal(legacy.find((r) => r.email === 'leg@x')?.legacy, 'kept');
  assert.ok(legacy.filter((r) => String(r.email).startsWith('tf-')).every((r) => r.legacy === 'L'));
  // Writing the excluded column cannot reach the authoritative target: refused, nothing written.
  await assert.rejects(
    router.query('UPDATE customers SET legacy = ? WHERE email = ?', ['x', 'leg@x']),
    (err: unknown) => err instanceof UnmappableStatementError && /legacy is excluded/.test(err.message),
  );
  await assertMappedEqual('DUAL_TARGET_FIRST after refusal');
});

test('TARGET_ONLY: reads and writes rewritten; `*` is the new layout; excluded columns refused', async () => {
  await setSwitches(store, ID, { writeMode: 'TARGET_ONLY', readPercent: 100, shadowRead: false }, [router]);
  const [ins] = await router.query<ResultSetHeader>('INSERT INTO customers (fullname, email) VALUES (?, ?)', [
    'Only',
    'only@x',
  ]);
  const [rows] = await router.query<RowDataPacket[]>('SELECT * FROM customers WHERE id = ?', [ins.insertId]);
  assert.deepEqual(Object.keys(rows[0] ?? {}), ['id', 'fullname', 'zip', 'email', 'balance', 'updated_at']);
  assert.equal(rows[0]?.fullname, 'Only');
  assert.equal(
    (await adminQuery(stack, 'source', "SELECT * FROM customers WHERE email = 'only@x'")).length,
    0,
  );
  // The same inside a transaction (on the target's connection).
  const conn = await router.getConnection();
  try {
    await conn.beginTransaction();
    const [inTx] = await conn.query<RowDataPacket[]>('SELECT * FROM customers WHERE id = ?', [ins.insertId]);
    assert.deepEqual(inTx, rows);
    await assert.rejects(conn.query('SELECT legacy FROM customers'), UnmappableStatementError);
    await conn.commit();
  } finally {
    conn.release();
  }
  await assert.rejects(
    router.query('SELECT legacy FROM customers'),
    (err: unknown) => err instanceof UnmappableStatementError && err.code === 'MIGRATOR_UNMAPPABLE',
  );
});

test('a mirror that fails on a mapped table leaves a repair entry under the source table name and key', async () => {
  await setSwitches(store, ID, { writeMode: 'DUAL_TARGET_FIRST' }, [router]);
  // The source refuses this row (a trigger): the mirror of the target's insert fails.
  await adminQuery(
    stack,
    'source',
    "CREATE TRIGGER no_boom BEFORE INSERT ON customers FOR EACH ROW IF NEW.fullname = 'boom' THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'boom refused'; END IF",
  );
  const [ins] = await router.query<ResultSetHeader>('INSERT INTO customers (fullname, email) VALUES (?, ?)', [
    'boom',
    'boom@x',
  ]);
  await router.flush();
  const entries = await new RepairStream(store.redis, ID).read();
  assert.deepEqual(
    entries.map((e) => [e.table, e.key, e.op, e.side]),
    [['customers', [String(ins.insertId)], 'insert', 'source']],
    'the repair loop knows `customers` (and `clients`); the key of the row the target inserted',
  );
  assert.equal(router.stats().dualWriteFailures, 1);
});
