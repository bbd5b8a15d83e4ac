import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type mysql from 'mysql2/promise';
import type { Stack } from '../../scripts/localstack/index.js';
import { walkChunks } from '../../src/activities/verify/chunks.js';
import { loadPair, type TableSide } from '../../src/activities/verify/pair.js';
import { verifyTable } from '../../src/activities/verify/verifyTable.js';
import type { VerifyInput, VerifyProgress } from '../../src/activities/contracts.js';
import { rootConnections, startPair, stopPair } from './copy-fixtures.js';

let stack: Stack;
let src: mysql.Connection;
let tgt: mysql.Connection;

before(async () => {
  stack = await startPair();
  ({ src, tgt } = await rootConnections(stack));
});

after(() => stopPair(stack, src, tgt));

async function both(sql: string): Promise<void> {
  await src.query(sql);
  await tgt.query(sql);
}

const input = (table: string, repair = false, chunkSize = 500): VerifyInput => ({
  source: 'source',
  target: 'target',
  table: { name: table, chunkSize },
  authoritative: 'source',
  repair,
});

test('finds changed, missing, extra, NULL vs empty, trailing-space and case-only differences, and repairs them', async () => {
  await both(
    'CREATE TABLE faults (id INT PRIMARY KEY, name VARCHAR(50) COLLATE utf8mb4_general_ci NOT NULL, ' +
      'note VARCHAR(50) NULL, amount DECIMAL(10,2) NOT NULL) ENGINE=InnoDB',
  );
  await both(
    "INSERT INTO faults SELECT seq, CONCAT('name', seq), CONCAT('n', seq), seq / 7 FROM seq_1_to_5000",
  );
  await src.query('UPDATE faults SET note = NULL WHERE id = 30');
  await tgt.query("UPDATE faults SET note = '' WHERE id = 30"); // NULL vs ''
  await tgt.query('UPDATE faults SET amount = amount + 0.01 WHERE id = 10'); // changed value
  await tgt.query('DELETE FROM faults WHERE id = 20'); // missing
  await src.query('DELETE FROM faults WHERE id = 3000'); // extra (middle)
  await tgt.query("INSERT INTO faults VALUES (7000, 'tail', NULL, 1)"); // extra beyond the last key
  await src.query("UPDATE faults SET name = 'abc' WHERE id = 40");
  await tgt.query("UPDATE faults SET name = 'abc ' WHERE id = 40"); // trailing space, equal under PAD SPACE
  await src.query("UPDATE faults SET name = 'Abc' WHERE id = 50");
  await tgt.query("UPDATE faults SET name = 'abc' WHERE id = 50"); // case only, equal under _ci
  const [[eq]] = await tgt.query<mysql.RowDataPacket[]>("SELECT 'abc' = 'abc ' AS pad, 'Abc' = 'abc' AS ci");
  assert.deepEqual([Number(eq.pad), Number(eq.ci)], [1, 1], 'the collation itself calls these equal');

  const progress: VerifyProgress[] = [];
  const r = await verifyTable(input('faults'), { progress: (p) => progress.push(p) });
  assert.deepEqual(r.mismatches, { missing: 1, extra: 2, different: 4 });
  assert.equal(r.rowsCompared >= 4999, true);
  assert.ok(r.chunks >= 10);
  assert.ok(progress.length >= 10 && progress.at(-1)?.lastKey, 'progress recorded with lastKey');
  const sample = new Map(r.sampleKeys.map((s) => [String(s.key[0]), s.kind]));
  assert.equal(sample.get('20'), 'missing');
  assert.equal(sample.get('3000'), 'extra');
  assert.equal(sample.get('7000'), 'extra');
  for (const id of ['10', '30', '40', '50']) assert.equal(sample.get(id), 'different', id);

  const fixed = await verifyTable(input('faults', true));
  assert.deepEqual(fixed.repaired, { missing: 1, extra: 2, different: 4 });
  const again = await verifyTable(input('faults'));
  assert.deepEqual(again.mismatches, { missing: 0, extra: 0, different: 0 });
  assert.equal(again.chunksDiffering, 0);
  const [rows] = await tgt.query<mysql.RowDataPacket[]>(
    'SELECT id, HEX(name) AS name, note IS NULL AS nul, amount FROM faults WHERE id IN (10, 30, 40, 50) ORDER BY id',
  );
  assert.deepEqual(
    rows.map((x) => [x.id, x.name, Number(x.nul)]),
    [
      [10, Buffer.from('name10').toString('hex').toUpperCase(), 0],
      [30, Buffer.from('name30').toString('hex').toUpperCase(), 1],
      [40, Buffer.from('abc').toString('hex').toUpperCase(), 0],
      [50, Buffer.from('Abc').toString('hex').toUpperCase(), 0],
    ],
  );
});

