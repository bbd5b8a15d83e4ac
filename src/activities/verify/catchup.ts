import type { RunContext } from '../contracts.js';

/**
 * Waits until the CDC stream feeding the non-authoritative side has applied everything the authoritative
 * side had committed when this was called. Differences seen before that may be replication lag.
 */
export type CatchUpWaiter = (signal?: AbortSignal) => Promise<void>;

export function abortIfNeeded(signal?: AbortSignal): void {
  if (signal?.aborted) {
    const reason: unknown = signal.reason;
    throw reason instanceof Error ? reason : new Error('verification cancelled');
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason instanceof Error ? signal.reason : new Error('cancelled'));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason instanceof Error ? signal.reason : new Error('cancelled'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export type Ctx<P> = RunContext<P>;
