// Introspection and key helpers shared by the copier, CDC and verification.
export { describeTable, describeColumns, estimateRows, currentDatabase } from './describe.js';
export { TableNotFoundError, NoUsableKeyError, UnknownColumnError } from './errors.js';
export { encodeKey, decodeKey, encodeValue, decodeValue, rowKey, keyString } from './keycodec.js';
export {
  keyCompare,
  rangeCondition,
  orderBy,
  keysetSelect,
  type SqlFragment,
  type SqlParam,
  type KeysetQuery,
} from './keyset.js';
export type { ColumnInfo, TableInfo, TableKey, TableRef } from './types.js';
export { precheck } from './precheck.js';
export { copyDependencies } from './prepare.js';
export { prepareTarget, dropCreatedTables } from './prepare.js';
export { resolveMapping, type TableMapping } from './mapping.js';
