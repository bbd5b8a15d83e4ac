export { ScheduleManager, type ScheduleHost, type ScheduleManagerOptions } from './manager.js';
export { ScheduleError, type ScheduleErrorName } from './errors.js';
export { compileSpec, type CompiledSpec } from './spec.js';
export { systemClock, type Clock } from './time.js';
