import type { Analysis, Fragment, InsertAnalysis, KeyedAnalysis, TableRef, ValueRef } from './analysis.js';
import { columnName, isNode, nodes, parseSql, str, type Node, type Parsed } from './ast.js';
import { firstKeyword, markPlaceholders, markerIndex, numberMarkerIndex, unmark } from './lexer.js';

const WRITE_KEYWORDS = new Set(['INSERT', 'UPDATE', 'DELETE', 'REPLACE']);

export interface AnalyzedTemplate {
  analysis: Analysis;
  /** Number of `?` placeholders the analysis refers to. */
  placeholders: number;
}

/**
 * Analyses a statement template. Placeholders (`?`) are replaced by marker variables before parsing so
 * that value positions survive the parse; `??` (identifier placeholders) cannot be analysed this way
 * and return undefined (the caller formats the statement and analyses the literal SQL instead).
 */
export function analyzeTemplate(sql: string): AnalyzedTemplate | undefined {
  const marked = markPlaceholders(sql);
  if (marked.identifierPlaceholder) return undefined;
  let parsed: Marked | undefined = withStyle(parseSql(marked.marked), 'var');
  if (!parsed && marked.count > 0)
    parsed = withStyle(parseSql(markPlaceholders(sql, 'number').marked), 'number');
  if (!parsed)
    return {
      analysis: { kind: 'unparsed', write: WRITE_KEYWORDS.has(firstKeyword(sql)) },
      placeholders: marked.count,
    };
  return { analysis: analyzeParsed(parsed), placeholders: marked.count };
}

/** A parse plus the placeholder marking it was made with. */
interface Marked extends Parsed {
  style: 'var' | 'number';
}

function withStyle(parsed: Parsed | undefined, style: 'var' | 'number'): Marked | undefined {
  return parsed && { ...parsed, style };
}

function analyzeParsed(parsed: Marked): Analysis {
  if (parsed.statements.length !== 1) return other(parsed.statements);
  const stmt = parsed.statements[0];
  switch (stmt.type) {
    case 'select':
      return {
        kind: 'read',
        tables: collectTables([stmt]),
        locking: Boolean(stmt.locking_read),
        ordered: Array.isArray(stmt.orderby) && stmt.orderby.length > 0,
      };
    case 'insert':
    case 'replace':
      return analyzeInsert(stmt, parsed);
    case 'update': {
      const keyed = analyzeKeyed(stmt, nodes(stmt.table), nodes(stmt.table).length > 1, parsed);
      if (!keyed) return other([stmt]);
      const setColumns = nodes(stmt.set).map((s) => columnName(s.column) ?? '');
      return { kind: 'update', ...keyed, setColumns };
    }
    case 'delete': {
      const from = nodes(stmt.from);
      const targets = nodes(stmt.table);
      const keyed = analyzeKeyed(stmt, from, from.length > 1 || targets.length > 1, parsed);
      if (!keyed) return other([stmt]);
      return { kind: 'delete', ...keyed };
    }
    case 'transaction': {
      const expr = isNode(stmt.expr) ? stmt.expr : {};
      const action = isNode(expr.action) ? String(expr.action.value ?? '').toLowerCase() : '';
      if (action === 'begin' || action === 'start') return { kind: 'transaction', action: 'begin' };
      if (action === 'commit') return { kind: 'transaction', action: 'commit' };
      if (action === 'rollback') return { kind: 'transaction', action: 'rollback' };
      return other([stmt]);
    }
    default:
      return other([stmt]);
  }
}

function other(statements: Node[]): Analysis {
  return {
    kind: 'other',
    tables: collectTables(statements),
    statements: statements.map((s) => String(s.type ?? '').toLowerCase()),
  };
}

function analyzeInsert(stmt: Node, parsed: Marked): Analysis {
  const target = nodes(stmt.table)[0];
  const table = target ? str(target.table) : undefined;
  if (!table) return other([stmt]);
  const prefix = String(stmt.prefix ?? '').toLowerCase();
  const out: InsertAnalysis = {
    kind: 'insert',
    table,
    replace: stmt.type === 'replace',
    ignore: prefix.split(/\s+/).includes('ignore'),
    upsert: isNode(stmt.on_duplicate_update),
    fromSelect: false,
    columns: null,
    rows: [],
  };
  if (Array.isArray(stmt.set)) {
    const set = nodes(stmt.set);
    out.columns = set.map((s) => columnName(s.column) ?? '');
    out.rows = [set.map((s) => valueRef(s.value, parsed))];
    return out;
  }
  if (Array.isArray(stmt.columns)) out.columns = stmt.columns.map((c) => columnName(c) ?? '');
  const values = isNode(stmt.values) ? stmt.values : undefined;
  if (values?.type === 'values') {
    out.rows = nodes(values.values).map((row) =>
      Array.isArray(row.value) ? row.value.map((v) => valueRef(v, parsed)) : [],
    );
  } else if (values?.type === 'select') {
    out.fromSelect = true;
  } else {
    return other([stmt]);
  }
  return out;
}

