/**
 * Hazard: Redis loses the switches (a restart without persistence) while the workflow waits for the
 * routers to acknowledge a switch change. The chaos run hit it: the routers came back under the lost
 * hash's epoch, no acknowledgement could count, the workflow waited on a version that no longer
 * existed and never wrote the switches again, and the application's writes were refused for minutes
 * (the routers' lease). The rule: a wait that does not end in every acknowledgement writes the full
 * desired state again (a no-op while Redis holds it) and waits for the version that is there.
 * A ghost router heartbeat that never acknowledges holds the workflow in the wait; then the switches
 * are deleted (and the ghost) while a real router stays registered.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { SwitchStore, migrationKeys, removeHeartbeat, writeHeartbeat } from '../../src/switches/index.js';
import { makeRouter } from '../router/helpers.js';
import { atGate, startMigration, testPlan, waitStatus, type Env, useEnv } from './helpers.js';

let env: Env;

useEnv(100, (e) => (env = e));

test(
  'switches lost while the workflow waits for router acks: written again, the routers follow',
  { timeout: 170_000 },
  async () => {
    const plan = testPlan('lost');
    const router = makeRouter(env.stack, plan.id, { tables: { customers: { key: ['id'] } } });
    const redis = new Redis(env.stack.redis.url);
    const store = new SwitchStore(redis);
    try {
      const handle = await startMigration(env, plan);
      await atGate(handle, 'DUAL_WRITE_SOURCE_FIRST', undefined, 120_000);
      await handle.executeUpdate('advance', { args: [{ by: 'test' }] });
      await atGate(handle, 'READ_SWITCH', 1);

      // A router that never acknowledges keeps the workflow waiting after the next change: the first read
      // step, made by the run itself (not by a command at a gate, where the gate's poll would re-apply).
      const before = await store.get(plan.id);
      await writeHeartbeat(
        redis,
        plan.id,
        { routerId: 'ghost', version: 1, epoch: before?.epoch ?? '' },
        60_000,
      );
      await handle.executeUpdate('advance', { args: [{ by: 'test' }] });
      await waitStatus(
        handle,
        (x) => x.phase === 'READ_SWITCH' && /acknowledge switch version/.test(x.activity),
        'waiting for router acks in READ_SWITCH',
      );

      // Redis loses the switches (and the ghost goes): the real router stays registered, under the epoch
      // of the switches that are gone, as routers are when they reconnect to a restarted Redis.
      await redis.multi().del(migrationKeys(plan.id).switches).exec();
      await removeHeartbeat(redis, plan.id, 'ghost');

      const s = await atGate(handle, 'READ_SWITCH', 5, 30_000);
      assert.equal(s.switches.readPercent, 1);
      const now = await store.get(plan.id);
      assert.deepEqual([now?.writeMode, now?.readPercent], ['DUAL_SOURCE_FIRST', 1], 'the switches are back');
      assert.notEqual(now?.epoch, before?.epoch, 'written again under a new epoch');
      const acks = await store.waitForRouterAcks({
        migrationId: plan.id,
        version: now?.version ?? 0,
        timeoutMs: 5000,
      });
      assert.equal(acks.allAcked, true, `the router follows: ${JSON.stringify(acks)}`);
      assert.ok(
        s.warnings.some((w) => /lost or changed while waiting for router acks/.test(w.message)),
        JSON.stringify(s.warnings.slice(-5)),
      );
      await handle.executeUpdate('abort', { args: [{ by: 'test', reason: 'test over' }] });
      await handle.result();
    } finally {
      await router.end();
      await store.close();
      redis.disconnect();
    }
  },
);
