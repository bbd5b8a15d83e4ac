// Hazard: a TIMESTAMP's text depends on the session's time_zone. The router reads a row on one side
// and writes it on the other through the application's pools; when those sessions' zones differ
// (+05:00 and -03:00 here), text copied across shifts the instant. Both directions of dual writing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import mysql from 'mysql2/promise';
import type { Stack } from '../../scripts/localstack/index.js';
import type { SwitchStore } from '../../src/switches/index.js';
import type { Router } from '../../src/router/index.js';
import { adminQuery, makeRouter, setSwitches, startRouterEnv } from './helpers.js';

const ID = 'tz';
let stack: Stack;
let store: SwitchStore;
let router: Router;
let base: Router;
let stop: () => Promise<void> = async () => {};

/** An application pool whose sessions use `zone`. */
function zonedPool(url: string, zone: string): mysql.Pool {
  const pool = mysql.createPool({ uri: url, connectionLimit: 5 });
  pool.on('connection', (c) => {
    c.query(`SET time_zone = '${zone}'`);
  });
  return pool;
}

before(async () => {
  ({
    stack,
    store,
    router: base,
    stop,
  } = await startRouterEnv(ID, [
    'CREATE TABLE ts_t (id INT PRIMARY KEY, ts TIMESTAMP(6) NULL, touched TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP, note VARCHAR(20))',
  ]));
  router = makeRouter(stack, ID, {
    source: zonedPool(stack.source.url('app'), '+05:00'),
    target: zonedPool(stack.target.url('app'), '-03:00'),
  });
});
after(async () => {
  await router?.end();
  await stop();
});

/** Each side's rows with TIMESTAMPs as epoch seconds (independent of any session's zone). */
async function instants(side: 'source' | 'target'): Promise<unknown[]> {
  return adminQuery(
    stack,
    side,
    'SELECT id, CAST(UNIX_TIMESTAMP(ts) AS CHAR) AS ts, UNIX_TIMESTAMP(touched) AS touched, note FROM ts_t ORDER BY id',
  );
}

for (const mode of ['DUAL_SOURCE_FIRST', 'DUAL_TARGET_FIRST'] as const) {
  test(`${mode}: TIMESTAMPs mirrored between pools in +05:00 and -03:00 keep their instant`, async () => {
    await setSwitches(store, ID, { writeMode: mode }, [router, base]);
    const id = mode === 'DUAL_SOURCE_FIRST' ? 1 : 2;
    // Literal text, read in the writing session's zone; then NOW(6) and an ON UPDATE default.
    await router.query("INSERT INTO ts_t (id, ts, note) VALUES (?, '2026-03-01 12:00:00.123456', 'a')", [id]);
    await router.query("UPDATE ts_t SET note = 'b' WHERE id = ?", [id]);
    await router.query('INSERT INTO ts_t (id, ts, note) VALUES (?, NOW(6), ?)', [id + 10, 'now']);
    const [s, t] = await Promise.all([instants('source'), instants('target')]);
    assert.deepEqual(t, s, 'the two sides hold different instants');
    const authoritative = mode === 'DUAL_SOURCE_FIRST' ? '+05:00' : '-03:00';
    const expected = String(
      Date.UTC(2026, 2, 1, 12, 0, 0) / 1000 - (authoritative === '+05:00' ? 5 : -3) * 3600,
    );
    const row = (s as { id: number; ts: string }[]).find((r) => r.id === id);
    assert.equal(row?.ts, `${expected}.123456`);
  });
}