test('a differing chunk is narrowed to its differing parts before rows are listed (CRC, concatenated MD5 and XOR digests, composite key)', async () => {
  // MariaDB >= 10.8 on both sides: the CRC digest; MIGRATOR_VERIFY_DIGEST=md5 forces the MD5 kinds
  // (what MySQL gets), where LONGTEXT makes the chunk digest the per-row XOR kind. The composite key cuts
  // parts on two columns.
  const cases: [string, string, 'md5' | undefined][] = [
    ['parts_crc', 'LONGTEXT', undefined],
    ['parts_cat', 'VARCHAR(20)', 'md5'],
    ['parts_xor', 'LONGTEXT', 'md5'],
  ];
  for (const [table, body, digest] of cases) {
    if (digest) process.env.MIGRATOR_VERIFY_DIGEST = digest;
    else delete process.env.MIGRATOR_VERIFY_DIGEST;
    await both(
      `CREATE TABLE ${table} (a INT NOT NULL, b VARCHAR(10) COLLATE utf8mb4_general_ci NOT NULL, ` +
        `body ${body} NULL, PRIMARY KEY (a, b)) ENGINE=InnoDB`,
    );
    await both(
      `INSERT INTO ${table} SELECT seq DIV 2, IF(seq % 2, 'x', 'y'), CONCAT('v', seq) FROM seq_1_to_6000`,
    );
    await tgt.query(`UPDATE ${table} SET body = 'changed' WHERE a = 700 AND b = 'x'`); // inside a part
    await tgt.query(`DELETE FROM ${table} WHERE a = 1 AND b = 'x'`); // the first row of the first part
    await tgt.query(`INSERT INTO ${table} VALUES (1500, 'a', NULL)`); // extra between two source rows
    await tgt.query(`INSERT INTO ${table} VALUES (9000, 'z', 'tail')`); // extra beyond the last key
    const stats = { transient: 0, drilled: 0, listed: 0 };
    const r = await verifyTable(input(table, false, 1000), {}, { stats });
    assert.deepEqual(r.mismatches, { missing: 1, extra: 2, different: 1 }, table);
    const keys = r.sampleKeys.map((k) => `${k.kind}:${k.key.join('/')}`).sort();
    assert.deepEqual(keys, ['different:700/x', 'extra:1500/a', 'extra:9000/z', 'missing:1/x'], table);
    // 4 chunks differ; listing them whole would be about 8000 rows (both sides), one part each is ~100.
    assert.equal(stats.drilled, 4, table);
    assert.ok(stats.listed > 0 && stats.listed <= 4 * 2 * 60, `${table}: listed ${stats.listed} rows`);
    const { source } = await loadPair({ source: 'source', target: 'target' }, { name: table });
    assert.match(source.chunk.select, digest ? /MD5/ : /CRC32C/, table);
  }
  delete process.env.MIGRATOR_VERIFY_DIGEST;
});

test('no false positives when the same values sit in columns of different charset or collation', async () => {
  await src.query(
    'CREATE TABLE coll (k VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci PRIMARY KEY, ' +
      'a VARCHAR(64) CHARACTER SET utf8mb3 COLLATE utf8mb3_general_ci, ' +
      'b TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci, ' +
      'c VARCHAR(64) CHARACTER SET latin1 COLLATE latin1_swedish_ci, ' +
      'd CHAR(10) CHARACTER SET utf8mb3 COLLATE utf8mb3_bin)',
  );
  await tgt.query(
    'CREATE TABLE coll (k VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci PRIMARY KEY, ' +
      'a VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci, ' +
      'b TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_520_ci, ' +
      'c VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin, ' +
      'd CHAR(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci)',
  );
  // Keys whose order differs between general_ci (code points) and unicode_ci (punctuation first).
  const seps = ['-', '_', '1', 'b', '.', ' x', 'é', 'É'];
  const rows: (string | null)[][] = [];
  for (let i = 0; i < 400; i++) {
    const k = `k${String(i % 50).padStart(2, '0')}${seps[i % seps.length]}${Math.floor(i / 50)}`;
    rows.push([k, `Ünïcödé ${i} `, i % 3 ? `Straße ${i}` : '', i % 5 ? `café ${i}` : null, `Ab ${i % 10}`]);
  }
  for (const conn of [src, tgt]) await conn.query('INSERT INTO coll VALUES ?', [rows]);
  const r = await verifyTable(input('coll', false, 37));
  assert.deepEqual(r.mismatches, { missing: 0, extra: 0, different: 0 }, JSON.stringify(r.sampleKeys));
  assert.equal(r.rowsCompared >= 400, true);

  // ... and a real case-only / trailing-space difference in those columns is still found.
  await tgt.query("UPDATE coll SET a = CONCAT(a, ' ') WHERE k = ?", [rows[7][0]]);
  await tgt.query('UPDATE coll SET c = UPPER(c) WHERE k = ?', [rows[9][0]]);
  const r2 = await verifyTable(input('coll', true, 37));
  assert.deepEqual(r2.mismatches, { missing: 0, extra: 0, different: 2 });
  const r3 = await verifyTable(input('coll', false, 37));
  assert.deepEqual(r3.mismatches, { missing: 0, extra: 0, different: 0 });
});

