// Copy throughput against `mariadb-dump --single-transaction --quick | mariadb` on the same data, in
// the same run, on a narrow table (sysbench-like, secondary index) and a wide one (13 columns: JSON,
// BLOB, DECIMAL, DATETIME(6), utf8mb4 text). Each contender runs BENCH_COPY_ROUNDS times (default 3)
// alternately into an empty table; the ratio printed is the median of the per-round ratios.
//   BENCH_COPY_ROWS (default 1,000,000) narrow rows; BENCH_WIDE_ROWS (default 300,000) wide rows.
//   BENCH_COPY_CONCURRENCY (default 4) chunks in flight; BENCH_COPY_CHUNK (default 5000) rows a chunk.
//   BENCH_COPY_TABLES (default narrow,wide) the tables measured against the dump pipeline (empty: none).
//   BENCH_COPY_BIG_ROWS (default 0: off) a table this big split and copied by one and by two worker
//   processes: split time and rows read, rows/s, each process's peak RSS.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import type mysql from 'mysql2/promise';
import { startStack, APP_DATABASE, type Stack } from '../../scripts/localstack/index.js';
import { closePools } from '../../src/activities/db/connections.js';
import { copyTable } from '../../src/activities/copier/copy.js';
import { recordSyncStart } from '../../src/activities/cdc/sync.js';
import { prepareTarget } from '../../src/activities/schema/prepare.js';
import { splitKeyRanges } from '../../src/activities/copier/split.js';
import type { CopyInput, KeyRange } from '../../src/activities/contracts.js';
import { cpuLine, cpuSplit, fmt, median, timed } from '../lib/measure.js';
import { recordTarget } from '../lib/targets.js';
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

function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * Copies the given ranges of a table, each in its own process (scripts/copy-range.ts, as a worker
 * would), all starting at the same moment; returns the wall time and each process's peak RSS.
 */
async function copyInProcesses(
  stack: Stack,
  input: Omit<CopyInput, 'range'>,
  ranges: KeyRange[],
): Promise<{ secs: number; rows: number; rowsEach: number[]; peakRss: number[] }> {
  const startAt = Date.now() + 4000;
  const runs = await Promise.all(
    ranges.map(
      (range) =>
        new Promise<{ startedAt: number; endedAt: number; rows: number; peak: number }>((resolve, reject) => {
          const child = spawn(
            process.execPath,
            [
              '--import',
              'tsx',
              'scripts/copy-range.ts',
              JSON.stringify({ ...input, range }),
              String(startAt),
            ],
            { env: { ...process.env, ...stack.env }, stdio: ['ignore', 'pipe', 'inherit'] },
          );
          let peak = 0;
          const probe = setInterval(() => (peak = Math.max(peak, rssMb(child.pid ?? 0))), 100);
          let out = '';
          child.stdout.on('data', (d: Buffer) => (out += d.toString()));
          child.on('exit', (code) => {
            clearInterval(probe);
            if (code !== 0) return reject(new Error(`copy process exited with ${code}`));
            const r = JSON.parse(out) as {
              startedAt: number;
              endedAt: number;
              result: { rowsCopied: number };
            };
            resolve({ startedAt: r.startedAt, endedAt: r.endedAt, rows: r.result.rowsCopied, peak });
          });
        }),
    ),
  );
  const secs = (Math.max(...runs.map((r) => r.endedAt)) - Math.min(...runs.map((r) => r.startedAt))) / 1000;
  return {
    secs,
    rows: runs.reduce((a, r) => a + r.rows, 0),
    rowsEach: runs.map((r) => r.rows),
    peakRss: runs.map((r) => r.peak),
  };
}

/** Rows/s copying one table from one worker process against two processes (two key ranges) at once. */
async function scaleOut(stack: Stack, def: TableDef, rows: number): Promise<void> {
  const dst = await stack.target.rootConnection(APP_DATABASE);
  try {
    const input = {
      source: 'source',
      target: 'target',
      table: { name: def.name, chunkSize: Number(process.env.BENCH_COPY_CHUNK ?? 5000) },
      stream: `bench_${def.name}`,
      deferSecondaryKeys: false,
    };
    const split = await timed(() => splitKeyRanges({ source: 'source', table: input.table, parts: 2 }));
    const line = (n: number, r: { secs: number; rows: number; peakRss: number[] }) =>
      `${n} process${n > 1 ? 'es' : ''}: ${r.secs.toFixed(1)} s, ${fmt(r.rows / r.secs)} rows/s, peak RSS ${r.peakRss.map((m) => `${m.toFixed(0)} MB`).join(' + ')}`;
    await dst.query(`TRUNCATE TABLE ${def.name}`);
    const one = await copyInProcesses(stack, input, [{}]);
    await dst.query(`TRUNCATE TABLE ${def.name}`);
    const two = await copyInProcesses(stack, input, split.value);
    if (one.rows !== rows || two.rows !== rows)
      throw new Error(`scale-out copied ${one.rows} / ${two.rows} rows`);
    console.log(
      `${def.name} scale-out (split into 2 ranges in ${(split.secs * 1000).toFixed(0)} ms): ${line(1, one)}; ${line(2, two)}`,
    );
  } finally {
    await dst.end();
  }
}

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
    recordTarget({
      what: `copy, ${def === NARROW ? 'narrow' : 'wide'} table (${def.name}): copyTable / dump pipeline, median`,
      value: median(ratios),
      shown: `${median(ratios).toFixed(2)}x`,
      kind: 'min',
      goal: 1.5,
      goalShown: '1.5x',
    });
    if (def === NARROW) await scaleOut(stack, def, rows);
    await src.query(`DROP TABLE ${def.name}`);
    await dst.query(`DROP TABLE ${def.name}`);
    await dst.query(`DROP TABLE peer.${def.name}`);
  } finally {
    await src.end();
    await dst.end();
  }
}

