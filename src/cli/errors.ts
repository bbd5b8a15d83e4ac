import { CliError, ExitCode } from './exit-codes.js';
import type { TemporalSettings } from './settings.js';

/** What the command was doing, so error lines can name the migration and the place to look. */
export interface ErrorContext {
  settings: TemporalSettings;
  /** The migration id, when the command is about one. */
  migrationId?: string;
  workflowId?: string;
  scheduleId?: string;
  taskQueue?: string;
}

/** The innermost message of a failure chain (an update validator's reason is the cause's message). */
export function rootMessage(err: unknown): string {
  let current: unknown = err;
  let message = err instanceof Error ? err.message : String(err);
  for (let depth = 0; depth < 8 && current instanceof Error; depth++) {
    if (current.message) message = current.message;
    current = (current as { cause?: unknown }).cause;
  }
  return message;
}

/** gRPC status codes (stable numbers; not importing @grpc/grpc-js keeps usage errors fast). */
const GrpcStatus = {
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  UNIMPLEMENTED: 12,
  UNAVAILABLE: 14,
  PERMISSION_DENIED: 7,
  UNAUTHENTICATED: 16,
} as const;

/** The gRPC status code somewhere in an error's cause chain. */
function grpcCode(err: unknown): number | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 8 && current; depth++) {
    const c = current as { code?: unknown; metadata?: unknown; cause?: unknown };
    if (typeof c.code === 'number' && c.metadata !== undefined) return c.code;
    current = c.cause;
  }
  return undefined;
}

/** The server refused who we are (API key, or an authorizer): exit 2 naming the settings to check. */
export function credentialsRefused(err: unknown, settings: TemporalSettings): CliError | undefined {
  const code = grpcCode(err);
  if (code !== GrpcStatus.UNAUTHENTICATED && code !== GrpcStatus.PERMISSION_DENIED) return undefined;
  const sent = settings.connection?.connectionOptions.apiKey !== undefined;
  const fix = sent
    ? 'check TEMPORAL_API_KEY (or api_key in the profile file)'
    : 'set TEMPORAL_API_KEY (or api_key in the profile file); none was sent';
  return new CliError(
    ExitCode.Usage,
    `Temporal at ${settings.address} refused the credentials: ${rootMessage(err).replace(/^\d+ [A-Z_]+: /, '')}. ${fix}`,
  );
}

function what(ctx: ErrorContext): string {
  if (ctx.migrationId) return `migration "${ctx.migrationId}" (workflow ${ctx.workflowId ?? '?'})`;
  if (ctx.workflowId) return `workflow ${ctx.workflowId}`;
  return 'the request';
}

export function unreachableMessage(settings: TemporalSettings, detail: string): string {
  return (
    `cannot reach Temporal at ${settings.connection?.summary ?? `${settings.address} (namespace ${settings.namespace})`}: ${detail}. ` +
    `Start a server (npm run devserver) or point TEMPORAL_ADDRESS (or the profile file) at one.`
  );
}

function noWorkerMessage(ctx: ErrorContext): string {
  const seconds = Math.round(ctx.settings.rpcTimeoutMs / 1000);
  const queue = ctx.taskQueue ? ` on task queue "${ctx.taskQueue}"` : '';
  return (
    `no worker answered for ${what(ctx)} within ${seconds}s: ` +
    `is a worker running${queue} (npm run worker)? (MIGRATE_RPC_TIMEOUT=<seconds> waits longer)`
  );
}

/**
 * Maps anything a command throws to a CliError with the documented exit code. The Temporal client is
 * loaded only here and when connecting, so usage errors answer without loading it.
 */
export async function toCliError(err: unknown, ctx: ErrorContext): Promise<CliError> {
  if (err instanceof CliError) return err;
  const {
    QueryNotRegisteredError,
    QueryRejectedError,
    ScheduleAlreadyRunning,
    ScheduleNotFoundError,
    ServiceError,
    WorkflowFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
  } = await import('@temporalio/client');
  const { NamespaceNotFoundError, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } =
    await import('@temporalio/common');
  if (err instanceof WorkflowUpdateFailedError) {
    const reason = rootMessage(err.cause ?? err);
    return new CliError(ExitCode.Rejected, /\brejected\b/i.test(reason) ? reason : `rejected: ${reason}`, {
      reason,
    });
  }
  if (err instanceof WorkflowNotFoundError) {
    return new CliError(ExitCode.NotFound, `no ${what(ctx)} in namespace ${ctx.settings.namespace}`);
  }
  if (err instanceof ScheduleNotFoundError) {
    return new CliError(
      ExitCode.NotFound,
      `no verification schedule ${ctx.scheduleId ?? err.scheduleId} in namespace ${ctx.settings.namespace}`,
    );
  }
  if (err instanceof NamespaceNotFoundError) {
    return new CliError(
      ExitCode.Usage,
      `namespace "${err.namespace}" does not exist on ${ctx.settings.address}: set TEMPORAL_NAMESPACE to an existing one`,
    );
  }
  if (err instanceof WorkflowExecutionAlreadyStartedError) {
    return new CliError(
      ExitCode.Rejected,
      `${what(ctx)} is already running: pick another --id, or watch it with \`migrate watch ${ctx.migrationId ?? ''}\``.trim(),
    );
  }
  if (err instanceof ScheduleAlreadyRunning) {
    return new CliError(ExitCode.Rejected, `schedule ${err.scheduleId} already exists`);
  }
  if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) {
    return new CliError(ExitCode.Unavailable, noWorkerMessage(ctx));
  }
  if (err instanceof QueryRejectedError) {
    return new CliError(
      ExitCode.Rejected,
      `${what(ctx)} does not answer queries in its state (${err.status})`,
    );
  }
  if (err instanceof QueryNotRegisteredError) {
    return new CliError(ExitCode.Rejected, `${what(ctx)} does not answer this query: ${err.message}`);
  }
  if (err instanceof WorkflowFailedError) {
    return new CliError(ExitCode.WorkflowFailed, `${what(ctx)} failed: ${rootMessage(err.cause ?? err)}`);
  }
  const refused = credentialsRefused(err, ctx.settings);
  if (refused) return refused;
  const code = grpcCode(err);
  switch (code) {
    case GrpcStatus.UNAVAILABLE:
      return new CliError(ExitCode.Unavailable, unreachableMessage(ctx.settings, rootMessage(err)));
    case GrpcStatus.DEADLINE_EXCEEDED:
      return new CliError(ExitCode.Unavailable, noWorkerMessage(ctx));
    case GrpcStatus.NOT_FOUND:
      return new CliError(ExitCode.NotFound, `not found: ${rootMessage(err)}`);
    case GrpcStatus.INVALID_ARGUMENT:
      return new CliError(ExitCode.Usage, `the server refused the request: ${rootMessage(err)}`);
    case GrpcStatus.UNIMPLEMENTED:
      return new CliError(ExitCode.Rejected, `the server does not support this: ${rootMessage(err)}`);
    default:
      break;
  }
  if (err instanceof ServiceError) {
    return new CliError(ExitCode.Rejected, `Temporal refused the request: ${rootMessage(err)}`);
  }
  const message = err instanceof Error ? err.message : String(err);
  return new CliError(ExitCode.Rejected, `unexpected error: ${message}`);
}
