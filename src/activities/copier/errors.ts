export class CopyCancelledError extends Error {
  override name = 'CopyCancelledError';
}

export class StreamNotStartedError extends Error {
  override name = 'StreamNotStartedError';
  constructor(stream: string, target: string) {
    super(
      `copy ordered against CDC stream "${stream}", but connection "${target}" has no checkpoint row for it: ` +
        'record the sync start (recordSyncStart) before copying',
    );
  }
}

/** Transient errors after which a chunk is simply retried (it is idempotent). */
export function isRetryable(err: unknown): boolean {
  const e = err as { errno?: number; code?: string; fatal?: boolean };
  if (e.errno === 1213 || e.errno === 1205) return true; // deadlock, lock wait timeout
  if (e.fatal) return true; // connection lost
  return ['PROTOCOL_CONNECTION_LOST', 'ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE'].includes(
    e.code ?? '',
  );
}
