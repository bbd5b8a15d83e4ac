/**
 * The migration worker: connects to TEMPORAL_ADDRESS (default 127.0.0.1:7233) / TEMPORAL_NAMESPACE,
 * registers the custom search attributes if missing, and runs workflows + activities on the task queue
 * (TEMPORAL_TASK_QUEUE, default `migrations`). Credentials for the named connections come from this
 * process's environment (MIGRATOR_DB_<NAME>, MIGRATOR_REDIS_URL) and never enter Temporal. With
 * MIGRATOR_METRICS_PORT set, Prometheus metrics are served at http://<host>:<port>/metrics.
 *
 *   npm run worker
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type MigrationActivities } from './activities/index.js';
import { serveMetrics, WorkerMetrics } from './activities/metrics.js';
import { ensureSearchAttributes } from './activities/temporal/schedules.js';
import { closePools } from './activities/db/connections.js';
import { DEFAULT_TASK_QUEUE } from './workflows/api.js';

export interface RunWorkerOptions {
  address?: string;
  namespace?: string;
  taskQueue?: string;
  /** Pre-bundled workflow code (tests bundle once per file). Default: bundle src/workflows/index.ts. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** Handle SIGINT/SIGTERM with a graceful shutdown (default: only when run as the main script). */
  handleSignals?: boolean;
  /** How soon heartbeats (and so cancellations) reach the server. Default 1 s. */
  maxHeartbeatThrottleInterval?: WorkerOptions['maxHeartbeatThrottleInterval'];
  identity?: string;
  /** Replace some activities (tests: fault injection). */
  activityOverrides?: Partial<MigrationActivities>;
  /** Serve Prometheus metrics on this port (0: a free one). Default: MIGRATOR_METRICS_PORT, else none. */
  metricsPort?: number;
}

export interface RunningWorker {
  worker: Worker;
  client: Client;
  /** Resolves when the worker stopped. */
  done: Promise<void>;
  /** The metrics endpoint, when served. */
  metrics?: { port: number; registry: WorkerMetrics['registry'] };
  shutdown(): Promise<void>;
}

export async function runWorker(options: RunWorkerOptions = {}): Promise<RunningWorker> {
  const address = options.address ?? process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
  const namespace = options.namespace ?? process.env.TEMPORAL_NAMESPACE ?? 'default';
  const taskQueue = options.taskQueue ?? process.env.TEMPORAL_TASK_QUEUE ?? DEFAULT_TASK_QUEUE;

  const clientConnection = await Connection.connect({ address });
  const client = new Client({ connection: clientConnection, namespace });
  const added = await ensureSearchAttributes(clientConnection, namespace);
  if (added.length) console.log(`registered search attributes: ${added.join(', ')}`);

  const metricsPort =
    options.metricsPort ??
    (process.env.MIGRATOR_METRICS_PORT ? Number(process.env.MIGRATOR_METRICS_PORT) : undefined);
  let metrics: WorkerMetrics | undefined;
  let metricsServer: Server | undefined;
  if (metricsPort !== undefined) {
    if (!Number.isInteger(metricsPort) || metricsPort < 0) {
      throw new Error(`MIGRATOR_METRICS_PORT=${metricsPort} is not a port number`);
    }
    metrics = new WorkerMetrics();
    metrics.watchPhases(client);
    metricsServer = await serveMetrics(metrics.registry, metricsPort);
  }

  const connection = await NativeConnection.connect({ address });
  const { closeActivities, ...activities } = createActivities({ client, metrics });
  const worker = await Worker.create({
    connection,
    namespace,
    taskQueue,
    ...(options.identity ? { identity: options.identity } : {}),
    activities: { ...activities, ...options.activityOverrides },
    ...(options.workflowBundle
      ? { workflowBundle: options.workflowBundle }
      : { workflowsPath: fileURLToPath(new URL('./workflows/index.ts', import.meta.url)) }),
    maxHeartbeatThrottleInterval: options.maxHeartbeatThrottleInterval ?? '1s',
    defaultHeartbeatThrottleInterval: '1s',
  });

  const onSignal = () => worker.shutdown();
  if (options.handleSignals) {
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }
  const done = worker.run().finally(async () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await closeActivities();
    await connection.close();
    await clientConnection.close();
    await closePools();
    metricsServer?.closeAllConnections();
    await new Promise<void>((resolve) => (metricsServer ? metricsServer.close(() => resolve()) : resolve()));
  });
  return {
    worker,
    client,
    done,
    ...(metrics && metricsServer
      ? { metrics: { port: (metricsServer.address() as AddressInfo).port, registry: metrics.registry } }
      : {}),
    async shutdown() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
    },
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const w = await runWorker({ handleSignals: true });
  console.log(`worker running on task queue ${w.worker.options.taskQueue}`);
  await w.done;
}
