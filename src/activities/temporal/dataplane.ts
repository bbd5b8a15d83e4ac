/**
 * Late binding to data-plane modules that other parts of the project provide. A function that is not
 * there (yet) fails its activity with a non-retryable DataPlaneMissing error naming what is missing;
 * the workflow then waits at a "step failed" gate (advance retries it).
 */
import { nonRetryable } from './errors.js';

type AnyFn = (...args: never[]) => unknown;

const cache = new Map<string, Promise<Record<string, unknown> | null>>();

function load(path: string): Promise<Record<string, unknown> | null> {
  let p = cache.get(path);
  if (!p) {
    p = import(path).then(
      (m: Record<string, unknown>) => m,
      (err: { code?: string }) => {
        if (err?.code === 'ERR_MODULE_NOT_FOUND') return null;
        throw err;
      },
    );
    cache.set(path, p);
  }
  return p;
}

/** The first export named `name` among the candidate modules (paths relative to src/activities/temporal). */
export async function dataPlane<F extends AnyFn>(name: string, candidates: string[]): Promise<F> {
  for (const path of candidates) {
    const mod = await load(path);
    const fn = mod?.[name];
    if (typeof fn === 'function') return fn as F;
  }
  throw nonRetryable(
    `data-plane function ${name} is not available on this worker (looked in ${candidates.join(', ')})`,
    'DataPlaneMissing',
  );
}
