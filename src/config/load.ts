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
    const issues = result.error.issues.map((i) => ({ path: issuePath(i), message: i.message }));
    throw new PlanError(
      `${source}: invalid plan:\n` + issues.map((i) => `  ${i.path}: ${i.message}`).join('\n'),
      issues,
    );
  }
  return result.data as MigrationPlan;
}

/** Parses YAML (also JSON, a YAML subset) text. */
export function parsePlanText(text: string, source = 'plan'): MigrationPlan {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new PlanError(`${source}: not valid YAML/JSON: ${(err as Error).message}`, []);
  }
  return parsePlan(raw, source);
}

export function loadPlanFile(file: string): MigrationPlan {
  const text = readFileSync(file, 'utf8');
  if (extname(file) === '.json') {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (err) {
      throw new PlanError(`${file}: not valid JSON: ${(err as Error).message}`, []);
    }
    return parsePlan(raw, file);
  }
  return parsePlanText(text, file);
}
