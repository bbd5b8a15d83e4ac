export { compileListQuery, type CompiledListQuery, type VisibilityRecord } from './compile.js';
export { InvalidQueryError } from './errors.js';
export {
  SYSTEM_ATTRIBUTES,
  PREDEFINED_ATTRIBUTES,
  executionStatusName,
  parseExecutionStatus,
  resolveAttribute,
} from './attributes.js';
