import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { findBinary } from './binaries.js';
import { freePort } from './ports.js';
import type { LogLevel } from '@migrator/devserver';

/** The Temporal server a stack uses: an external one, the official CLI's dev server, or our embedded one. */
export interface TemporalEndpoint {
  /** host:port for @temporalio/client and the worker's NativeConnection. */
  address: string;
  namespace: string;
  kind: 'external' | 'temporal-cli' | 'embedded';
  /** Stops and starts the server on the same address; state survives only when it is file-backed. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface TemporalOptions {
  stackDir: string;
  /** Back the embedded server with a state file so a restart keeps every workflow. */
  persistent?: boolean;
}

function temporalCliPath(): string | undefined {
  const explicit = process.env.TEMPORAL_CLI_PATH;
  if (explicit && existsSync(explicit)) return explicit;
  return findBinary('temporal');
}

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
    const dbFile = options.persistent ? join(options.stackDir, 'temporal.sqlite') : undefined;
    const launch = () =>
      TestWorkflowEnvironment.createLocal({
        server: {
          executable: { type: 'existing-path', path: cli },
          ip: '127.0.0.1',
          port,
          dbFilename: dbFile,
          ui: false,
        },
      });
    let env = await launch();
    return {
      address: `127.0.0.1:${port}`,
      namespace,
      kind: 'temporal-cli',
      restart: async () => {
        await env.teardown();
        env = await launch();
      },
      stop: () => env.teardown(),
    };
  }

  // Loaded only when needed: a stack on an external server or the official CLI never starts it.
  const { startDevServer } = await import('@migrator/devserver');
  const port = await freePort();
  const dbFile = options.persistent ? join(options.stackDir, 'temporal-state.json') : undefined;
  const logLevel = devserverLogLevel(process.env.DEVSERVER_LOG);
  let server = await startDevServer({ port, dbFile, logLevel });
  return {
    address: server.address,
    namespace,
    kind: 'embedded',
    restart: async () => {
      await server.stop();
      server = await startDevServer({ port, dbFile, logLevel });
    },
    stop: () => server.stop(),
  };
}
