// Repair: re-read the authoritative side and fix the other one; the continuous repair loop (see README.md).
export { repairKeys } from './repairKeys.js';
export { runRepairLoop, type RepairLoopTuning } from './loop.js';
