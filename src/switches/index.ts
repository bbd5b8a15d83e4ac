export {
  SwitchStore,
  applySwitchChange,
  defaultRouterId,
  type SetOptions,
  type SetResult,
  type SwitchHistoryEntry,
} from './store.js';
export { SwitchWatcher, type SwitchWatcherOptions } from './watch.js';
export {
  HOLD_LEASE_MARGIN_MS,
  fencedChange,
  releaseExpiredHold,
  type FenceOptions,
  type FenceResult,
} from './fence.js';
export {
  DEFAULT_ROUTER_TTL_MS,
  listRouters,
  removeHeartbeat,
  routerAcks,
  waitForRouterAcks,
  writeHeartbeat,
  type RouterHeartbeat,
  type WaitForAcksOptions,
} from './routers.js';
export {
  RepairStream,
  REPAIR_FIELDS,
  decodeKeyValue,
  encodeKey,
  encodeKeyValue,
  type ReadRepairsOptions,
  type RepairEntry,
  type RepairOp,
  type RepairRecord,
} from './repairs.js';
export {
  DEFAULT_SWITCHES,
  InvalidSwitchChangeError,
  WRITE_MODES,
  isWriteMode,
  validateChange,
} from './codec.js';
export {
  InvalidIdError,
  KEY_PREFIX,
  assertMigrationId,
  assertRouterId,
  migrationKeys,
  type MigrationKeys,
} from './keys.js';
export { BACKGROUND_OPTIONS, newConnection, openRedis, type OwnedRedis, type RedisLike } from './redis.js';
export type { RouterAcks, SwitchChange, Switches, WriteMode } from '../shared/switches.js';
