/**
 * The operator's surface: the `status` and `plan` queries, every command as a signal and as an update
 * with a validator (same validation: a rejected signal is recorded, a rejected update answers why),
 * and the scheduled verification runs' results.
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
import { currentPhase, pushWarning } from './state.js';
import { buildStatus } from './status.js';

/** Installs every handler. `interrupt` cancels the running step (pause, rollback, abort act at once). */
export function installHandlers(ctx: MigrationContext, interrupt: () => void): void {
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
  wf.setHandler(verificationResultSignal, (summary: VerificationSummary) => {
    const problem = verificationSummaryProblem(summary);
    if (problem) {
      // A malformed result must not count as a verification (a gate reads totalMismatches).
      pushWarning(s, nowIso(), `ignored signal verificationResult: ${problem}`);
      ctx.changed();
      return;
    }
    s.lastScheduledVerification = summary;
    s.lastVerification = summary;
    if (summary.totalMismatches > 0) {
      pushWarning(
        s,
        nowIso(),
        `scheduled verification ${summary.origin} found ${summary.totalMismatches} mismatches`,
      );
    }
    ctx.changed();
  });
}

const isCount = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/** What is wrong with a verificationResult payload (null: well-formed). */
function verificationSummaryProblem(v: unknown): string | null {
  if (!v || typeof v !== 'object' || Array.isArray(v))
    return 'the payload must be a JSON object (a VerificationSummary, as verification workflows send)';
  const x = v as Record<string, unknown>;
  if (typeof x.origin !== 'string') return '"origin" must be a string';
  if (x.authoritative !== 'source' && x.authoritative !== 'target')
    return '"authoritative" must be "source" or "target"';
  if (typeof x.finishedAt !== 'string') return '"finishedAt" must be a timestamp string';
  if (!isCount(x.totalMismatches)) return '"totalMismatches" must be a whole number (0 or more)';
  if (!isCount(x.totalRepaired)) return '"totalRepaired" must be a whole number (0 or more)';
  if (!Array.isArray(x.tables)) return '"tables" must be a list of per-table results';
  return null;
}
