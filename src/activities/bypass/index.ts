export { runBypassWatch, type BypassWatchDeps } from './watch.js';
export { bypassActivities, bypassCheckpointKey, type BypassActivities } from './activities.js';
export type { BypassProgress, BypassReport, BypassTable, BypassWatchInput } from './types.js';
