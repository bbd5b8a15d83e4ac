/**
 * Repair loop as one long, cancellable activity body. Uses the data plane's runRepairLoop when the
 * worker has it (binlog / updated_at modes); mode `full` (and the fallback while runRepairLoop is not
 * available) repeats verifyTable with repair from the authoritative side every interval.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { RepairLoopProgress, RunContext, VerifyInput, VerifyResult } from '../contracts.js';
import type { RepairLoopActivityInput } from './types.js';

type VerifyFn = (input: VerifyInput, ctx?: RunContext<never>) => Promise<VerifyResult>;

export async function fullRepairLoop(
  input: RepairLoopActivityInput,
  ctx: RunContext<RepairLoopProgress>,
  verify: VerifyFn,
): Promise<void> {
  const progress: RepairLoopProgress = ctx.resume ?? {
    checked: 0,
    repaired: { missing: 0, extra: 0, different: 0 },
    pending: 0,
  };
  const signal = ctx.signal;
  while (!signal?.aborted) {
    for (const table of input.tables) {
      if (signal?.aborted) break;
      const r = await verify({
        source: input.source,
        target: input.target,
        table,
        authoritative: input.authoritative,
        repair: true,
      });
      progress.checked += r.rowsCompared;
      progress.repaired.missing += r.repaired.missing;
      progress.repaired.extra += r.repaired.extra;
      progress.repaired.different += r.repaired.different;
      progress.pending = 0;
      ctx.progress?.({ ...progress, repaired: { ...progress.repaired } });
    }
    try {
      await sleep(input.intervalMs, undefined, { signal });
    } catch {
      break;
    }
  }
  throw signal?.reason ?? new Error('repair loop stopped');
}