test('a case-only difference in a string KEY under a _ci collation is found and repaired to the authoritative spelling', async () => {
  await both('CREATE TABLE skey (k VARCHAR(20) COLLATE utf8mb4_general_ci PRIMARY KEY, v INT)');
  await both("INSERT INTO skey VALUES ('alpha', 1), ('beta', 2), ('gamma', 3), ('delta ', 4)");
  await tgt.query("UPDATE skey SET k = 'BETA' WHERE k = 'beta'");
  await tgt.query("UPDATE skey SET k = 'delta' WHERE k = 'delta '");
  const r = await verifyTable(input('skey', true, 2));
  assert.deepEqual(r.mismatches, { missing: 2, extra: 2, different: 0 });
  const [keys] = await tgt.query<mysql.RowDataPacket[]>('SELECT HEX(k) AS k, v FROM skey ORDER BY v');
  assert.deepEqual(
    keys.map((x) => Buffer.from(String(x.k), 'hex').toString()),
    ['alpha', 'beta', 'gamma', 'delta '],
  );
  const again = await verifyTable(input('skey', false, 2));
  assert.deepEqual(again.mismatches, { missing: 0, extra: 0, different: 0 });
});

test('resumes after the recorded lastKey', async () => {
  await both('CREATE TABLE res (id INT PRIMARY KEY, v INT)');
  await both('INSERT INTO res SELECT seq, seq FROM seq_1_to_1000');
  await tgt.query('UPDATE res SET v = 0 WHERE id IN (50, 950)');
  const r = await verifyTable(input('res', false, 100), {
    resume: {
      table: 'res',
      lastKey: [500],
      rowsCompared: 500,
      chunks: 5,
      chunksDiffering: 0,
      mismatches: { missing: 0, extra: 0, different: 0 },
      repaired: { missing: 0, extra: 0, different: 0 },
      sampleKeys: [],
    },
  });
  assert.deepEqual(r.mismatches, { missing: 0, extra: 0, different: 1 }, 'only the row after lastKey');
  assert.equal(r.rowsCompared, 1000);
});

test('the last chunk is compared first, while the rest is walked; progress still advances in key order', async () => {
  await both('CREATE TABLE tailfirst (id INT PRIMARY KEY, v INT)');
  await both('INSERT INTO tailfirst SELECT seq, seq FROM seq_1_to_1000');
  await tgt.query('UPDATE tailfirst SET v = 0 WHERE id = 50'); // in the first chunk
  await tgt.query('INSERT INTO tailfirst VALUES (5000, 1)'); // beyond the source's last key
  const progress: unknown[] = [];
  let walkedAtTailRecheck = -1;
  const r = await verifyTable(
    input('tailfirst', false, 100),
    { progress: (p) => progress.push(p.lastKey) },
    {
      concurrency: 1,
      // Notes how far the walk had come when the extra row beyond the last key reached its re-check.
      recheck: async (keys) => {
        if (keys.some((k) => k[0] === 5000)) walkedAtTailRecheck = progress.length;
        return [];
      },
    },
  );
  assert.ok(
    walkedAtTailRecheck >= 0 && walkedAtTailRecheck < 5,
    `the last chunk is re-checked before half the table is walked (after ${walkedAtTailRecheck} of 10 chunks)`,
  );
  assert.equal(r.chunks, 10);
  assert.equal(r.rowsCompared, 1000);
  const keys = progress.filter((k) => k !== undefined).map((k) => (k as number[])[0]);
  // The open-ended last chunk, reported once everything before it is done, leaves lastKey where it is.
  const inOrder = [100, 200, 300, 400, 500, 600, 700, 800, 900, 900];
  assert.deepEqual(keys, inOrder, 'lastKey advances in key order, the last chunk last');
});

