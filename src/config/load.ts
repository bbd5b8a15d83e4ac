import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { ZodIssue } from 'zod';
import type { MigrationPlan } from '../workflows/api.js';
import { planSchema } from './schema.js';
import { findSecrets } from './secrets.js';

export class PlanError extends Error {
  override name = 'PlanError';
  constructor(
    message: string,
    readonly issues: { path: string; message: string }[],
  ) {
    super(message);
  }
}

function issuePath(issue: ZodIssue): string {
  return issue.path.length
    ? issue.path
        .map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`))
        .join('')
        .replace(/^\./, '')
    : '(root)';
}

/** One issue per bad field; an unknown field is named with its path and what to do about it. */
function planIssues(issues: ZodIssue[]): { path: string; message: string }[] {
  return issues.flatMap((i) =>
    i.code === 'unrecognized_keys'
      ? i.keys.map((key) => ({
          path: issuePath({ ...i, path: [...i.path, key] }),
          message:
            'unknown field: check its spelling or remove it (examples/plan.yaml shows every field a plan can have)',
        }))
      : [{ path: issuePath(i), message: i.message }],
  );
}

/** Validates a plan object (already parsed from YAML/JSON). Throws PlanError naming every bad field. */
export function parsePlan(raw: unknown, source = 'plan'): MigrationPlan {
  const secrets = findSecrets(raw);
  if (secrets.length) {
    throw new PlanError(
      `${source}: refusing a plan that contains credentials:\n` +
        secrets.map((s) => `  ${s.path}: ${s.message}`).join('\n'),
      secrets,
    );
  }
  const result = planSchema.safeParse(raw);
  if (!result.success) {
    const issues = planIssues(result.error.issues);
    throw new PlanError(
      `${source}: invalid plan:\n` + issues.map((i) => `  ${i.path}: ${i.message}`).join('\n'),
      issues,
    );
  }
  return result.data as MigrationPlan;
}

/**
 * Parses a plan file's text: JSON for a `.json` file (strictly: a trailing comma is an error there),
 * YAML otherwise (JSON is a YAML subset). Throws PlanError naming the file on a syntax error.
 */
export function parsePlanDocument(
  text: string,
  file = 'plan',
  format: 'json' | 'yaml' = extname(file) === '.json' ? 'json' : 'yaml',
): unknown {
  if (format === 'json') {
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      throw new PlanError(`${file}: not valid JSON: ${(err as Error).message}`, []);
    }
  }
  try {
    return parseYaml(text) as unknown;
  } catch (err) {
    throw new PlanError(`${file}: not valid YAML/JSON: ${(err as Error).message}`, []);
  }
}

/** Parses YAML (also JSON, a YAML subset) text. */
export function parsePlanText(text: string, source = 'plan'): MigrationPlan {
  return parsePlan(parsePlanDocument(text, source, 'yaml'), source);
}

export function loadPlanFile(file: string): MigrationPlan {
  return parsePlan(parsePlanDocument(readFileSync(file, 'utf8'), file), file);
}
