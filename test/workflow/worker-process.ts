/**
 * A worker in its own process (for the SIGKILL tests and for reading a worker's log):
 *   node --import tsx test/workflow/worker-process.ts
 * Environment: the stack's (TEMPORAL_ADDRESS, MIGRATOR_DB_*, MIGRATOR_REDIS_URL) plus WORKFLOW_BUNDLE_FILE;
 * TEST_WORKER_LOG sets the log level (default WARN; DEBUG also forwards the SDK core's own log lines).
 */
import { readFileSync } from 'node:fs';
import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import { runWorker } from '../../src/worker.js';

const level = (process.env.TEST_WORKER_LOG as LogLevel | undefined) ?? 'WARN';
Runtime.install({
  logger: new DefaultLogger(level),
  telemetryOptions: { logging: { filter: { core: level, other: level }, forward: {} } },
});
const file = process.env.WORKFLOW_BUNDLE_FILE;
const w = await runWorker({
  handleSignals: true,
  identity: `child-${process.pid}`,
  ...(file ? { workflowBundle: { code: readFileSync(file, 'utf8') } } : {}),
});
console.log(`WORKER READY ${process.pid}`);
await w.done;
