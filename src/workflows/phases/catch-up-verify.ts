/**
 * CATCH_UP_VERIFY: wait until forward CDC lags less than `cdc.catchUpLagSeconds`, then verify every
 * table chunk by chunk (repairing from the source what differs). Nothing to undo.
 */
import type { PhaseModule } from './types.js';

export const catchUpVerify: PhaseModule = {
  async run({ ctx, sync, verify }) {
    await sync.waitForLag(ctx.plan.cdc.catchUpLagSeconds);
    await verify.all('source', true, 'catch-up', ctx.forwardSpec.stream);
  },
};
