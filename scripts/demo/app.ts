import mysql from 'mysql2/promise';
import { createRouter, type RouterStats } from '../../src/router/index.js';
import type { LedgerEntry } from './ledger.js';
import { DemoWorkload, type WorkloadStats } from './workload.js';

/** Everything an app instance needs: where the databases and Redis are, and its share of the lanes. */
export interface AppConfig {
  /** Index among the app instances (names its router and tags its inserts). */
  app: number;
  migrationId: string;
  sourceUrl: string;
  targetUrl: string;
  redisUrl: string;
  /** The router's last applied switches (a restart during a Redis outage resumes with them). */
  switchCacheFile: string;
  ratePerSecond: number;
  lanes: number;
  firstLane: number;
  totalLanes: number;
  accounts: number;
}

export interface AppStats {
  app: number;
  routerId: string;
  workload: WorkloadStats;
  router: RouterStats;
}

export interface AppReport extends AppStats {
  ledger: LedgerEntry[];
}

export interface RunningApp {
  stats(): AppStats;
  /** Stops writing, waits for the writes in flight, flushes the router's repair log, closes. */
  stop(): Promise<AppReport>;
}

function appPool(url: string): mysql.Pool {
  return mysql.createPool({
    uri: url,
    connectionLimit: 8,
    supportBigNumbers: true,
    bigNumberStrings: true,
    dateStrings: true,
  });
}

/** One instance of the demo application: its own router (routerId demo-app-<n>) and workload lanes. */
export function runApp(config: AppConfig): RunningApp {
  const routerId = `demo-app-${config.app}`;
  const router = createRouter({
    migrationId: config.migrationId,
    source: appPool(config.sourceUrl),
    target: appPool(config.targetUrl),
    redis: config.redisUrl,
    routerId,
    switchCacheFile: config.switchCacheFile,
  });
  const workload = new DemoWorkload(router, {
    ratePerSecond: config.ratePerSecond,
    lanes: config.lanes,
    firstLane: config.firstLane,
    totalLanes: config.totalLanes,
    accounts: config.accounts,
    app: config.app,
  });
  workload.start();
  const stats = (): AppStats => ({
    app: config.app,
    routerId,
    workload: {
      ...workload.stats,
      errorTimes: [...workload.stats.errorTimes],
      errorSamples: [...workload.stats.errorSamples],
    },
    router: router.stats(),
  });
  return {
    stats,
    async stop() {
      await workload.stop();
      await router.flush().catch(() => undefined);
      const report = { ...stats(), ledger: workload.ledger };
      await router.end();
      return report;
    },
  };
}
