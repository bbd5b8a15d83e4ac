// Binlog reader and applier: see README.md.
export { openBinlogStream, type BinlogStream, type BinlogStreamOptions } from './stream.js';
export type { BinlogTransaction, RowChange, RowImage } from './events.js';
export { DdlOnWatchedTableError, StatementFormatError } from './events.js';
export {
  recordSyncStart,
  runSync,
  syncStatus,
  currentPosition,
  waitForSyncPosition,
  SyncCancelledError,
  SyncNotStartedError,
  type SyncOptions,
  type WaitForSyncInput,
} from './sync.js';
export { comparePositions } from './position.js';
