/** The procedure's phases, each with its compensation beside it (one module per phase). */
import type { CompensationAction, Phase } from '../api.js';
import { bulkCopy } from './bulk-copy.js';
import { catchUpVerify } from './catch-up-verify.js';
import { dualWriteSourceFirst } from './dual-write-source-first.js';
import { dualWriteTargetFirst } from './dual-write-target-first.js';
import { finalize } from './finalize.js';
import { precheck } from './precheck.js';
import { prepareTarget } from './prepare-target.js';
import { readSwitch } from './read-switch.js';
import { repairLoop } from './repair-loop.js';
import { startSync } from './start-sync.js';
import { targetOnly } from './target-only.js';
import type { PhaseModule } from './types.js';

export type { Run } from './types.js';

const done: PhaseModule = { run: async () => undefined };

export const PHASE_MODULES: Record<Phase, PhaseModule<CompensationAction>> = {
  PRECHECK: precheck,
  PREPARE_TARGET: prepareTarget,
  START_SYNC: startSync,
  BULK_COPY: bulkCopy,
  CATCH_UP_VERIFY: catchUpVerify,
  DUAL_WRITE_SOURCE_FIRST: dualWriteSourceFirst,
  REPAIR_LOOP: repairLoop,
  READ_SWITCH: readSwitch,
  DUAL_WRITE_TARGET_FIRST: dualWriteTargetFirst,
  TARGET_ONLY: targetOnly,
  FINALIZE: finalize,
  DONE: done,
};
