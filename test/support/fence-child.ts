/**
 * A process that runs the workflow's fence (src/switches/fence.ts) and stays inside the hold: it
 * tells its parent 'held' once every router acknowledged the hold, then never finishes, so the parent
 * can SIGKILL it there, as a worker dies in the middle of a fenced switch change.
 * Configuration (JSON in FENCE_CHILD): redis, migrationId, writeMode, holdTimeoutMs, expectedRouters.
 */
import { SwitchStore, fencedChange } from '../../src/switches/index.js';
import type { WriteMode } from '../../src/shared/switches.js';

interface FenceChildConfig {
  redis: string;
  migrationId: string;
  writeMode: WriteMode;
  holdTimeoutMs: number;
  expectedRouters: number;
}

const cfg = JSON.parse(process.env.FENCE_CHILD ?? '{}') as FenceChildConfig;
const store = new SwitchStore(cfg.redis);
await fencedChange(store, {
  migrationId: cfg.migrationId,
  change: { writeMode: cfg.writeMode },
  by: 'fence-child',
  holdTimeoutMs: cfg.holdTimeoutMs,
  expectedRouters: cfg.expectedRouters,
  whileHeld: () => {
    process.send?.('held');
    return new Promise<void>(() => {});
  },
});
