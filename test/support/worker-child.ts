/**
 * A migration worker in a child process whose whole output (stdout and stderr, the SDK's log lines
 * included) goes to a log file: for tests that read what a worker logged, or SIGKILL it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { startEnv, type Env } from '../workflow/helpers.js';

const MAIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'workflow', 'worker-process.ts');

export interface WorkerChild {
  child: ChildProcess;
  logFile: string;
  /** SIGTERM (graceful shutdown), SIGKILL after 15 s. */
  stop(): Promise<void>;
}

export async function startWorkerChild(options: {
  env: Record<string, string>;
  bundleFile: string;
  logFile: string;
  /** DefaultLogger level of the worker (TEST_WORKER_LOG). */
  level?: 'DEBUG' | 'INFO' | 'WARN';
  /** Told about the pid, so an orphaned stack's reaper kills it too. */
  owner?: { own(pid: number): void; disown(pid: number): void };
}): Promise<WorkerChild> {
  const fd = openSync(options.logFile, 'a');
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    env: {
      ...process.env,
      ...options.env,
      WORKFLOW_BUNDLE_FILE: options.bundleFile,
      TEST_WORKER_LOG: options.level ?? 'WARN',
    },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  if (child.pid) options.owner?.own(child.pid);
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      if (child.pid) options.owner?.disown(child.pid);
      resolve();
    }),
  );
  const deadline = Date.now() + 120_000;
  for (;;) {
    const text = readFileSync(options.logFile, 'utf8');
    if (text.includes(`WORKER READY ${child.pid}`)) break;
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`worker did not start: ${text.slice(-2000)}`);
    }
    await sleep(100);
  }
  return {
    child,
    logFile: options.logFile,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * A workflow-test environment whose Temporal server and worker run as processes of their own, both
 * logging to files (the server's at debug level): for tests that search what they logged.
 */
export async function startLoggedEnv(
  level: 'DEBUG' | 'INFO',
): Promise<{ env: Env; worker: WorkerChild; stop(): Promise<void> }> {
  const env = await startEnv({ worker: false, stack: { temporalProcess: true, temporalLogLevel: 'debug' } });
  try {
    const worker = await startWorkerChild({
      env: env.stack.env,
      bundleFile: env.bundle.file,
      logFile: join(env.stack.dir, 'worker.log'),
      level,
      owner: env.stack,
    });
    return {
      env,
      worker,
      async stop() {
        await worker.stop();
        await env.stop();
      },
    };
  } catch (err) {
    await env.stop();
    throw err;
  }
}
