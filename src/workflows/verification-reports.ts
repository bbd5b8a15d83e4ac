/**
 * Scheduled verification results, trusted only once confirmed. The `verificationResult` signal only
 * queues the reporting run's id; the health refresh then reads that run from the server
 * (confirmVerificationReport: a verification run of this migration, for its source, target and
 * tables, completed) and records the run's OWN result. A forged signal, whatever numbers it carries,
 * never reaches `lastVerification` and so never satisfies a gate.
 */
import type { VerificationSummary } from './api.js';
import { errMessage, nowIso, type MigrationContext } from './context.js';
import { tallyRepairs } from './health-readings.js';
import { currentPhase, pushAudit, pushWarning } from './state.js';

const MAX_QUEUED = 20;
const PREFIX = 'scheduled:';

const isCount = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/** What is wrong with a VerificationSummary (null: well-formed). */
export function verificationSummaryProblem(v: unknown): string | null {
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

export class VerificationReports {
  constructor(private readonly ctx: MigrationContext) {}

  /** A report arrived by signal: queue its run for confirmation (the payload's numbers are not used). */
  received(summary: unknown): void {
    const s = this.ctx.s;
    const problem = verificationSummaryProblem(summary);
    const origin = problem ? '' : (summary as VerificationSummary).origin;
    const reason = problem
      ? problem
      : !origin.startsWith(PREFIX)
        ? `"origin" must name the reporting run ("${PREFIX}<workflow id>")`
        : null;
    if (reason) {
      pushWarning(s, nowIso(), `ignored signal verificationResult: ${reason}`);
    } else {
      const id = origin.slice(PREFIX.length);
      if (!s.verificationReports.includes(id)) s.verificationReports.push(id);
      if (s.verificationReports.length > MAX_QUEUED) s.verificationReports.shift();
    }
    s.health.unconfirmedReports = s.verificationReports.length;
    this.ctx.changed();
  }

  /** Confirms the queued reports against their runs (called by the health refresh). */
  async confirm(): Promise<void> {
    const { ctx } = this;
    const s = ctx.s;
    const p = ctx.plan;
    for (const id of [...s.verificationReports]) {
      let answer;
      try {
        answer = await ctx.probe(
          'confirmVerificationReport',
          {
            workflowId: id,
            migrationId: p.id,
            source: p.source,
            target: p.target,
            tables: p.tables.map((t) => t.name),
            waitMs: 10_000,
          },
          `confirm verification report ${id}`,
        );
      } catch (err) {
        pushWarning(s, nowIso(), `could not confirm verification report ${id} yet: ${errMessage(err)}`);
        return;
      }
      if (answer.outcome === 'pending') continue;
      s.verificationReports = s.verificationReports.filter((x) => x !== id);
      const problem = answer.outcome === 'confirmed' ? verificationSummaryProblem(answer.result) : null;
      const summary =
        answer.outcome === 'confirmed' && !problem ? (answer.result as VerificationSummary) : null;
      const rejected =
        answer.outcome === 'rejected'
          ? answer.reason
          : problem
            ? `its result is malformed: ${problem}`
            : summary && summary.origin !== `${PREFIX}${id}`
              ? `its result names another origin (${summary.origin})`
              : null;
      pushAudit(s, {
        at: nowIso(),
        command: 'verificationResult',
        via: 'signal',
        by: null,
        reason: null,
        args: { run: id },
        accepted: rejected === null,
        message: rejected ?? `confirmed against run ${id}: ${summary?.totalMismatches} mismatches`,
        phase: currentPhase(s),
      });
      if (rejected !== null || !summary) {
        pushWarning(s, nowIso(), `ignored verification report of ${id}: ${rejected}`);
        continue;
      }
      tallyRepairs(s, 'verification', summary.totalRepaired);
      const newest = (v: VerificationSummary | null) => !v || v.finishedAt <= summary.finishedAt;
      if (newest(s.lastScheduledVerification)) s.lastScheduledVerification = summary;
      // A run that left tables out (or skipped them: verified recently) says nothing about those
      // tables: it is shown, but the gates keep relying on the last run that covered every table.
      const partial =
        answer.outcome === 'confirmed' && (answer.partial || summary.tables.some((t) => t.skippedUntil));
      if (!partial && newest(s.lastVerification)) s.lastVerification = summary;
      if (summary.totalMismatches > 0)
        pushWarning(s, nowIso(), `scheduled verification ${id} found ${summary.totalMismatches} mismatches`);
    }
    s.health.unconfirmedReports = s.verificationReports.length;
  }
}
