import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { registerControlCommands } from './commands/control.js';
import { registerListCommand } from './commands/list.js';
import { registerPlanCommands } from './commands/plan.js';
import { registerScheduleCommands } from './commands/schedule.js';
import { registerStartCommand } from './commands/start.js';
import { registerStatusCommand } from './commands/status.js';
import { registerVerifyCommand } from './commands/verify.js';
import { registerWatchCommands } from './commands/watch.js';
import { withConnectionOptions, type ActionResult, type Runtime } from './common.js';
import { CliError, ExitCode, type ExitCodeValue } from './exit-codes.js';
import { Output, processStreams } from './output.js';

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

const EXIT_CODES_HELP = `
Exit codes:
  0  ok
  1  rejected by the workflow (the validator's reason is printed) or by the server
  2  usage or configuration error (bad arguments, invalid plan, unknown namespace)
  3  not found (no such migration or schedule)
  4  Temporal unreachable, or no worker answered in time
  5  the migration did not complete: workflow failed, terminated, cancelled, timed out, or aborted (watch, wait)
  130 interrupted (Ctrl-C during watch/wait; the workflow keeps running)

Temporal connection, as Temporal's CLI: flags, over TEMPORAL_ADDRESS (default 127.0.0.1:7233),
TEMPORAL_NAMESPACE (default "default"), TEMPORAL_API_KEY, TEMPORAL_TLS_* variables, over the profile
TEMPORAL_PROFILE (default "default") of the TOML file TEMPORAL_CONFIG_FILE (default
~/.config/temporalio/temporal.toml).
Environment: MIGRATION_ID (default ID), TEMPORAL_TASK_QUEUE (start), MIGRATE_CONNECT_TIMEOUT /
MIGRATE_RPC_TIMEOUT (seconds).`;

export function buildProgram(runtime: Runtime, result: ActionResult): Command {
  const program = withConnectionOptions(new Command('migrate'))
    .description('operate durable zero-downtime MySQL migrations running on Temporal')
    .version(version(), '-V, --version')
    .addHelpText('after', EXIT_CODES_HELP)
    .showHelpAfterError('(add --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => runtime.streams.stdout.write(s),
      writeErr: (s) => runtime.streams.stderr.write(s),
    });
  registerStartCommand(program, runtime, result);
  registerStatusCommand(program, runtime, result);
  registerWatchCommands(program, runtime, result);
  registerControlCommands(program, runtime, result);
  registerVerifyCommand(program, runtime, result);
  registerScheduleCommands(program, runtime, result);
  registerListCommand(program, runtime, result);
  registerPlanCommands(program, runtime, result);
  // Every (sub)command: usage errors end in exit 2 through run(), not process.exit().
  const override = (cmd: Command) => {
    cmd.exitOverride().configureOutput(program.configureOutput());
    cmd.commands.forEach(override);
  };
  program.commands.forEach(override);
  return program;
}

export const defaultRuntime: Runtime = {
  streams: processStreams,
  env: process.env,
  onInterrupt(handler) {
    const listener = () => handler();
    process.on('SIGINT', listener);
    process.on('SIGTERM', listener);
    return () => {
      process.off('SIGINT', listener);
      process.off('SIGTERM', listener);
    };
  },
};

/** Runs `migrate` with the given arguments (without node and script); resolves to the exit code. */
export async function run(args: string[], runtime: Runtime = defaultRuntime): Promise<ExitCodeValue> {
  const result: ActionResult = { exitCode: ExitCode.Ok };
  const program = buildProgram(runtime, result);
  try {
    await program.parseAsync(args, { from: 'user' });
    return result.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return ExitCode.Ok;
      if (err.code === 'commander.help' || err.code === 'commander.executeSubCommandAsync')
        return ExitCode.Usage;
      // commander already printed the message on stderr; --json callers also get it on stdout.
      if (args.includes('--json')) {
        const message = err.message.replace(/^error: /, '');
        new Output(true, { stdout: runtime.streams.stdout, stderr: nullStream }).error(
          new CliError(ExitCode.Usage, message),
        );
      }
      return ExitCode.Usage;
    }
    return new Output(args.includes('--json'), runtime.streams).error(
      new CliError(
        ExitCode.Rejected,
        `unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
      ),
    );
  }
}

const nullStream = { write: () => true } as unknown as NodeJS.WritableStream;
