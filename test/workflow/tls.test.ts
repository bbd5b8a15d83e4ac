/**
 * TLS everywhere: the stack's MariaDB servers refuse TCP without TLS and users without a client
 * certificate from the stack's CA, Redis listens on TLS only and requires client certificates. A
 * migration then runs through copy, binlog sync, verification and a switch change: every pool, the
 * binlog reader and Redis must speak TLS with the worker's ssl-* settings for it to get anywhere.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import mysql from 'mysql2/promise';
import { Redis } from 'ioredis';
import { APP_DATABASE, MIGRATION_USER } from '../../scripts/localstack/index.js';
import { precheck } from '../../src/activities/schema/index.js';
import {
  atGate,
  diffSides,
  signal,
  startMigration,
  status,
  testPlan,
  waitEqual,
  type Env,
  useEnv,
} from './helpers.js';

let env: Env;

useEnv(120, (e) => (env = e), { stack: { tls: true } });

test('the stack refuses plain TCP, TLS without a client certificate, and clients trusting another CA', async () => {
  const { source, certs, redis } = env.stack;
  assert.ok(certs);
  const plain = { host: '127.0.0.1', port: source.port, user: MIGRATION_USER, password: source.password };
  const root = await source.rootConnection();
  const [[vars]] = await root.query<mysql.RowDataPacket[]>(
    'SELECT @@require_secure_transport AS required, @@have_ssl AS haveSsl',
  );
  await root.end();
  assert.equal(Number(vars.required), 1);
  assert.equal(vars.haveSsl, 'YES');
  await assert.rejects(mysql.createConnection(plain), /secure transport|Access denied/i);
  await assert.rejects(
    mysql.createConnection({ ...plain, ssl: { ca: readFileSync(certs.ca, 'utf8') } }),
    /Access denied/,
  );
  await assert.rejects(
    mysql.createConnection({
      ...plain,
      ssl: {
        ca: readFileSync(certs.otherCa, 'utf8'),
        cert: readFileSync(certs.clientCert, 'utf8'),
        key: readFileSync(certs.clientKey, 'utf8'),
      },
    }),
    /self[- ]signed|unable to verify|certificate/i,
  );
  const ok = await mysql.createConnection(source.clientOptions());
  const [[row]] = await ok.query<mysql.RowDataPacket[]>("SHOW SESSION STATUS LIKE 'Ssl_cipher'");
  assert.ok(String(row.Value).length > 0, 'the session is encrypted');
  await ok.end();

  const plainRedis = new Redis({
    host: '127.0.0.1',
    port: redis.port,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 2000,
  });
  plainRedis.on('error', () => undefined);
  await assert.rejects(
    (async () => {
      await plainRedis.connect();
      await plainRedis.ping();
    })(),
  );
  plainRedis.disconnect();
});

test("the worker's connection settings: a wrong CA is a precheck problem naming the connection", async () => {
  const { certs } = env.stack;
  assert.ok(certs);
  const url = new URL(env.stack.source.url());
  url.searchParams.set('ssl-ca', certs.otherCa);
  process.env.MIGRATOR_DB_WRONGCA = url.toString();
  const report = await precheck({ source: 'wrongca', target: 'target', tables: [{ name: 'orders' }] });
  const problem = report.problems.find((p) => p.setting === 'connection');
  assert.ok(problem, JSON.stringify(report.problems));
  assert.match(problem.message, /wrongca/);
  assert.match(problem.message, /certificate/i);
});

test(
  'a migration over TLS-only MariaDB and Redis: copy, binlog sync, verification, write switch',
  { timeout: 170_000 },
  async () => {
    const plan = testPlan('tls');
    const handle = await startMigration(env, plan);
    let s = await atGate(handle, 'DUAL_WRITE_SOURCE_FIRST');
    assert.ok(
      s.tables.every((t) => t.state === 'done'),
      JSON.stringify(s.tables),
    );
    assert.equal(s.lastVerification?.totalMismatches, 0, JSON.stringify(s.lastVerification));

    // Forward sync still runs at this gate: these rows reach the target only through the binlog reader.
    const root = await env.stack.source.rootConnection(APP_DATABASE);
    try {
      await root.query(
        "INSERT INTO orders (id, customer_id, amount, note) VALUES (900001, 1, '1.00', 'tls')",
      );
      await root.query("UPDATE customers SET name = 'over tls' WHERE id = 7");
      await root.query('DELETE FROM order_lines WHERE order_id = 9');
    } finally {
      await root.end();
    }
    await waitEqual(env.stack, 'binlog sync over TLS');

    await signal(handle, 'advance', { by: 'tls-test' });
    s = await atGate(handle, 'READ_SWITCH', 1);
    assert.equal(s.switches.writeMode, 'DUAL_SOURCE_FIRST');
    assert.deepEqual(await diffSides(env.stack), []);
    s = await status(handle);
    assert.equal(s.error, null);
  },
);
