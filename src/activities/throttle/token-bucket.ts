/**
 * A token bucket: `rate` tokens per second, at most `burst` saved up. take(n) waits until n tokens are
 * available (n larger than the burst is allowed: it waits for the debt to be paid), or the signal aborts.
 */
export class TokenBucket {
  private tokens: number;
  private last = Date.now();

  constructor(
    readonly rate: number,
    readonly burst: number = Math.max(1, rate),
  ) {
    if (!(rate > 0)) throw new RangeError(`rate must be > 0, got ${rate}`);
    this.tokens = this.burst;
  }

  private refill(): void {
    const now = Date.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
  }

  /** Takes n tokens, waiting as long as needed. Returns the time waited (ms). */
  async take(n: number, signal?: AbortSignal): Promise<number> {
    this.refill();
    this.tokens -= n;
    if (this.tokens >= 0) return 0;
    const waitMs = Math.ceil((-this.tokens / this.rate) * 1000);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(done, waitMs);
      function done() {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }
      function onAbort() {
        clearTimeout(timer);
        reject(signal?.reason ?? new Error('aborted'));
      }
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    return waitMs;
  }
}

/** A bucket for an optional rows/s limit: undefined or <= 0 means unthrottled. */
export function rowsPerSecond(limit: number | undefined): TokenBucket | null {
  return limit && limit > 0 ? new TokenBucket(limit, Math.max(limit, 1)) : null;
}
