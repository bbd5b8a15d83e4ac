/**
 * Maps the data plane's RunContext onto Temporal's activity Context: progress -> heartbeat details
 * (and an optional external checkpoint), resume <- the previous attempt's heartbeat details (or the
 * external checkpoint when this is a fresh activity, e.g. after a pause), signal <- cancellation.
 *
 * Heartbeats carry a progress watchdog (db/watchdog.ts): a ticker re-sends the last details every
 * second so quiet but healthy stretches (throttling, an idle binlog) neither time out nor delay
 * cancellation, but every heartbeat, ticker or progress, is withheld while the work is hung (a
 * statement past the statement timeout, a binlog connection silent past the stall limit). Temporal
 * then times the attempt out after the heartbeat timeout and retries it from its last progress.
 */
import { Context } from '@temporalio/activity';
import type { RunContext } from '../contracts.js';
import { runWatched, StallWatch } from '../db/watchdog.js';
import { markSelfHeartbeating } from './keep-alive.js';

/** Heartbeat-details field with the time (ms) of the last progress report. */
export const PROGRESS_AT = 'progressAt';

export interface CheckpointStore {
  load<P>(key: string): Promise<P | undefined>;
  save<P>(key: string, value: P): Promise<void>;
}

export interface ActivityRun<P> {
  ctx: RunContext<P>;
  /** Latest progress reported (or resumed). */
  latest(): P | undefined;
  /** Runs the activity's work under the watchdog (its statements and streams are watched). */
  watched<R>(fn: () => Promise<R>): Promise<R>;
  /** Why the work counts as hung now, or null (tests, logs). */
  stalled(): string | null;
  /** Stops the ticker and flushes the last checkpoint. */
  close(): Promise<void>;
}

export async function activityRun<P>(
  options: { store?: CheckpointStore; checkpointKey?: string; tickMs?: number; watch?: StallWatch } = {},
): Promise<ActivityRun<P>> {
  const actx = Context.current();
  markSelfHeartbeating(actx);
  const { store, checkpointKey } = options;
  const watch = options.watch ?? new StallWatch();
  let resume = actx.info.heartbeatDetails as P | undefined;
  if (resume === undefined && store && checkpointKey) resume = await store.load<P>(checkpointKey);
  let latest: P | undefined = resume;
  let pendingSave: Promise<void> = Promise.resolve();
  let lastSaved = 0;
  let reportedStall: string | null = null;
  // When progress was last reported: sent with every heartbeat (PROGRESS_AT), so the workflow can show
  // how long an activity has been without progress (activityHealth).
  let progressAt = Date.now();
  const details = () =>
    latest !== null && typeof latest === 'object' ? { ...latest, [PROGRESS_AT]: progressAt } : latest;
  const save = (force: boolean) => {
    if (!store || !checkpointKey || latest === undefined) return;
    if (!force && Date.now() - lastSaved < 500) return;
    lastSaved = Date.now();
    const value = latest;
    pendingSave = pendingSave.then(() => store.save(checkpointKey, value)).catch(() => undefined);
  };
  const heartbeat = () => {
    const stall = watch.stalled();
    if (stall) {
      if (stall !== reportedStall) actx.log.warn(`withholding heartbeats, work is hung: ${stall}`);
      reportedStall = stall;
      return;
    }
    reportedStall = null;
    actx.heartbeat(details());
  };
  const timer = setInterval(() => {
    heartbeat();
    save(false);
  }, options.tickMs ?? 1000);
  timer.unref();
  return {
    ctx: {
      resume,
      signal: actx.cancellationSignal,
      progress: (next: P) => {
        latest = next;
        progressAt = Date.now();
        heartbeat();
        save(false);
      },
    },
    latest: () => latest,
    watched: (fn) => runWatched(watch, fn),
    stalled: () => watch.stalled(),
    close: async () => {
      clearInterval(timer);
      save(true);
      await pendingSave;
    },
  };
}
