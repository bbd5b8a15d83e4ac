// Copy and sync throughput on a throwaway MariaDB pair.
//   BENCH_COPY_ROWS (default 1,000,000): rows in the generated table.
//   BENCH_SYNC_SECONDS (default 10): duration of the sustained write load for the sync figure.
// Prints copyTable rows/s next to a `mariadb-dump | mariadb` pipeline on the same data, and the CDC
// applier's rows/s and lag under load.
import { spawn } from 'node:child_process';
import { startStack, APP_DATABASE } from '../../scripts/localstack/index.js';
import { closePools } from '../../src/activities/db/connections.js';
import { copyTable } from '../../src/activities/copier/copy.js';
import {
  currentPosition,
  recordSyncStart,
  runSync,
  syncStatus,
  waitForSyncPosition,
} from '../../src/activities/cdc/sync.js';
import { prepareTarget } from '../../src/activities/schema/prepare.js';

function pipeline(srcSock: string, dstSock: string, table: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const dump = spawn(
      'mariadb-dump',
      ['-S', srcSock, '-uroot', '--single-transaction', '--quick', '--no-create-info', APP_DATABASE, table],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const load = spawn('mariadb', ['-S', dstSock, '-uroot', APP_DATABASE], {
      stdio: ['pipe', 'inherit', 'inherit'],
    });
    dump.stdout.pipe(load.stdin);
    let pending = 2;
    const done = (code: number | null) => {
      if (code !== 0) reject(new Error(`pipeline exited with ${code}`));
      else if (--pending === 0) resolve();
    };
    dump.on('exit', done);
    load.on('exit', done);
  });
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

export async function run(): Promise<void> {
  const rows = Number(process.env.BENCH_COPY_ROWS ?? 1_000_000);
  const syncSeconds = Number(process.env.BENCH_SYNC_SECONDS ?? 10);
  const stack = await startStack({ redis: false });
  Object.assign(process.env, stack.env);
  try {
    const src = await stack.source.rootConnection(APP_DATABASE);
    await src.query(
      'CREATE TABLE bench (id BIGINT PRIMARY KEY, a INT NOT NULL, b VARCHAR(64) NOT NULL, c DECIMAL(12,2), d DATETIME(6), e TEXT)',
    );
    for (let lo = 1; lo <= rows; lo += 200_000) {
      const hi = Math.min(rows, lo + 199_999);
      await src.query(
        `INSERT INTO bench SELECT seq, seq % 1000, MD5(seq), seq / 7, '2024-01-01' + INTERVAL seq SECOND, REPEAT('x', seq % 100) FROM seq_${lo}_to_${hi}`,
      );
    }
    await src.query('ANALYZE TABLE bench');
    const tables = [{ name: 'bench', chunkSize: 2000 }];
    await prepareTarget({ source: 'source', target: 'target', tables });
    const dst = await stack.target.rootConnection(APP_DATABASE);
    await dst.query('CREATE TABLE bench_dump LIKE bench');
    await dst.query('RENAME TABLE bench TO bench_copy, bench_dump TO bench');

    let t0 = Date.now();
    await pipeline(stack.source.socketPath, stack.target.socketPath, 'bench');
    const dumpSecs = (Date.now() - t0) / 1000;
    await dst.query('DROP TABLE bench');
    await dst.query('RENAME TABLE bench_copy TO bench');

    const spec = { stream: 'bench', from: 'source', to: 'target', tables, direction: 'forward' as const };
    await recordSyncStart(spec);
    t0 = Date.now();
    const copied = await copyTable(
      { source: 'source', target: 'target', table: tables[0], stream: 'bench' },
      {},
      { concurrency: 3 },
    );
    const copySecs = (Date.now() - t0) / 1000;
    console.log(`rows: ${fmt(rows)}`);
    console.log(`mariadb-dump | mariadb : ${dumpSecs.toFixed(1)} s, ${fmt(rows / dumpSecs)} rows/s`);
    console.log(
      `copyTable (3 in flight, chunk 2000): ${copySecs.toFixed(1)} s, ${fmt(copied.rowsCopied / copySecs)} rows/s`,
    );
    console.log(`ratio copyTable / dump pipeline: ${(dumpSecs / copySecs).toFixed(2)}x`);

    // Sync: a sustained write load (4 writers, 50-row multi-row upserts) while the applier runs.
    const abort = new AbortController();
    let applied = 0;
    const syncRun = runSync(spec, { signal: abort.signal, progress: (p) => (applied = p.rowsApplied) }).catch(
      (e: Error) => e,
    );
    const stopAt = Date.now() + syncSeconds * 1000;
    let written = 0;
    let maxLagBytes = 0;
    let maxLagSeconds = 0;
    const sampler = setInterval(() => {
      void syncStatus('bench', 'source', 'target').then((s) => {
        maxLagBytes = Math.max(maxLagBytes, s.lagBytes);
        maxLagSeconds = Math.max(maxLagSeconds, s.lagSeconds);
      });
    }, 500);
    const writer = async () => {
      const c = await stack.source.rootConnection(APP_DATABASE);
      while (Date.now() < stopAt) {
        const base = Math.floor(Math.random() * rows);
        const values = Array.from(
          { length: 50 },
          (_, i) => `(${base + i * 7919}, ${i}, MD5(RAND()), 1.5, NOW(6), 'w')`,
        ).join(',');
        await c.query(`INSERT INTO bench VALUES ${values} ON DUPLICATE KEY UPDATE a = a + 1, b = VALUES(b)`);
        written += 50;
      }
      await c.end();
    };
    const w0 = Date.now();
    await Promise.all([writer(), writer(), writer(), writer()]);
    const writeSecs = (Date.now() - w0) / 1000;
    const head = await currentPosition('source');
    const before = Date.now();
    await waitForSyncPosition({ stream: 'bench', to: 'target', position: head, timeoutMs: 600_000 });
    const drainSecs = (Date.now() - before) / 1000;
    clearInterval(sampler);
    abort.abort();
    await syncRun;
    const applySecs = writeSecs + drainSecs;
    console.log(
      `sync: ${fmt(written)} rows written by 4 writers in ${writeSecs.toFixed(1)} s (${fmt(written / writeSecs)} rows/s offered)`,
    );
    console.log(
      `sync: applier ${fmt(applied)} row events in ${applySecs.toFixed(1)} s = ${fmt(applied / applySecs)} rows/s; caught up ${drainSecs.toFixed(1)} s after the load stopped`,
    );
    console.log(`sync: max lag sampled ${fmt(maxLagBytes)} bytes, ${maxLagSeconds.toFixed(1)} s`);
    await src.end();
    await dst.end();
  } finally {
    await closePools();
    await stack.stop();
  }
}
