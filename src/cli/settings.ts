import {
  DEFAULT_TEMPORAL_ADDRESS,
  DEFAULT_TEMPORAL_NAMESPACE,
  loadTemporalConnection,
  TemporalConfigError,
  type TemporalConnectionConfig,
  type TemporalFlags,
} from '../temporal/connection.js';

/**
 * Where the CLI finds Temporal: as Temporal's own CLI does (src/temporal/connection.ts), flags over
 * TEMPORAL_* variables over the TOML profile file.
 */
export interface TemporalSettings {
  address: string;
  namespace: string;
  /** The loaded connection (holds the API key and key material: never print it); absent when `configError`. */
  connection?: TemporalConnectionConfig;
  /** What is wrong with the connection settings: a command that needs Temporal stops with it (exit 2). */
  configError?: string;
  /** How long to wait for the server before giving up (exit 4). */
  connectTimeoutMs: number;
  /** How long an update or query may wait for a worker to answer (exit 4 after that). */
  rpcTimeoutMs: number;
}

export const DEFAULT_ADDRESS = DEFAULT_TEMPORAL_ADDRESS;
export const DEFAULT_NAMESPACE = DEFAULT_TEMPORAL_NAMESPACE;

function positiveMs(raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw.trim() === '') return fallback;
  const seconds = Number(raw);
  return Number.isFinite(seconds) && seconds > 0 ? Math.round(seconds * 1000) : fallback;
}

export function temporalSettings(
  env: NodeJS.ProcessEnv = process.env,
  flags: TemporalFlags = {},
): TemporalSettings {
  const timeouts = {
    connectTimeoutMs: positiveMs(env.MIGRATE_CONNECT_TIMEOUT, 5_000),
    rpcTimeoutMs: positiveMs(env.MIGRATE_RPC_TIMEOUT, 30_000),
  };
  try {
    const connection = loadTemporalConnection({ env, flags });
    return { address: connection.address, namespace: connection.namespace, connection, ...timeouts };
  } catch (err) {
    if (!(err instanceof TemporalConfigError)) throw err;
    return {
      address: flags.address || env.TEMPORAL_ADDRESS?.trim() || DEFAULT_ADDRESS,
      namespace: flags.namespace || env.TEMPORAL_NAMESPACE?.trim() || DEFAULT_NAMESPACE,
      configError: err.message,
      ...timeouts,
    };
  }
}
