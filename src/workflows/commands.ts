/**
 * Command validation and acceptance. Pure module: the same checks back update validators (reject
 * with a reason) and signal handlers (ignore with a recorded warning); the state is only changed by
 * acceptCommand, after validation passed.
 */
import {
  COMMANDS,
  isPhase,
  type CommandMeta,
  type CommandName,
  type CommandPayloads,
  type MigrationPlan,
} from './api.js';
import { rollbackTargetIndex } from './compensation.js';
import { currentPhase, isTerminal, pushAudit, pushWarning, type MigrationState } from './state.js';
import { describeStep, nextStep } from './transitions.js';

export type Validation = { ok: true; message: string } | { ok: false; reason: string };

function reject(reason: string): Validation {
  return { ok: false, reason };
}

function metaOf(payload: unknown): { by: string | null; reason: string | null } {
  const p = (payload && typeof payload === 'object' ? payload : {}) as CommandMeta;
  return {
    by: typeof p.by === 'string' ? p.by.slice(0, 200) : null,
    reason: typeof p.reason === 'string' ? p.reason.slice(0, 1000) : null,
  };
}

function asObject(payload: unknown): Record<string, unknown> | null {
  if (payload === undefined || payload === null) return {};
  if (typeof payload !== 'object' || Array.isArray(payload)) return null;
  return payload as Record<string, unknown>;
}

function checkMeta(p: Record<string, unknown>): string | null {
  if (p.by !== undefined && typeof p.by !== 'string') return '"by" must be a string';
  if (p.reason !== undefined && typeof p.reason !== 'string') return '"reason" must be a string';
  return null;
}

/**
 * Passing a gate whose health rules block (`gate.blockers`) needs `force` with a reason: the audit
 * entry then records who passed which blockers and why. A failed gate's advance is a retry, not a
 * pass, and needs no force. Returns the rejection, or the text added to the acceptance message.
 */
function checkForce(s: MigrationState, p: Record<string, unknown>): { reject: string } | { note: string } {
  if (p.force !== undefined && typeof p.force !== 'boolean')
    return { reject: '"force" must be true or false' };
  const blockers = s.gate && !s.gate.failed ? s.gate.blockers : [];
  if (blockers.length === 0) return { note: '' };
  if (p.force !== true)
    return {
      reject: `the gate is blocked by: ${blockers.join('; ')}. Wait until it clears, or pass it anyway with force and a reason (migrate advance --force --reason "...")`,
    };
  if (typeof p.reason !== 'string' || !p.reason.trim())
    return { reject: 'force needs a "reason" (it is recorded in the audit log)' };
  return { note: ` (forced past: ${blockers.join('; ')})` };
}

