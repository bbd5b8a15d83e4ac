import { InvalidArgumentError } from 'commander';
import { isPhase, PHASES, type Phase } from '../workflows/api.js';

/** commander argument parsers: a bad value is a usage error (exit 2) that names the valid values. */

export function parsePercent(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 0 || n > 100) {
    throw new InvalidArgumentError(`"${value}" is not a whole percentage from 0 to 100.`);
  }
  return n;
}

export function parsePhase(value: string): Phase {
  const upper = value.trim().toUpperCase().replace(/-/g, '_');
  if (!isPhase(upper)) {
    throw new InvalidArgumentError(`unknown phase "${value}"; phases are ${PHASES.join(', ')}.`);
  }
  return upper;
}

export function parsePositiveSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new InvalidArgumentError(`"${value}" is not a positive number of seconds.`);
  return n;
}

/** A whole number >= `min` (counts, limits). */
export function parseWholeNumber(min: 0 | 1): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < min) {
      throw new InvalidArgumentError(
        `"${value}" is not a ${min === 0 ? 'whole number (0 or more)' : 'positive whole number'}.`,
      );
    }
    return n;
  };
}

/** Repeatable option collector (`--table a --table b`), also splitting "a,b". */
export function collect(value: string, previous: string[] = []): string[] {
  return [
    ...previous,
    ...value
      .split(',')
      .map((v) => v.trim())
      .filter(Boolean),
  ];
}
