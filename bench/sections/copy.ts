// Copy throughput against `mariadb-dump --single-transaction --quick | mariadb` on the same data, in
// the same run, on a narrow table (sysbench-like, secondary index) and a wide one (13 columns: JSON,
// BLOB, DECIMAL, DATETIME(6), utf8mb4 text). Each contender runs BENCH_COPY_ROUNDS times (default 3)
// alternately into an empty table; the ratio printed is the median of the per-round ratios.
//   BENCH_COPY_ROWS (default 1,000,000) narrow rows; BENCH_WIDE_ROWS (default 300,000) wide rows.
//   BENCH_COPY_CONCURRENCY (default 4) chunks in flight; BENCH_COPY_CHUNK (default 5000) rows a chunk.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type mysql from 'mysql2/promise';
import { startStack, APP_DATABASE, type Stack } from '../../scripts/localstack/index.js';
import { closePools } from '../../src/activities/db/connections.js';
import { copyTable } from '../../src/activities/copier/copy.js';
import { recordSyncStart } from '../../src/activities/cdc/sync.js';
import { prepareTarget } from '../../src/activities/schema/prepare.js';
import { cpuLine, cpuSplit, fmt, median, timed } from '../lib/measure.js';
import { dumpPipeline, ensureTool } from '../lib/peers.js';

const NARROW = {
  name: 'sbtest',
  ddl: 'CREATE TABLE sbtest (id INT NOT NULL PRIMARY KEY, k INT NOT NULL, c CHAR(120) NOT NULL, pad CHAR(60) NOT NULL, KEY k_1 (k))',
  fill: (lo: number, hi: number) =>
    `INSERT INTO sbtest SELECT seq, FLOOR(RAND(seq) * 1000000), CONCAT_WS('-', MD5(seq), MD5(seq + 1), MD5(seq + 2)), ` +
    `CONCAT_WS('-', MD5(seq * 3), LEFT(MD5(seq * 5), 20)) FROM seq_${lo}_to_${hi}`,
};

const WIDE = {
  name: 'wide',
  ddl:
    'CREATE TABLE wide (id BIGINT NOT NULL PRIMARY KEY, account INT NOT NULL, big BIGINT, amount DECIMAL(14,4), ' +
    'created DATETIME(6) NOT NULL, updated DATETIME(6), doc JSON, data BLOB, title VARCHAR(120) CHARACTER SET utf8mb4, ' +
    "body TEXT CHARACTER SET utf8mb4, score DOUBLE, state ENUM('new','paid','shipped'), day DATE, KEY (account))",
  fill: (lo: number, hi: number) =>
    `INSERT INTO wide SELECT seq, seq % 5000, seq * 1000003, (seq % 100000) / 7, '2024-01-01' + INTERVAL seq SECOND, ` +
    `IF(seq % 3 = 0, NULL, '2024-06-01 12:00:00.123456' + INTERVAL seq MINUTE), ` +
    `JSON_OBJECT('id', seq, 'tags', JSON_ARRAY('a', 'b', seq % 10), 'note', CONCAT('ünï ', seq)), ` +
    `UNHEX(REPEAT(MD5(seq), 1 + seq % 4)), CONCAT('Título 😀 ', seq), REPEAT(CONCAT('текст ', seq, ' '), 1 + seq % 12), ` +
    `seq / 3, ELT(1 + seq % 3, 'new', 'paid', 'shipped'), '2020-01-01' + INTERVAL (seq % 2000) DAY FROM seq_${lo}_to_${hi}`,
};

type TableDef = typeof NARROW;

function serverPid(side: Stack['source']): number | undefined {
  try {
    return Number(readFileSync(join(side.dir, 'mysqld.pid'), 'utf8').trim());
  } catch {
    return undefined;
  }
}

async function fill(conn: mysql.Connection, def: TableDef, rows: number): Promise<void> {
  await conn.query(def.ddl);
  for (let lo = 1; lo <= rows; lo += 100_000) await conn.query(def.fill(lo, Math.min(rows, lo + 99_999)));
  await conn.query(`ANALYZE TABLE ${def.name}`);
}

