// Sink CPU per row of the statement forms an applier could use for full-image updates of sysbench rows
// (PK id, secondary index k), each in transactions of BATCH rows, keys sorted or shuffled.
// Standalone (not part of `npm run bench`): npx tsx bench/sink-forms.ts
//   FORMS (default load,replace,odku,update,load-nobinlog), BATCHES (default 1000,5000,20000),
//   ROWS per measurement (default 100000), TABLE_SIZE (default 100000), ORDERS (default sorted,shuffled),
//   SESSION_SQL (extra session settings, run once).
// Sink CPU includes the purge of the undo the updates leave (waited for, up to 20 s).
import type { PoolConnection, RowDataPacket } from 'mysql2/promise';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { startStack, APP_DATABASE } from '../scripts/localstack/index.js';
import { closePools } from '../src/activities/db/connections.js';
import { prepareWriterSession, replaceRows } from '../src/activities/copier/rows.js';
import { loadDataSql, loadFromStream, TsvStream } from '../src/activities/copier/load.js';
import { cpuSeconds } from './lib/measure.js';
import { ensureTool, run as runTool } from './lib/peers.js';

type Row = [number, number, string, string];
const COLS = ['id', 'k', 'c', 'pad'];

async function historyLength(conn: PoolConnection): Promise<number> {
  const [r] = await conn.query<RowDataPacket[]>(
    "SELECT `count` AS n FROM information_schema.INNODB_METRICS WHERE name = 'trx_rseg_history_len'",
  );
  return Number(r[0]?.n ?? 0);
}

async function writeBatch(conn: PoolConnection, form: string, rows: Row[]): Promise<void> {
  if (form === 'load' || form === 'load-nobinlog') {
    const tsv = new TsvStream();
    for (const r of rows) tsv.write([String(r[0]), String(r[1]), r[2], r[3]]);
    tsv.finish();
    await loadFromStream(conn, loadDataSql(APP_DATABASE, 'sbtest1', COLS, []), tsv);
  } else if (form === 'replace') {
    await replaceRows(conn, APP_DATABASE, 'sbtest1', COLS, rows);
  } else if (form === 'odku') {
    for (let i = 0; i < rows.length; i += 1000) {
      const part = rows.slice(i, i + 1000);
      await conn.query(
        `INSERT INTO sbtest1 (id, k, c, pad) VALUES ${part.map(() => '(?, ?, ?, ?)').join(', ')} ` +
          'ON DUPLICATE KEY UPDATE k = VALUES(k), c = VALUES(c), pad = VALUES(pad)',
        part.flat(),
      );
    }
  } else if (form === 'update') {
    // One prepared UPDATE per row, pipelined (the sink parses it once).
    await Promise.all(
      rows.map((r) =>
        conn.execute('UPDATE sbtest1 SET k = ?, c = ?, pad = ? WHERE id = ?', [r[1], r[2], r[3], r[0]]),
      ),
    );
  } else throw new Error(`unknown form ${form}`);
}

function shuffle<T>(xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}

async function main(): Promise<void> {
  const forms = (process.env.FORMS ?? 'load,replace,odku,update,load-nobinlog').split(',');
  const batches = (process.env.BATCHES ?? '1000,5000,20000').split(',').map(Number);
  const orders = (process.env.ORDERS ?? 'sorted,shuffled').split(',');
  const total = Number(process.env.ROWS ?? 100_000);
  const tableSize = Number(process.env.TABLE_SIZE ?? 100_000);
  ensureTool('sysbench', 'sysbench');
  const stack = await startStack({ redis: false });
  Object.assign(process.env, stack.env);
  try {
    await runTool('sysbench', [
      'oltp_write_only',
      '--db-driver=mysql',
      `--mysql-socket=${stack.target.socketPath}`,
      '--mysql-user=root',
      `--mysql-db=${APP_DATABASE}`,
      '--tables=1',
      `--table-size=${tableSize}`,
      'prepare',
    ]);
    const pid = Number(readFileSync(join(stack.target.dir, 'mysqld.pid'), 'utf8').trim());
    // root: SET sql_log_bin needs BINLOG ADMIN (load-nobinlog); same statements as the applier's otherwise.
    const conn = (await stack.target.rootConnection(APP_DATABASE)) as unknown as PoolConnection;
    await prepareWriterSession(conn);
    // Extra session settings to compare (e.g. "SET SESSION transaction_isolation = 'READ-COMMITTED'").
    if (process.env.SESSION_SQL) await conn.query(process.env.SESSION_SQL);
    const [all] = await conn.query<RowDataPacket[]>('SELECT id, k, c, pad FROM sbtest1 ORDER BY id');
    const base: Row[] = all.map((r) => [Number(r.id), Number(r.k), String(r.c), String(r.pad)]);
    let round = 0;
    for (const form of forms)
      for (const batch of batches)
        for (const order of orders) {
          round++;
          // Every row of the table updated (k moves: the secondary index changes), in batches.
          const rows: Row[] = [];
          for (let i = 0; rows.length < total; i++) {
            const r = base[i % base.length];
            rows.push([r[0], r[1] + round, r[2], r[3]]);
          }
          await conn.query(`SET SESSION sql_log_bin = ${form === 'load-nobinlog' ? 0 : 1}`);
          const cpu0 = cpuSeconds(pid);
          const node0 = process.cpuUsage();
          const t0 = performance.now();
          for (let i = 0; i < rows.length; i += batch) {
            const part = rows.slice(i, i + batch);
            if (order === 'sorted') part.sort((a, b) => a[0] - b[0]);
            else shuffle(part);
            await conn.query('START TRANSACTION');
            await writeBatch(conn, form, part);
            await conn.query('COMMIT');
          }
          const wall = (performance.now() - t0) / 1000;
          for (let w = 0; w < 200 && (await historyLength(conn)) > 1000; w++)
            await new Promise((r) => setTimeout(r, 100));
          const sink = cpuSeconds(pid) - cpu0;
          const n = process.cpuUsage(node0);
          console.log(
            `${form.padEnd(14)} batch ${String(batch).padStart(5)} ${order.padEnd(8)}: sink ${((sink / total) * 1e6).toFixed(1)} us/row, ` +
              `node ${(((n.user + n.system) / 1e6 / total) * 1e6).toFixed(1)} us/row, wall ${fmtRate(total / wall)} rows/s ` +
              `(load ${loadavg()[0].toFixed(1)})`,
          );
        }
    await conn.end();
  } finally {
    await closePools();
    await stack.stop();
  }
}

function fmtRate(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

await main();
