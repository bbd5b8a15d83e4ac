/**
 * Task queues and long polls. Queues hold opaque task references; the engine turns a reference into
 * a poll response when a poller takes it (returning null when the reference went stale).
 */
import type { CallContext } from './grpc.js';

export type TaskKind = 'workflow' | 'activity';

interface Poller<T> {
  deliver(task: T): void;
}

class TaskQueue<T> {
  readonly tasks: T[] = [];
  readonly pollers: Poller<T>[] = [];
  lastPollTime = 0;
}

/** Long polls are answered empty after this long, like the official server. */
export const LONG_POLL_MS = 60_000;

export class Matching<T> {
  private readonly queues = new Map<string, TaskQueue<T>>();

  private queue(ns: string, name: string, kind: TaskKind): TaskQueue<T> {
    const key = `${ns}\u0000${kind}\u0000${name}`;
    let q = this.queues.get(key);
    if (!q) {
      q = new TaskQueue<T>();
      this.queues.set(key, q);
    }
    return q;
  }

  add(ns: string, name: string, kind: TaskKind, task: T): void {
    const q = this.queue(ns, name, kind);
    const poller = q.pollers.shift();
    if (poller) poller.deliver(task);
    else q.tasks.push(task);
  }

  /** True when someone polled this queue recently or is polling now. */
  hasRecentPoller(ns: string, name: string, kind: TaskKind, withinMs: number): boolean {
    const q = this.queue(ns, name, kind);
    return q.pollers.length > 0 || Date.now() - q.lastPollTime < withinMs;
  }

  /** Forget pollers' liveness (worker shut down) and hand back queued tasks. */
  drain(ns: string, name: string, kind: TaskKind): T[] {
    const q = this.queue(ns, name, kind);
    q.lastPollTime = 0;
    return q.tasks.splice(0);
  }

  /** Removes queued tasks matching the predicate. */
  remove(ns: string, name: string, kind: TaskKind, pred: (t: T) => boolean): T[] {
    const q = this.queue(ns, name, kind);
    const removed: T[] = [];
    for (let i = q.tasks.length - 1; i >= 0; i--) {
      if (pred(q.tasks[i]!)) removed.unshift(...q.tasks.splice(i, 1));
    }
    return removed;
  }

  backlog(ns: string, name: string, kind: TaskKind): number {
    return this.queue(ns, name, kind).tasks.length;
  }

  pollerCount(ns: string, name: string, kind: TaskKind): number {
    return this.queue(ns, name, kind).pollers.length;
  }

  lastPoll(ns: string, name: string, kind: TaskKind): number {
    return this.queue(ns, name, kind).lastPollTime;
  }

  /**
   * Waits for a task that `start` accepts. Resolves null after the long-poll timeout (or just before
   * the client's deadline) or when the call is cancelled.
   */
  async poll<R>(
    ns: string,
    name: string,
    kind: TaskKind,
    ctx: CallContext,
    start: (task: T) => R | null,
  ): Promise<R | null> {
    const q = this.queue(ns, name, kind);
    const limit = Date.now() + Math.max(0, Math.min(LONG_POLL_MS, ctx.remainingMs() - 1000));
    for (;;) {
      q.lastPollTime = Date.now();
      while (q.tasks.length > 0) {
        const res = start(q.tasks.shift()!);
        if (res !== null) return res;
      }
      const remaining = limit - Date.now();
      if (remaining <= 0 || ctx.isCancelled()) return null;
      const task = await new Promise<T | null>((resolve) => {
        let done = false;
        const poller: Poller<T> = {
          deliver: (t) => {
            if (done) return;
            done = true;
            clearTimeout(timer);
            resolve(t);
          },
        };
        const finish = () => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          const i = q.pollers.indexOf(poller);
          if (i >= 0) q.pollers.splice(i, 1);
          resolve(null);
        };
        const timer = setTimeout(finish, remaining);
        void ctx.cancelled.then(finish);
        q.pollers.push(poller);
      });
      q.lastPollTime = Date.now();
      if (task === null) return null;
      if (ctx.isCancelled()) {
        // The caller went away: give the task to someone else.
        this.add(ns, name, kind, task);
        return null;
      }
      const res = start(task);
      if (res !== null) return res;
    }
  }
}
