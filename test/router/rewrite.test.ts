/**
 * The rewrite of statements for the target's layout (src/router/sql/rewrite.ts through SideStatements):
 * many statement shapes, checked as text here and executed on a real MariaDB in mapping.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RouterMappings } from '../../src/router/mapping.js';
import { SideStatements } from '../../src/router/side-statements.js';
import { analyzeTemplate } from '../../src/router/sql/analyze.js';
import { UnmappableStatementError } from '../../src/router/errors.js';

const mappings = new RouterMappings({
  customers: {
    targetName: 'clients',
    columnMap: { fullname: 'full_name', zip: 'postcode' },
    excludeColumns: ['legacy'],
  },
  orders: { columnMap: { customer_id: 'client_id' } },
  order_items: { targetName: 'order_lines' },
  plain: {},
});
const COLUMNS: Record<string, string[]> = {
  customers: ['id', 'fullname', 'zip', 'legacy', 'created_at'],
  orders: ['id', 'customer_id', 'total', 'fullname'],
  order_items: ['id', 'order_id', 'qty'],
  plain: ['id', 'v'],
};
const sides = new SideStatements(mappings, async (t) => COLUMNS[t]);

async function target(sql: string, values: unknown[] = []): Promise<{ sql: string; values: unknown[] }> {
  const a = analyzeTemplate(sql)?.analysis ?? { kind: 'unparsed' as const, write: false };
  const sc = await sides.forSide({ options: { sql, values }, values }, a, 'target');
  return { sql: sc.call.options.sql, values: sc.call.values };
}

async function refused(sql: string, rule: RegExp): Promise<void> {
  await assert.rejects(target(sql), (err: unknown) => {
    assert.ok(err instanceof UnmappableStatementError, `not an UnmappableStatementError: ${String(err)}`);
    assert.equal(err.code, 'MIGRATOR_UNMAPPABLE');
    assert.match(err.message, rule);
    return true;
  });
}

test('statements on unmapped tables are sent as written (same text, same values)', async () => {
  const sql = 'select v from plain where id = ?';
  assert.deepEqual(await target(sql, [1]), { sql, values: [1] });
  assert.deepEqual(await target('SELECT 1'), { sql: 'SELECT 1', values: [] });
});

test('SELECT: table and columns renamed in every clause, the select list aliased back to source names', async () => {
  const r = await target(
    'SELECT c.fullname, zip, count(*) FROM customers c WHERE c.fullname LIKE ? AND zip <> ? GROUP BY c.fullname, zip HAVING count(*) > ? ORDER BY fullname DESC LIMIT ?',
    ['A%', '000', 1, 10],
  );
  assert.equal(
    r.sql,
    'SELECT `c`.`full_name` AS `fullname`, `postcode` AS `zip`, COUNT(*) AS `count(*)` FROM `clients` AS `c` ' +
      'WHERE `c`.`full_name` LIKE ? AND `postcode` <> ? GROUP BY `c`.`full_name`, `postcode` HAVING COUNT(*) > ? ORDER BY `full_name` DESC LIMIT ?',
  );
  assert.deepEqual(r.values, ['A%', '000', 1, 10]);
});

test('qualified names without alias follow the renamed table; joins with aliases resolve each column to its table', async () => {
  const r = await target(
    'SELECT customers.fullname, o.total, o.fullname AS ofn FROM customers JOIN orders o ON o.customer_id = customers.id WHERE customers.id = ?',
    [7],
  );
  assert.equal(
    r.sql,
    'SELECT `clients`.`full_name` AS `fullname`, `o`.`total`, `o`.`fullname` AS `ofn` FROM `clients` INNER JOIN `orders` AS `o` ' +
      'ON `o`.`client_id` = `clients`.`id` WHERE `clients`.`id` = ?',
  );
  // An unqualified column of the joined table is left alone when it is not renamed there.
  const u = await target('SELECT total, zip FROM customers c JOIN orders o ON o.customer_id = c.id');
  assert.match(u.sql, /SELECT `total`, `postcode` AS `zip` FROM `clients` AS `c`/);
});

test('quoted qualifiers (`t`.`col`, as ORMs write them) and database-qualified tables', async () => {
  const r = await target(
    'SELECT `customers`.`fullname`, `c2`.`zip` FROM `app`.`customers` JOIN `customers` AS `c2` ON `c2`.`id` = `customers`.`id` WHERE `customers`.`zip` = ?',
    ['1'],
  );
  assert.equal(
    r.sql,
    'SELECT `clients`.`full_name` AS `fullname`, `c2`.`postcode` AS `zip` FROM `clients` INNER JOIN `clients` AS `c2` ON `c2`.`id` = `clients`.`id` WHERE `clients`.`postcode` = ?',
  );
  const u = await target('UPDATE `customers` SET `customers`.`zip` = ? WHERE `customers`.`id` = ?', ['2', 1]);
  assert.equal(u.sql, 'UPDATE `clients` SET `clients`.`postcode` = ? WHERE `clients`.`id` = ?');
});

test('`*` expands to the mapped columns (t.* of an unmapped table stays); a `*` that drops excluded columns is flagged', async () => {
  const r = await target('SELECT o.*, i.* FROM orders o JOIN order_items i ON i.order_id = o.id');
  const p = await target('SELECT p.*, c.zip FROM plain p JOIN customers c ON c.id = p.id');
  assert.equal(
    p.sql,
    'SELECT `p`.*, `c`.`postcode` AS `zip` FROM `plain` AS `p` INNER JOIN `clients` AS `c` ON `c`.`id` = `p`.`id`',
  );
  assert.equal(
    r.sql,
    'SELECT `o`.`id`, `o`.`client_id` AS `customer_id`, `o`.`total`, `o`.`fullname`, `i`.`id`, `i`.`order_id`, `i`.`qty` FROM `orders` AS `o` INNER JOIN `order_lines` AS `i` ON `i`.`order_id` = `o`.`id`',
  );
  const a = analyzeTemplate('SELECT * FROM customers WHERE id = ?')!.analysis;
  const sc = await sides.forSide(
    { options: { sql: 'SELECT * FROM customers WHERE id = ?', values: [1] }, values: [1] },
    a,
    'target',
  );
  assert.equal(
    sc.call.options.sql,
    'SELECT `clients`.`id`, `clients`.`full_name` AS `fullname`, `clients`.`postcode` AS `zip`, `clients`.`created_at` FROM `clients` WHERE `id` = ?',
  );
  assert.equal(sc.starDropsExcluded, true);
});

test('subqueries: correlated (outer scope), IN, EXISTS, derived tables and CTEs', async () => {
  const r = await target(
    'SELECT c.fullname FROM customers c WHERE EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id AND o.total > ?) ' +
      'AND c.id IN (SELECT customer_id FROM orders WHERE fullname = c.fullname)',
    [5],
  );
  assert.equal(
    r.sql,
    'SELECT `c`.`full_name` AS `fullname` FROM `clients` AS `c` WHERE EXISTS(SELECT 1 FROM `orders` AS `o` WHERE `o`.`client_id` = `c`.`id` AND `o`.`total` > ?) ' +
      'AND `c`.`id` IN (SELECT `client_id` AS `customer_id` FROM `orders` WHERE `fullname` = `c`.`full_name`)',
  );
  const d = await target(
    'SELECT d.zip, d.n FROM (SELECT zip, COUNT(*) AS n FROM customers GROUP BY zip) AS d WHERE d.zip > ?',
    ['1'],
  );
  assert.equal(
    d.sql,
    'SELECT `d`.`zip`, `d`.`n` FROM (SELECT `postcode` AS `zip`, COUNT(*) AS `n` FROM `clients` GROUP BY `postcode`) AS `d` WHERE `d`.`zip` > ?',
  );
  const w = await target(
    'WITH big AS (SELECT customer_id, total FROM orders WHERE total > 10) SELECT customer_id FROM big',
  );
  assert.match(
    w.sql,
    /WITH `big` AS \(SELECT `client_id` AS `customer_id`, `total` FROM `orders` WHERE `total` > 10\) SELECT `customer_id` FROM `big`/,
  );
});

test('INSERT (VALUES, SET, ... SELECT, ON DUPLICATE KEY UPDATE), REPLACE, UPDATE and DELETE with WHERE', async () => {
  const ins = await target(
    'INSERT INTO customers (id, fullname, zip) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE fullname = VALUES(fullname), zip = ?',
    [1, 'Ann', '10115', '99999'],
  );
  assert.equal(
    ins.sql,
    'INSERT INTO `clients` (id, full_name, postcode) VALUES (?,?,?) ON DUPLICATE KEY UPDATE `full_name` = VALUES(`full_name`), `postcode` = ?',
  );
  assert.deepEqual(ins.values, [1, 'Ann', '10115', '99999']);
  const set = await target('INSERT INTO customers SET fullname = ?, zip = ?', ['B', '1']);
  assert.equal(set.sql, 'INSERT INTO `clients` SET `full_name` = ?, `postcode` = ?');
  const sel = await target(
    'INSERT INTO order_items (order_id, qty) SELECT o.id, 1 FROM orders o WHERE o.customer_id = ?',
    [3],
  );
  assert.equal(
    sel.sql,
    'INSERT INTO `order_lines` (order_id, qty) SELECT `o`.`id`, 1 FROM `orders` AS `o` WHERE `o`.`client_id` = ?',
  );
  const rep = await target('REPLACE INTO customers (id, fullname) VALUES (2, ?)', ['C']);
  assert.equal(rep.sql, 'REPLACE INTO `clients` (id, full_name) VALUES (2,?)');
  const upd = await target(
    'UPDATE customers c SET c.fullname = ?, zip = CONCAT(zip, ?) WHERE c.fullname = ? AND id = ?',
    ['D', 'x', 'C', 2],
  );
  assert.equal(
    upd.sql,
    'UPDATE `clients` AS `c` SET `c`.`full_name` = ?, `postcode` = CONCAT(`postcode`, ?) WHERE `c`.`full_name` = ? AND `id` = ?',
  );
  const upd2 = await target('UPDATE customers SET zip = ? WHERE fullname = ? ORDER BY id LIMIT 2', [
    '1',
    'D',
  ]);
  assert.equal(
    upd2.sql,
    'UPDATE `clients` SET `postcode` = ? WHERE `full_name` = ? ORDER BY `id` ASC LIMIT 2',
  );
  const del = await target('DELETE FROM customers WHERE zip = ? AND customers.fullname = ?', ['1', 'D']);
  assert.equal(del.sql, 'DELETE FROM `clients` WHERE `postcode` = ? AND `clients`.`full_name` = ?');
  const plainInsert = await target('INSERT INTO orders VALUES (?, ?, ?, ?)', [1, 2, 3, 'x']);
  assert.equal(plainInsert.sql, 'INSERT INTO `orders` (id, client_id, total, fullname) VALUES (?,?,?,?)');
});

test('LIMIT placeholders (parsed as number markers) keep their values in order', async () => {
  const r = await target('SELECT fullname FROM customers WHERE zip = ? ORDER BY id LIMIT ?, ?', ['1', 5, 10]);
  assert.equal(
    r.sql,
    'SELECT `full_name` AS `fullname` FROM `clients` WHERE `postcode` = ? ORDER BY `id` ASC LIMIT ?, ?',
  );
  assert.deepEqual(r.values, ['1', 5, 10]);
});

test('what the target cannot run is refused with the rule', async () => {
  await refused('SELECT legacy FROM customers', /customers\.legacy is excluded \(excludeColumns\)/);
  await refused('UPDATE customers SET legacy = 1 WHERE id = 1', /excluded/);
  await refused('INSERT INTO customers (id, legacy) VALUES (1, 2)', /excluded/);
  await refused('INSERT INTO customers VALUES (1, 2, 3, 4, NOW())', /without a column list.*excluded/);
  await refused('SELECT * FROM customers c JOIN orders o USING (id)', /USING|NATURAL/);
  await refused('SELECT 1 FROM customers JOIN orders USING (fullname)', /USING \(fullname\)/);
  await refused('SHOW COLUMNS FROM customers', /not rewritten for a mapped table/);
  await refused('SELECT 1; SELECT fullname FROM customers', /not rewritten|one statement/);
  await refused(
    'SELECT fullname FROM customers WHERE MATCH_AGAINST_NOT_SQL ((',
    /parser does not understand/,
  );
});

test('a rewrite made while the source columns could not be read is not kept', async () => {
  let up = false;
  const flaky = new SideStatements(mappings, async (t) => {
    if (!up) throw new Error('source down');
    return COLUMNS[t];
  });
  const sql = 'SELECT * FROM customers WHERE id = ?';
  const a = analyzeTemplate(sql)!.analysis;
  const call = { options: { sql, values: [1] }, values: [1] };
  await assert.rejects(flaky.forSide(call, a, 'target'), /columns of customers unknown/);
  up = true;
  const sc = await flaky.forSide(call, a, 'target');
  assert.match(sc.call.options.sql, /`clients`\.`full_name` AS `fullname`/);
});
