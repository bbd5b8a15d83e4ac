/** Wires the engine, the gRPC services and persistence together. */
import * as grpc from '@grpc/grpc-js';
import { rearmActivities } from './activities.js';
import { onWorkflowClosed } from './children.js';
import { armTimer } from './commands.js';
import { Engine } from './engine.js';
import { workflowServiceHandlers, operatorServiceHandlers } from './frontend.js';
import { apiKeyCheck, serverCredentials, type TlsOptions } from './auth.js';
import { bindService, type HandlerMap } from './grpc.js';
import { startHttpApi, type HttpApi } from './http/server.js';
import { Interactions } from './interactions.js';
import { createLogger, type LogLevel } from './log.js';
import { loadState } from './durability/files.js';
import { Journal } from './durability/journal.js';
import type { LoadedState } from './durability/records.js';
import { ScheduleManager } from './schedules/index.js';
import { engineScheduleHost, scheduleHandlers } from './schedules/service.js';
import { execKey, wfKey } from './state.js';

export interface DevServerOptions {
  port?: number;
  host?: string;
  dbFile?: string;
  namespaces?: string[];
  logLevel?: LogLevel;
  /** With `dbFile`: compact the log into the snapshot once it holds this many bytes (default 32 MiB). */
  compactBytes?: number;
  /** Retention of closed runs in namespaces created without one (`default`, `--namespace`); default 1 day. */
  retentionMs?: number;
  /** Workflow tasks suggest continue-as-new past this many events / bytes of history (default 4096 / 4 MiB). */
  suggestContinueAsNewEvents?: number;
  suggestContinueAsNewBytes?: number;
  /** Port of the HTTP API and Web UI (0: a free one); no HTTP listener when absent. */
  uiPort?: number;
  /** Directory of the built Web UI (packages/devserver-ui/build) served at / of the UI port. */
  uiDir?: string;
  /** Serve gRPC over TLS; with `clientCaFile`, client certificates signed by it are required (mTLS). */
  tls?: TlsOptions;
  /** Require `authorization: Bearer <one of these>` on every gRPC call (UNAUTHENTICATED otherwise). */
  apiKeys?: string[];
}

export interface DevServer {
  address: string;
  port: number;
  /** How the gRPC port is secured: 'plaintext', 'tls' or 'mtls' (client certificates required). */
  security: 'plaintext' | 'tls' | 'mtls';
  /** http://host:port of the Web UI and HTTP API, when `uiPort` was given. */
  uiUrl?: string;
  stop(): Promise<void>;
  /** The state file's journal (with `dbFile`): write statistics, compaction on demand. */
  journal?: Journal;
}

/** Every reply waits until the changes it reports are durable. */
function durable(handlers: HandlerMap, commit: () => Promise<void>): HandlerMap {
  const out: HandlerMap = {};
  for (const [name, h] of Object.entries(handlers)) {
    if (!h) continue;
    const handler = h as (req: unknown, ctx: unknown) => Promise<object>;
    out[name] = (async (req: unknown, ctx: unknown) => {
      try {
        return await handler(req, ctx);
      } finally {
        await commit();
      }
    }) as HandlerMap[string];
  }
  return out;
}

