import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findBinary } from './binaries.js';
import { freePort } from './ports.js';
import type { OwnershipFile } from './reaper.js';
import { EmbeddedServerProcess } from './temporal-process.js';
import type { LogLevel } from '@migrator/devserver';
import { uiBuildDir } from '../../packages/devserver-ui/ensure-built.mjs';

/** The Temporal server a stack uses: an external one, the official CLI's dev server, or our embedded one. */
export interface TemporalEndpoint {
  /** host:port for @temporalio/client and the worker's NativeConnection. */
  address: string;
  namespace: string;
  kind: 'external' | 'temporal-cli' | 'embedded';
  /** The Temporal Web UI (http://host:port), when this stack serves one; it keeps its port across restarts. */
  uiUrl?: string;
  /** Stops and starts the server on the same address; state survives only when it is file-backed. */
  restart(): Promise<void>;
  /**
   * Only when the stack runs the embedded server as its own process: SIGKILL it (nothing is saved on
   * the way down) and start it again on the same address from its state file. Absent for an external
   * server or the official CLI's, which the stack cannot crash.
   */
  crash?: () => Promise<void>;
  /** The embedded server's log (stdout and stderr), when it runs as a process of the stack. */
  logFile?: string;
  stop(): Promise<void>;
}

export interface TemporalOptions {
  stackDir: string;
  /** Back the embedded server with a state file so a restart keeps every workflow. */
  persistent?: boolean;
  /**
   * Run the embedded server as its own process (npm run devserver) instead of inside this one, so that
   * it can be SIGKILLed and its log read; `ownership` lets the reaper kill it if this process dies.
   */
  process?: { ownership: OwnershipFile };
  /** The embedded server's log level (default: DEVSERVER_LOG, else warn). */
  logLevel?: LogLevel;
  /** Serve the Temporal Web UI (the embedded server's UI port, or the official CLI's UI). */
  ui?: boolean;
}

function temporalCliPath(): string | undefined {
  const explicit = process.env.TEMPORAL_CLI_PATH;
  if (explicit && existsSync(explicit)) return explicit;
  return findBinary('temporal');
}

/** The embedded server's command line (`npm run devserver`). */
const DEVSERVER_MAIN = fileURLToPath(new URL('../../packages/devserver/src/main.ts', import.meta.url));

const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

function devserverLogLevel(value: string | undefined): LogLevel {
  if (value === undefined || value === '') return 'warn';
  if ((LOG_LEVELS as readonly string[]).includes(value)) return value as LogLevel;
  throw new Error(`DEVSERVER_LOG=${value} is not a log level: use one of ${LOG_LEVELS.join(', ')}`);
}

export async function startTemporal(options: TemporalOptions): Promise<TemporalEndpoint> {
  const namespace = process.env.TEMPORAL_NAMESPACE ?? 'default';
  const external = process.env.TEMPORAL_ADDRESS;
  if (external) {
    return { address: external, namespace, kind: 'external', restart: async () => {}, stop: async () => {} };
  }

  const cli = temporalCliPath();
  if (cli) {
    const { TestWorkflowEnvironment } = await import('@temporalio/testing');
    const port = await freePort();
    const uiPort = options.ui ? await freePort() : undefined;
    const dbFile = options.persistent ? join(options.stackDir, 'temporal.sqlite') : undefined;
    const launch = () =>
      TestWorkflowEnvironment.createLocal({
        server: {
          executable: { type: 'existing-path', path: cli },
          ip: '127.0.0.1',
          port,
          dbFilename: dbFile,
          ui: uiPort !== undefined,
          uiPort,
        },
      });
    let env = await launch();
    return {
      address: `127.0.0.1:${port}`,
      namespace,
      kind: 'temporal-cli',
      uiUrl: uiPort === undefined ? undefined : `http://127.0.0.1:${uiPort}`,
      restart: async () => {
        await env.teardown();
        env = await launch();
      },
      stop: () => env.teardown(),
    };
  }

  const port = await freePort();
  const dbFile = options.persistent ? join(options.stackDir, 'temporal-state.json') : undefined;
  const logLevel = options.logLevel ?? devserverLogLevel(process.env.DEVSERVER_LOG);
  const uiPort = options.ui ? await freePort() : undefined;
  if (options.process) {
    const dir = join(options.stackDir, 'temporal');
    mkdirSync(dir, { recursive: true });
    const server = new EmbeddedServerProcess({
      main: DEVSERVER_MAIN,
      port,
      dbFile,
      logLevel,
      logFile: join(dir, 'server.log'),
      uiPort,
      ownership: options.process.ownership,
    });
    await server.start();
    return {
      address: `127.0.0.1:${port}`,
      namespace,
      kind: 'embedded',
      uiUrl: uiPort === undefined ? undefined : `http://127.0.0.1:${uiPort}`,
      restart: () => server.restart('SIGTERM'),
      crash: () => server.restart('SIGKILL'),
      logFile: server.logFile,
      stop: () => server.stop(),
    };
  }

  // Loaded only when needed: a stack on an external server or the official CLI never starts it.
  const { startDevServer } = await import('@migrator/devserver');
  const config = { port, dbFile, logLevel, uiPort, uiDir: uiBuildDir };
  let server = await startDevServer(config);
  return {
    address: server.address,
    namespace,
    kind: 'embedded',
    uiUrl: server.uiUrl,
    restart: async () => {
      await server.stop();
      server = await startDevServer(config);
    },
    stop: () => server.stop(),
  };
}

/** A workflow's page in the Temporal Web UI: its history when the run is known, else its latest run. */
export function workflowRunPage(
  uiUrl: string,
  namespace: string,
  workflowId: string,
  runId?: string,
): string {
  const run = runId ? `/${encodeURIComponent(runId)}/history` : '';
  return `${uiUrl}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}${run}`;
}
