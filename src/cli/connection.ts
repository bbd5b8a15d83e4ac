import type { Client, Connection } from '@temporalio/client';
import { CliError, ExitCode } from './exit-codes.js';
import { credentialsRefused, rootMessage, toCliError, unreachableMessage } from './errors.js';
import { diagnoseConnection } from '../temporal/diagnose.js';
import type { TemporalSettings } from './settings.js';

/** An open connection to Temporal for one command. */
export interface Session {
  settings: TemporalSettings;
  connection: Connection;
  client: Client;
  /** Runs `fn` with the RPC deadline (MIGRATE_RPC_TIMEOUT): a query or update no worker answers fails with exit 4. */
  withDeadline<T>(fn: () => Promise<T>, ms?: number): Promise<T>;
  close(): Promise<void>;
}

/**
 * Connects and checks the namespace, so every failure to reach Temporal is one clear line with
 * exit code 4 (or 2 for a namespace that does not exist) before the command does anything.
 */
export async function openSession(settings: TemporalSettings): Promise<Session> {
  if (!settings.connection)
    throw new CliError(ExitCode.Usage, settings.configError ?? 'no Temporal connection');
  const temporal = settings.connection;
  const { Client, Connection } = await import('@temporalio/client');
  let connection: Connection;
  try {
    connection = await Connection.connect({
      ...temporal.connectionOptions,
      connectTimeout: settings.connectTimeoutMs,
    });
  } catch (err) {
    const refused = credentialsRefused(err, settings);
    if (refused) throw refused;
    // The SDK only says it missed the deadline: a TLS handshake with the same settings says why.
    const why = await diagnoseConnection(temporal).catch(() => undefined);
    throw new CliError(
      why ? ExitCode.Usage : ExitCode.Unavailable,
      why
        ? `cannot connect to Temporal at ${temporal.summary}: ${why}`
        : unreachableMessage(settings, rootMessage(err)),
    );
  }
  try {
    await connection.withDeadline(Date.now() + settings.connectTimeoutMs, () =>
      connection.workflowService.describeNamespace({ namespace: settings.namespace }),
    );
  } catch (err) {
    await connection.close().catch(() => undefined);
    const mapped = await toCliError(err, { settings });
    if (mapped.exitCode === ExitCode.NotFound) {
      throw new CliError(
        ExitCode.Usage,
        `namespace "${settings.namespace}" does not exist on ${settings.address}: set TEMPORAL_NAMESPACE to an existing one`,
      );
    }
    throw mapped;
  }
  const client = new Client({ connection, namespace: settings.namespace });
  return {
    settings,
    connection,
    client,
    withDeadline: (fn, ms = settings.rpcTimeoutMs) => connection.withDeadline(Date.now() + ms, fn),
    close: () => connection.close(),
  };
}
