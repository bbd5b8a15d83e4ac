// Workflow bundle entry: every workflow type the worker registers.
export { migrationWorkflow } from './migration.js';
export { verificationWorkflow } from './verification.js';
