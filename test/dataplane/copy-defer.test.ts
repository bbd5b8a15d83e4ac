import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Stack } from '../../scripts/localstack/index.js';
import type { CopyProgress, TableSpec } from '../../src/activities/contracts.js';
import { copyTable } from '../../src/activities/copier/copy.js';
import { CopyCancelledError } from '../../src/activities/copier/errors.js';
import { deferSecondaryKeys, DEFERRED_KEYS_TABLE } from '../../src/activities/copier/defer-keys.js';
import { truncateTargetTables } from '../../src/activities/copier/truncate.js';
import { getPool } from '../../src/activities/db/connections.js';
import { prepareTarget } from '../../src/activities/schema/prepare.js';
import { dumpTable, rootExec, rootQuery, startPair, stopPair } from './copy-fixtures.js';

let stack: Stack;
const DDL =
  'CREATE TABLE t_keys (id INT PRIMARY KEY, a INT NOT NULL, b VARCHAR(40) NOT NULL, u INT NULL, ' +
  "KEY k_a (a), KEY k_ab (a, b(10)) COMMENT 'prefix', UNIQUE KEY uu (u), FULLTEXT KEY ft (b))";

before(async () => {
  stack = await startPair();
  await rootExec(
    stack.source,
    DDL,
    "INSERT INTO t_keys SELECT seq, seq % 97, CONCAT('b', seq), seq FROM seq_1_to_6000",
  );
  await prepareTarget({ source: 'source', target: 'target', tables: [{ name: 't_keys' }] });
});
after(() => stopPair(stack));

async function createTable(side: Stack['source']): Promise<string> {
  const [r] = await rootQuery(side, 'SHOW CREATE TABLE t_keys');
  return String(r['Create Table']).replace(/ AUTO_INCREMENT=\d+/, '');
}

async function indexNames(): Promise<string[]> {
  const rows = await rootQuery(
    stack.target,
    "SELECT DISTINCT INDEX_NAME AS n FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = 'app' AND TABLE_NAME = 't_keys' ORDER BY 1",
  );
  return rows.map((r) => String(r.n));
}

test('a whole-table copy loads without plain secondary keys and builds them at the end; unique keys stay', async () => {
  const original = await createTable(stack.target);
  const seen: string[][] = [];
  await copyTable(
    { source: 'source', target: 'target', table: { name: 't_keys', chunkSize: 500 } },
    {},
    { onChunk: () => void indexNames().then((n) => seen.push(n)) },
  );
  await new Promise((r) => setTimeout(r, 100));
  assert.ok(seen.length > 0);
  // While loading: PRIMARY, the unique key and the FULLTEXT key; no plain keys.
  assert.deepEqual(seen[0], ['ft', 'PRIMARY', 'uu']);
  assert.equal(await createTable(stack.target), original);
  assert.deepEqual(await rootQuery(stack.target, `SELECT * FROM ${DEFERRED_KEYS_TABLE}`), []);
  assert.deepEqual(
    await dumpTable(stack.target, 't_keys', 'id'),
    await dumpTable(stack.source, 't_keys', 'id'),
  );
});

test('keys deferred by a cancelled copy come back when the resumed copy ends, and with the BULK_COPY compensation', async () => {
  const original = await createTable(stack.target);
  await rootExec(stack.target, 'TRUNCATE TABLE t_keys');
  const spec: TableSpec = { name: 't_keys', chunkSize: 300 };
  const abort = new AbortController();
  let last: CopyProgress | undefined;
  await assert.rejects(
    copyTable(
      { source: 'source', target: 'target', table: spec },
      {
        signal: abort.signal,
        progress: (p) => {
          last = p;
          if (p.chunks >= 3) abort.abort();
        },
      },
    ),
    CopyCancelledError,
  );
  // Stopped mid-copy: the keys are gone from the table but recorded on the target.
  assert.deepEqual(await indexNames(), ['ft', 'PRIMARY', 'uu']);
  const records = await rootQuery(stack.target, `SELECT index_name FROM ${DEFERRED_KEYS_TABLE} ORDER BY 1`);
  assert.deepEqual(
    records.map((r) => r.index_name),
    ['k_a', 'k_ab'],
  );
  await copyTable({ source: 'source', target: 'target', table: spec }, { resume: last });
  assert.equal(await createTable(stack.target), original);
  assert.deepEqual(
    await dumpTable(stack.target, 't_keys', 'id'),
    await dumpTable(stack.source, 't_keys', 'id'),
  );

  // The compensation of a copy that never finished puts the keys back too.
  await deferSecondaryKeys(getPool('target'), 'app', 't_keys');
  assert.deepEqual(await indexNames(), ['ft', 'PRIMARY', 'uu']);
  await truncateTargetTables({ target: 'target', tables: [{ name: 't_keys' }] });
  assert.equal(await createTable(stack.target), original);
  assert.deepEqual(await rootQuery(stack.target, `SELECT * FROM ${DEFERRED_KEYS_TABLE}`), []);
});