async function benchTable(stack: Stack, def: TableDef, rows: number, rounds: number): Promise<void> {
  const concurrency = Number(process.env.BENCH_COPY_CONCURRENCY ?? 4);
  const chunkSize = Number(process.env.BENCH_COPY_CHUNK ?? 5000);
  const src = await stack.source.rootConnection(APP_DATABASE);
  const dst = await stack.target.rootConnection(APP_DATABASE);
  const pids = { source: serverPid(stack.source), target: serverPid(stack.target) };
  try {
    const load = await timed(() => fill(src, def, rows));
    const tables = [{ name: def.name, chunkSize }];
    await prepareTarget({ source: 'source', target: 'target', tables });
    await dst.query('CREATE DATABASE IF NOT EXISTS peer');
    await dst.query(`CREATE TABLE peer.${def.name} LIKE ${APP_DATABASE}.${def.name}`);
    const spec = {
      stream: `bench_${def.name}`,
      from: 'source',
      to: 'target',
      tables,
      direction: 'forward' as const,
    };
    await recordSyncStart(spec);
    console.log(`${def.name}: ${fmt(rows)} rows (loaded in ${load.secs.toFixed(1)} s)`);
    const ratios: number[] = [];
    for (let round = 1; round <= rounds; round++) {
      await dst.query(`TRUNCATE TABLE peer.${def.name}`);
      const dump = await cpuSplit(pids, () =>
        timed(() =>
          dumpPipeline(stack.source.socketPath, APP_DATABASE, stack.target.socketPath, 'peer', def.name),
        ),
      );
      await dst.query(`TRUNCATE TABLE ${APP_DATABASE}.${def.name}`);
      const copy = await cpuSplit(pids, () =>
        timed(() =>
          copyTable(
            { source: 'source', target: 'target', table: tables[0], stream: spec.stream },
            {},
            { concurrency },
          ),
        ),
      );
      if (copy.value.value.rowsCopied !== rows)
        throw new Error(`copied ${copy.value.value.rowsCopied} rows, not ${rows}`);
      const ratio = dump.value.secs / copy.value.secs;
      ratios.push(ratio);
      console.log(
        `  round ${round}: mariadb-dump | mariadb ${dump.value.secs.toFixed(1)} s (${fmt(rows / dump.value.secs)} rows/s; CPU ${cpuLine(dump.cpu)})`,
      );
      console.log(
        `           copyTable (${concurrency} in flight, chunk ${chunkSize}) ${copy.value.secs.toFixed(1)} s (${fmt(rows / copy.value.secs)} rows/s; CPU ${cpuLine(copy.cpu)}) ratio ${ratio.toFixed(2)}x`,
      );
    }
    const [[a]] = await dst.query<mysql.RowDataPacket[]>(`CHECKSUM TABLE ${APP_DATABASE}.${def.name}`);
    const [[b]] = await dst.query<mysql.RowDataPacket[]>(`CHECKSUM TABLE peer.${def.name}`);
    if (String(a.Checksum) !== String(b.Checksum)) throw new Error(`${def.name}: copy and dump differ`);
    console.log(
      `${def.name}: copyTable / dump pipeline = ${median(ratios).toFixed(2)}x (median of ${rounds}; target >= 1.5x)`,
    );
    await src.query(`DROP TABLE ${def.name}`);
    await dst.query(`DROP TABLE ${def.name}`);
    await dst.query(`DROP TABLE peer.${def.name}`);
  } finally {
    await src.end();
    await dst.end();
  }
}

export async function run(): Promise<void> {
  ensureTool('mariadb-dump', 'mariadb-client');
  const rounds = Number(process.env.BENCH_COPY_ROUNDS ?? 3);
  const stack = await startStack({ redis: false });
  Object.assign(process.env, stack.env);
  try {
    await benchTable(stack, NARROW, Number(process.env.BENCH_COPY_ROWS ?? 1_000_000), rounds);
    await benchTable(stack, WIDE, Number(process.env.BENCH_WIDE_ROWS ?? 300_000), rounds);
  } finally {
    await closePools();
    await stack.stop();
  }
}
