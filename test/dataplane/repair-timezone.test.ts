// Hazard: the updated_at repair window is computed in UTC, while a DATETIME updated_at holds the
// application's wall clock in its own zone. The loop must move its window into that zone (plan's
// updatedAtTimeZone, default the server's @@global.time_zone); a zone the server cannot convert is a
// named error, never an empty window.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type mysql from 'mysql2/promise';
import type { Stack } from '../../scripts/localstack/index.js';
import { APP_DATABASE } from '../../scripts/localstack/index.js';
import { runRepairLoop } from '../../src/activities/repair/index.js';
import { precheck } from '../../src/activities/schema/precheck.js';
import { planSchema } from '../../src/config/schema.js';
import type { TableSpec } from '../../src/activities/contracts.js';
import { rootConnections, startPair, stopPair } from './copy-fixtures.js';

let stack: Stack;
let src: mysql.Connection;
let tgt: mysql.Connection;

before(async () => {
  stack = await startPair();
  ({ src, tgt } = await rootConnections(stack));
  for (const c of [src, tgt]) {
    await c.query('CREATE TABLE tz_dt (id INT PRIMARY KEY, v INT NOT NULL, updated_at DATETIME(6) NOT NULL)');
    await c.query("INSERT INTO tz_dt SELECT seq, seq, '2020-01-01 00:00:00' FROM seq_1_to_100");
  }
});
after(async () => {
  await src.query("SET GLOBAL time_zone = 'SYSTEM'").catch(() => undefined);
  await stopPair(stack, src, tgt);
});

async function targetValue(id: number): Promise<number> {
  const [[r]] = await tgt.query<mysql.RowDataPacket[]>('SELECT v FROM tz_dt WHERE id = ?', [id]);
  return Number(r.v);
}

/** An application session in `zone` writes updated_at = its NOW() (the source only: the loop must repair). */
async function appWrite(zone: string | null, id: number): Promise<void> {
  const app = await stack.source.rootConnection(APP_DATABASE);
  try {
    if (zone) await app.query('SET time_zone = ?', [zone]);
    await app.query('UPDATE tz_dt SET v = -v, updated_at = NOW(6) WHERE id = ?', [id]);
  } finally {
    await app.end();
  }
}

/** Runs the updated_at loop until the row is repaired on the target (or `ms` pass); returns whether it was. */
async function loopRepairs(table: TableSpec, id: number, ms = 4000): Promise<boolean> {
  const ac = new AbortController();
  const done = runRepairLoop(
    {
      stream: `tz-${id}`,
      source: 'source',
      target: 'target',
      tables: [table],
      authoritative: 'source',
      mode: 'updated_at',
      intervalMs: 300,
    },
    { signal: ac.signal },
  ).catch((e: unknown) => e);
  const deadline = Date.now() + ms;
  let repaired = false;
  while (Date.now() < deadline && !repaired) {
    repaired = (await targetValue(id)) === -id;
    if (!repaired) await new Promise((r) => setTimeout(r, 100));
  }
  ac.abort(new Error('stop'));
  const end = await done;
  assert.equal((end as Error).message, 'stop', `the loop failed: ${String(end)}`);
  return repaired;
}

for (const zone of ['+09:00', '-07:00']) {
  test(`DATETIME written at ${zone}: the window finds a recent row (updatedAtTimeZone)`, async () => {
    const id = zone === '+09:00' ? 7 : 8;
    await appWrite(zone, id);
    const spec = { name: 'tz_dt', updatedAtColumn: 'updated_at', updatedAtTimeZone: zone };
    assert.ok(await loopRepairs(spec, id), `row ${id} written at ${zone} was not found by the window`);
  });
}

test("default zone: the server's @@global.time_zone (application sessions inherit it), noted by precheck", async () => {
  await src.query("SET GLOBAL time_zone = '-03:00'");
  await appWrite(null, 9);
  const spec = { name: 'tz_dt', updatedAtColumn: 'updated_at' };
  assert.ok(await loopRepairs(spec, 9), 'row written in the server default zone was not found');
  const report = await precheck({ source: 'source', target: 'target', tables: [spec] });
  const note = report.notes.find((n) => n.setting === 'updatedAtTimeZone');
  assert.match(
    note?.message ?? '',
    /writes it in time zone -03:00 \(the source server's @@global.time_zone\)/,
  );
  await src.query("SET GLOBAL time_zone = 'SYSTEM'");
});

test('a zone unknown to the server is a named error (loop and precheck); the plan validates the field', async () => {
  const spec = { name: 'tz_dt', updatedAtColumn: 'updated_at', updatedAtTimeZone: 'Asia/Tokyo' };
  const [[known]] = await src.query<mysql.RowDataPacket[]>(
    "SELECT CONVERT_TZ('2020-01-01', '+00:00', 'Asia/Tokyo') AS t",
  );
  assert.equal(known.t, null, 'this server has time zone tables: the test needs one without');
  const err = await runRepairLoop({
    stream: 'tz-unknown',
    source: 'source',
    target: 'target',
    tables: [spec],
    authoritative: 'source',
    mode: 'updated_at',
    intervalMs: 300,
  }).catch((e: unknown) => e as Error);
  assert.equal(err.name, 'UnknownTimeZoneError');
  assert.match(
    err.message,
    /"Asia\/Tokyo" for tz_dt\.updated_at \(tables\[\]\.updatedAtTimeZone\) is unknown/,
  );
  assert.match(err.message, /offset such as \+09:00/);
  const report = await precheck({ source: 'source', target: 'target', tables: [spec] });
  assert.ok(report.problems.some((p) => p.setting === 'updatedAtTimeZone' && /Asia\/Tokyo/.test(p.message)));
  const bad = planSchema.safeParse({
    id: 'm1',
    tables: [{ name: 'tz_dt', updatedAtColumn: 'updated_at', updatedAtTimeZone: "+9'; DROP" }],
  });
  assert.equal(bad.success, false);
  assert.match(JSON.stringify(bad.error?.issues), /updatedAtTimeZone: use an offset/);
});
