// Verification against its peers on the same 1M-row pair, in the same run: CHECKSUM TABLE on both
// servers (no drill-down: says only "differs") and `pt-table-sync --print` (percona-toolkit, from apt:
// chunk checksums + per-row drill-down, printing the statements that would repair the target).
// 10 changed, 10 missing and 10 extra rows are injected on the target; verifyTable and pt-table-sync
// must both find exactly those. BENCH_VERIFY_ROUNDS (default 3) rounds; ratios are medians. Each round
// also runs verifyTable with the concatenated-MD5 chunk digest forced (MIGRATOR_VERIFY_DIGEST=md5, what
// MySQL and MariaDB < 10.8 pairs get; MariaDB >= 10.8 on both sides gets the CRC sum): the two side by side.
//   VERIFY_BENCH_ROWS (default 1,000,000), VERIFY_BENCH_CHUNK (default 5000).
import type mysql from 'mysql2/promise';
import { startStack, APP_DATABASE } from '../../scripts/localstack/index.js';
import { closePools } from '../../src/activities/db/connections.js';
import { verifyTable } from '../../src/activities/verify/index.js';
import { loadPair } from '../../src/activities/verify/pair.js';
import { cpuLine, cpuSplit, fmt, median, timed } from '../lib/measure.js';
import { recordTarget } from '../lib/targets.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureTool, run as runTool } from '../lib/peers.js';

const DDL =
  'CREATE TABLE bench_verify (id BIGINT UNSIGNED PRIMARY KEY, account INT NOT NULL, name VARCHAR(64) COLLATE utf8mb4_general_ci NOT NULL, ' +
  'amount DECIMAL(12,2) NOT NULL, note VARCHAR(255) NULL, created DATETIME(6) NOT NULL, KEY (account)) ENGINE=InnoDB';

function fill(lo: number, hi: number): string {
  return (
    "INSERT INTO bench_verify SELECT seq, seq % 1000, CONCAT('customer ', seq), (seq % 100000) / 100, " +
    "IF(seq % 7 = 0, NULL, REPEAT('n', seq % 80)), '2024-01-01 00:00:00' + INTERVAL seq SECOND " +
    `FROM seq_${lo}_to_${hi}`
  );
}

/** 10 changed, 10 missing, 10 extra rows on the target, spread over the table. */
async function inject(tgt: mysql.Connection, rows: number): Promise<void> {
  const step = Math.floor(rows / 31);
  for (let i = 1; i <= 10; i++) {
    await tgt.query("UPDATE bench_verify SET name = CONCAT(name, '!') WHERE id = ?", [i * step]);
    await tgt.query('DELETE FROM bench_verify WHERE id = ?', [(i + 10) * step]);
    await tgt.query("INSERT INTO bench_verify VALUES (?, 1, 'extra', 1.00, NULL, '2024-01-01 00:00:00')", [
      rows + i * 1000,
    ]);
  }
}

function dsn(sock: string): string {
  return `S=${sock},u=root,D=${APP_DATABASE},t=bench_verify`;
}

