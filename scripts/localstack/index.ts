import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { MariaDbInstance, APP_DATABASE, APP_USER, MIGRATION_USER } from './mariadb.js';
import { makeCertificates, type StackCertificates } from './certs.js';
import { onTermination } from './lifetime.js';
import { isRunning, processRef, type ProcessRef } from './proc.js';
import { OwnershipFile, reapOrphans, STACK_ROOT } from './reaper.js';
import { RedisInstance } from './redis.js';
import { startTemporal, type TemporalEndpoint } from './temporal.js';
import type { LogLevel } from '@migrator/devserver';

export { MariaDbInstance, RedisInstance, APP_DATABASE, APP_USER, MIGRATION_USER };
export type { TemporalEndpoint };
export { workflowRunPage } from './temporal.js';

export interface StackOptions {
  /** Start source and target MariaDB (default true). */
  mariadb?: boolean;
  /** Start Redis (default true). */
  redis?: boolean;
  /** Also start a replica of the source (GTID replication), for replica-first verification (default false). */
  sourceReplica?: boolean;
  /**
   * Stop the stack (and exit) when this process receives SIGINT/SIGTERM/SIGHUP or loses the chain that
   * started it (lifetime.ts). Default true; the stack is stopped once, whoever asks first.
   */
  stopOnTermination?: boolean;
  /**
   * TLS required by MariaDB and Redis on TCP, with client certificates; the certificates (a CA of this
   * stack, server and client) are made with openssl at start. `env` then names them in ssl-* URL
   * parameters (src/activities/db/tls.ts). Default false.
   */
  tls?: boolean;
  /** Extra mariadbd options for source and target (e.g. '--innodb-autoinc-lock-mode=2'). */
  mariadbArgs?: string[];
  /** Start (or connect to) a Temporal server (default false). */
  temporal?: boolean;
  /** Back the embedded Temporal server with a state file, so restart() keeps workflows. */
  temporalPersistent?: boolean;
  /**
   * Run the embedded Temporal server as its own process (default: inside this one), so that it can be
   * SIGKILLed (`temporal.crash()`) and its log read (`temporal.logFile`).
   */
  temporalProcess?: boolean;
  /** The embedded server's log level (default: DEVSERVER_LOG, else warn). */
  temporalLogLevel?: LogLevel;
  /** Serve the Temporal Web UI and HTTP API (default true; `temporal.uiUrl`). Build it first: ensureUiBuilt(). */
  temporalUi?: boolean;
}

export interface Stack {
  dir: string;
  source: MariaDbInstance;
  target: MariaDbInstance;
  /** Present with `sourceReplica: true`: replicates the source; connection name `source_replica`. */
  sourceReplica?: MariaDbInstance;
  redis: RedisInstance;
  temporal?: TemporalEndpoint;
  /** With `tls: true`: the stack's certificate files. */
  certs?: StackCertificates;
  /**
   * The environment a worker or app of this stack needs: named connections (MIGRATOR_DB_SOURCE,
   * MIGRATOR_DB_TARGET), MIGRATOR_REDIS_URL, TEMPORAL_ADDRESS. Credentials live only here, never in
   * workflow inputs.
   */
  env: Record<string, string>;
  /**
   * Records a process the caller started for this stack (e.g. a worker): stop() terminates it if it
   * still runs, and an orphaned stack's reaper kills it too.
   */
  own(pid: number): void;
  disown(pid: number): void;
  /** Stops every server and owned process, then removes the directory. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts throwaway servers on free loopback ports with their own temp directories. Several stacks can
 * run side by side (parallel test files). stop() removes everything; a stack whose process died is
 * reaped by the next start.
 */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  reapOrphans();
  const dir = mkdtempSync(join(STACK_ROOT, 'stack-'));
  const ownership = new OwnershipFile(dir);
  let certs: StackCertificates | undefined;
  try {
    if (options.tls) certs = await makeCertificates(dir);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const tls = certs;
  const extraArgs = options.mariadbArgs;
  const source = new MariaDbInstance({
    name: 'source',
    serverId: 1,
    stackDir: dir,
    ownership,
    tls,
    extraArgs,
  });
  const target = new MariaDbInstance({
    name: 'target',
    serverId: 2,
    stackDir: dir,
    ownership,
    tls,
    extraArgs,
  });
  const redis = new RedisInstance(dir, ownership, tls);
  const sourceReplica = options.sourceReplica
    ? new MariaDbInstance({ name: 'source-replica', serverId: 3, stackDir: dir, ownership, tls })
    : undefined;
  let temporal: TemporalEndpoint | undefined;
  const starts: Promise<unknown>[] = [];
  const owned = new Map<number, ProcessRef>();

  let stopping: Promise<void> | undefined;
  let unregister = () => {};
  const stopOnce = async () => {
    // A stop during start-up waits for the servers being started, so that none is left behind.
    await Promise.allSettled(starts);
    await Promise.allSettled([
      stopOwned([...owned.values()]),
      source.stop(),
      target.stop(),
      sourceReplica?.stop(),
      redis.stop(),
      temporal?.stop(),
    ]);
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    unregister();
  };
  const stop = () => (stopping ??= stopOnce());
  if (options.stopOnTermination ?? true) unregister = onTermination(stop);

  try {
    if (options.mariadb ?? true) starts.push(source.start(), target.start());
    if (sourceReplica) starts.push(sourceReplica.start());
    if (options.redis ?? true) starts.push(redis.start());
    if (options.temporal) {
      starts.push(
        startTemporal({
          stackDir: dir,
          persistent: options.temporalPersistent,
          process: options.temporalProcess ? { ownership } : undefined,
          logLevel: options.temporalLogLevel,
          ui: options.temporalUi ?? true,
        }).then((t) => (temporal = t)),
      );
    }
    const results = await Promise.allSettled(starts);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    if (sourceReplica) await sourceReplica.replicateFrom(source);
  } catch (err) {
    await stop();
    throw err;
  }

  const env: Record<string, string> = {};
  if (source.port) {
    env.MIGRATOR_DB_SOURCE = source.url();
    env.MIGRATOR_DB_TARGET = target.url();
  }
  if (sourceReplica) env.MIGRATOR_DB_SOURCE_REPLICA = sourceReplica.url();
  if (redis.port) env.MIGRATOR_REDIS_URL = redis.url;
  if (temporal) {
    env.TEMPORAL_ADDRESS = temporal.address;
    env.TEMPORAL_NAMESPACE = temporal.namespace;
  }
  return {
    dir,
    source,
    target,
    sourceReplica,
    redis,
    temporal,
    certs,
    env,
    own: (pid) => {
      owned.set(pid, processRef(pid));
      ownership.add(pid);
    },
    disown: (pid) => {
      owned.delete(pid);
      ownership.remove(pid);
    },
    stop,
  };
}

/** The caller's processes (e.g. a worker) still running: SIGTERM, then SIGKILL after 15 s. */
async function stopOwned(refs: ProcessRef[]): Promise<void> {
  const live = refs.filter(isRunning);
  const signal = (ref: ProcessRef, sig: NodeJS.Signals) => {
    try {
      process.kill(ref.pid, sig);
    } catch {
      /* exited meanwhile */
    }
  };
  for (const ref of live) signal(ref, 'SIGTERM');
  const deadline = Date.now() + 15_000;
  while (live.some(isRunning)) {
    if (Date.now() > deadline) {
      for (const ref of live.filter(isRunning)) signal(ref, 'SIGKILL');
      break;
    }
    await sleep(50);
  }
}
