import { existsSync, readFileSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LogLevel } from '@migrator/devserver';
import type { OwnershipFile } from './reaper.js';
import { ServerProcess } from './server-process.js';

export interface EmbeddedServerProcessOptions {
  /** packages/devserver/src/main.ts */
  main: string;
  port: number;
  dbFile?: string;
  logLevel: LogLevel;
  logFile: string;
  ownership: OwnershipFile;
  /** Port of its Web UI / HTTP API; without one it runs headless. */
  uiPort?: number;
}

/**
 * The embedded Temporal server as a process of its own (`npm run devserver`), as a real server runs:
 * it can be SIGKILLed (a crash: nothing is saved on the way down) and started again on the same port
 * from its state file. Its stdout and stderr go to `logFile`.
 */
export class EmbeddedServerProcess {
  private process?: ServerProcess;

  constructor(private readonly opts: EmbeddedServerProcessOptions) {}

  get logFile(): string {
    return this.opts.logFile;
  }

  async start(timeoutMs = 60_000): Promise<void> {
    if (this.process?.running) return;
    const { main, port, dbFile, logLevel, logFile, ownership, uiPort } = this.opts;
    // Only what this start writes counts for readiness (the log is appended across restarts).
    const offset = existsSync(logFile) ? statSync(logFile).size : 0;
    const args = [
      '--import',
      import.meta.resolve('tsx'),
      main,
      '--port',
      String(port),
      '--log-level',
      logLevel,
      ...(dbFile ? ['--db-file', dbFile] : []),
      ...(uiPort === undefined ? ['--headless'] : ['--ui-port', String(uiPort)]),
    ];
    const proc = new ServerProcess('temporal (embedded)', process.execPath, args, logFile, ownership);
    this.process = proc;
    proc.start();
    let exited = false;
    void proc.exitPromise().then(() => (exited = true));
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const text = readFileSync(logFile).subarray(offset).toString('utf8');
      if (/^READY /m.test(text)) return;
      if (exited || Date.now() > deadline) {
        await proc.stop('SIGKILL');
        throw new Error(
          `embedded Temporal server did not start on port ${port}${exited ? ' (it exited)' : ''}: ${text.trim().split('\n').slice(-5).join(' | ')} (log: ${logFile})`,
        );
      }
      await sleep(50);
    }
  }

  /** SIGTERM saves and stops; SIGKILL is a crash. Then starts again on the same port. */
  async restart(signal: NodeJS.Signals): Promise<void> {
    await this.stop(signal);
    await this.start();
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.process?.stop(signal);
  }
}
