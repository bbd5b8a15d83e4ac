/**
 * Hung work detection. Every statement sent through a named pool (getPool) and every binlog stream is
 * registered with the watch of the activity that runs it (AsyncLocalStorage: no argument threading).
 * The activity wrapper heartbeats only while its watch reports no stall, so a stall becomes a
 * heartbeat timeout in Temporal, and the activity is retried:
 *
 * - a statement in flight longer than the stall limit: the server's own statement timeout
 *   (statementTimeoutMs, set on every session) should have ended it, so the server or the network is
 *   wedged (a stopped server, a half-open TCP connection);
 * - a binlog stream that received nothing, not even a server heartbeat, for the stall limit, although
 *   it reconnects by itself after a few silent seconds.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** Server-side limit of every statement on the worker's pools (MIGRATOR_STATEMENT_TIMEOUT seconds, default 300; 0 = none). */
export function statementTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.MIGRATOR_STATEMENT_TIMEOUT;
  if (raw === undefined || raw.trim() === '') return 300_000;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds < 0) {
    throw new RangeError(`MIGRATOR_STATEMENT_TIMEOUT=${raw}: expected seconds (0 disables the timeout)`);
  }
  return Math.round(seconds * 1000);
}

/** How long work may show no sign of life before it counts as hung: the statement timeout plus 5 s. */
export function stallLimitMs(env: NodeJS.ProcessEnv = process.env): number {
  const t = statementTimeoutMs(env);
  return (t > 0 ? t : 300_000) + 5000;
}

interface Statement {
  sql: string;
  startedAt: number;
}

export class StallWatch {
  private readonly statements = new Set<Statement>();
  private readonly streams = new Map<object, { label: string; lastActivity: () => number }>();

  constructor(readonly limitMs: number = stallLimitMs()) {}

  /** Why the work counts as hung now, or null. */
  stalled(now: number = Date.now()): string | null {
    for (const s of this.statements) {
      if (now - s.startedAt > this.limitMs) {
        return `statement running for ${Math.round((now - s.startedAt) / 1000)} s: ${s.sql.slice(0, 120)}`;
      }
    }
    for (const s of this.streams.values()) {
      const silent = now - s.lastActivity();
      if (silent > this.limitMs) return `${s.label}: nothing received for ${Math.round(silent / 1000)} s`;
    }
    return null;
  }

  track<T>(sql: string, p: Promise<T>): Promise<T> {
    const entry = { sql, startedAt: Date.now() };
    this.statements.add(entry);
    return p.finally(() => this.statements.delete(entry));
  }

  addStream(label: string, lastActivity: () => number): () => void {
    const key = {};
    this.streams.set(key, { label, lastActivity });
    return () => this.streams.delete(key);
  }
}

const current = new AsyncLocalStorage<StallWatch>();

/** Runs fn with `watch` collecting the statements and streams it starts. */
export function runWatched<T>(watch: StallWatch, fn: () => Promise<T>): Promise<T> {
  return current.run(watch, fn);
}

/** Registers a statement with the current activity's watch (if any). */
export function trackStatement<T>(sql: unknown, p: Promise<T>): Promise<T> {
  const watch = current.getStore();
  if (!watch) return p;
  const text = typeof sql === 'string' ? sql : String((sql as { sql?: unknown })?.sql ?? '(statement)');
  return watch.track(text, p);
}

/** Registers a binlog stream's liveness with the current activity's watch; returns the unregister function. */
export function watchStream(label: string, lastActivity: () => number): () => void {
  return current.getStore()?.addStream(label, lastActivity) ?? (() => undefined);
}
