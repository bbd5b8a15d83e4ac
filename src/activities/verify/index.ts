// Verification: full chunked compare, incremental windows, reverse scans for deletes (see README.md).
export { verifyTable } from './verifyTable.js';
export type { VerifyTuning } from './run.js';
export { verifyUpdatedSince, reverseScanDeletes } from './incremental.js';