function analyzeKeyed(
  stmt: Node,
  tables: Node[],
  multiTable: boolean,
  parsed: Marked,
): KeyedAnalysis | undefined {
  const first = tables[0];
  const name = first ? str(first.table) : undefined;
  if (!name) return undefined;
  const table: TableRef = { table: name, alias: str(first.as) ?? null };
  const where = stmt.where ? fragment(stmt.where, parsed) : null;
  let orderBy: Fragment | null = null;
  const order = nodes(stmt.orderby);
  if (order.length > 0) {
    const parts = order.map((o) => {
      const dir = str(o.type);
      return `${parsed.toSql(o.expr)}${dir ? ` ${dir.toUpperCase()}` : ''}`;
    });
    orderBy = unmark(parts.join(', '), parsed.style);
  }
  let limit: Fragment | null = null;
  const lim = isNode(stmt.limit) ? stmt.limit : undefined;
  const limValues = lim ? nodes(lim.value) : [];
  if (lim && limValues.length > 0) {
    const rendered = limValues.map((v) => parsed.toSql(v));
    const sep = String(lim.seperator ?? '').toLowerCase();
    const text =
      rendered.length === 1
        ? rendered[0]
        : sep === 'offset'
          ? `${rendered[0]} OFFSET ${rendered[1]}`
          : `${rendered[0]}, ${rendered[1]}`;
    limit = unmark(text, parsed.style);
  }
  const equalities = new Map<string, ValueRef[]>();
  if (isNode(stmt.where)) collectEqualities(stmt.where, table, parsed, equalities);
  return { table, multiTable, tables: collectTables([stmt]), where, orderBy, limit, equalities };
}

function collectEqualities(node: Node, table: TableRef, parsed: Marked, out: Map<string, ValueRef[]>): void {
  if (node.type !== 'binary_expr') return;
  const op = String(node.operator ?? '').toUpperCase();
  if ((op === 'AND' || op === '&&') && !node.parentheses) {
    if (isNode(node.left)) collectEqualities(node.left, table, parsed, out);
    if (isNode(node.right)) collectEqualities(node.right, table, parsed, out);
    return;
  }
  if (op === 'AND' || op === '&&') {
    if (isNode(node.left)) collectEqualities(node.left, table, parsed, out);
    if (isNode(node.right)) collectEqualities(node.right, table, parsed, out);
    return;
  }
  const left = isNode(node.left) ? node.left : undefined;
  const right = isNode(node.right) ? node.right : undefined;
  if (!left || !right) return;
  if (op === '=') {
    const [col, val] =
      left.type === 'column_ref' ? [left, right] : right.type === 'column_ref' ? [right, left] : [];
    if (!col || !val || val.type === 'column_ref') return;
    const name = ownColumn(col, table);
    const ref = valueRef(val, parsed);
    if (name && ref.kind !== 'generated') out.set(name, [ref]);
  } else if (
    op === 'IN' &&
    left.type === 'column_ref' &&
    right.type === 'expr_list' &&
    Array.isArray(right.value)
  ) {
    const name = ownColumn(left, table);
    const refs = right.value.map((v) => valueRef(v, parsed));
    if (name && refs.every((r) => r.kind !== 'generated')) out.set(name, refs);
  }
}

function ownColumn(col: Node, table: TableRef): string | undefined {
  const qualifier = str(col.table);
  if (qualifier && qualifier !== table.table && qualifier !== table.alias) return undefined;
  return columnName(col.column);
}

function valueRef(v: unknown, parsed: Marked): ValueRef {
  if (!isNode(v)) return { kind: 'sql', fragment: { sql: 'NULL', params: [] } };
  if (v.type === 'var' && v.prefix === '@' && typeof v.name === 'string') {
    const index = markerIndex(v.name);
    if (index !== undefined) return { kind: 'param', index };
  }
  if (v.type === 'number' && typeof v.value === 'number') {
    const index = parsed.style === 'number' ? numberMarkerIndex(v.value) : undefined;
    return index !== undefined ? { kind: 'param', index } : { kind: 'number', value: v.value };
  }
  if (v.type === 'null' || v.type === 'default') return { kind: 'generated' };
  if (v.type === 'column_ref' && String(columnName(v.column)).toUpperCase() === 'DEFAULT' && !v.table)
    return { kind: 'generated' };
  return { kind: 'sql', fragment: fragment(v, parsed) };
}

function fragment(node: unknown, parsed: Marked): Fragment {
  return unmark(parsed.toSql(node), parsed.style);
}

/** Base tables named anywhere in the statements (joins, subqueries); CTE names are not tables. */
export function collectTables(statements: Node[]): string[] {
  const found = new Set<string>();
  const ctes = new Set<string>();
  const walk = (v: unknown, depth: number): void => {
    if (depth > 200) return;
    if (Array.isArray(v)) {
      for (const item of v) walk(item, depth + 1);
      return;
    }
    if (!isNode(v)) return;
    for (const cte of nodes(v.with)) {
      const name = isNode(cte.name) ? str(cte.name.value) : str(cte.name);
      if (name) ctes.add(name);
    }
    if (typeof v.table === 'string' && 'db' in v && !('column' in v) && !(v.db === null && ctes.has(v.table)))
      found.add(v.table);
    for (const key of Object.keys(v)) {
      if (key !== 'loc') walk(v[key], depth + 1);
    }
  };
  walk(statements, 0);
  return [...found];
}

/** A small LRU of analysed templates: parsing costs hundreds of microseconds, a lookup almost nothing. */
export class AnalysisCache {
  private readonly map = new Map<string, AnalyzedTemplate | undefined>();

  constructor(private readonly capacity = 2000) {}

  get(sql: string): AnalyzedTemplate | undefined {
    if (this.map.has(sql)) {
      const hit = this.map.get(sql);
      this.map.delete(sql);
      this.map.set(sql, hit);
      return hit;
    }
    const fresh = analyzeTemplate(sql);
    this.map.set(sql, fresh);
    if (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value as string);
    return fresh;
  }
}
