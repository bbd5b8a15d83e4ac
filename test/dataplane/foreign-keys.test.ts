// Hazard: cascaded changes (ON DELETE/UPDATE CASCADE, SET NULL) reach no binlog row event. The target
// holds the same foreign keys and the applier runs the parent's deletes and key changes with checks on,
// so the target cascades them itself. Asserted the moment CDC has drained, with no repair loop.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Stack } from '../../scripts/localstack/index.js';
import { APP_DATABASE } from '../../scripts/localstack/index.js';
import type { TableSpec } from '../../src/activities/contracts.js';
import { copyTable } from '../../src/activities/copier/copy.js';
import {
  currentPosition,
  recordSyncStart,
  runSync,
  waitForSyncPosition,
} from '../../src/activities/cdc/sync.js';
import { precheck } from '../../src/activities/schema/precheck.js';
import { prepareTarget } from '../../src/activities/schema/prepare.js';
import { listForeignKeys, parentsFirst } from '../../src/activities/schema/foreign-keys.js';
import { getPool } from '../../src/activities/db/connections.js';
import { dumpTable, rootExec, rootQuery, sleep, startPair, stopPair } from './copy-fixtures.js';

let stack: Stack;
const PARENTS = 400;

before(async () => {
  stack = await startPair();
  await rootExec(
    stack.source,
    'CREATE TABLE fk_parent (id INT PRIMARY KEY, code INT NOT NULL, name VARCHAR(20), UNIQUE KEY uc (code))',
    `CREATE TABLE fk_child (id INT PRIMARY KEY, parent_id INT NOT NULL, v INT NOT NULL, KEY (parent_id),
       CONSTRAINT fk_child_parent FOREIGN KEY (parent_id) REFERENCES fk_parent (id) ON DELETE CASCADE ON UPDATE CASCADE)`,
    `CREATE TABLE fk_note (id INT PRIMARY KEY, parent_code INT NULL, txt VARCHAR(20),
       CONSTRAINT fk_note_parent FOREIGN KEY (parent_code) REFERENCES fk_parent (code) ON DELETE SET NULL ON UPDATE CASCADE)`,
    `CREATE TABLE fk_grand (id INT PRIMARY KEY, child_id INT NOT NULL,
       CONSTRAINT fk_grand_child FOREIGN KEY (child_id) REFERENCES fk_child (id) ON DELETE CASCADE)`,
    `INSERT INTO fk_parent SELECT seq, seq + 10000, CONCAT('p', seq) FROM seq_1_to_${PARENTS}`,
    `INSERT INTO fk_child SELECT seq, 1 + seq % ${PARENTS}, 0 FROM seq_1_to_${PARENTS * 3}`,
    `INSERT INTO fk_note SELECT seq, 10001 + seq % ${PARENTS}, 'n' FROM seq_1_to_${PARENTS * 2}`,
    `INSERT INTO fk_grand SELECT seq, 1 + seq % ${PARENTS * 3} FROM seq_1_to_${PARENTS * 3}`,
    // Outside the plan / cycles, for the precheck and PREPARE_TARGET errors.
    'CREATE TABLE outside_parent (id INT PRIMARY KEY)',
    `CREATE TABLE outside_child (id INT PRIMARY KEY, p INT,
       CONSTRAINT oc_p FOREIGN KEY (p) REFERENCES outside_parent (id) ON DELETE CASCADE)`,
    'SET SESSION foreign_key_checks = 0',
    'CREATE TABLE cyc_a (id INT PRIMARY KEY, b INT, CONSTRAINT a_b FOREIGN KEY (b) REFERENCES cyc_b (id))',
    'CREATE TABLE cyc_b (id INT PRIMARY KEY, a INT, CONSTRAINT b_a FOREIGN KEY (a) REFERENCES cyc_a (id))',
  );
});
after(() => stopPair(stack));

// Children first on purpose: PREPARE_TARGET must create parents first.
const tables: TableSpec[] = [
  { name: 'fk_grand', chunkSize: 200 },
  { name: 'fk_note', chunkSize: 200 },
  { name: 'fk_child', chunkSize: 200 },
  { name: 'fk_parent', chunkSize: 100 },
];

