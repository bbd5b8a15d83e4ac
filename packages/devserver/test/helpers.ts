/** Shared test plumbing: an in-process dev server, one cached workflow bundle, worker helpers. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Connection, Client } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { startDevServer, type DevServerOptions } from '../src/index.js';
import { cachedBundle, quietRuntime } from './sdk.js';

export { cachedBundle, quietRuntime };

const here = dirname(fileURLToPath(import.meta.url));
export const workflowsPath = join(here, 'fixtures', 'workflows.ts');

/** Bundles the fixture workflows (every file under fixtures/) once per content hash. */
export async function workflowBundle(): Promise<{ code: string }> {
  const dir = dirname(workflowsPath);
  const h = createHash('sha1').update('v2');
  for (const f of readdirSync(dir).sort()) h.update(f).update(readFileSync(join(dir, f)));
  const hash = h.digest('hex').slice(0, 16);
  const { code } = await cachedBundle(workflowsPath, hash, 'devserver-test-bundles');
  return { code };
}

export interface TestEnv {
  address: string;
  /** The HTTP API / Web UI, when started with `uiPort`. */
  uiUrl?: string;
  client: Client;
  connection: Connection;
  stop(): Promise<void>;
}

export async function startEnv(extra: Partial<DevServerOptions> = {}): Promise<TestEnv> {
  quietRuntime();
  const server = await startDevServer({
    port: 0,
    logLevel: (process.env.DEVSERVER_LOG as 'debug' | undefined) ?? 'warn',
    ...extra,
  });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection, namespace: 'default' });
  return {
    address: server.address,
    uiUrl: server.uiUrl,
    client,
    connection,
    stop: async () => {
      await connection.close();
      await server.stop();
    },
  };
}

export async function createWorker(
  address: string,
  taskQueue: string,
  activities: object,
  bundle: { code: string },
  extra: Partial<Parameters<typeof Worker.create>[0]> = {},
): Promise<{ worker: Worker; connection: NativeConnection }> {
  const connection = await NativeConnection.connect({ address });
  const worker = await Worker.create({
    connection,
    namespace: 'default',
    taskQueue,
    workflowBundle: bundle,
    activities,
    ...extra,
  });
  return { worker, connection };
}

/**
 * A dev server plus one worker polling `taskQueue` (the fixture workflows, `activities`) for a whole test
 * file; stop() shuts the worker down, then the server.
 */
export async function startEnvWithWorker(
  taskQueue: string,
  activities: object = {},
  extra: Partial<DevServerOptions> = {},
): Promise<TestEnv> {
  const env = await startEnv(extra);
  let created: { worker: Worker; connection: NativeConnection };
  try {
    created = await createWorker(env.address, taskQueue, activities, await workflowBundle());
  } catch (err) {
    await env.stop();
    throw err;
  }
  const { worker, connection } = created;
  const running = worker.run();
  return {
    ...env,
    stop: async () => {
      worker.shutdown();
      await running;
      await connection.close();
      await env.stop();
    },
  };
}

let counter = 0;
export function uid(prefix: string): string {
  counter += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter}`;
}

/** A free loopback port (for a server process that must come back on the same address). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

/**
 * Spawns a node process (through tsx), adds it to `children` (for the test's clean-up) and resolves
 * when it prints a line matching `ready`.
 */
export function spawnNode(
  children: ChildProcess[],
  args: string[],
  ready: RegExp,
  onLine?: (line: string) => void,
): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    rl.on('line', (line) => {
      onLine?.(line);
      if (ready.test(line)) resolve(child);
    });
    child.once('exit', (code) =>
      reject(new Error(`process exited (${code}) before ready: ${stderr.slice(-2000)}`)),
    );
  });
}

/** The dev server's own command line, for tests that kill the server process. */
export const serverMain = join(here, '..', 'src', 'main.ts');
