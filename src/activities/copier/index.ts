// Bulk copy: see README.md.
export { copyTable, type CopyOptions } from './copy.js';
export { splitKeyRanges } from './split.js';
export { truncateTargetTables } from './truncate.js';
export { CopyCancelledError, StreamNotStartedError } from './errors.js';
