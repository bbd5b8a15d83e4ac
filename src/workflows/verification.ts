import * as wf from '@temporalio/workflow';
import type { VerifyResult } from '../activities/contracts.js';
import { verificationResultSignal, type VerificationInput, type VerificationSummary } from './api.js';
import { summarise } from './summary.js';

function nowIso(): string {
  return new Date(Date.now()).toISOString();
}

/**
 * Scheduled runs verify a table at most this fraction of the time: one whose full verification takes
 * 10 minutes is verified at most every 100 minutes, however short the schedule's interval (tables that
 * verify in seconds still follow the interval). Between full runs the repair loop watches changes.
 */
const SCHEDULED_DUTY_CYCLE = 0.1;

/** Scheduled verification (type name `verificationWorkflow`): verifies every table, reports to the migration. */
export async function verificationWorkflow(input: VerificationInput): Promise<VerificationSummary> {
  const info = wf.workflowInfo();
  const startedAt = nowIso();
  const results: VerifyResult[] = [];
  for (const table of input.tables) {
    wf.setCurrentDetails(`verifying ${table.name} (${input.authoritative} authoritative)`);
    results.push(
      await wf.scheduleActivity<VerifyResult>(
        'verifyTable',
        [
          {
            source: input.source,
            target: input.target,
            table,
            authoritative: input.authoritative,
            repair: input.repair,
            dutyCycle: SCHEDULED_DUTY_CYCLE,
          },
        ],
        {
          startToCloseTimeout: '6h',
          heartbeatTimeout: '30s',
          retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' },
          summary: `verify ${table.name}`,
        },
      ),
    );
  }
  const summary = summarise(
    `scheduled:${info.workflowId}`,
    input.authoritative,
    input.repair,
    startedAt,
    nowIso(),
    results,
  );
  wf.setCurrentDetails(`${summary.totalMismatches} mismatches over ${results.length} tables`);
  if (input.notifyWorkflowId) {
    try {
      await wf.getExternalWorkflowHandle(input.notifyWorkflowId).signal(verificationResultSignal, summary);
    } catch (err) {
      wf.log.warn('could not report the verification result to the migration', {
        error: err instanceof Error ? err.message : String(err),
      });
    }
  }
  return summary;
}
