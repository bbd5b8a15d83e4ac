/** Loading node-sql-parser (MariaDB grammar first, MySQL grammar as a fallback) and typed AST access. */
import mariadb from 'node-sql-parser/build/mariadb.js';
import mysql from 'node-sql-parser/build/mysql.js';

/** A node of node-sql-parser's AST, read defensively: only the fields the router uses. */
export interface Node {
  type?: string;
  [field: string]: unknown;
}

interface ParserLike {
  astify(sql: string, opt?: { database?: string }): unknown;
  exprToSQL(ast: unknown, opt?: { database?: string }): string;
  sqlify(ast: unknown, opt?: { database?: string }): string;
}

const grammars: { parser: ParserLike; database: string }[] = [
  { parser: new mariadb.Parser() as ParserLike, database: 'MariaDB' },
  // The MariaDB grammar of node-sql-parser 5.3 rejects UPDATE/DELETE ... ORDER BY/LIMIT.
  { parser: new mysql.Parser() as ParserLike, database: 'MySQL' },
];

export interface Parsed {
  statements: Node[];
  /** Renders an expression node of this parse back to SQL. */
  toSql(node: unknown): string;
  /** Renders statements of this parse (possibly changed) back to SQL, with the grammar that parsed them. */
  sqlify(statements: Node[]): string;
}

export function parseSql(sql: string): Parsed | undefined {
  for (const g of grammars) {
    try {
      const ast = g.parser.astify(sql, { database: g.database });
      const statements = (Array.isArray(ast) ? ast : [ast]).filter(isNode);
      return {
        statements,
        toSql: (node) => g.parser.exprToSQL(node, { database: g.database }),
        sqlify: (stmts) => g.parser.sqlify(stmts.length === 1 ? stmts[0] : stmts, { database: g.database }),
      };
    } catch {
      // try the next grammar
    }
  }
  return undefined;
}

export function isNode(v: unknown): v is Node {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function nodes(v: unknown): Node[] {
  return Array.isArray(v) ? v.filter(isNode) : [];
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** The column a node names (a bare name, `{expr: {value}}`, or a column_ref), if any. */
export function columnName(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (isNode(v)) {
    if (isNode(v.expr)) return columnName(v.expr.value);
    if (typeof v.value === 'string') return v.value;
    if (v.type === 'column_ref') return columnName(v.column);
  }
  return undefined;
}