const ORPHANS: [string, string][] = [
  [
    'fk_child',
    'SELECT COUNT(*) AS n FROM fk_child c LEFT JOIN fk_parent p ON p.id = c.parent_id WHERE p.id IS NULL',
  ],
  [
    'fk_note',
    'SELECT COUNT(*) AS n FROM fk_note c LEFT JOIN fk_parent p ON p.code = c.parent_code WHERE c.parent_code IS NOT NULL AND p.id IS NULL',
  ],
  [
    'fk_grand',
    'SELECT COUNT(*) AS n FROM fk_grand g LEFT JOIN fk_child c ON c.id = g.child_id WHERE c.id IS NULL',
  ],
];

function rnd(n: number): number {
  return 1 + Math.floor(Math.random() * n);
}

/** Writers straight at the source: cascading deletes, key changes, SET NULL, inserts under them. */
function startWriters() {
  let stop = false;
  const counts = { deletes: 0, keyMoves: 0, codeMoves: 0, inserts: 0 };
  let nextParent = PARENTS + 1;
  let nextChild = PARENTS * 10;
  const worker = async () => {
    const conn = await stack.source.rootConnection(APP_DATABASE);
    try {
      while (!stop) {
        await sleep(15);
        const r = Math.random();
        try {
          if (r < 0.25) {
            const [res] = await conn.query('DELETE FROM fk_parent WHERE id = ?', [rnd(nextParent)]);
            counts.deletes += (res as { affectedRows: number }).affectedRows;
          } else if (r < 0.35) {
            // Primary key change: ON UPDATE CASCADE moves the children.
            const id = rnd(nextParent);
            await conn.query('UPDATE fk_parent SET id = ? WHERE id = ?', [nextParent++, id]);
            counts.keyMoves++;
          } else if (r < 0.45) {
            // Referenced unique column change: notes follow it.
            await conn.query('UPDATE fk_parent SET code = ? WHERE id = ?', [
              nextParent++ + 50000,
              rnd(nextParent),
            ]);
            counts.codeMoves++;
          } else if (r < 0.6) {
            const id = nextParent++;
            await conn.query('INSERT INTO fk_parent VALUES (?, ?, ?)', [id, id + 10000, 'new']);
            counts.inserts++;
          } else if (r < 0.8) {
            const [p] = await conn.query<import('mysql2').RowDataPacket[]>(
              'SELECT id, code FROM fk_parent ORDER BY RAND() LIMIT 1',
            );
            if (!p.length) continue;
            const child = nextChild++;
            await conn.beginTransaction();
            await conn.query('INSERT INTO fk_child VALUES (?, ?, 0)', [child, p[0].id]);
            await conn.query('INSERT INTO fk_grand VALUES (?, ?)', [child, child]);
            await conn.query('INSERT INTO fk_note VALUES (?, ?, ?)', [child, p[0].code, 'x']);
            await conn.commit();
          } else {
            await conn.query('UPDATE fk_child SET v = v + 1 WHERE id = ?', [rnd(nextChild)]);
          }
        } catch (err) {
          await conn.query('ROLLBACK').catch(() => undefined);
          const errno = (err as { errno?: number }).errno;
          if (errno !== 1062 && errno !== 1452) throw err; // duplicate / parent gone meanwhile
        }
      }
    } finally {
      await conn.end();
    }
  };
  const done = Promise.all([worker(), worker(), worker()]);
  return {
    counts,
    async stop() {
      stop = true;
      await done;
    },
  };
}

