import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type { Stack } from '../localstack/index.js';
import { listRouters, SwitchStore } from '../../src/switches/index.js';
import type { MigrationStatus } from '../../src/workflows/api.js';
import type { AppFleet } from './app-fleet.js';
import { totalRouter } from './app-fleet.js';
import type { RepairWatch } from './repairs.js';
import type { WorkerProcess } from './worker-process.js';

/** One failure the demo injects, and how the run must show it recovered. */
export interface ChaosStep {
  label: string;
  /** The run is at the point where this failure is meant to hit. */
  when(s: MigrationStatus): boolean;
  /**
   * Injects it. Returns why it could not happen (e.g. Temporal is an external server the demo does
   * not own): such an event is reported and never counted.
   */
  act(s: MigrationStatus): Promise<{ happened: true } | { happened: false; why: string }>;
  /** Evidence, read from the workflow's status, that the run recovered; null while it has not. */
  recovered(s: MigrationStatus): Promise<string | null> | string | null;
}

export interface ChaosOutcome {
  label: string;
  happened: boolean;
  why?: string;
  at: string;
  /** When what was broken was back (the new worker polling, the server accepting connections). */
  back?: string;
  /** How the run showed it recovered (status evidence), and after how long. */
  recovered?: string;
  recoveredAfterSeconds?: number;
}

/** The authoritative side was down: application errors in this window are expected, not failures. */
export interface Outage {
  what: string;
  from: number;
  to: number;
}

export interface ChaosContext {
  stack: Stack;
  worker: WorkerProcess;
  apps: AppFleet;
  repairs: RepairWatch;
  migrationId: string;
  log: (line: string) => void;
  /** Records an outage of the side the application writes to. */
  outage(o: Outage): void;
}

/** Application errors after the server is back, while pools drop their dead connections. */
const RECONNECT_GRACE_MS = 10_000;
const MAX_LAG_SECONDS = 5;

function forwardLag(s: MigrationStatus, since: number): string | null {
  const view = s.sync.find((v) => v.direction === 'forward');
  if (!view?.checkedAt || Date.parse(view.checkedAt) <= since) return null;
  if (view.lagSeconds === null || view.lagSeconds > MAX_LAG_SECONDS) return null;
  return `forward CDC lag ${view.lagSeconds.toFixed(1)} s at ${view.checkedAt} (${view.running ? 'running' : 'stopped'})`;
}

/**
 * The repair loop checked rows after `since`: its counters (read by the workflow, time-stamped in
 * lastPassAt) moved from what they were at the event.
 */
function loopWorkedAfter(s: MigrationStatus, since: number, checkedAtEvent: number): string | null {
  if (!s.repair.lastPassAt || Date.parse(s.repair.lastPassAt) <= since) return null;
  if (s.repair.rowsChecked === checkedAtEvent) return null;
  return `repair loop (${s.repair.direction}) at work: ${s.repair.rowsChecked} rows checked (${checkedAtEvent} at the event), read ${s.repair.lastPassAt}`;
}

const copied = (s: MigrationStatus) => s.tables.reduce((n, t) => n + t.rowsCopied, 0);

/**
 * The chaos run: crashes, not polite restarts. The worker, both MariaDB servers, the embedded Temporal
 * server and Redis are SIGKILLed at chosen points of the run and started again (same data directory,
 * same port); after each, the run must show in its status that it recovered.
 */