/** Validates a command against the current state. Never mutates. */
export function validateCommand(
  s: MigrationState,
  plan: MigrationPlan,
  command: string,
  payload: unknown,
): Validation {
  if (!(COMMANDS as readonly string[]).includes(command)) return reject(`unknown command "${command}"`);
  const p = asObject(payload);
  if (!p) return reject(`the ${command} payload must be a JSON object, e.g. '{"by":"alice","reason":"..."}'`);
  const metaError = checkMeta(p);
  if (metaError) return reject(metaError);
  if (isTerminal(s)) return reject(`the migration has ended (${s.state}); no command applies any more`);
  const phase = currentPhase(s);
  const finalizing = s.frames.some((f) => f.phase === 'FINALIZE');
  const rollingBack = s.pending.rollbackTo !== null || s.pending.abort || s.state === 'ROLLING_BACK';

  switch (command as CommandName) {
    case 'pause':
      if (s.paused) return reject('already paused');
      if (rollingBack) return reject('a rollback is in progress; it cannot be paused');
      if (finalizing) return reject('FINALIZE is running; it cannot be paused');
      return { ok: true, message: 'pausing at the next safe point' };
    case 'resume':
      if (!s.paused) return reject('not paused');
      return { ok: true, message: 'resuming' };
    case 'advance': {
      if (s.paused) return reject('paused: resume first, then advance');
      if (rollingBack) return reject('a rollback is in progress');
      if (s.state !== 'WAITING' || !s.gate)
        return reject(`no gate is open (phase ${phase} is ${s.state.toLowerCase()}); nothing to advance`);
      if (s.pending.advance) return reject('an advance is already pending');
      if (p.confirm !== undefined && typeof p.confirm !== 'boolean')
        return reject('"confirm" must be true or false');
      if (s.gate.requiresConfirmation && p.confirm !== true) {
        return reject(
          'the next phase is FINALIZE (irreversible): send finalize {"confirm": true} (or advance {"confirm": true})',
        );
      }
      const force = checkForce(s, p);
      if ('reject' in force) return reject(force.reject);
      if (s.gate.failed)
        return { ok: true, message: `retrying ${s.gate.next} after: ${s.gate.failed.message}` };
      return {
        ok: true,
        message: `advancing to ${s.gate.next}${s.gate.nextReadPercent !== undefined ? ` ${s.gate.nextReadPercent}%` : ''}${force.note}`,
      };
    }
    case 'finalize': {
      if (p.confirm !== true) return reject('finalize needs {"confirm": true}: FINALIZE cannot be undone');
      if (s.paused) return reject('paused: resume first');
      if (rollingBack) return reject('a rollback is in progress');
      if (s.state !== 'WAITING' || !s.gate || s.gate.next !== 'FINALIZE') {
        return reject(`the FINALIZE gate is not open (phase ${phase}, ${s.state.toLowerCase()})`);
      }
      const force = checkForce(s, p);
      if ('reject' in force) return reject(force.reject);
      return { ok: true, message: `finalizing${force.note}` };
    }
    case 'rollback': {
      if (rollingBack) return reject('a rollback is already in progress');
      const toPhase = p.toPhase;
      if (toPhase !== undefined && !isPhase(toPhase)) {
        return reject(`unknown phase ${JSON.stringify(toPhase)} (phases: ${plan.phases.join(', ')})`);
      }
      const readPercent = p.readPercent;
      if (
        readPercent !== undefined &&
        (typeof readPercent !== 'number' || readPercent < 0 || readPercent > 100)
      ) {
        return reject('"readPercent" must be a number from 0 to 100');
      }
      if (toPhase === 'DONE' || toPhase === 'FINALIZE') return reject(`cannot roll back to ${toPhase}`);
      const target = rollbackTargetIndex(s.frames, toPhase, readPercent as number | undefined);
      if ('error' in target) return reject(target.error);
      const to = s.frames[target.index];
      return { ok: true, message: `rolling back to ${describeStep(to)}` };
    }
    case 'setReadPercent': {
      const percent = p.percent;
      if (typeof percent !== 'number' || !Number.isFinite(percent))
        return reject('"percent" must be a number from 0 to 100');
      if (percent < 0 || percent > 100) return reject(`percent ${percent} is outside 0-100`);
      if (s.paused) return reject('paused: resume first');
      if (rollingBack) return reject('a rollback is in progress');
      const top = s.frames[s.frames.length - 1];
      const next = nextStep(plan, top);
      const inReadSwitch = top?.phase === 'READ_SWITCH' || next?.phase === 'READ_SWITCH';
      if (!inReadSwitch || s.state !== 'WAITING') {
        return reject(
          `the read percentage can only be set at a READ_SWITCH gate (phase ${phase}, ${s.state.toLowerCase()})`,
        );
      }
      if (percent === s.switches.readPercent) return reject(`reads are already at ${percent}%`);
      if (s.pending.readPercent !== null) return reject('a read-percent change is already pending');
      return { ok: true, message: `setting reads on target to ${percent}%` };
    }
    case 'abort':
      // Accepted during a rollback: the rollback goes on down to everything (rollback.ts).
      if (s.pending.abort) return reject('an abort is already in progress');
      if (finalizing) return reject('FINALIZE has started: it is irreversible, abort is no longer possible');
      return { ok: true, message: 'aborting: rolling everything back, then ending' };
  }
}

/** Records an accepted command's intent in the state (the main loop carries it out). */
export function acceptCommand<C extends CommandName>(
  s: MigrationState,
  plan: MigrationPlan,
  command: C,
  payload: CommandPayloads[C] | undefined,
  via: 'signal' | 'update',
  now: string,
  message: string,
): void {
  const meta = metaOf(payload);
  const p = (payload ?? {}) as Record<string, unknown>;
  switch (command) {
    case 'pause':
      s.paused = true;
      break;
    case 'resume':
      s.paused = false;
      break;
    case 'advance':
    case 'finalize':
      s.pending.advance = { by: meta.by, confirm: p.confirm === true };
      break;
    case 'rollback': {
      const target = rollbackTargetIndex(
        s.frames,
        p.toPhase as Parameters<typeof rollbackTargetIndex>[1],
        p.readPercent as number | undefined,
      );
      if ('index' in target) s.pending.rollbackTo = target.index;
      break;
    }
    case 'setReadPercent':
      s.pending.readPercent = p.percent as number;
      break;
    case 'abort':
      s.pending.abort = true;
      s.pending.rollbackTo = -1;
      break;
  }
  pushAudit(s, {
    at: now,
    command,
    via,
    by: meta.by,
    reason: meta.reason,
    args: stripMeta(p),
    accepted: true,
    message,
    phase: currentPhase(s),
  });
  s.updatedAt = now;
}

/** Records a rejected command: an audit entry, and for signals also a warning. State otherwise unchanged. */
export function recordRejection(
  s: MigrationState,
  command: string,
  payload: unknown,
  via: 'signal' | 'update',
  now: string,
  reason: string,
): void {
  const meta = metaOf(payload);
  const obj = asObject(payload) ?? { payload: String(payload) };
  pushAudit(s, {
    at: now,
    command: ((COMMANDS as readonly string[]).includes(command) ? command : 'system') as CommandName,
    via,
    by: meta.by,
    reason: meta.reason,
    args: stripMeta(obj),
    accepted: false,
    message: reason,
    phase: currentPhase(s),
  });
  if (via === 'signal') pushWarning(s, now, `ignored signal ${command}: ${reason}`);
}

function stripMeta(p: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(p)) {
    if (k === 'by' || k === 'reason') continue;
    // Keep only small scalar arguments in the audit log.
    if (
      v === null ||
      typeof v === 'number' ||
      typeof v === 'boolean' ||
      (typeof v === 'string' && v.length <= 200)
    )
      out[k] = v;
  }
  return out;
}
