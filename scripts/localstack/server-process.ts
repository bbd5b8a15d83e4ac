import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import type { OwnershipFile } from './reaper.js';

const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;

// Last line of defence: if the owning process exits without stopping its servers, kill them.
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of liveChildren) child.kill('SIGKILL');
  });
}

/** One server process (mariadbd, redis-server) with its output going to a log file. */
export class ServerProcess {
  private child?: ChildProcess;
  private exited?: Promise<void>;

  constructor(
    private readonly label: string,
    private readonly command: string,
    private readonly args: string[],
    private readonly logFile: string,
    private readonly ownership: OwnershipFile,
  ) {}

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  start(): void {
    if (this.running) return;
    installExitHook();
    const fd = openSync(this.logFile, 'a');
    // A session of its own: a Ctrl-C to the terminal's process group must not reach the server directly
    // (a MariaDB killed during start-up would be restarted); the stack stops its servers itself.
    const child = spawn(this.command, this.args, { stdio: ['ignore', fd, fd], detached: true });
    closeSync(fd);
    this.child = child;
    liveChildren.add(child);
    if (child.pid) this.ownership.add(child.pid);
    this.exited = new Promise((resolve) => {
      child.once('exit', () => {
        liveChildren.delete(child);
        if (child.pid) this.ownership.remove(child.pid);
        resolve();
      });
      child.once('error', (err) => {
        process.stderr.write(`[stack] ${this.label} failed to start: ${err.message}\n`);
      });
    });
  }

  /** Signals the process and waits for it to exit; escalates to SIGKILL after the grace period. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 20_000): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** Resolves if the process exits; used to fail fast while waiting for readiness. */
  exitPromise(): Promise<void> {
    return this.exited ?? Promise.resolve();
  }
}
