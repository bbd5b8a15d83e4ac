/** What the router needs to know about one statement (a template: values are bound later). */

/** Where a value in the statement comes from. */
export type ValueRef =
  | { kind: 'param'; index: number }
  /** A number literal (usable as a key value). */
  | { kind: 'number'; value: number }
  /** NULL or DEFAULT: the server picks the value (an auto-increment id is generated). */
  | { kind: 'generated' }
  /** Anything else (a string literal, an expression): rendered as SQL when needed. */
  | { kind: 'sql'; fragment: Fragment };

/** Parameterised SQL text: `?` stand for the statement's values at these indexes. */
export interface Fragment {
  sql: string;
  params: number[];
}

export interface TableRef {
  table: string;
  alias: string | null;
}

export interface InsertAnalysis {
  kind: 'insert';
  table: string;
  replace: boolean;
  ignore: boolean;
  /** ON DUPLICATE KEY UPDATE present. */
  upsert: boolean;
  /** INSERT ... SELECT. */
  fromSelect: boolean;
  /** Column names as written; null: all columns in table order. */
  columns: string[] | null;
  /** VALUES rows (or the one SET row); empty for INSERT ... SELECT. */
  rows: ValueRef[][];
}

export interface KeyedAnalysis {
  table: TableRef;
  /** More than one table (joins): only table-level repair is possible. */
  multiTable: boolean;
  /** Every table the statement names (a multi-table UPDATE/DELETE may change any of them). */
  tables: string[];
  where: Fragment | null;
  orderBy: Fragment | null;
  limit: Fragment | null;
  /** column -> the values it is compared with by `=` or `IN` in the top-level AND of WHERE. */
  equalities: Map<string, ValueRef[]>;
}

export interface UpdateAnalysis extends KeyedAnalysis {
  kind: 'update';
  setColumns: string[];
}

export interface DeleteAnalysis extends KeyedAnalysis {
  kind: 'delete';
}

export type WriteAnalysis = InsertAnalysis | UpdateAnalysis | DeleteAnalysis;

export type Analysis =
  | WriteAnalysis
  | { kind: 'read'; tables: string[]; locking: boolean; ordered: boolean }
  | { kind: 'transaction'; action: 'begin' | 'commit' | 'rollback' }
  /**
   * SET, SHOW, DDL, CALL, several statements: sent to the authoritative side only (refused while dual
   * writing when they change migrated tables, see refusals.ts). `statements`: each one's type.
   */
  | { kind: 'other'; tables: string[]; statements?: string[] }
  /** Not understood by the parser; `write` is a hint from the first keyword. */
  | { kind: 'unparsed'; write: boolean };

export function isWrite(a: Analysis): a is WriteAnalysis {
  return a.kind === 'insert' || a.kind === 'update' || a.kind === 'delete';
}

export function analysisTables(a: Analysis): string[] {
  switch (a.kind) {
    case 'insert':
      return [a.table];
    case 'update':
    case 'delete':
      return [a.table.table];
    case 'read':
    case 'other':
      return a.tables;
    default:
      return [];
  }
}
