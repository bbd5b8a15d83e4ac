import { fork, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { emptyStats, type RouterStats } from '../../src/router/stats.js';
import { runApp, type AppConfig, type AppReport, type AppStats, type RunningApp } from './app.js';
import type { AppMessage } from './app-process.js';
import type { WorkloadStats } from './workload.js';

const APP_MAIN = fileURLToPath(new URL('./app-process.ts', import.meta.url));

export interface FleetOptions
  extends Omit<AppConfig, 'app' | 'lanes' | 'firstLane' | 'totalLanes' | 'switchCacheFile'> {
  /** App processes, each with its own router; 0 runs one app inside this process. */
  processes: number;
  lanesPerApp: number;
  /** Directory for the routers' switch cache files and the processes' logs. */
  dir: string;
  /** Told about each pid, so the stack's reaper kills an orphaned app too. */
  owner?: { own(pid: number): void; disown(pid: number): void };
}

/** The demo's application: several router processes (or one in-process app), and their merged stats. */
export class AppFleet {
  private readonly children: { child: ChildProcess; last: AppStats | null; report: Promise<AppReport> }[] =
    [];
  private local?: RunningApp;

  constructor(private readonly options: FleetOptions) {}

  private config(app: number, apps: number): AppConfig {
    const { processes: _p, lanesPerApp, dir, owner: _o, ...shared } = this.options;
    return {
      ...shared,
      app,
      lanes: lanesPerApp,
      firstLane: app * lanesPerApp,
      totalLanes: apps * lanesPerApp,
      switchCacheFile: `${dir}/app-${app}-switches.json`,
    };
  }

  get routerIds(): string[] {
    const n = Math.max(1, this.options.processes);
    return Array.from({ length: n }, (_, i) => `demo-app-${i}`);
  }

  start(): void {
    const { processes } = this.options;
    if (processes === 0) {
      this.local = runApp(this.config(0, 1));
      return;
    }
    for (let i = 0; i < processes; i++) {
      const log = openSync(`${this.options.dir}/app-${i}.log`, 'a');
      const child = fork(APP_MAIN, [], {
        execArgv: ['--import', import.meta.resolve('tsx')],
        env: { ...process.env, DEMO_APP_CONFIG: JSON.stringify(this.config(i, processes)) },
        stdio: ['ignore', log, log, 'ipc'],
      });
      closeSync(log);
      if (child.pid) this.options.owner?.own(child.pid);
      const entry = { child, last: null as AppStats | null, report: Promise.resolve({} as AppReport) };
      entry.report = new Promise<AppReport>((resolve, reject) => {
        child.on('message', (m: AppMessage) => {
          if (m.type === 'stats') entry.last = m.stats;
          else resolve(m.report);
        });
        child.once('exit', (code, signal) => {
          if (child.pid) this.options.owner?.disown(child.pid);
          reject(new Error(`demo app ${i} exited (code ${code}, signal ${signal}) before its report`));
        });
      });
      entry.report.catch(() => undefined);
      this.children.push(entry);
    }
  }

  /** Every app's latest stats (a process reports every second). */
  stats(): AppStats[] {
    if (this.local) return [this.local.stats()];
    return this.children.flatMap((c) => (c.last ? [c.last] : []));
  }

  /** Stops every app and collects their reports (ledgers included). */
  async stop(): Promise<AppReport[]> {
    if (this.local) {
      const app = this.local;
      this.local = undefined;
      return [await app.stop()];
    }
    for (const c of this.children) if (c.child.connected) c.child.send('stop');
    const reports = await Promise.all(this.children.map((c) => c.report));
    this.children.length = 0;
    return reports;
  }

  /** Kills what is left (clean-up after a failure). */
  kill(): void {
    for (const c of this.children) c.child.kill('SIGKILL');
  }
}

/** The fleet's workload stats summed over the apps. */
export function totalWorkload(stats: AppStats[]): WorkloadStats {
  return {
    writes: stats.reduce((n, s) => n + s.workload.writes, 0),
    reads: stats.reduce((n, s) => n + s.workload.reads, 0),
    errors: stats.reduce((n, s) => n + s.workload.errors, 0),
    errorTimes: stats.flatMap((s) => s.workload.errorTimes).sort((a, b) => a - b),
    errorSamples: stats.flatMap((s) => s.workload.errorSamples).sort((a, b) => a.at - b.at),
    lastError: stats.map((s) => s.workload.lastError).find((e) => e !== undefined),
  };
}

/** The routers' counters summed over the apps. */
export function totalRouter(stats: AppStats[]): RouterStats {
  const out = emptyStats();
  for (const { router: r } of stats) {
    out.reads.source += r.reads.source;
    out.reads.target += r.reads.target;
    out.writes.source += r.writes.source;
    out.writes.target += r.writes.target;
    out.mirrored += r.mirrored;
    out.dualWriteFailures += r.dualWriteFailures;
    out.tableLevelRepairs += r.tableLevelRepairs;
    out.readFallbacks += r.readFallbacks;
    out.unparsed += r.unparsed;
  }
  return out;
}
