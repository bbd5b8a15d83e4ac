import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { fileURLToPath } from 'node:url';

const WORKER_MAIN = fileURLToPath(new URL('../../src/worker.ts', import.meta.url));

/**
 * The migration worker as a separate process (as in production), so the demo's chaos mode and the
 * chaos test can SIGKILL it and start a new one.
 */
export class WorkerProcess {
  private child?: ChildProcess;
  private exited?: Promise<void>;
  starts = 0;

  constructor(
    private readonly env: Record<string, string>,
    private readonly logFile: string,
    /** Told about each worker pid, so the stack's reaper can kill an orphaned worker. */
    private readonly owner?: { own(pid: number): void; disown(pid: number): void },
  ) {}

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts the worker and resolves once it polls its task queue. */
  async start(timeoutMs = 120_000): Promise<void> {
    if (this.running) return;
    this.starts++;
    const log = createWriteStream(this.logFile, { flags: 'a' });
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER_MAIN], {
      env: { ...process.env, ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    if (child.pid) this.owner?.own(child.pid);
    this.exited = new Promise((resolve) =>
      child.once('exit', () => {
        if (child.pid) this.owner?.disown(child.pid);
        resolve();
      }),
    );
    child.stderr?.pipe(log);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`worker did not start within ${timeoutMs} ms (log: ${this.logFile})`)),
        timeoutMs,
      );
      let buffered = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        log.write(chunk);
        buffered += chunk.toString();
        if (/worker running/.test(buffered)) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(
          new Error(`worker exited during start-up (code ${code}, signal ${signal}); log: ${this.logFile}`),
        );
      });
    });
  }

  /** SIGKILL: the worker dies mid-activity, as on a machine failure. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.child?.kill('SIGKILL');
    await this.exited;
  }

  /** Graceful shutdown. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.child?.kill('SIGTERM');
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), 15_000);
    await this.exited;
    clearTimeout(timer);
  }
}
