/** Wires the engine, the gRPC services and persistence together. */
import * as grpc from '@grpc/grpc-js';
import { rearmActivities } from './activities.js';
import { onWorkflowClosed } from './children.js';
import { armTimer } from './commands.js';
import { Engine } from './engine.js';
import { workflowServiceHandlers, operatorServiceHandlers } from './frontend.js';
import { bindService } from './grpc.js';
import { Interactions } from './interactions.js';
import { createLogger, type LogLevel } from './log.js';
import type { NamespaceRecord } from './namespaces.js';
import { StateFile } from './persistence.js';
import { ScheduleManager } from './schedules/index.js';
import { engineScheduleHost, scheduleHandlers } from './schedules/service.js';
import { execKey, wfKey, type ExecutionState } from './state.js';

export interface DevServerOptions {
  port?: number;
  host?: string;
  dbFile?: string;
  namespaces?: string[];
  logLevel?: LogLevel;
}

export interface DevServer {
  address: string;
  port: number;
  stop(): Promise<void>;
}

interface Snapshot {
  version: 1;
  savedAt: string;
  namespaces: NamespaceRecord[];
  searchAttributes: Record<string, Record<string, number>>;
  executions: ExecutionState[];
  schedules?: unknown;
}

export async function startDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  const log = createLogger(options.logLevel ?? 'info');
  const engine = new Engine(log, options.namespaces ?? []);
  engine.interactions = new Interactions(engine);
  engine.onWorkflowClosed = (exec) => onWorkflowClosed(engine, exec);
  const schedules = new ScheduleManager(engineScheduleHost(engine));

  let stateFile: StateFile | undefined;
  if (options.dbFile) {
    stateFile = new StateFile(
      options.dbFile,
      log,
      (): Snapshot => ({
        version: 1,
        savedAt: new Date().toISOString(),
        namespaces: engine.namespaces.snapshot(),
        searchAttributes: engine.searchAttributes.snapshot(),
        executions: [...engine.executions.values()],
        schedules: schedules.snapshot(),
      }),
    );
    const loaded = stateFile.load() as Snapshot | undefined;
    if (loaded) restore(engine, loaded);
    if (loaded) schedules.restore(loaded.schedules);
    engine.onChange = () => stateFile!.requestSave();
  }

  let stopSignal!: () => void;
  const stopped = new Promise<void>((resolve) => (stopSignal = resolve));
  const server = new grpc.Server({
    'grpc.max_receive_message_length': 128 * 1024 * 1024,
    'grpc.max_send_message_length': 128 * 1024 * 1024,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 1000,
  });
  bindService(
    server,
    'temporal.api.workflowservice.v1.WorkflowService',
    { ...workflowServiceHandlers(engine), ...scheduleHandlers(engine, schedules) },
    log,
    stopped,
  );
  bindService(
    server,
    'temporal.api.operatorservice.v1.OperatorService',
    operatorServiceHandlers(engine),
    log,
    stopped,
  );
  const host = options.host ?? '127.0.0.1';
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${options.port ?? 0}`, grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    );
  });
  const address = `${host}:${port}`;
  log.info(
    `embedded Temporal dev server listening on ${address}${options.dbFile ? ` (state file ${options.dbFile})` : ' (in memory)'}`,
  );

  let stopping: Promise<void> | undefined;
  return {
    address,
    port,
    stop: () => {
      stopping ??= (async () => {
        stopSignal();
        engine.deadlines.clearAll();
        schedules.stop();
        stateFile?.stop();
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
        log.info(`dev server on ${address} stopped`);
      })();
      return stopping;
    },
  };
}

function restore(engine: Engine, snap: Snapshot): void {
  engine.namespaces.restore(snap.namespaces ?? []);
  engine.searchAttributes.restore(snap.searchAttributes ?? {});
  const execs = snap.executions ?? [];
  execs.sort((a, b) => a.startTime - b.startTime);
  for (const exec of execs) {
    engine.executions.set(execKey(exec.namespace, exec.workflowId, exec.runId), exec);
    engine.current.set(wfKey(exec.namespace, exec.workflowId), exec.runId);
  }
  let open = 0;
  for (const exec of execs) {
    if (!engine.isRunning(exec)) continue;
    open++;
    exec.sticky = null;
    engine.rearm(exec);
    rearmActivities(engine, exec);
    for (const t of exec.timers) armTimer(engine, exec, t.timerId);
  }
  engine.log.info(`restored ${execs.length} workflow runs (${open} open) from the state file`);
}
