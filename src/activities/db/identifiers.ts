/**
 * Identifiers (schema, table, column names) come from configuration, never from end users, but are
 * still validated and quoted: SQL text is built only from identifiers that pass here, and every value
 * goes as a parameter.
 */
const IDENTIFIER = /^[A-Za-z0-9_$\u0080-\uFFFF]{1,64}$/u;

export class InvalidIdentifierError extends Error {
  override name = 'InvalidIdentifierError';
}

export function assertIdentifier(value: string, what: string): string {
  if (typeof value !== 'string' || !IDENTIFIER.test(value) || /^\d+$/.test(value)) {
    throw new InvalidIdentifierError(
      `invalid ${what} ${JSON.stringify(value)}: use 1-64 letters, digits, '_' or '$' (not digits only)`,
    );
  }
  return value;
}

/** Quotes a validated identifier with backticks. */
export function quoteIdent(value: string, what = 'identifier'): string {
  return '`' + assertIdentifier(value, what) + '`';
}

/** `schema`.`table` */
export function quoteTable(schema: string, table: string): string {
  return `${quoteIdent(schema, 'schema')}.${quoteIdent(table, 'table')}`;
}
