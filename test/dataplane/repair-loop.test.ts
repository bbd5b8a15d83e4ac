import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type mysql from 'mysql2/promise';
import { Redis } from 'ioredis';
import type { Stack } from '../../scripts/localstack/index.js';
import { runRepairLoop } from '../../src/activities/repair/index.js';
import { verifyTable } from '../../src/activities/verify/index.js';
import { RepairStream } from '../../src/switches/index.js';
import type { RepairLoopInput, RepairLoopProgress, Side } from '../../src/activities/contracts.js';
import { rootConnections, startPair, stopPair } from './copy-fixtures.js';

let stack: Stack;
let src: mysql.Connection;
let tgt: mysql.Connection;
let redis: Redis;

before(async () => {
  stack = await startPair({ redis: true });
  ({ src, tgt } = await rootConnections(stack));
  redis = new Redis(stack.redis.url);
  for (const c of [src, tgt]) {
    await c.query('CREATE TABLE loopt (id BIGINT UNSIGNED PRIMARY KEY, v VARCHAR(20), b VARBINARY(4))');
    await c.query("INSERT INTO loopt SELECT seq, CONCAT('v', seq), X'00FF' FROM seq_1_to_3000");
  }
});

after(async () => {
  redis?.disconnect();
  await stopPair(stack, src, tgt);
});

async function until(what: string, cond: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function value(c: mysql.Connection, id: number | string): Promise<string | null | undefined> {
  const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT v FROM loopt WHERE id = ?', [id]);
  return rows.length ? (rows[0].v as string | null) : undefined;
}

function start(authoritative: Side, extra: Partial<RepairLoopInput> = {}) {
  const ac = new AbortController();
  const seen: RepairLoopProgress[] = [];
  const input: RepairLoopInput = {
    stream: 'loop1',
    source: 'source',
    target: 'target',
    tables: [{ name: 'loopt' }],
    authoritative,
    mode: 'binlog',
    delayMs: 200,
    ...extra,
  };
  const done = runRepairLoop(
    input,
    { signal: ac.signal, progress: (p) => seen.push(p) },
    { redisBlockMs: 200 },
  ).catch((e: unknown) => e);
  return { ac, seen, done };
}

test('binlog-triggered loop repairs rows whose dual write to the other side was lost (update, insert, delete)', async () => {
  const loop = start('source', { redisFailureStream: 'migrator:m1:repairs' });
  await new Promise((r) => setTimeout(r, 500)); // the binlog reader starts at the head
  await src.query("UPDATE loopt SET v = 'src-only' WHERE id = 10");
  await src.query("INSERT INTO loopt VALUES (18446744073709551615, 'big', X'01')");
  await src.query('DELETE FROM loopt WHERE id = 20');
  await tgt.query("UPDATE loopt SET v = 'rogue' WHERE id = 30"); // changed behind its back on the target...
  await src.query("UPDATE loopt SET b = X'02' WHERE id = 30"); // ...then touched on the source: the event triggers the compare
  await until(
    'repairs',
    async () =>
      (await value(tgt, 10)) === 'src-only' &&
      (await value(tgt, '18446744073709551615')) === 'big' &&
      (await value(tgt, 20)) === undefined &&
      (await value(tgt, 30)) === 'v30',
  );
  // A failed dual write reported on the Redis stream: the key is repaired although the source saw no change now.
  await tgt.query("UPDATE loopt SET v = 'lost-write' WHERE id = 40");
  await new RepairStream(redis, 'm1').append([
    {
      table: 'loopt',
      key: [40],
      op: 'update',
      side: 'target',
      error: 'timeout',
      at: new Date().toISOString(),
    },
  ]);
  await redis.xadd('migrator:m1:repairs', '*', 'garbage', 'x'); // malformed entries are skipped
  await until('redis repair', async () => (await value(tgt, 40)) === 'v40');
  await until('progress', async () => loop.seen.some((p) => p.redisLastId));
  loop.ac.abort(new Error('stop'));
  const err = await loop.done;
  assert.match(String(err), /stop/);
  const last = loop.seen.at(-1);
  assert.ok(last && last.checked >= 4, JSON.stringify(last));
  assert.ok(last.repaired.different >= 3 && last.repaired.missing >= 1, JSON.stringify(last.repaired));
  assert.ok(last.position?.gtid, 'binlog position recorded for resume');
  const r = await verifyTable({
    source: 'source',
    target: 'target',
    table: { name: 'loopt' },
    authoritative: 'source',
    repair: false,
  });
  assert.deepEqual(r.mismatches, { missing: 0, extra: 0, different: 0 });
});

test('after the flip the same loop repairs the source from the authoritative target', async () => {
  const loop = start('target');
  await new Promise((r) => setTimeout(r, 500));
  await tgt.query("UPDATE loopt SET v = 'tgt-first' WHERE id = 50");
  await tgt.query("INSERT INTO loopt VALUES (5000, 'new-on-target', NULL)");
  await until(
    'reverse repairs',
    async () => (await value(src, 50)) === 'tgt-first' && (await value(src, 5000)) === 'new-on-target',
  );
  loop.ac.abort(new Error('stop'));
  await loop.done;
});

test('updated_at mode verifies windows and repairs', async () => {
  for (const c of [src, tgt]) {
    await c.query(
      'CREATE TABLE upd (id INT PRIMARY KEY, v INT, updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6))',
    );
    await c.query(
      "INSERT INTO upd (id, v, updated_at) SELECT seq, seq, '2020-01-01 00:00:00' FROM seq_1_to_100",
    );
  }
  const loop = start('source', {
    mode: 'updated_at',
    intervalMs: 300,
    tables: [{ name: 'upd', updatedAtColumn: 'updated_at' }],
  });
  await src.query('UPDATE upd SET v = -1 WHERE id = 7');
  await until('window repair', async () => {
    const [[r]] = await tgt.query<mysql.RowDataPacket[]>('SELECT v FROM upd WHERE id = 7');
    return Number(r.v) === -1;
  });
  loop.ac.abort(new Error('stop'));
  await loop.done;
  assert.ok(loop.seen.some((p) => p.windowUntil));
});
