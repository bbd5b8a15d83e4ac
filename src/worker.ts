/**
 * The migration worker: connects to Temporal as Temporal's own tools do (src/temporal: the TOML
 * profile file, TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE / TEMPORAL_API_KEY / TEMPORAL_TLS_* over it;
 * default 127.0.0.1:7233, namespace default), registers the custom search attributes if missing, and runs workflows + activities on the task queue
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
import { keepAliveInterceptor } from './activities/temporal/keep-alive.js';
import { DEFAULT_TASK_QUEUE } from './workflows/api.js';
import {
  loadTemporalConnection,
  TemporalConfigError,
  type TemporalConnectionConfig,
  type TemporalFlags,
} from './temporal/connection.js';
import { diagnoseConnection, TemporalConnectError } from './temporal/diagnose.js';

export interface RunWorkerOptions {
  /** Override the profile and TEMPORAL_* settings (as the CLI's flags do). */
  address?: string;
  namespace?: string;
  /** Further explicit connection settings (profile name, file, TLS files). */
  temporal?: TemporalFlags;
  /** The environment the connection is loaded from (default process.env). */
  env?: Record<string, string | undefined>;
  /** How long to try reaching Temporal before failing with the reason (default 10 s). */
  connectTimeoutMs?: number;
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
  /** Where it is connected, loggable (no key material). */
  temporalSummary: string;
  client: Client;
  /** Resolves when the worker stopped. */
  done: Promise<void>;
  /** The metrics endpoint, when served. */
  metrics?: { port: number; registry: WorkerMetrics['registry'] };
  shutdown(): Promise<void>;
}

/**
 * Connects the client; when that fails, the reason in one line (the SDK says only that it missed its
 * deadline for a TLS mismatch; a refused API key is UNAUTHENTICATED).
 */
async function connectOrExplain(temporal: TemporalConnectionConfig, timeoutMs: number): Promise<Connection> {
  try {
    const connection = await Connection.connect({ ...temporal.connectionOptions, connectTimeout: timeoutMs });
    return connection;
  } catch (err) {
    const why =
      (await diagnoseConnection(temporal).catch(() => undefined)) ??
      (err instanceof Error ? rootCause(err) : String(err));
    throw new TemporalConnectError(`cannot connect to Temporal at ${temporal.summary}: ${why}`, {
      cause: err,
    });
  }
}

function rootCause(err: Error): string {
  let e: unknown = err;
  let message = err.message;
  for (let i = 0; i < 8 && e instanceof Error; i++, e = e.cause) message = e.message || message;
  return /UNAUTHENTICATED|PERMISSION_DENIED/.test(message)
    ? `${message} (check TEMPORAL_API_KEY, or api_key in the profile file)`
    : message;
}

export async function runWorker(options: RunWorkerOptions = {}): Promise<RunningWorker> {
  const env = options.env ?? process.env;
  const temporal = loadTemporalConnection({
    env,
    flags: { ...options.temporal, address: options.address, namespace: options.namespace },
  });
  const { namespace, connectionOptions } = temporal;
  const taskQueue = options.taskQueue ?? env.TEMPORAL_TASK_QUEUE ?? DEFAULT_TASK_QUEUE;

  const clientConnection = await connectOrExplain(temporal, options.connectTimeoutMs ?? 10_000);
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

  const connection = await NativeConnection.connect(connectionOptions);
  const { closeActivities, ...activities } = createActivities({ client, metrics });
  const worker = await Worker.create({
    connection,
    namespace,
    taskQueue,
    ...(options.identity ? { identity: options.identity } : {}),
    activities: { ...activities, ...options.activityOverrides },
    // Short activities heartbeat too, so a call lost with its worker moves on after the heartbeat timeout.
    interceptors: { activity: [(ctx) => keepAliveInterceptor(ctx)] },
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
    temporalSummary: temporal.summary,
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
  const w = await runWorker({ handleSignals: true }).catch((err: unknown) => {
    // One line, not a stack: 2 for a setting to fix, 4 for a server that cannot be reached.
    if (!(err instanceof TemporalConfigError || err instanceof TemporalConnectError)) throw err;
    console.error(`worker: ${err.message}`);
    process.exit(err instanceof TemporalConfigError ? 2 : 4);
  });
  console.log(`worker running on task queue ${w.worker.options.taskQueue}, Temporal ${w.temporalSummary}`);
  await w.done;
}
