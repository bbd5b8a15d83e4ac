/**
 * The operator's surface: the `status` and `plan` queries, every command as a signal and as an update
 * with a validator (same validation: a rejected signal is recorded, a rejected update answers why),
 * and the scheduled verification runs' reports (confirmed against their runs before they count).
 */
import * as wf from '@temporalio/workflow';
import type { SignalDefinition, UpdateDefinition } from '@temporalio/common';
import {
  COMMANDS,
  planQuery,
  signals,
  statusQuery,
  updates,
  verificationResultSignal,
  type CommandName,
  type CommandPayloads,
  type CommandResult,
  type MigrationStatus,
  type VerificationSummary,
} from './api.js';
import { acceptCommand, recordRejection, validateCommand } from './commands.js';
import { nowIso, type MigrationContext } from './context.js';
import { currentPhase } from './state.js';
import { buildStatus } from './status.js';
import type { VerificationReports } from './verification-reports.js';

/** Installs every handler. `interrupt` cancels the running step (pause, rollback, abort act at once). */
export function installHandlers(
  ctx: MigrationContext,
  interrupt: () => void,
  reports: VerificationReports,
): void {
  const { s, plan } = ctx;

  const command = (name: CommandName, payload: unknown, via: 'signal' | 'update'): CommandResult | null => {
    const at = nowIso();
    const v = validateCommand(s, plan, name, payload);
    if (!v.ok) {
      recordRejection(s, name, payload, via, at, v.reason);
      ctx.changed();
      return null;
    }
    acceptCommand(s, plan, name, payload as CommandPayloads[typeof name] | undefined, via, at, v.message);
    if (name === 'pause' || name === 'rollback' || name === 'abort') interrupt();
    ctx.changed();
    return { accepted: true, command: name, message: v.message, phase: currentPhase(s), state: s.state };
  };

  wf.setHandler(statusQuery, (): MigrationStatus => buildStatus(s));
  wf.setHandler(planQuery, () => plan);
  for (const name of COMMANDS) {
    const signal = signals[name] as SignalDefinition<[unknown?]>;
    wf.setHandler(signal, (payload?: unknown) => {
      command(name, payload, 'signal');
    });
    const update = updates[name] as UpdateDefinition<CommandResult, [unknown?]>;
    wf.setHandler(
      update,
      (payload?: unknown): CommandResult => {
        const result = command(name, payload, 'update');
        if (!result) throw wf.ApplicationFailure.nonRetryable('rejected', 'CommandRejected');
        return result;
      },
      {
        validator: (payload?: unknown) => {
          const v = validateCommand(s, plan, name, payload);
          if (!v.ok) throw new Error(`${name} rejected: ${v.reason}`);
        },
      },
    );
  }
  // A report only queues its run for confirmation (verification-reports.ts): a bare signal never
  // becomes a verification a gate relies on.
  wf.setHandler(verificationResultSignal, (summary: VerificationSummary) => reports.received(summary));
}
