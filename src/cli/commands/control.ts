import { Command, Option } from 'commander';
import {
  updates,
  type CommandName,
  type CommandPayloads,
  type CommandResult,
  type Phase,
} from '../../workflows/api.js';
import { parsePercent, parsePhase } from '../arguments.js';
import {
  action,
  commandMeta,
  withCommonOptions,
  type ActionResult,
  type CommandContext,
  type CommonOptions,
  type Runtime,
} from '../common.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { resolveMigration, requireRunning } from '../target.js';

/**
 * Sends one command as the workflow's UPDATE (validated before it is written to history), so the
 * answer is immediate: accepted (exit 0, the workflow's message) or rejected (exit 1, the
 * validator's reason).
 */
export async function sendCommand<K extends CommandName>(
  ctx: CommandContext,
  idArg: string | undefined,
  name: K,
  payload: CommandPayloads[K],
): Promise<CommandResult> {
  const target = await resolveMigration(ctx, idArg);
  requireRunning(target, name);
  const session = await ctx.session();
  // Every update takes its payload as the single argument; called by the definition's own name.
  const update = updates[name].name;
  const result = await session.withDeadline(() =>
    target.handle.executeUpdate<CommandResult, [CommandPayloads[K]]>(update, { args: [payload] }),
  );
  ctx.out.result(
    { ok: true, migrationId: target.migrationId, workflowId: target.workflowId, result },
    () => `${name} accepted: ${result.message} (phase ${result.phase}, ${result.state})`,
  );
  return result;
}

interface RollbackOptions extends CommonOptions {
  to?: Phase;
  readPercent?: number;
}
interface ConfirmOptions extends CommonOptions {
  confirm?: boolean;
  force?: boolean;
}

const forceOption = () =>
  new Option(
    '--force',
    'pass the gate although its health rules block (gate.blockers); needs --reason, recorded in the audit log',
  );

/** --force without --reason: refused before anything is sent (the workflow would refuse it too). */
function requireReason(options: ConfirmOptions): void {
  if (options.force && !options.reason?.trim())
    throw new CliError(ExitCode.Usage, '--force needs --reason "why" (recorded in the audit log)');
}

export function registerControlCommands(program: Command, runtime: Runtime, result: ActionResult): void {
  const simple: [CommandName & ('pause' | 'resume' | 'abort'), string][] = [
    ['pause', 'pause at the next safe point (a chunk boundary); resume continues from checkpoints'],
    ['resume', 'resume a paused migration'],
    ['abort', 'roll everything back (compensations in reverse) and end the migration'],
  ];
  for (const [name, description] of simple) {
    withCommonOptions(program.command(`${name} [ID]`).description(description), runtime).action(
      action(runtime, result, async (ctx, id: string | undefined) => {
        await sendCommand(ctx, id, name, commandMeta(ctx.options));
      }),
    );
  }

  withCommonOptions(
    program
      .command('advance [ID]')
      .description('pass the current gate (into FINALIZE only with --confirm); at a failed gate: retry')
      .addOption(new Option('--confirm', 'confirm advancing into the irreversible FINALIZE'))
      .addOption(forceOption()),
    runtime,
  ).action(
    action(runtime, result, async (ctx, id: string | undefined) => {
      const options = ctx.options as ConfirmOptions;
      requireReason(options);
      await sendCommand(ctx, id, 'advance', {
        ...commandMeta(options),
        ...(options.confirm ? { confirm: true } : {}),
        ...(options.force ? { force: true } : {}),
      });
    }),
  );

  withCommonOptions(
    program
      .command('rollback [ID]')
      .description('run compensations in reverse down to a phase (default: one step back)')
      .addOption(new Option('--to <phase>', 'phase to return to (one already reached)').argParser(parsePhase))
      .addOption(
        new Option('--read-percent <percent>', 'with --to READ_SWITCH: the read step to return to').argParser(
          parsePercent,
        ),
      ),
    runtime,
  ).action(
    action(runtime, result, async (ctx, id: string | undefined) => {
      const options = ctx.options as RollbackOptions;
      if (options.readPercent !== undefined && options.to !== 'READ_SWITCH') {
        throw new CliError(ExitCode.Usage, '--read-percent needs --to READ_SWITCH');
      }
      await sendCommand(ctx, id, 'rollback', {
        ...commandMeta(options),
        ...(options.to ? { toPhase: options.to } : {}),
        ...(options.readPercent !== undefined ? { readPercent: options.readPercent } : {}),
      });
    }),
  );

  withCommonOptions(
    program
      .command('read-percent')
      .description('set the share of reads sent to the target (READ_SWITCH)')
      .argument('<percent>', 'whole percentage 0-100', parsePercent)
      .argument('[ID]', 'migration id'),
    runtime,
  ).action(
    action(runtime, result, async (ctx, percent: number, id: string | undefined) => {
      await sendCommand(ctx, id, 'setReadPercent', { ...commandMeta(ctx.options), percent });
    }),
  );

  withCommonOptions(
    program
      .command('finalize [ID]')
      .description('the one irreversible step: stop reverse sync, loops and schedules; needs --confirm')
      .addOption(new Option('--confirm', 'confirm the irreversible FINALIZE'))
      .addOption(forceOption()),
    runtime,
  ).action(
    action(runtime, result, async (ctx, id: string | undefined) => {
      const options = ctx.options as ConfirmOptions;
      if (!options.confirm) {
        throw new CliError(
          ExitCode.Usage,
          'finalize is irreversible: repeat with --confirm (migrate finalize ID --confirm)',
        );
      }
      requireReason(options);
      await sendCommand(ctx, id, 'finalize', {
        ...commandMeta(options),
        confirm: true,
        ...(options.force ? { force: true } : {}),
      });
    }),
  );
}
