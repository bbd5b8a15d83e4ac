export { createRouter, Router, type RouterOptions } from './router.js';
export { authoritativeSide, isDual } from '../shared/switches.js';
export { RouterConnection } from './connection.js';
export type { RouterQueryOptions } from './args.js';
export type { RouterEvent, RouterStats } from './stats.js';
export type { TableConfig } from './schema.js';
export { bucketOf, readsTarget, BUCKETS } from './routing.js';
export { routerMetrics } from './metrics.js';
