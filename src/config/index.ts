export { planSchema, tableSchema, gateSchema, durationSeconds, type PlanFileInput } from './schema.js';
export { parsePlan, parsePlanDocument, parsePlanText, loadPlanFile, PlanError } from './load.js';
export { findSecrets, type SecretFinding } from './secrets.js';
export { defaultPlan, SEED_VARIANTS } from './defaults.js';
