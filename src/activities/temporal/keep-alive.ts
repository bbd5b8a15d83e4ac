/**
 * Worker liveness for short activities. An activity scheduled with a heartbeat timeout whose body does
 * not heartbeat itself (every `short` call of the workflow: a position read, a switch write, a precheck)
 * is kept alive by this interceptor: a 1 s ticker heartbeats while the body runs. So when the worker
 * dies mid-call, Temporal retries the call elsewhere after the heartbeat timeout, not after the call's
 * start-to-close bound (minutes, sized for the slowest healthy call).
 *
 * The ticker stops for good once the body starts heartbeating itself (activityRun marks its context:
 * it sends its own progress as details, which a detail-less heartbeat must not overwrite), and it
 * withholds heartbeats while a statement of the body is hung (db/watchdog.ts), as activityRun does.
 */
import type { Context } from '@temporalio/activity';
import type { ActivityInterceptors } from '@temporalio/worker';
import { runWatched, StallWatch } from '../db/watchdog.js';

const heartbeatsItself = new WeakSet<Context>();

/** Called by an activity body that sends its own heartbeats (activityRun): the keep-alive ticker stops. */
export function markSelfHeartbeating(ctx: Context): void {
  heartbeatsItself.add(ctx);
}

export function keepAliveInterceptor(ctx: Context, tickMs = 1000): ActivityInterceptors {
  return {
    inbound: {
      async execute(input, next) {
        if (!ctx.info.heartbeatTimeoutMs) return next(input);
        const watch = new StallWatch();
        const timer = setInterval(() => {
          if (heartbeatsItself.has(ctx)) {
            clearInterval(timer);
            return;
          }
          // The previous attempt's details, re-sent: a body that takes over later resumes from them.
          if (!watch.stalled()) ctx.heartbeat(ctx.info.heartbeatDetails);
        }, tickMs);
        timer.unref();
        try {
          return await runWatched(watch, () => next(input));
        } finally {
          clearInterval(timer);
        }
      },
    },
  };
}