export function chaosSteps(c: ChaosContext): ChaosStep[] {
  const { stack, worker, log } = c;
  /** SIGKILLs the worker and starts a new one; returns when the new one polls. */
  const killWorker = async (where: string): Promise<number> => {
    log(`chaos: SIGKILL the worker (${where})`);
    await worker.kill();
    await sleep(500);
    await worker.start();
    log('chaos: a new worker is polling');
    return Date.now();
  };
  const copying = (s: MigrationStatus) =>
    s.phase === 'BULK_COPY' && s.tables.some((t) => t.rowsCopied > 0 && t.state !== 'done');
  const copyDone = (s: MigrationStatus) => s.tables.every((t) => t.state === 'done');

  // -- the source, twice: in the middle of the copy, then while CDC catches up alone (SOURCE_ONLY: the
  // application's writes fail meanwhile). A crash while a chunk's rows were streaming used to leave the
  // copy stalled for good (copier/README.md, test/dataplane/copy-source-crash.test.ts).
  const sourceCrash = (label: string, when: ChaosStep['when'], copy: boolean): ChaosStep => {
    let backAt = 0;
    return {
      label,
      when: (s) => when(s) && s.sync.some((v) => v.direction === 'forward'),
      act: async () => {
        log('chaos: SIGKILL the source MariaDB (the application loses its only database until it is back)');
        const from = Date.now();
        await stack.source.restart('SIGKILL');
        backAt = Date.now();
        c.outage({ what: 'source MariaDB down', from, to: backAt + RECONNECT_GRACE_MS });
        log('chaos: the source MariaDB is back (same data directory and port)');
        return { happened: true };
      },
      recovered: (s) => {
        const lag = forwardLag(s, backAt);
        if (!lag) return null;
        if (!copy) return lag;
        return copyDone(s) ? `copy complete, ${lag}` : null;
      },
    };
  };
  // (A copy too quick to be caught is crashed into at catch-up instead.)
  const sourceDuringCopy = sourceCrash(
    'source MariaDB SIGKILLed while CDC runs (copy)',
    (s) => copying(s) || s.phase === 'CATCH_UP_VERIFY',
    true,
  );
  const sourceDuringCatchUp = sourceCrash(
    'source MariaDB SIGKILLed while CDC runs (catch-up)',
    (s) => s.phase === 'CATCH_UP_VERIFY',
    false,
  );

  // -- the worker, three times
  let copiedBefore = 0;
  let copyWorkerBackAt = 0;
  const workerDuringCopy: ChaosStep = {
    label: 'worker SIGKILLed during the copy',
    when: copying,
    act: async (s) => {
      copiedBefore = copied(s);
      copyWorkerBackAt = await killWorker('bulk copy');
      return { happened: true };
    },
    recovered: (s) =>
      Date.parse(s.updatedAt) > copyWorkerBackAt && (copyDone(s) || copied(s) > copiedBefore)
        ? `copy went on: ${copied(s)} rows copied (${copiedBefore} at the kill)${copyDone(s) ? ', complete' : ''}`
        : null,
  };
  let cdcWorkerBackAt = 0;
  const workerDuringCdc: ChaosStep = {
    label: 'worker SIGKILLed while CDC runs',
    when: (s) => s.phase === 'CATCH_UP_VERIFY' || (s.phase === 'DUAL_WRITE_SOURCE_FIRST' && s.gate === null),
    act: async () => {
      cdcWorkerBackAt = await killWorker('CDC running');
      return { happened: true };
    },
    recovered: (s) => {
      const lag = forwardLag(s, cdcWorkerBackAt);
      if (lag) return lag;
      // The hand-over to dual writes stops forward CDC: then the run moving on is the evidence.
      const past = ['REPAIR_LOOP', 'READ_SWITCH', 'DUAL_WRITE_TARGET_FIRST', 'TARGET_ONLY', 'FINALIZE'];
      return past.includes(s.phase) && Date.parse(s.updatedAt) > cdcWorkerBackAt
        ? `CDC handed over to dual writes; run in ${s.phase}`
        : null;
    },
  };
  let loopWorkerBackAt = 0;
  let loopCheckedAtKill = 0;
  const workerDuringLoop: ChaosStep = {
    label: 'worker SIGKILLed during the repair loop',
    when: (s) => s.phase === 'REPAIR_LOOP' || (s.phase === 'READ_SWITCH' && s.repair.passes > 0),
    act: async (s) => {
      loopCheckedAtKill = s.repair.rowsChecked;
      loopWorkerBackAt = await killWorker('repair loop');
      return { happened: true };
    },
    recovered: (s) => loopWorkedAfter(s, loopWorkerBackAt, loopCheckedAtKill),
  };

  // -- the embedded Temporal server: SIGKILL, no graceful save; it restarts from its state file
  let temporalBackAt = 0;
  let temporalCheckedAtCrash = 0;
  const temporalCrash: ChaosStep = {
    label: 'Temporal server SIGKILLed, restarted from its state file',
    when: (s) => s.phase === 'DUAL_WRITE_SOURCE_FIRST' || s.phase === 'REPAIR_LOOP',
    act: async (s) => {
      temporalCheckedAtCrash = s.repair.rowsChecked;
      const t = stack.temporal;
      if (!t?.crash)
        return {
          happened: false,
          why: `Temporal at ${t?.address ?? '?'} is ${t?.kind ?? 'absent'}: the demo does not own its process and cannot crash it`,
        };
      log('chaos: SIGKILL the embedded Temporal server (nothing saved on the way down)');
      await t.crash();
      temporalBackAt = Date.now();
      log('chaos: the Temporal server is back, recovered from its state file');
      return { happened: true };
    },
    recovered: (s) => {
      if (Date.parse(s.updatedAt) <= temporalBackAt) return null;
      const loop = s.repair.direction
        ? loopWorkedAfter(s, temporalBackAt, temporalCheckedAtCrash)
        : 'no repair loop yet';
      return loop ? `workflow answered and moved on (updated ${s.updatedAt}, ${s.phase}); ${loop}` : null;
    },
  };

  // -- the target, while the source is authoritative: mirrors fail into the repair stream, reads fall back
  let targetBackAt = 0;
  let failuresBefore = 0;
  let repairedBefore = 0;
  let targetCheckedAtCrash = 0;
  const targetCrash: ChaosStep = {
    label: 'target MariaDB SIGKILLed while dual writing (source authoritative)',
    when: (s) =>
      s.switches.writeMode === 'DUAL_SOURCE_FIRST' &&
      (s.phase === 'REPAIR_LOOP' || s.phase === 'READ_SWITCH') &&
      s.repair.passes > 0,
    act: async (s) => {
      targetCheckedAtCrash = s.repair.rowsChecked;
      failuresBefore = totalRouter(c.apps.stats()).dualWriteFailures;
      repairedBefore = c.repairs.loopRepaired;
      log('chaos: SIGKILL the target MariaDB');
      await stack.target.stop('SIGKILL');
      // Down until a router's mirror has failed (at most 5 s): a restart quicker than the application's
      // next write would leave the failed-mirror path untried.
      const downUntil = Date.now() + 5000;
      while (totalRouter(c.apps.stats()).dualWriteFailures === failuresBefore && Date.now() < downUntil)
        await sleep(50);
      await stack.target.start();
      targetBackAt = Date.now();
      log('chaos: the target MariaDB is back (same data directory and port)');
      return { happened: true };
    },
    recovered: (s) => {
      const pass = loopWorkedAfter(s, targetBackAt, targetCheckedAtCrash);
      if (!pass) return null;
      const failures = totalRouter(c.apps.stats()).dualWriteFailures - failuresBefore;
      const repaired = c.repairs.loopRepaired - repairedBefore;
      if (failures > 0 && repaired === 0) return null;
      return `${failures} dual writes failed during the outage, the repair loop repaired ${repaired} rows since; ${pass}`;
    },
  };

  // -- Redis (no persistence): the routers keep their switches for reads, the workflow writes them again;
  // meanwhile writes are refused (the routers' lease: no write under switches Redis cannot confirm)
  let redisBackAt = 0;
  const redisCrash: ChaosStep = {
    label: 'Redis SIGKILLed (switches lost)',
    when: (s) => s.phase === 'READ_SWITCH' && s.switches.readPercent >= 5,
    act: async () => {
      log(
        'chaos: SIGKILL Redis (reads go on with the switches the routers know; writes are refused until the workflow re-applies the switches)',
      );
      const from = Date.now();
      await stack.redis.stop('SIGKILL');
      await stack.redis.start();
      redisBackAt = Date.now();
      c.outage({
        what: 'Redis down, switches lost until the workflow writes them again',
        from,
        to: redisBackAt + 30_000,
      });
      return { happened: true };
    },
    recovered: async (s) => {
      if (Date.parse(s.updatedAt) <= redisBackAt) return null;
      const redis = new Redis(stack.redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
      redis.on('error', () => undefined);
      try {
        const sw = await new SwitchStore(redis).get(c.migrationId);
        if (!sw || sw.writeMode !== s.switches.writeMode || sw.readPercent !== s.switches.readPercent)
          return null;
        const routers = await listRouters(redis, c.migrationId);
        const acked = routers.filter((r) => r.version === sw.version).map((r) => r.routerId);
        if (!c.apps.routerIds.every((id) => acked.includes(id))) return null;
        return `switches back in Redis (${sw.writeMode}, ${sw.readPercent} %, version ${sw.version}), acknowledged by ${acked.join(', ')}`;
      } catch {
        return null;
      } finally {
        redis.disconnect();
      }
    },
  };

  return [
    workerDuringCopy,
    sourceDuringCopy,
    sourceDuringCatchUp,
    workerDuringCdc,
    temporalCrash,
    workerDuringLoop,
    targetCrash,
    redisCrash,
  ];
}
