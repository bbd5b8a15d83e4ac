/**
 * Maps the data plane's RunContext onto Temporal's activity Context: progress -> heartbeat details
 * (and an optional external checkpoint), resume <- the previous attempt's heartbeat details (or the
 * external checkpoint when this is a fresh activity, e.g. after a pause), signal <- cancellation.
 * A ticker heartbeats the last details every few seconds so long quiet stretches neither time out nor
 * delay cancellation.
 */
import { Context } from '@temporalio/activity';
import type { RunContext } from '../contracts.js';

export interface CheckpointStore {
  load<P>(key: string): Promise<P | undefined>;
  save<P>(key: string, value: P): Promise<void>;
}

export interface ActivityRun<P> {
  ctx: RunContext<P>;
  /** Latest progress reported (or resumed). */
  latest(): P | undefined;
  /** Stops the ticker and flushes the last checkpoint. */
  close(): Promise<void>;
}

export async function activityRun<P>(
  options: { store?: CheckpointStore; checkpointKey?: string; tickMs?: number } = {},
): Promise<ActivityRun<P>> {
  const actx = Context.current();
  const { store, checkpointKey } = options;
  let resume = actx.info.heartbeatDetails as P | undefined;
  if (resume === undefined && store && checkpointKey) resume = await store.load<P>(checkpointKey);
  let latest: P | undefined = resume;
  let pendingSave: Promise<void> = Promise.resolve();
  let lastSaved = 0;
  const save = (force: boolean) => {
    if (!store || !checkpointKey || latest === undefined) return;
    if (!force && Date.now() - lastSaved < 500) return;
    lastSaved = Date.now();
    const value = latest;
    pendingSave = pendingSave.then(() => store.save(checkpointKey, value)).catch(() => undefined);
  };
  const timer = setInterval(() => {
    actx.heartbeat(latest);
    save(false);
  }, options.tickMs ?? 2000);
  timer.unref();
  return {
    ctx: {
      resume,
      signal: actx.cancellationSignal,
      progress: (details: P) => {
        latest = details;
        actx.heartbeat(details);
        save(false);
      },
    },
    latest: () => latest,
    close: async () => {
      clearInterval(timer);
      save(true);
      await pendingSave;
    },
  };
}
