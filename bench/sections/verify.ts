// Verification throughput: verifyTable (chunked in-server checksums on both servers, compared) against
// CHECKSUM TABLE on both servers in the same run. Rows: VERIFY_BENCH_ROWS (default 1,000,000).
import { startStack } from '../../scripts/localstack/index.js';
import { closePools } from '../../src/activities/db/connections.js';
import { verifyTable } from '../../src/activities/verify/index.js';

const DDL =
  'CREATE TABLE bench_verify (id BIGINT UNSIGNED PRIMARY KEY, account INT NOT NULL, name VARCHAR(64) COLLATE utf8mb4_general_ci NOT NULL, ' +
  'amount DECIMAL(12,2) NOT NULL, note VARCHAR(255) NULL, created DATETIME(6) NOT NULL, KEY (account)) ENGINE=InnoDB';

function fill(rows: number): string {
  return (
    "INSERT INTO bench_verify SELECT seq, seq % 1000, CONCAT('customer ', seq), (seq % 100000) / 100, " +
    "IF(seq % 7 = 0, NULL, REPEAT('n', seq % 80)), '2024-01-01 00:00:00' + INTERVAL seq SECOND " +
    `FROM seq_1_to_${rows}`
  );
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t = performance.now();
  const value = await fn();
  return { ms: performance.now() - t, value };
}

export async function run(): Promise<void> {
  const rows = Number(process.env.VERIFY_BENCH_ROWS ?? 1_000_000);
  const chunkSize = Number(process.env.VERIFY_BENCH_CHUNK ?? 5000);
  const stack = await startStack({ redis: false });
  Object.assign(process.env, stack.env);
  const src = await stack.source.rootConnection('app');
  const tgt = await stack.target.rootConnection('app');
  try {
    const load = await timed(() =>
      Promise.all([src, tgt].map(async (c) => (await c.query(DDL), await c.query(fill(rows))))),
    );
    console.log(
      `table: ${rows} rows on each server (loaded in ${(load.ms / 1000).toFixed(1)} s), chunk ${chunkSize}`,
    );
    // Warm both buffer pools the same way for both contenders.
    await Promise.all([src, tgt].map((c) => c.query('SELECT COUNT(*), SUM(LENGTH(note)) FROM bench_verify')));

    const cs = await timed(() => Promise.all([src, tgt].map((c) => c.query('CHECKSUM TABLE bench_verify'))));
    const v = await timed(() =>
      verifyTable({
        source: 'source',
        target: 'target',
        table: { name: 'bench_verify', chunkSize },
        authoritative: 'source',
        repair: false,
      }),
    );
    if (v.value.mismatches.different + v.value.mismatches.missing + v.value.mismatches.extra !== 0)
      throw new Error('bench: unexpected mismatches');
    const csRate = rows / (cs.ms / 1000);
    const vRate = v.value.rowsCompared / (v.ms / 1000);
    console.log(
      `CHECKSUM TABLE (both servers in parallel): ${(cs.ms / 1000).toFixed(2)} s  ${Math.round(csRate).toLocaleString('en-US')} rows/s`,
    );
    console.log(
      `verifyTable (${v.value.chunks} chunks):               ${(v.ms / 1000).toFixed(2)} s  ${Math.round(vRate).toLocaleString('en-US')} rows/s`,
    );
    console.log(
      `ratio verifyTable / CHECKSUM TABLE: ${(vRate / csRate).toFixed(2)}x (verify is ${(v.ms / cs.ms).toFixed(2)}x the time)`,
    );
  } finally {
    await closePools();
    await src.end();
    await tgt.end();
    await stack.stop();
  }
}