test('the next chunk bound is walked while a chunk runs, not after it frees its slot', async () => {
  await both('CREATE TABLE prefetch (id INT PRIMARY KEY, v INT)');
  await both('INSERT INTO prefetch SELECT seq, seq FROM seq_1_to_1000');
  const { source } = await loadPair({ source: 'source', target: 'target' }, { name: 'prefetch' });
  let walked = 0; // forward bound walks (LIMIT 1 OFFSET, not the backward one cutting the last chunk)
  const pool = new Proxy(source.pool, {
    get(target, prop, receiver) {
      if (prop !== 'query') return Reflect.get(target, prop, receiver) as unknown;
      return (sql: string, params: unknown[]) => {
        if (/OFFSET/.test(sql) && !/DESC/.test(sql)) walked++;
        return target.query(sql, params);
      };
    },
  });
  const driver: TableSide = { ...source, pool };
  const whileRunning: number[] = [];
  let chunks = 0;
  await walkChunks({
    driver,
    chunkSize: 100,
    concurrency: 1,
    chunk: async (range) => {
      if (range.upper === undefined) return; // the last chunk, cut first
      const k = ++chunks; // the k-th chunk needed k forward walks to be cut
      await new Promise((resolve) => setImmediate(resolve));
      whileRunning.push(walked - k);
    },
    done: () => undefined,
  });
  assert.equal(chunks, 9);
  // While each chunk but the last of the walk runs (one slot), the bound after it is already being walked.
  assert.deepEqual(whileRunning, [1, 1, 1, 1, 1, 1, 1, 1, 0]);
});

test("a differing chunk's re-checks do not hold its slot: the walk goes on while they wait", async () => {
  await both('CREATE TABLE settle (id INT PRIMARY KEY, v INT)');
  await both('INSERT INTO settle SELECT seq, seq FROM seq_1_to_1000');
  await tgt.query('UPDATE settle SET v = 0 WHERE id % 100 = 50'); // one row in each of the 10 chunks
  let release = () => {};
  const gate = new Promise<void>((resolve) => (release = resolve));
  // Every re-check waits on the gate, opened once all 10 chunks (one slot) have reached theirs. Should a
  // waiting re-check hold its chunk's slot, the gate opens after 3 s instead: the test fails, not hangs.
  let waiting = 0;
  let waitingAtTimeout = -1;
  const stuck = setTimeout(() => {
    waitingAtTimeout = waiting;
    release();
  }, 3000);
  const r = await verifyTable(
    input('settle', false, 100),
    {},
    {
      concurrency: 1,
      recheck: async (keys) => {
        if (++waiting === 10) release();
        await gate;
        return keys.map((key) => ({ key, kind: 'different' as const }));
      },
    },
  );
  clearTimeout(stuck);
  assert.equal(waitingAtTimeout, -1, `${waitingAtTimeout} of 10 chunks reached their re-check in 3 s`);
  assert.deepEqual(r.mismatches, { missing: 0, extra: 0, different: 10 });
});

test('stops at a chunk boundary when aborted', async () => {
  const ac = new AbortController();
  ac.abort(new Error('paused'));
  await assert.rejects(verifyTable(input('res'), { signal: ac.signal }), /paused/);
});

test('scheduled runs (dutyCycle) skip a table verified recently, sized to how long its last full run took', async () => {
  await both('CREATE TABLE duty (id INT PRIMARY KEY, v INT)');
  await both('INSERT INTO duty SELECT seq, seq FROM seq_1_to_3000');
  const first = await verifyTable({ ...input('duty'), dutyCycle: 0.001 });
  assert.equal(first.skippedUntil, undefined);
  assert.equal(first.rowsCompared, 3000);
  // Due again only after duration / 0.001 (at least a few seconds): the next scheduled run skips it ...
  const second = await verifyTable({ ...input('duty'), dutyCycle: 0.001 });
  assert.equal(second.rowsCompared, 0);
  assert.ok(second.skippedUntil && Date.parse(second.skippedUntil) >= Date.now() + first.durationMs * 500);
  // ... a run without dutyCycle (catch-up verification, CLI) never skips ...
  assert.equal((await verifyTable(input('duty'))).rowsCompared, 3000);
  // ... and with a duty cycle of 1 the table is due as soon as its last run's duration has passed.
  await new Promise((r) => setTimeout(r, 50));
  const relaxed = await verifyTable({ ...input('duty'), dutyCycle: 1e6 });
  assert.equal(relaxed.rowsCompared, 3000);
});
