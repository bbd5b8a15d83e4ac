/** Errors the router raises instead of running a statement it cannot keep correct on both sides. */

/** Base class: the statement was not run anywhere. `rule` says why; README.md "Refused statements". */
export class RefusedStatementError extends Error {
  override name = 'RefusedStatementError';
  readonly code: string = 'MIGRATOR_REFUSED';

  constructor(
    /** The statement (first 200 characters). */
    readonly statement: string,
    readonly rule: string,
  ) {
    super(`router refused ${JSON.stringify(statement.slice(0, 200))}: ${rule}`);
  }
}

/** The statement names a mapped table (targetName/columnMap/excludeColumns) and cannot run on the target. */
export class UnmappableStatementError extends RefusedStatementError {
  override name = 'UnmappableStatementError';
  override readonly code = 'MIGRATOR_UNMAPPABLE';
}

/** A write while dual writing whose effect the router cannot mirror to the other side (CALL, TRUNCATE, ...). */
export class UnmirrorableStatementError extends RefusedStatementError {
  override name = 'UnmirrorableStatementError';
  override readonly code = 'MIGRATOR_UNMIRRORABLE';
}

/** Thrown while rewriting (the statement is filled in by the caller, which knows the text). */
export class MappingRule extends Error {
  override name = 'MappingRule';
}
