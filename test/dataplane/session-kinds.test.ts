// Hazard: session variables stick to pooled connections. The row writers (copier chunks, the CDC
// applier) run with foreign_key_checks=0; a connection they release must never serve other code, e.g. a
// repair that deletes a parent row on the target, which must cascade to its children as the source did.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { PoolConnection, RowDataPacket } from 'mysql2/promise';
import type { Stack } from '../../scripts/localstack/index.js';
import type { TableSpec } from '../../src/activities/contracts.js';
import { copyTable } from '../../src/activities/copier/copy.js';
import {
  currentPosition,
  recordSyncStart,
  runSync,
  waitForSyncPosition,
} from '../../src/activities/cdc/sync.js';
import { getPool, poolOptions, resolveConnection } from '../../src/activities/db/connections.js';
import { repairKeys } from '../../src/activities/repair/repairKeys.js';
import { encodeKey } from '../../src/activities/schema/keycodec.js';
import { prepareTarget } from '../../src/activities/schema/prepare.js';
import { loadPair, sides } from '../../src/activities/verify/pair.js';
import { rootExec, rootQuery, startPair, stopPair } from './copy-fixtures.js';

let stack: Stack;

before(async () => {
  stack = await startPair();
  await rootExec(
    stack.source,
    'CREATE TABLE sk_parent (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL)',
    `CREATE TABLE sk_child (id INT PRIMARY KEY, parent_id INT NOT NULL, KEY (parent_id),
       CONSTRAINT sk_child_parent FOREIGN KEY (parent_id) REFERENCES sk_parent (id) ON DELETE CASCADE)`,
    "INSERT INTO sk_parent SELECT seq, CONCAT('p', seq) FROM seq_1_to_50",
    'INSERT INTO sk_child SELECT seq, 1 + seq % 50 FROM seq_1_to_500',
  );
});
after(() => stopPair(stack));

test('writer sessions (foreign_key_checks=0) do not leak: a repair delete of a parent after a copy and CDC cascades', async () => {
  // Children first: the copy's writer sessions must not check foreign keys.
  const tables: TableSpec[] = [
    { name: 'sk_child', chunkSize: 100 },
    { name: 'sk_parent', chunkSize: 20 },
  ];
  await prepareTarget({ source: 'source', target: 'target', tables });
  const spec = { stream: 'sk', from: 'source', to: 'target', tables, direction: 'forward' as const };
  await recordSyncStart(spec);
  const abort = new AbortController();
  const sync = runSync(spec, { signal: abort.signal }, { idleCheckpointMs: 100 }).catch((e: Error) => e);
  for (const table of tables)
    await copyTable({ source: 'source', target: 'target', table, stream: 'sk' }, {}, { concurrency: 1 });
  await rootExec(stack.source, "UPDATE sk_parent SET name = 'applied' WHERE id = 2");
  const drained = await waitForSyncPosition({
    stream: 'sk',
    to: 'target',
    position: await currentPosition('source'),
    timeoutMs: 20_000,
  });
  assert.ok(drained.reached, 'sync did not drain');
  abort.abort();
  await sync;
  // One more chunk once the applier is gone (it destroys its own session at the end of its run).
  await copyTable(
    { source: 'source', target: 'target', table: tables[1], deferSecondaryKeys: false },
    {},
    { concurrency: 1 },
  );

  // Every connection of the target's default pool (taken all at once: as many as the pool may hold)
  // has none of the writers' settings.
  const pool = getPool('target');
  const limit = poolOptions(resolveConnection('target')).connectionLimit ?? 10;
  const conns = await Promise.all(Array.from({ length: limit }, () => pool.getConnection()));
  const leaked: PoolConnection[] = [];
  const clean: PoolConnection[] = [];
  for (const conn of conns) {
    const [[session]] = await conn.query<RowDataPacket[]>(
      "SELECT @@session.foreign_key_checks AS fk, FIND_IN_SET('NO_AUTO_VALUE_ON_ZERO', @@session.sql_mode) AS noAutoValue",
    );
    (Number(session.fk) !== 1 || Number(session.noAutoValue) !== 0 ? leaked : clean).push(conn);
  }
  // Released leaked ones last: the pool hands out the last released first, to the repair below.
  for (const conn of [...clean, ...leaked]) conn.release();
  assert.equal(leaked.length, 0, `${leaked.length} of ${limit} default connections carry writer settings`);

  // The source deletes parent 1 (cascading to its children); the repair removes it from the target.
  await rootExec(stack.source, 'DELETE FROM sk_parent WHERE id = 1');
  const pair = await loadPair({ source: 'source', target: 'target' }, tables[1]);
  const { auth, other } = sides(pair, 'source');
  const fixed = await repairKeys(auth, other, [{ kind: 'extra', key: encodeKey([1]) }]);
  assert.equal(fixed.extra, 1);
  const [orphans] = await rootQuery<{ n: number }>(
    stack.target,
    'SELECT COUNT(*) AS n FROM sk_child c LEFT JOIN sk_parent p ON p.id = c.parent_id WHERE p.id IS NULL',
  );
  assert.equal(Number(orphans.n), 0, 'the repair deleted the parent without cascading to its children');
  const [children] = await rootQuery<{ n: number }>(stack.target, 'SELECT COUNT(*) AS n FROM sk_child');
  assert.equal(Number(children.n), 490);
});
