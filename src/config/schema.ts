/**
 * The plan file's schema (zod). Connections are NAMES only: credentials live in the worker's
 * environment (MIGRATOR_DB_<NAME>). Every field has a default except `id` and `tables`.
 */
import { z } from 'zod';
import { GATED_PHASES, OPTIONAL_PHASES, PHASES, type GateName, type Phase } from '../workflows/api.js';

const IDENT = /^[A-Za-z_][A-Za-z0-9_$]{0,63}$/;
const identifier = (what: string) =>
  z
    .string()
    .regex(IDENT, `${what} must be a plain identifier (letters, digits, _ and $; at most 64 characters)`);

/** Seconds: a number, or a string like "30s", "5m", "1h", "1500ms". */
export const durationSeconds = z.union([z.number().nonnegative(), z.string()]).transform((value, ctx) => {
  if (typeof value === 'number') return value;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(value);
  if (!m) {
    ctx.addIssue({
      code: z.ZodIssueCode.custom,
      message: `not a duration: "${value}" (use seconds, or 500ms / 30s / 5m / 1h)`,
    });
    return z.NEVER;
  }
  const n = Number(m[1]);
  switch (m[2]) {
    case 'ms':
      return n / 1000;
    case 'm':
      return n * 60;
    case 'h':
      return n * 3600;
    default:
      return n;
  }
});

export const tableSchema = z
  .object({
    name: identifier('table name'),
    targetName: identifier('target table name').optional(),
    key: z.array(identifier('key column')).min(1).optional(),
    chunkSize: z.number().int().min(1).max(1_000_000).optional(),
    maxRowsPerSecond: z.number().positive().optional(),
    updatedAtColumn: identifier('updatedAtColumn').optional(),
    updatedAtTimeZone: z
      .string()
      .regex(
        /^(?:[+-](?:0\d|1[0-4]):[0-5]\d|SYSTEM|[A-Za-z][A-Za-z0-9_+-]{0,63}(?:\/[A-Za-z0-9_+-]{1,64}){0,2})$/,
        "updatedAtTimeZone: use an offset such as '+09:00' or '-07:00', a zone name such as 'Asia/Tokyo' or 'UTC', or 'SYSTEM'",
      )
      .optional(),
    columnMap: z.record(identifier('source column'), identifier('target column')).optional(),
    excludeColumns: z.array(identifier('excluded column')).optional(),
  })
  .strict();

export const gateSchema = z
  .object({
    autoAdvance: z.boolean().default(false),
    soakSeconds: durationSeconds.default(60),
    maxLagSeconds: durationSeconds.default(5),
    requireNoMismatches: z.boolean().default(true),
  })
  .strict();

const gateNames = GATED_PHASES as readonly GateName[];

const gatesSchema = z
  .object({
    default: gateSchema.partial().optional(),
    DUAL_WRITE_SOURCE_FIRST: gateSchema.partial().optional(),
    READ_SWITCH: gateSchema.partial().optional(),
    DUAL_WRITE_TARGET_FIRST: gateSchema.partial().optional(),
    TARGET_ONLY: gateSchema.partial().optional(),
    FINALIZE: gateSchema.partial().optional(),
  })
  .strict()
  .default({})
  .transform((g, ctx) => {
    const out = {} as Record<GateName, z.infer<typeof gateSchema>>;
    for (const name of gateNames) {
      const merged = gateSchema.safeParse({ ...(g.default ?? {}), ...(g[name] ?? {}) });
      if (!merged.success) {
        for (const issue of merged.error.issues) ctx.addIssue({ ...issue, path: [name, ...issue.path] });
        return z.NEVER;
      }
      out[name] = merged.data;
    }
    if (out.FINALIZE.autoAdvance) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['FINALIZE', 'autoAdvance'],
        message:
          'FINALIZE is irreversible and always needs an explicit confirmation: autoAdvance must be false',
      });
    }
    return out;
  });

const phaseEnum = z.enum(PHASES);