const load = () => `load average ${loadavg()[0].toFixed(1)}`;

/**
 * Opt-in: a table of `rows` narrow rows: the split's time and rows read, then the table copied by
 * one worker process and by two at once (two key ranges), each process's peak RSS.
 */
async function bigCopy(stack: Stack, rows: number): Promise<void> {
  const src = await stack.source.rootConnection(APP_DATABASE);
  const dst = await stack.target.rootConnection(APP_DATABASE);
  try {
    const filled = await timed(() => fill(src, { ...NARROW, name: NARROW.name }, rows));
    const tables = [{ name: NARROW.name, chunkSize: Number(process.env.BENCH_COPY_CHUNK ?? 5000) }];
    await prepareTarget({ source: 'source', target: 'target', tables });
    const spec = { stream: 'bench_big', from: 'source', to: 'target', tables, direction: 'forward' as const };
    await recordSyncStart(spec);
    const rowsRead = async () => {
      const [[r]] = await src.query<mysql.RowDataPacket[]>("SHOW GLOBAL STATUS LIKE 'Rows_read'");
      return Number(r.Value);
    };
    const read0 = await rowsRead();
    const split16 = await timed(() => splitKeyRanges({ source: 'source', table: tables[0], parts: 16 }));
    const read16 = (await rowsRead()) - read0;
    const split2 = await timed(() => splitKeyRanges({ source: 'source', table: tables[0], parts: 2 }));
    console.log(
      `${fmt(rows)} rows (loaded in ${filled.secs.toFixed(0)} s): split into ${split16.value.length} ranges in ` +
        `${(split16.secs * 1000).toFixed(0)} ms (${fmt(read16)} rows read), into 2 in ${(split2.secs * 1000).toFixed(0)} ms (${load()})`,
    );
    const input = { source: 'source', target: 'target', table: tables[0], stream: spec.stream };
    for (const ranges of [[{}], split2.value]) {
      await dst.query(`TRUNCATE TABLE ${NARROW.name}`);
      const r = await copyInProcesses(stack, input, ranges);
      if (r.rows !== rows) throw new Error(`copied ${r.rows} rows, not ${rows}`);
      console.log(
        `  ${ranges.length} worker process${ranges.length > 1 ? 'es' : ''}: ${r.rowsEach.map(fmt).join(' + ')} rows in ${r.secs.toFixed(0)} s ` +
          `(${fmt(r.rows / r.secs)} rows/s), peak RSS ${r.peakRss.map((m) => `${m.toFixed(0)} MB`).join(' + ')} ` +
          `(target < 300 MB; ${load()})`,
      );
      recordTarget({
        what: `copy, ${fmt(rows)} rows in ${ranges.length} worker process(es): peak RSS of one`,
        value: Math.max(...r.peakRss),
        shown: `${Math.max(...r.peakRss).toFixed(0)} MB`,
        kind: 'max',
        goal: 300,
        goalShown: '300 MB',
      });
    }
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
    const tables = (process.env.BENCH_COPY_TABLES ?? 'narrow,wide').split(',');
    if (tables.includes('narrow'))
      await benchTable(stack, NARROW, Number(process.env.BENCH_COPY_ROWS ?? 1_000_000), rounds);
    if (tables.includes('wide'))
      await benchTable(stack, WIDE, Number(process.env.BENCH_WIDE_ROWS ?? 300_000), rounds);
    const big = Number(process.env.BENCH_COPY_BIG_ROWS ?? 0);
    if (big > 0) await bigCopy(stack, big);
    else console.log('(set BENCH_COPY_BIG_ROWS=10000000 for the 10M-row copy: worker RSS and split time)');
  } finally {
    await closePools();
    await stack.stop();
  }
}