export async function startDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  const log = createLogger(options.logLevel ?? 'info');
  // Both read before anything starts: a bad file or an empty key fails the start, not a call.
  const credentials = serverCredentials(options.tls);
  const authorize = apiKeyCheck(options.apiKeys);
  const security = !options.tls ? 'plaintext' : options.tls.clientCaFile ? 'mtls' : 'tls';
  const engine = new Engine(log, options.namespaces ?? [], {
    retentionMs: options.retentionMs,
    suggestContinueAsNewEvents: options.suggestContinueAsNewEvents,
    suggestContinueAsNewBytes: options.suggestContinueAsNewBytes,
  });
  engine.interactions = new Interactions(engine);
  engine.onWorkflowClosed = (exec) => onWorkflowClosed(engine, exec);
  const schedules = new ScheduleManager(engineScheduleHost(engine));

  let journal: Journal | undefined;
  if (options.dbFile) {
    const loaded = loadState(options.dbFile, log);
    if (loaded.state) {
      restore(engine, loaded.state);
      schedules.restore(loaded.state.meta?.schedules);
    }
    journal = await Journal.open(
      options.dbFile,
      log,
      {
        meta: () => ({
          namespaces: engine.namespaces.snapshot(),
          searchAttributes: engine.searchAttributes.snapshot(),
          schedules: schedules.snapshot(),
        }),
        execution: (key) => engine.executions.get(key),
        executions: () => engine.executions.entries(),
      },
      loaded,
      { compactBytes: options.compactBytes },
    );
    const j = journal;
    engine.onChange = (exec) => (exec ? j.markExec(engine.keyOf(exec)) : j.markMeta());
    engine.onDelete = (key) => j.markDeleted(key);
  }
  const commit = journal ? () => journal!.commit() : () => Promise.resolve();

  let stopSignal!: () => void;
  const stopped = new Promise<void>((resolve) => (stopSignal = resolve));
  const server = new grpc.Server({
    'grpc.max_receive_message_length': 128 * 1024 * 1024,
    'grpc.max_send_message_length': 128 * 1024 * 1024,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 1000,
  });
  // One handler map per service, shared by gRPC and the HTTP API; every reply waits for durability.
  const handlers = {
    'temporal.api.workflowservice.v1.WorkflowService': durable(
      { ...workflowServiceHandlers(engine), ...scheduleHandlers(engine, schedules) },
      commit,
    ),
    'temporal.api.operatorservice.v1.OperatorService': durable(operatorServiceHandlers(engine), commit),
  };
  for (const [name, map] of Object.entries(handlers)) bindService(server, name, map, log, stopped, authorize);
  const host = options.host ?? '127.0.0.1';
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${options.port ?? 0}`, credentials, (err, p) =>
      err ? reject(err) : resolve(p),
    );
  });
  const address = `${host}:${port}`;
  log.info(
    `embedded Temporal dev server listening on ${address} (${security}${authorize ? ', API key required' : ''})${options.dbFile ? ` (state file ${options.dbFile})` : ' (in memory)'}`,
  );

  let http: HttpApi | undefined;
  if (options.uiPort !== undefined) {
    http = await startHttpApi({ host, port: options.uiPort, handlers, uiDir: options.uiDir, log, stopped });
  }

  let stopping: Promise<void> | undefined;
  return {
    address,
    port,
    security,
    journal,
    uiUrl: http?.url,
    stop: () => {
      stopping ??= (async () => {
        stopSignal();
        await http?.close();
        engine.deadlines.clearAll();
        schedules.stop();
        await new Promise<void>((resolve) => {
          const t = setTimeout(() => {
            server.forceShutdown();
            resolve();
          }, 2000);
          server.tryShutdown(() => {
            clearTimeout(t);
            resolve();
          });
        });
        // After the last reply: calls still in flight commit what they changed.
        await journal?.close();
        log.info(`dev server on ${address} stopped`);
      })();
      return stopping;
    },
  };
}

function restore(engine: Engine, snap: LoadedState): void {
  engine.namespaces.restore(snap.meta?.namespaces ?? []);
  engine.searchAttributes.restore(snap.meta?.searchAttributes ?? {});
  const execs = [...snap.executions.values()];
  // Creation order decides the current run of each workflow id (start time for older state files).
  execs.sort((a, b) => (a.runSeq ?? 0) - (b.runSeq ?? 0) || a.startTime - b.startTime);
  for (const exec of execs) {
    engine.executions.set(execKey(exec.namespace, exec.workflowId, exec.runId), exec);
    engine.current.set(wfKey(exec.namespace, exec.workflowId), exec.runId);
    engine.runSeq = Math.max(engine.runSeq, exec.runSeq ?? 0);
  }
  let open = 0;
  for (const exec of execs) {
    if (!engine.isRunning(exec)) {
      engine.armRetention(exec);
      continue;
    }
    open++;
    exec.sticky = null;
    engine.rearm(exec);
    rearmActivities(engine, exec);
    for (const t of exec.timers) armTimer(engine, exec, t.timerId);
  }
  engine.log.info(`restored ${execs.length} workflow runs (${open} open) from the state file`);
}
