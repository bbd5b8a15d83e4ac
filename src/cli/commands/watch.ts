import type { Command } from 'commander';
import type { MigrationStatus } from '../../workflows/api.js';
import { parsePositiveSeconds } from '../arguments.js';
import {
  action,
  withCommonOptions,
  type ActionResult,
  type CommandContext,
  type Runtime,
} from '../common.js';
import { toCliError } from '../errors.js';
import { ExitCode, type ExitCodeValue } from '../exit-codes.js';
import { liveFrame } from '../render/live-view.js';
import { createDisplay } from '../watch/display.js';
import { resolveMigration, type MigrationTarget } from '../target.js';
import { executionInfo, statusDocument } from './status.js';
import { statusQuery } from '../../workflows/api.js';

/**
 * Exit code for a closed migration: 0 when the workflow completed and the migration with it; 5 when
 * the workflow failed, was terminated, cancelled or timed out, or the migration ended ABORTED.
 */
export function closedExitCode(executionStatus: string, finalState?: string): ExitCodeValue {
  return executionStatus === 'COMPLETED' && finalState !== 'ABORTED' ? ExitCode.Ok : ExitCode.WorkflowFailed;
}

/** The final status a completed migration workflow returned (undefined if it did not complete). */
async function finalStatus(target: MigrationTarget): Promise<MigrationStatus | undefined> {
  if (target.description.status.name !== 'COMPLETED') return undefined;
  try {
    return (await target.handle.result()) as MigrationStatus;
  } catch {
    return undefined;
  }
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });

/** Re-reads the execution's state (describe) into the target. */
async function refresh(target: MigrationTarget): Promise<MigrationTarget> {
  return { ...target, description: await target.handle.describe() };
}

async function watch(ctx: CommandContext, idArg: string | undefined, intervalSeconds: number): Promise<void> {
  let target = await resolveMigration(ctx, idArg);
  const session = await ctx.session();
  const stop = new AbortController();
  const unsubscribe = ctx.runtime.onInterrupt(() => stop.abort());
  const display = ctx.out.json ? undefined : createDisplay(ctx.runtime.streams);
  const queryTimeout = Math.min(ctx.settings.rpcTimeoutMs, Math.max(2000, intervalSeconds * 2000));
  let last: MigrationStatus | undefined;
  let lastJson = '';
  let waitingNoted = false;
  try {
    for (;;) {
      target = await refresh(target);
      try {
        last = await session.withDeadline(() => target.handle.query(statusQuery), queryTimeout);
        waitingNoted = false;
      } catch (err) {
        const mapped = await toCliError(err, ctx.errorContext);
        if (mapped.exitCode !== ExitCode.Unavailable || target.description.status.name !== 'RUNNING') {
          if (!last) throw mapped;
        } else if (!waitingNoted) {
          display?.message(`(${mapped.message})`);
          waitingNoted = true;
        }
      }
      const closed = target.description.status.name !== 'RUNNING';
      if (closed) last = (await finalStatus(target)) ?? last;
      if (last) {
        if (display) display.show(liveFrame(last, executionInfo(target)));
        else {
          const doc = JSON.stringify(statusDocument(target, last));
          if (doc !== lastJson || closed) ctx.out.jsonLine(statusDocument(target, last));
          lastJson = doc;
        }
      }
      if (closed) {
        display?.stop();
        const status = target.description.status.name;
        const state = last ? `, migration ${last.state}` : '';
        const error = last?.error ? ` (${last.error})` : '';
        ctx.out.note(`migration ${target.migrationId} closed: workflow ${status}${state}${error}`);
        ctx.exitCode = closedExitCode(status, last?.state);
        return;
      }
      await sleep(intervalSeconds * 1000, stop.signal);
      if (stop.signal.aborted) {
        display?.stop();
        ctx.out.note(
          `stopped watching; migration ${target.migrationId} keeps running (migrate watch ${target.migrationId} to resume)`,
        );
        ctx.exitCode = ExitCode.Interrupted;
        return;
      }
    }
  } finally {
    // Also on errors: cli-progress hid the cursor.
    display?.stop();
    unsubscribe();
  }
}

/** Waits for the workflow to close: 0 completed, 5 failed/terminated/cancelled/timed out. */
async function wait(ctx: CommandContext, idArg: string | undefined): Promise<void> {
  let target = await resolveMigration(ctx, idArg);
  const stop = new AbortController();
  const unsubscribe = ctx.runtime.onInterrupt(() => stop.abort());
  try {
    while (target.description.status.name === 'RUNNING') {
      await sleep(1000, stop.signal);
      if (stop.signal.aborted) {
        ctx.out.note(`stopped waiting; migration ${target.migrationId} keeps running`);
        ctx.exitCode = ExitCode.Interrupted;
        return;
      }
      target = await refresh(target);
    }
  } finally {
    unsubscribe();
  }
  const status = target.description.status.name;
  const final = await finalStatus(target);
  ctx.out.result(
    {
      ok: closedExitCode(status, final?.state) === ExitCode.Ok,
      migrationId: target.migrationId,
      workflowId: target.workflowId,
      execution: status,
      state: final?.state ?? null,
      status: final ?? null,
    },
    () =>
      `migration ${target.migrationId} closed: workflow ${status}${final ? `, migration ${final.state}` : ''}`,
  );
  ctx.exitCode = closedExitCode(status, final?.state);
}

export function registerWatchCommands(program: Command, runtime: Runtime, result: ActionResult): void {
  withCommonOptions(
    program
      .command('watch [ID]')
      .description(
        'live view (phase, copy bars, lag, read percent, repairs) until the workflow closes; Ctrl-C leaves it running',
      )
      .option('--interval <seconds>', 'refresh interval', parsePositiveSeconds, 1),
    runtime,
  ).action(
    action(runtime, result, async (ctx, id: string | undefined) => {
      await watch(ctx, id, (ctx.options as { interval?: number }).interval ?? 1);
    }),
  );

  withCommonOptions(
    program
      .command('wait [ID]')
      .description(
        'wait until the workflow closes: exit 0 if the migration completed, 5 if it failed or was aborted',
      ),
    runtime,
  ).action(
    action(runtime, result, async (ctx, id: string | undefined) => {
      await wait(ctx, id);
    }),
  );
}
