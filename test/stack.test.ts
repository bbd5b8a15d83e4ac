import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import mysql from 'mysql2/promise';
import { Redis } from 'ioredis';
import ZongJi, { type AnyBinlogEvent, type WriteRowsEvent } from '@vlasky/zongji';
import { startStack, type Stack, APP_DATABASE, MIGRATION_USER } from '../scripts/localstack/index.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

let stacks: Stack[] = [];

before(async () => {
  // Two stacks at once: ports and directories must never collide.
  stacks = await Promise.all([startStack(), startStack()]);
});

after(async () => {
  await Promise.all(stacks.map((s) => s.stop()));
});

test('two stacks started in parallel use distinct ports and directories', () => {
  const [a, b] = stacks;
  const ports = [a.source.port, a.target.port, a.redis.port, b.source.port, b.target.port, b.redis.port];
  assert.equal(new Set(ports).size, ports.length, `ports collide: ${ports.join(',')}`);
  assert.notEqual(a.dir, b.dir);
});

test('both MariaDB instances accept the migration user and run ROW binlog with full images and GTIDs', async () => {
  const stack = stacks[0];
  for (const side of [stack.source, stack.target]) {
    const conn = await mysql.createConnection({ uri: side.url() });
    try {
      const [rows] = await conn.query<mysql.RowDataPacket[]>(
        'SELECT CURRENT_USER() AS user, @@log_bin AS logBin, @@binlog_format AS format, @@binlog_row_image AS image, ' +
          '@@binlog_row_metadata AS metadata, @@server_id AS serverId, @@gtid_binlog_pos AS gtidPos, DATABASE() AS db',
      );
      const r = rows[0];
      assert.match(String(r.user), new RegExp(`^${MIGRATION_USER}@`));
      assert.equal(Number(r.logBin), 1);
      assert.equal(r.format, 'ROW');
      assert.equal(r.image, 'FULL');
      assert.equal(r.metadata, 'FULL');
      assert.equal(r.db, APP_DATABASE);
      assert.equal(Number(r.serverId), side === stack.source ? 1 : 2);
      const [grants] = await conn.query<mysql.RowDataPacket[]>('SHOW GRANTS');
      const text = grants.map((g) => Object.values(g)[0]).join('\n');
      assert.match(text, /REPLICATION SLAVE/);
      assert.match(text, /BINLOG MONITOR/);
    } finally {
      await conn.end();
    }
  }
  // The migration user is password-authenticated: a wrong password is refused.
  await assert.rejects(
    mysql.createConnection({
      host: '127.0.0.1',
      port: stack.source.port,
      user: MIGRATION_USER,
      password: 'wrong',
    }),
    /Access denied/,
  );
});

test('a row written to the source arrives as a binlog event read by @vlasky/zongji, with its GTID', async () => {
  const stack = stacks[0];
  const admin = await stack.source.rootConnection(APP_DATABASE);
  await admin.query('CREATE TABLE probe (id BIGINT UNSIGNED PRIMARY KEY, note VARCHAR(20))');
  const conn = new URL(stack.source.url());
  const zongji = new ZongJi({
    host: conn.hostname,
    port: Number(conn.port),
    user: MIGRATION_USER,
    password: stack.source.password,
  });
  try {
    const received = new Promise<{ rows: WriteRowsEvent['rows']; gtid?: string }>((resolve, reject) => {
      let gtid: string | undefined;
      zongji.on('error', reject);
      zongji.on('binlog', (event: AnyBinlogEvent) => {
        if (event.getEventName() === 'mariadbgtid') gtid = (event as { gtid: string }).gtid;
        if (event.getEventName() === 'writerows') resolve({ rows: (event as WriteRowsEvent).rows, gtid });
      });
    });
    const ready = new Promise<void>((resolve) => zongji.on('ready', () => resolve()));
    zongji.start({
      serverId: 9001,
      startAtEnd: true,
      includeEvents: ['mariadbgtid', 'tablemap', 'writerows'],
      includeSchema: { [APP_DATABASE]: ['probe'] },
    });
    await ready;
    await admin.query("INSERT INTO probe VALUES (18446744073709551615, 'hello')");
    const { rows, gtid } = await received;
    assert.equal(rows.length, 1);
    assert.equal(String(rows[0].id), '18446744073709551615');
    assert.equal(rows[0].note, 'hello');
    assert.match(gtid ?? '', /^0-1-\d+$/);
  } finally {
    zongji.stop();
    await admin.end();
  }
});

test('Redis answers', async () => {
  const redis = new Redis(stacks[0].redis.url);
  try {
    assert.equal(await redis.ping(), 'PONG');
    await redis.set('k', 'v');
    assert.equal(await redis.get('k'), 'v');
  } finally {
    redis.disconnect();
  }
});

test('a stopped stack leaves no process and no directory behind', async () => {
  const extra = await startStack();
  // mariadbd writes its pid file into the instance directory.
  const pids = [extra.source, extra.target].map((m) =>
    Number(readFileSync(`${m.dir}/mysqld.pid`, 'utf8').trim()),
  );
  assert.ok(pids.every(alive));
  await extra.stop();
  assert.ok(!existsSync(extra.dir), 'stack directory removed');
  assert.ok(!pids.some(alive), 'mariadbd processes gone');
});
