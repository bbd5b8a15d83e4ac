/** Verification results -> the summary kept in status and sent by scheduled runs. Pure module. */
import type { VerifyResult } from '../activities/contracts.js';
import type { TableVerification, VerificationSummary } from './api.js';

export function summarise(
  origin: string,
  authoritative: 'source' | 'target',
  repair: boolean,
  startedAt: string,
  finishedAt: string,
  results: VerifyResult[],
): VerificationSummary {
  const tables: TableVerification[] = results.map((r) => ({
    table: r.table,
    rowsCompared: r.rowsCompared,
    mismatches: r.mismatches,
    repaired: r.repaired,
    sampleKeys: r.sampleKeys.slice(0, 10),
    ...(r.skippedUntil ? { skippedUntil: r.skippedUntil } : {}),
  }));
  const sum = (m: { missing: number; extra: number; different: number }) => m.missing + m.extra + m.different;
  return {
    origin,
    authoritative,
    repair,
    startedAt,
    finishedAt,
    tables,
    totalMismatches: tables.reduce((n, t) => n + sum(t.mismatches), 0),
    totalRepaired: tables.reduce((n, t) => n + sum(t.repaired), 0),
  };
}
