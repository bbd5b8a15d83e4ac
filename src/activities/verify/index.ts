// Verification: full chunked compare, incremental windows, reverse scans for deletes (see README.md).
export { verifyTable, type VerifyTuning } from './verifyTable.js';
export { verifyUpdatedSince, reverseScanDeletes } from './incremental.js';
