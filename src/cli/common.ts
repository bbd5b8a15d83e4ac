import { Command, Option } from 'commander';
import { openSession, type Session } from './connection.js';
import { toCliError, type ErrorContext } from './errors.js';
import { CliError, ExitCode, type ExitCodeValue } from './exit-codes.js';
import { defaultActor } from './identity.js';
import { Output, type Streams } from './output.js';
import { temporalSettings, type TemporalSettings } from './settings.js';
import type { TemporalFlags } from '../temporal/connection.js';

/** What the program runs with: streams and environment (process ones, or test doubles). */
export interface Runtime {
  streams: Streams;
  env: NodeJS.ProcessEnv;
  /** Subscribes to Ctrl-C for long-running commands (watch, wait); returns an unsubscribe function. */
  onInterrupt(handler: () => void): () => void;
}

/** Options every command takes. */
export interface CommonOptions {
  json?: boolean;
  by?: string;
  reason?: string;
}

/** Adds --json, --by and --reason to a command. */
export function withCommonOptions(cmd: Command, runtime: Runtime): Command {
  return cmd
    .addOption(new Option('--json', 'machine-readable output on stdout (and nothing else)'))
    .addOption(
      new Option('--by <name>', 'who runs this, for the audit log').default(
        defaultActor(runtime.env),
        '$USER@hostname',
      ),
    )
    .addOption(new Option('--reason <text>', 'why, for the audit log'));
}

/**
 * The connection flags every command takes, as Temporal's CLI names them (given before or after the
 * command): they win over TEMPORAL_* variables, which win over the profile file.
 */
export function withConnectionOptions(program: Command): Command {
  return program
    .addOption(new Option('--address <host:port>', 'Temporal frontend (TEMPORAL_ADDRESS)'))
    .addOption(new Option('--namespace <name>', 'Temporal namespace (TEMPORAL_NAMESPACE)'))
    .addOption(new Option('--profile <name>', 'profile of the TOML profile file (TEMPORAL_PROFILE)'))
    .addOption(new Option('--config-file <path>', 'TOML profile file (TEMPORAL_CONFIG_FILE)'))
    .addOption(new Option('--tls', 'connect with TLS (TEMPORAL_TLS)'))
    .addOption(
      new Option('--tls-cert-path <file>', 'client certificate for mTLS (TEMPORAL_TLS_CLIENT_CERT_PATH)'),
    )
    .addOption(new Option('--tls-key-path <file>', 'client key for mTLS (TEMPORAL_TLS_CLIENT_KEY_PATH)'))
    .addOption(
      new Option('--tls-ca-path <file>', "server's CA certificate (TEMPORAL_TLS_SERVER_CA_CERT_PATH)"),
    )
    .addOption(
      new Option('--tls-server-name <name>', "name in the server's certificate (TEMPORAL_TLS_SERVER_NAME)"),
    );
}

function temporalFlags(o: TemporalFlags): TemporalFlags {
  const flags: TemporalFlags = {};
  for (const key of [
    'address',
    'namespace',
    'profile',
    'configFile',
    'tls',
    'tlsCertPath',
    'tlsKeyPath',
    'tlsCaPath',
    'tlsServerName',
  ] as const) {
    if (o[key] !== undefined) (flags as Record<string, unknown>)[key] = o[key];
  }
  return flags;
}

/** Everything a command action needs. */
export interface CommandContext {
  runtime: Runtime;
  out: Output;
  settings: TemporalSettings;
  options: CommonOptions;
  /** Mutable: commands fill in the migration they resolved, so error lines name it. */
  errorContext: ErrorContext;
  /** Opens the Temporal connection on first use; closed when the command ends. */
  session(): Promise<Session>;
  /** Set by a command to end with a non-zero code without an error message (e.g. watch: workflow failed). */
  exitCode: ExitCodeValue;
}

/** The `{by, reason}` sent with every workflow command (reason left out when not given). */
export function commandMeta(options: CommonOptions): { by?: string; reason?: string } {
  const meta: { by?: string; reason?: string } = {};
  if (options.by) meta.by = options.by;
  if (options.reason) meta.reason = options.reason;
  return meta;
}

/** Exit code of the last action run through `action()`, read by run(). */
export interface ActionResult {
  exitCode: ExitCodeValue;
}

/**
 * Wraps a command's implementation: builds its context, maps every error to the documented exit
 * code and one clear line (a JSON error object too with --json), and closes the connection.
 */
export function action<A extends unknown[]>(
  runtime: Runtime,
  result: ActionResult,
  impl: (ctx: CommandContext, ...args: A) => Promise<void>,
): (...args: unknown[]) => Promise<void> {
  return async (...raw: unknown[]) => {
    // commander passes the declared arguments, then the options object, then the Command.
    const cmd = raw[raw.length - 1] as Command;
    const options = cmd.opts<CommonOptions>();
    const out = new Output(Boolean(options.json), runtime.streams);
    const settings = temporalSettings(runtime.env, temporalFlags(cmd.optsWithGlobals<TemporalFlags>()));
    let session: Promise<Session> | undefined;
    const ctx: CommandContext = {
      runtime,
      out,
      settings,
      options,
      errorContext: { settings },
      session: () => (session ??= openSession(settings)),
      exitCode: ExitCode.Ok,
    };
    try {
      await impl(ctx, ...(raw.slice(0, -2) as A));
      result.exitCode = ctx.exitCode;
    } catch (err) {
      result.exitCode = out.error(await toCliError(err, ctx.errorContext));
    } finally {
      if (session) {
        const s = await session.catch(() => undefined);
        await s?.close().catch(() => undefined);
      }
    }
  };
}

export { CliError, ExitCode };