test('precheck names every cascading foreign key, and foreign keys to tables outside the plan', async () => {
  const report = await precheck({
    source: 'source',
    target: 'target',
    tables: [...tables, { name: 'outside_child' }],
  });
  assert.deepEqual(report.notes.map((n) => n.setting).sort(), [
    'foreign key fk_child_parent',
    'foreign key fk_grand_child',
    'foreign key fk_note_parent',
  ]);
  assert.match(
    report.notes.find((n) => n.table === 'fk_note')!.message,
    /ON DELETE SET NULL ON UPDATE CASCADE/,
  );
  const outside = report.problems.find((p) => p.setting === 'foreign key oc_p');
  assert.ok(outside, JSON.stringify(report.problems));
  assert.match(outside.message, /outside_parent, which is not in the plan and cascades/);
  assert.match(outside.fix, /add outside_parent to the plan/);
});

test('PREPARE_TARGET refuses a parent outside the plan and a cycle with a clear error (no CREATE retried)', async () => {
  await assert.rejects(
    prepareTarget({ source: 'source', target: 'target', tables: [{ name: 'outside_child' }] }),
    { name: 'ForeignKeyOrderError', message: /outside_parent, which is not in the plan/ },
  );
  await assert.rejects(
    prepareTarget({ source: 'source', target: 'target', tables: [{ name: 'cyc_a' }, { name: 'cyc_b' }] }),
    { name: 'ForeignKeyOrderError', message: /cycle \(cyc_a -> cyc_b -> cyc_a\)/ },
  );
});

test('cascades under CDC: when CDC has drained, the target has no orphan and equals the source row by row', async () => {
  const prepared = await prepareTarget({ source: 'source', target: 'target', tables });
  const at = (t: string) => prepared.created.indexOf(t);
  assert.equal(prepared.created.length, 4);
  assert.ok(at('fk_parent') < at('fk_child') && at('fk_parent') < at('fk_note'), prepared.created.join());
  assert.ok(at('fk_child') < at('fk_grand'), prepared.created.join());
  const targetFks = await rootQuery<{ n: number }>(
    stack.target,
    "SELECT COUNT(*) AS n FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = 'app'",
  );
  assert.equal(Number(targetFks[0].n), 3);

  const spec = { stream: 'fk', from: 'source', to: 'target', tables, direction: 'forward' as const };
  await recordSyncStart(spec);
  const abort = new AbortController();
  const sync = runSync(spec, { signal: abort.signal }).catch((e: Error) => e);
  const writers = startWriters();
  await sleep(300);
  // Parents before children (the order BULK_COPY follows: cdc/README.md, foreign keys).
  const t0 = Date.now();
  let retries = 0;
  for (const t of parentsFirst(tables, await listForeignKeys(getPool('source'), 'app'), 'app')) {
    const r = await copyTable({ source: 'source', target: 'target', table: t, stream: 'fk' });
    retries += r.snapshotRetries ?? 0;
  }
  console.log(
    `copy took ${Date.now() - t0} ms, ${retries} snapshot retries, ${JSON.stringify(writers.counts)}`,
  );
  await sleep(1500); // CDC alone under the writers
  await writers.stop();
  assert.ok(
    writers.counts.deletes > 20 && writers.counts.keyMoves > 10 && writers.counts.codeMoves > 10,
    JSON.stringify(writers.counts),
  );

  const head = await currentPosition('source');
  const waited = await waitForSyncPosition({ stream: 'fk', to: 'target', position: head, timeoutMs: 30_000 });
  if (!waited.reached) {
    abort.abort();
    assert.fail(`sync did not drain: ${String(await sync)}`);
  }
  // The moment CDC has drained: no repair loop exists in this test.
  const orphans: Record<string, number> = {};
  for (const [table, sql] of ORPHANS)
    orphans[table] = Number((await rootQuery<{ n: number }>(stack.target, sql))[0].n);
  abort.abort();
  await sync;
  assert.deepEqual(orphans, { fk_child: 0, fk_note: 0, fk_grand: 0 }, 'orphaned rows on the target');
  for (const t of tables) {
    const [src, dst] = await Promise.all([
      dumpTable(stack.source, t.name, 'id'),
      dumpTable(stack.target, t.name, 'id'),
    ]);
    assert.equal(dst.length, src.length, `${t.name}: row counts differ`);
    assert.deepEqual(dst, src, `${t.name}: contents differ`);
  }
});