export const planSchema = z
  .object({
    id: z
      .string()
      .regex(
        /^[a-z0-9][a-z0-9-]{0,62}$/,
        'id must be lower-case letters, digits and dashes (it names the workflow, switches and schedule)',
      ),
    source: identifier('source connection name').default('source'),
    target: identifier('target connection name').default('target'),
    tables: z.array(tableSchema).min(1, 'a plan needs at least one table'),
    phases: z.array(phaseEnum).optional(),
    readSteps: z.array(z.number().min(0).max(100)).min(1).default([1, 5, 25, 50, 100]),
    gates: gatesSchema,
    copy: z
      .object({
        parallelism: z.number().int().min(1).max(64).default(4),
        rangesPerTable: z.number().int().min(1).max(256).default(1),
        replica: identifier('replica connection name').optional(),
        maxReplicaLagSeconds: durationSeconds.default(5),
        maxTargetThreadsRunning: z.number().int().min(1).optional(),
      })
      .strict()
      .default({}),
    cdc: z
      .object({
        catchUpLagSeconds: durationSeconds.default(2),
        routerAckTimeoutSeconds: durationSeconds.default(60),
      })
      .strict()
      .default({}),
    routers: z
      .object({
        expected: z.number().int().min(0).max(10_000).default(0),
        holdTimeoutSeconds: durationSeconds.default(2),
      })
      .strict()
      .default({}),
    verification: z
      .object({
        intervalSeconds: durationSeconds.default(300),
        repair: z.boolean().default(false),
      })
      .strict()
      .default({}),
    repairLoop: z
      .object({
        mode: z.enum(['binlog', 'updated_at', 'full']).default('updated_at'),
        intervalSeconds: durationSeconds.default(10),
      })
      .strict()
      .default({}),
    temporal: z
      .object({
        heartbeatTimeoutSeconds: durationSeconds.default(30),
        continueAsNewAfterEvents: z.number().int().min(200).default(5000),
        gatePollSeconds: durationSeconds.default(5),
        compensationTimeoutSeconds: durationSeconds.default(21_600),
      })
      .strict()
      .default({}),
  })
  .strict()
  .superRefine((plan, ctx) => {
    const names = new Set<string>();
    plan.tables.forEach((t, i) => {
      if (names.has(t.name))
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path: ['tables', i, 'name'],
          message: `table "${t.name}" is listed twice`,
        });
      names.add(t.name);
    });
    for (let i = 1; i < plan.readSteps.length; i++) {
      if (plan.readSteps[i] <= plan.readSteps[i - 1]) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path: ['readSteps', i],
          message: 'read steps must be strictly increasing',
        });
      }
    }
    if (plan.readSteps[plan.readSteps.length - 1] !== 100) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['readSteps'],
        message: 'the last read step must be 100',
      });
    }
    if (plan.source === plan.target) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['target'],
        message: 'source and target must be different connections',
      });
    }
    if (plan.phases) {
      const mandatory = PHASES.filter((p) => !OPTIONAL_PHASES.includes(p) && p !== 'DONE');
      for (const p of mandatory) {
        if (!plan.phases.includes(p))
          ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['phases'], message: `phase ${p} is mandatory` });
      }
      let last = -1;
      plan.phases.forEach((p, i) => {
        const idx = PHASES.indexOf(p);
        if (p === 'DONE')
          ctx.addIssue({
            code: z.ZodIssueCode.custom,
            path: ['phases', i],
            message: 'DONE is not a phase to list',
          });
        if (idx <= last)
          ctx.addIssue({
            code: z.ZodIssueCode.custom,
            path: ['phases', i],
            message: `phase ${p} is out of order or repeated (order: ${PHASES.join(', ')})`,
          });
        last = Math.max(last, idx);
      });
      if (plan.phases.includes('TARGET_ONLY') && !plan.phases.includes('DUAL_WRITE_TARGET_FIRST')) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path: ['phases'],
          message: 'TARGET_ONLY needs DUAL_WRITE_TARGET_FIRST before it',
        });
      }
    }
  })
  .transform((plan) => ({
    ...plan,
    phases: (plan.phases ?? PHASES.filter((p) => p !== 'DONE')) as Phase[],
  }));

export type PlanFileInput = z.input<typeof planSchema>;
