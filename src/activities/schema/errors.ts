/** Errors raised by introspection; each names the table or column and says what to do. */
export class TableNotFoundError extends Error {
  override name = 'TableNotFoundError';
  constructor(
    readonly schema: string,
    readonly table: string,
  ) {
    super(`table ${schema}.${table} does not exist: check the table name in the plan (or create it)`);
  }
}

export class NoUsableKeyError extends Error {
  override name = 'NoUsableKeyError';
  constructor(
    readonly schema: string,
    readonly table: string,
    detail: string,
  ) {
    super(
      `table ${schema}.${table} has no usable key (${detail}): add a PRIMARY KEY, or a UNIQUE key over NOT NULL columns, ` +
        'or name one in the plan (tables[].key)',
    );
  }
}

export class UnknownColumnError extends Error {
  override name = 'UnknownColumnError';
  constructor(
    readonly schema: string,
    readonly table: string,
    readonly column: string,
    what: string,
  ) {
    super(`${what}: column ${column} does not exist in ${schema}.${table}: fix the column name in the plan`);
  }
}
