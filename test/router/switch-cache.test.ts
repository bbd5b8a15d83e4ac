import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStack, type Stack } from '../../scripts/localstack/index.js';
import { SwitchStore } from '../../src/switches/index.js';
import { adminQuery, createTables, dump, ITEMS_DDL, makeRouter, setSwitches } from './helpers.js';

const ID = 'cache';
let stack: Stack;
let dir: string;

before(async () => {
  stack = await startStack();
  await createTables(stack, [ITEMS_DDL]);
  dir = mkdtempSync(join(tmpdir(), 'switch-cache-'));
});

after(async () => {
  await stack?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('a router restarted while Redis is down resumes with its cached switches, not the SOURCE_ONLY fallback', async () => {
  const cacheFile = join(dir, 'switches.json');
  const store = new SwitchStore(stack.redis.url);
  const first = makeRouter(stack, ID, { switchCacheFile: cacheFile });
  await setSwitches(store, ID, { writeMode: 'TARGET_ONLY', readPercent: 100 }, [first]);
  await first.end();
  await store.close();

  await stack.redis.stop();
  const restarted = makeRouter(stack, ID, { switchCacheFile: cacheFile });
  const uncached = makeRouter(stack, ID);
  try {
    assert.equal(restarted.switches.writeMode, 'TARGET_ONLY');
    assert.equal(restarted.switches.readPercent, 100);
    assert.equal(uncached.switches.writeMode, 'SOURCE_ONLY', 'without a cache file the fallback applies');

    // Reads follow the cached switches: the new database, not the stale old one.
    await adminQuery(stack, 'target', "INSERT INTO items (sku, qty) VALUES ('after-cutover', 1)");
    const [rows] = await restarted.query('SELECT sku FROM items');
    assert.deepEqual(
      (rows as { sku: string }[]).map((r) => r.sku),
      ['after-cutover'],
    );
    // Writes need switches Redis confirmed (the lease): none are, so both routers refuse them, with
    // an error that says why, instead of writing under a mode that may have changed meanwhile.
    for (const r of [restarted, uncached]) {
      await assert.rejects(
        r.query('INSERT INTO items (sku, qty) VALUES (?, ?)', ['while-redis-down', 1]),
        (err: Error & { code?: string }) =>
          err.code === 'MIGRATOR_SWITCHES_STALE' && /cannot confirm the switches/.test(err.message),
      );
    }
    assert.deepEqual(await dump(stack, 'source', 'items'), [], 'nothing written to the old database');
  } finally {
    await Promise.all([restarted.end(), uncached.end()]);
    await stack.redis.start();
  }
});