export async function run(): Promise<void> {
  ensureTool('pt-table-sync', 'percona-toolkit');
  const rows = Number(process.env.VERIFY_BENCH_ROWS ?? 1_000_000);
  const chunkSize = Number(process.env.VERIFY_BENCH_CHUNK ?? 5000);
  const rounds = Number(process.env.BENCH_VERIFY_ROUNDS ?? 3);
  const stack = await startStack({ redis: false });
  Object.assign(process.env, stack.env);
  const src = await stack.source.rootConnection(APP_DATABASE);
  const tgt = await stack.target.rootConnection(APP_DATABASE);
  try {
    const load = await timed(() =>
      Promise.all(
        [src, tgt].map(async (c) => {
          await c.query(DDL);
          for (let lo = 1; lo <= rows; lo += 200_000) await c.query(fill(lo, Math.min(rows, lo + 199_999)));
        }),
      ),
    );
    await inject(tgt, rows);
    console.log(
      `table: ${fmt(rows)} rows on each server (loaded in ${load.secs.toFixed(1)} s), chunk ${chunkSize}`,
    );
    console.log('injected on the target: 10 changed, 10 missing, 10 extra rows');
    // Warm both buffer pools the same way for every contender.
    await Promise.all([src, tgt].map((c) => c.query('SELECT COUNT(*), SUM(LENGTH(note)) FROM bench_verify')));

    const pid = (dir: string) => Number(readFileSync(join(dir, 'mysqld.pid'), 'utf8').trim());
    const pids = { source: pid(stack.source.dir), target: pid(stack.target.dir) };
    // The exact digest alone (the CRC sum verifyTable's chunks compute), over the whole table in one
    // statement per server, both at once: no chunks, bounds, drill-down or client work. What
    // verifyTable cannot go below while it compares canonical values (src/activities/verify/README.md).
    const pair = await loadPair({ source: 'source', target: 'target' }, { name: 'bench_verify' });
    const digestAlone = () =>
      Promise.all(
        (
          [
            [src, 'source'],
            [tgt, 'target'],
          ] as const
        ).map(([c, side]) => c.query(`SELECT ${pair[side].chunk.select} FROM bench_verify`)),
      );
    const vsCs: number[] = [];
    const digestVsCs: number[] = [];
    const vsPt: number[] = [];
    const vsMd5: number[] = [];
    for (let round = 1; round <= rounds; round++) {
      const csRun = await cpuSplit(pids, () =>
        timed(() => Promise.all([src, tgt].map((c) => c.query('CHECKSUM TABLE bench_verify')))),
      );
      const cs = csRun.value;
      const digest = await timed(digestAlone);
      digestVsCs.push(digest.secs / cs.secs);
      const pt = await timed(
        () =>
          runTool(
            'pt-table-sync',
            [
              '--print',
              '--charset',
              'utf8mb4',
              '--chunk-size',
              String(chunkSize),
              dsn(stack.source.socketPath),
              dsn(stack.target.socketPath),
            ],
            { ok: [0, 2] },
          ), // 2: differences found
      );
      const ptStatements = pt.value.split('\n').filter((l) => /^(REPLACE|INSERT|DELETE|UPDATE)\b/.test(l));
      const runVerify = () =>
        cpuSplit(pids, () =>
          timed(() =>
            verifyTable({
              source: 'source',
              target: 'target',
              table: { name: 'bench_verify', chunkSize },
              authoritative: 'source',
              repair: false,
            }),
          ),
        );
      const vRun = await runVerify();
      const v = vRun.value;
      process.env.MIGRATOR_VERIFY_DIGEST = 'md5';
      const mRun = await runVerify().finally(() => delete process.env.MIGRATOR_VERIFY_DIGEST);
      const mm = mRun.value.value.mismatches;
      if (mm.different !== 10 || mm.missing !== 10 || mm.extra !== 10)
        throw new Error(`verifyTable (md5) found ${JSON.stringify(mm)}, not 10/10/10`);
      vsMd5.push(mRun.value.secs / cs.secs);
      const m = v.value.mismatches;
      if (m.different !== 10 || m.missing !== 10 || m.extra !== 10)
        throw new Error(`verifyTable found ${JSON.stringify(m)}, not 10/10/10`);
      if (ptStatements.length !== 30)
        throw new Error(`pt-table-sync printed ${ptStatements.length} statements, not 30`);
      vsCs.push(v.secs / cs.secs);
      vsPt.push(pt.secs / v.secs);
      console.log(
        `  round ${round}: CHECKSUM TABLE x2 ${cs.secs.toFixed(2)} s | the digest alone x2 ${digest.secs.toFixed(2)} s | pt-table-sync --print ${pt.secs.toFixed(2)} s (30 statements) | ` +
          `verifyTable ${v.secs.toFixed(2)} s (${v.value.chunks} chunks, ${fmt(v.value.rowsCompared / v.secs)} rows/s, found 10/10/10)`,
      );
      console.log(
        `           verifyTable with the concatenated MD5 ${mRun.value.secs.toFixed(2)} s (found 10/10/10)`,
      );
      console.log(
        `           CPU: CHECKSUM TABLE ${cpuLine(csRun.cpu)}; verifyTable ${cpuLine(vRun.cpu)}; with MD5 ${cpuLine(mRun.cpu)}`,
      );
    }
    recordTarget({
      what: 'verify: pt-table-sync --print time / verifyTable time, median',
      value: median(vsPt),
      shown: `${median(vsPt).toFixed(2)}x`,
      kind: 'min',
      goal: 1.5,
      goalShown: '1.5x',
    });
    recordTarget({
      what: 'verify: verifyTable time / CHECKSUM TABLE on both servers, median',
      value: median(vsCs),
      shown: `${median(vsCs).toFixed(2)}x`,
      kind: 'max',
      goal: 2,
      goalShown: '2x',
      floor: `the exact digest alone, one statement a server: ${median(digestVsCs).toFixed(2)}x`,
    });
    console.log(
      `verifyTable vs pt-table-sync --print: ${median(vsPt).toFixed(2)}x faster (median of ${rounds}; target >= 1.5x)`,
    );
    console.log(
      `verifyTable vs CHECKSUM TABLE on both servers: ${median(vsCs).toFixed(2)}x its time (median of ${rounds}; target <= 2x; ` +
        `with the concatenated MD5 ${median(vsMd5).toFixed(2)}x; the exact digest alone over the whole table, ` +
        `one statement a server, ${median(digestVsCs).toFixed(2)}x)`,
    );
  } finally {
    await closePools();
    await src.end();
    await tgt.end();
    await stack.stop();
  }
}
