// Server CPU of the verify chunk statements, one form at a time, on the verify bench's table (source
// server only, one connection, chunks of consecutive ids in key order, each form VERIFY_FORMS_REPS times,
// default 3): what a chunk digest costs against the floors (scanning the rows, building the canonical
// text at all, CHECKSUM TABLE). Run it under the bench lock: `flock /tmp/bench.lock npx tsx bench/verify-forms.ts`.
//   VERIFY_BENCH_ROWS (default 1,000,000), VERIFY_FORMS_CHUNKS (default 5000,20000,50000: the CRC sum's
//   statement overhead by chunk size).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import type mysql from 'mysql2/promise';
import { startStack, APP_DATABASE } from '../scripts/localstack/index.js';
import { closePools } from '../src/activities/db/connections.js';
import { canonicalRowExpr, chunkAggregate, crcRowExpr } from '../src/activities/verify/hashsql.js';
import { loadPair } from '../src/activities/verify/pair.js';
import { cpuSeconds } from './lib/measure.js';

const DDL =
  'CREATE TABLE bench_verify (id BIGINT UNSIGNED PRIMARY KEY, account INT NOT NULL, name VARCHAR(64) COLLATE utf8mb4_general_ci NOT NULL, ' +
  'amount DECIMAL(12,2) NOT NULL, note VARCHAR(255) NULL, created DATETIME(6) NOT NULL, KEY (account)) ENGINE=InnoDB';
const fill = (lo: number, hi: number) =>
  "INSERT INTO bench_verify SELECT seq, seq % 1000, CONCAT('customer ', seq), (seq % 100000) / 100, " +
  "IF(seq % 7 = 0, NULL, REPEAT('n', seq % 80)), '2024-01-01 00:00:00' + INTERVAL seq SECOND " +
  `FROM seq_${lo}_to_${hi}`;

const rows = Number(process.env.VERIFY_BENCH_ROWS ?? 1_000_000);
const reps = Number(process.env.VERIFY_FORMS_REPS ?? 3);
const chunkSizes = (process.env.VERIFY_FORMS_CHUNKS ?? '5000,20000,50000').split(',').map(Number);
const stack = await startStack({ redis: false });
Object.assign(process.env, stack.env);
const conn = await stack.source.rootConnection(APP_DATABASE);
try {
  await Promise.all(
    [conn, await stack.target.rootConnection(APP_DATABASE)].map(async (c, i) => {
      await c.query(DDL);
      if (i === 0)
        for (let lo = 1; lo <= rows; lo += 200_000) await c.query(fill(lo, Math.min(rows, lo + 199_999)));
      if (i === 1) await c.end();
    }),
  );
  await conn.query('SELECT COUNT(*), SUM(LENGTH(note)) FROM bench_verify'); // warm the buffer pool
  const pid = Number(readFileSync(join(stack.source.dir, 'mysqld.pid'), 'utf8').trim());
  const pair = await loadPair({ source: 'source', target: 'target' }, { name: 'bench_verify' });
  const { pairs } = pair;
  const info = pair.source.info;
  const t = pair.source.table;
  const range = 'FORCE INDEX (PRIMARY) WHERE id > ? AND id <= ?';

  /** Server CPU seconds of running `sql` over every chunk (or once, without placeholders), per rep. */
  async function measure(label: string, chunk: number, sql: string, prepared = false): Promise<void> {
    const cpu: string[] = [];
    for (let rep = 0; rep < reps; rep++) {
      const before = cpuSeconds(pid);
      if (!sql.includes('?')) await conn.query(sql);
      else
        for (let lo = 0; lo < rows; lo += chunk)
          if (prepared) await conn.execute<mysql.RowDataPacket[]>(sql, [lo, lo + chunk]);
          else await conn.query<mysql.RowDataPacket[]>(sql, [lo, lo + chunk]);
      cpu.push((cpuSeconds(pid) - before).toFixed(2));
    }
    console.log(`  ${label}, chunk ${chunk}: ${cpu.join(' / ')} s`);
  }

  console.log(
    `bench_verify, ${rows} rows; server CPU per pass (${reps} passes), load average ${loadavg()[0].toFixed(1)}`,
  );
  const c = chunkSizes[0];
  await measure('CHECKSUM TABLE (one statement)', rows, 'CHECKSUM TABLE bench_verify');
  await measure('scan only: COUNT(*)', c, `SELECT COUNT(*) FROM ${t} ${range}`);
  await measure(
    'chunk bounds: LIMIT 1 OFFSET n-1',
    c,
    `SELECT id FROM ${t} ${range} ORDER BY id LIMIT 1 OFFSET ${c - 1}`,
  );
  const text = canonicalRowExpr(pairs, 'source', info);
  await measure(
    'canonical text only: SUM(LENGTH(text))',
    c,
    `SELECT COUNT(*), SUM(LENGTH(${text})) FROM ${t} ${range}`,
  );
  const crc = chunkAggregate(pairs, 'source', info, c, 'crc');
  for (const size of chunkSizes)
    await measure(
      'CRC sum (default: the row text built once)',
      size,
      `SELECT ${crc.select} FROM ${t} ${range}`,
    );
  await measure(
    'CRC sum, prepared statement (parsed once)',
    c,
    `SELECT ${crc.select} FROM ${t} ${range}`,
    true,
  );
  const crcForm = async (label: string, shared: boolean, form: 'text' | 'stream') =>
    measure(
      label,
      c,
      `SELECT COUNT(*), SUM(${crcRowExpr(pairs, 'source', info, { shared, form })}) FROM ${t} ${range}`,
    );
  await crcForm('CRC sum, the row text built for each CRC', false, 'text');
  await crcForm('CRC sum, header built once, strings streamed (LOB/JSON rows)', true, 'stream');
  await crcForm('CRC sum, header built for each CRC, strings streamed (before)', false, 'stream');
  const md5 = chunkAggregate(pairs, 'source', info, c, 'md5');
  await measure('concatenated MD5', c, md5.wrap(`SELECT ${md5.select} FROM ${t} ${range}`));
  await measure(
    'CRC sum and the chunk bound in one statement (derived table, LIMIT n)',
    c,
    `SELECT ${crc.select}, MAX(id) FROM (SELECT * FROM ${t} ${range} ORDER BY id LIMIT ${c}) AS d`,
  );
} finally {
  await closePools();
  await conn.end();
  await stack.stop();
}
