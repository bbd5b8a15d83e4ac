import type { SwitchChange, Switches, WriteMode } from '../shared/switches.js';

export const WRITE_MODES: readonly WriteMode[] = [
  'SOURCE_ONLY',
  'DUAL_SOURCE_FIRST',
  'DUAL_TARGET_FIRST',
  'TARGET_ONLY',
];

/** The state of a migration that has none yet, and the fail-safe of a router that knows nothing. */
export const DEFAULT_SWITCHES: Readonly<Omit<Switches, 'updatedAt' | 'updatedBy'>> = Object.freeze({
  writeMode: 'SOURCE_ONLY',
  readPercent: 0,
  shadowRead: false,
  version: 1,
});

export class InvalidSwitchChangeError extends Error {
  override name = 'InvalidSwitchChangeError';
}

export function isWriteMode(value: unknown): value is WriteMode {
  return typeof value === 'string' && (WRITE_MODES as readonly string[]).includes(value);
}

/** Checks a change and returns it with only the known fields. */
export function validateChange(change: SwitchChange): SwitchChange {
  if (change === null || typeof change !== 'object')
    throw new InvalidSwitchChangeError('change must be an object');
  const out: SwitchChange = {};
  if (change.writeMode !== undefined) {
    if (!isWriteMode(change.writeMode)) {
      throw new InvalidSwitchChangeError(`writeMode must be one of ${WRITE_MODES.join(', ')}`);
    }
    out.writeMode = change.writeMode;
  }
  if (change.readPercent !== undefined) {
    const p = change.readPercent;
    if (typeof p !== 'number' || !Number.isFinite(p) || p < 0 || p > 100 || Math.round(p * 100) !== p * 100) {
      throw new InvalidSwitchChangeError(
        'readPercent must be a number from 0 to 100 with at most 2 decimals',
      );
    }
    out.readPercent = p;
  }
  if (change.shadowRead !== undefined) {
    if (typeof change.shadowRead !== 'boolean')
      throw new InvalidSwitchChangeError('shadowRead must be a boolean');
    out.shadowRead = change.shadowRead;
  }
  if (change.hold !== undefined) {
    if (typeof change.hold !== 'boolean') throw new InvalidSwitchChangeError('hold must be a boolean');
    out.hold = change.hold;
  }
  return out;
}

/** Field values as stored in the hash (canonical strings, so equal values compare equal in Lua). */
export function changeToFields(change: SwitchChange): {
  writeMode: string;
  readPercent: string;
  shadowRead: string;
  hold: string;
} {
  const flag = (v: boolean | undefined) => (v === undefined ? '' : v ? '1' : '0');
  return {
    writeMode: change.writeMode ?? '',
    readPercent: change.readPercent === undefined ? '' : String(change.readPercent),
    shadowRead: flag(change.shadowRead),
    hold: flag(change.hold),
  };
}

/** The holdMs field of a held state: present only for a positive lease. */
function leaseOf(ms: number): Pick<Switches, 'holdMs'> {
  return Number.isFinite(ms) && ms > 0 ? { holdMs: ms } : {};
}

/** Parses the hash (HGETALL) or the reply of the set script; undefined when absent or malformed. */
export function switchesFromFields(fields: Record<string, string>): Switches | undefined {
  const version = Number(fields.version);
  const readPercent = Number(fields.readPercent);
  if (
    !isWriteMode(fields.writeMode) ||
    !Number.isInteger(version) ||
    version < 1 ||
    !Number.isFinite(readPercent)
  ) {
    return undefined;
  }
  return {
    writeMode: fields.writeMode,
    readPercent,
    shadowRead: fields.shadowRead === '1',
    hold: fields.hold === '1',
    ...leaseOf(fields.hold === '1' ? Number(fields.holdMs || NaN) : NaN),
    version,
    updatedAt: fields.updatedAt ?? '',
    updatedBy: fields.updatedBy ?? '',
    epoch: fields.epoch ?? '',
  };
}

/** Parses a published message (JSON Switches); undefined when malformed. */
export function switchesFromMessage(message: string): Switches | undefined {
  try {
    const v = JSON.parse(message) as Record<string, unknown>;
    if (!isWriteMode(v.writeMode) || typeof v.version !== 'number' || typeof v.readPercent !== 'number')
      return undefined;
    return {
      writeMode: v.writeMode,
      readPercent: v.readPercent,
      shadowRead: v.shadowRead === true,
      hold: v.hold === true,
      ...leaseOf(v.hold === true && typeof v.holdMs === 'number' ? v.holdMs : NaN),
      version: v.version,
      updatedAt: typeof v.updatedAt === 'string' ? v.updatedAt : '',
      updatedBy: typeof v.updatedBy === 'string' ? v.updatedBy : '',
      epoch: typeof v.epoch === 'string' ? v.epoch : '',
    };
  } catch {
    return undefined;
  }
}

/** The lifetime of a migration's switch hash (see scripts.ts); '' when unknown. */
export function epochOfFields(fields: Record<string, string>): string {
  return fields.epoch ?? '';
}

export function epochOfMessage(message: string): string {
  try {
    const v = JSON.parse(message) as { epoch?: unknown };
    return typeof v.epoch === 'string' ? v.epoch : '';
  } catch {
    return '';
  }
}
