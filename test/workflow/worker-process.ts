/**
 * A worker in its own process (for the SIGKILL tests): node --import tsx test/workflow/worker-process.ts
 * Environment: the stack's (TEMPORAL_ADDRESS, MIGRATOR_DB_*, MIGRATOR_REDIS_URL) plus WORKFLOW_BUNDLE_FILE.
 */
import { readFileSync } from 'node:fs';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { runWorker } from '../../src/worker.js';

Runtime.install({ logger: new DefaultLogger('WARN') });
const file = process.env.WORKFLOW_BUNDLE_FILE;
const w = await runWorker({
  handleSignals: true,
  identity: `child-${process.pid}`,
  ...(file ? { workflowBundle: { code: readFileSync(file, 'utf8') } } : {}),
});
console.log(`WORKER READY ${process.pid}`);
await w.done;
