/** Where the CLI finds Temporal: environment only, so scripts and CI configure it one way. */
export interface TemporalSettings {
  address: string;
  namespace: string;
  /** How long to wait for the server before giving up (exit 4). */
  connectTimeoutMs: number;
  /** How long an update or query may wait for a worker to answer (exit 4 after that). */
  rpcTimeoutMs: number;
}

export const DEFAULT_ADDRESS = '127.0.0.1:7233';
export const DEFAULT_NAMESPACE = 'default';

function positiveMs(raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw.trim() === '') return fallback;
  const seconds = Number(raw);
  return Number.isFinite(seconds) && seconds > 0 ? Math.round(seconds * 1000) : fallback;
}

export function temporalSettings(env: NodeJS.ProcessEnv = process.env): TemporalSettings {
  return {
    address: env.TEMPORAL_ADDRESS?.trim() || DEFAULT_ADDRESS,
    namespace: env.TEMPORAL_NAMESPACE?.trim() || DEFAULT_NAMESPACE,
    connectTimeoutMs: positiveMs(env.MIGRATE_CONNECT_TIMEOUT, 5_000),
    rpcTimeoutMs: positiveMs(env.MIGRATE_RPC_TIMEOUT, 30_000),
  };
}
