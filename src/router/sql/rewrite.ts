/**
 * Rewrites a parsed statement written against the source's tables (as the application writes it) into
 * the same statement against the target's layout: renamed tables (targetName), renamed columns
 * (columnMap) in every clause and subquery, resolved with SQL's scoping (aliases, qualified names,
 * correlated subqueries), `*` expanded to the mapped columns, and the select list aliased back to the
 * source's column names, so the application gets the rows it would get from the source.
 * Anything that cannot be expressed on the target throws MappingRule with the rule broken.
 */
import { MappingRule } from '../errors.js';
import { columnName, isNode, nodes, str, type Node } from './ast.js';

/** How one table is laid out on the target. Names are compared case-insensitively (MySQL columns). */
export interface TableMapping {
  source: string;
  target: string;
  /** Lower-cased source column -> target column, for renamed columns only. */
  renamed: ReadonlyMap<string, string>;
  /** Lower-cased source columns the target does not have. */
  excluded: ReadonlySet<string>;
}

export interface RewriteContext {
  /** The mapping of a source table, undefined when the table keeps its name and columns. */
  mapping(table: string): TableMapping | undefined;
  /** Source columns in table order, when known (every table of the statement is looked up first). */
  columns(table: string): readonly string[] | undefined;
  /** Texts of the top-level select list items as written (their auto-generated column names). */
  selectItemTexts?: readonly (string | undefined)[];
}

export interface RewriteResult {
  /** A `*` left out excluded columns: the target's answer has fewer columns than the source's. */
  starDropsExcluded: boolean;
  /** Some table or column was renamed (false: the statement text can be sent unchanged). */
  changed: boolean;
}

interface Binding {
  /** Name the clauses refer to it by: its alias, else its table name. */
  name: string;
  mapping?: TableMapping;
  /** Output columns (source names, lower-cased for lookup), when known. */
  columns?: readonly string[];
  /** A base table referred to without alias: qualified references must name the target table. */
  unaliased: boolean;
  /** JOIN ... USING / NATURAL JOIN in this scope: `*` cannot be expanded faithfully. */
  merging?: boolean;
}

interface Scope {
  bindings: Binding[];
  parent?: Scope;
  /** Aliases given in this SELECT's list (ORDER BY / GROUP BY / HAVING may refer to them). */
  aliases: Set<string>;
  /** CTE name -> output columns, visible in this SELECT and below. */
  ctes: Map<string, readonly string[] | undefined>;
}

/** Literals keep their own auto-generated names (a string's name is its value, without quotes). */
function isLiteral(e: Node): boolean {
  const t = String(e.type);
  return t.endsWith('string') || ['number', 'bool', 'boolean', 'null', 'var', 'param', 'default'].includes(t);
}

class Rewriter {
  readonly result: RewriteResult = { starDropsExcluded: false, changed: false };

  constructor(private readonly ctx: RewriteContext) {}

  statement(stmt: Node): void {
    switch (stmt.type) {
      case 'select':
        this.select(stmt, undefined, true);
        return;
      case 'insert':
      case 'replace':
        this.insert(stmt);
        return;
      case 'update':
        this.update(stmt);
        return;
      case 'delete':
        this.delete(stmt);
        return;
      default:
        throw new MappingRule(
          `${String(stmt.type).toUpperCase()} statements are not rewritten for the target`,
        );
    }
  }

  // ---- SELECT -----------------------------------------------------------------------------------------

  select(sel: Node, parent: Scope | undefined, top: boolean): string[] {
    const scope: Scope = {
      bindings: [],
      parent,
      aliases: new Set(),
      ctes: new Map(parent?.ctes ?? []),
    };
    for (const cte of nodes(sel.with)) {
      const name = cteName(cte);
      const body = isNode(cte.stmt) && isNode(cte.stmt.ast) ? cte.stmt.ast : undefined;
      if (name) scope.ctes.set(name, undefined); // visible in its own body (recursive CTE)
      const out = body ? this.select(body, scope, false) : undefined;
      const declared = Array.isArray(cte.columns) ? cte.columns.map((c) => columnName(c) ?? '') : undefined;
      if (name) scope.ctes.set(name, declared ?? out);
    }
    this.fromList(sel.from, scope);
    for (const item of nodes(sel.columns)) {
      const as = aliasOf(item.as);
      if (as) scope.aliases.add(as.toLowerCase());
    }
    sel.columns = this.selectList(sel, scope, top);
    for (const item of nodes(sel.from)) if (item.on) this.expr(item.on, scope, false);
    this.expr(sel.where, scope, false);
    if (isNode(sel.groupby)) this.expr(sel.groupby.columns, scope, true);
    else this.expr(sel.groupby, scope, true);
    this.expr(sel.having, scope, true);
    this.expr(sel.orderby, scope, true);
    this.expr(sel.window, scope, true);
    this.expr(sel.limit, scope, false);
    const out = outputNames(sel);
    // UNION parts: same CTEs and outer scope; names come from the first part.
    if (isNode(sel._next))
      this.select(sel._next, { bindings: [], parent, aliases: new Set(), ctes: scope.ctes }, false);
    return out;
  }

  private fromList(from: unknown, scope: Scope): void {
    for (const item of nodes(from)) {
      const sub = isNode(item.expr) && isNode(item.expr.ast) ? item.expr.ast : undefined;
      const alias = aliasOf(item.as);
      if (sub) {
        // A derived table sees the CTEs, not the tables beside it (no LATERAL).
        const out = this.select(sub, { bindings: [], aliases: new Set(), ctes: scope.ctes }, false);
        if (alias) scope.bindings.push({ name: alias, columns: out.map(lower), unaliased: false });
        continue;
      }
      const table = str(item.table);
      if (!table) continue;
      if (Array.isArray(item.using) || /natural/i.test(String(item.join ?? ''))) {
        for (const b of scope.bindings) b.merging = true;
        const using = (Array.isArray(item.using) ? item.using : []).map((u) => lower(columnName(u) ?? ''));
        const mapped = [...scope.bindings.map((b) => b.mapping), this.ctx.mapping(table)].filter(
          (m): m is TableMapping => m !== undefined,
        );
        if (/natural/i.test(String(item.join ?? '')) && mapped.length > 0)
          throw new MappingRule('NATURAL JOIN of a mapped table');
        for (const u of using) {
          if (mapped.some((m) => m.renamed.has(u) || m.excluded.has(u)))
            throw new MappingRule(`JOIN ... USING (${u}): a renamed or excluded column`);
        }
      }
      if (scope.ctes.has(table) && !item.db) {
        const cols = scope.ctes.get(table);
        scope.bindings.push({ name: alias ?? table, columns: cols?.map(lower), unaliased: false });
        continue;
      }
      const mapping = this.ctx.mapping(table);
      const cols = this.ctx.columns(table);
      // The target's tables are in the target connection's database: a source database name is dropped.
      if (mapping && item.db) item.db = null;
      scope.bindings.push({
        name: alias ?? table,
        mapping,
        columns: cols?.map(lower),
        unaliased: !alias,
        merging: Array.isArray(item.using) || /natural/i.test(String(item.join ?? '')),
      });
      if (mapping) {
        item.table = mapping.target;
        this.result.changed = true;
      }
    }
  }

  private selectList(sel: Node, scope: Scope, top: boolean): Node[] {
    const items = nodes(sel.columns);
    const texts = top ? this.ctx.selectItemTexts : undefined;
    const useTexts = texts !== undefined && texts.length === items.length;
    const out: Node[] = [];
    items.forEach((item, i) => {
      const e = isNode(item.expr) ? item.expr : undefined;
      if (e && e.type === 'column_ref' && columnName(e.column) === '*') {
        out.push(...this.star(e, scope));
        return;
      }
      if (e && e.type === 'star') {
        out.push(...this.star({ type: 'column_ref', table: null, column: '*' }, scope));
        return;
      }
      const before = e?.type === 'column_ref' ? columnName(e.column) : undefined;
      this.expr(item.expr, scope, false);
      if (!aliasOf(item.as)) {
        if (e?.type === 'column_ref') {
          const after = columnName(e.column);
          if (before && after && before !== after) item.as = before;
        } else if (e && !isLiteral(e) && useTexts) {
          const text = texts[i];
          // The auto-generated name of an expression is its text as written; keep it.
          if (text && text.length <= 256) item.as = text;
        }
      }
      out.push(item);
    });
    return out;
  }

  /** `*` or `t.*`: mapped tables become their column lists (aliased back), others stay `t.*`. */
  private star(ref: Node, scope: Scope): Node[] {
    const qualifier = nameOf(ref.table);
    const bindings = qualifier ? scope.bindings.filter((b) => b.name === qualifier) : scope.bindings;
    if (bindings.length === 0) return [{ expr: ref, as: null }];
    if (!bindings.some((b) => b.mapping)) return [{ expr: ref, as: null }];
    if (bindings.some((b) => b.merging))
      throw new MappingRule('`*` over JOIN ... USING / NATURAL JOIN of a mapped table');
    const out: Node[] = [];
    for (const b of bindings) {
      const q = b.mapping && b.unaliased ? b.mapping.target : b.name;
      if (!b.mapping) {
        out.push({ expr: { type: 'column_ref', table: q, column: '*' }, as: null });
        continue;
      }
      const cols = this.ctx.columns(b.mapping.source);
      if (!cols) throw new MappingRule(`columns of ${b.mapping.source} unknown: \`*\` cannot be expanded`);
      for (const c of cols) {
        if (b.mapping.excluded.has(lower(c))) {
          this.result.starDropsExcluded = true;
          continue;
        }
        const t = b.mapping.renamed.get(lower(c)) ?? c;
        out.push({ expr: { type: 'column_ref', table: q, column: t }, as: t === c ? null : c });
      }
      this.result.changed = true;
    }
    return out;
  }

  // ---- expressions --------------------------------------------------------------------------------

  /** Renames every column reference under v; true when something changed. */
  expr(v: unknown, scope: Scope, selectAliases: boolean): boolean {
    if (Array.isArray(v)) {
      let changed = false;
      for (const item of v) changed = this.expr(item, scope, selectAliases) || changed;
      return changed;
    }
    if (!isNode(v)) return false;
    if (v.type === 'column_ref') return this.column(v, scope, selectAliases);
    if (isNode(v.ast) && (v.ast.type === 'select' || isNode(v.ast.with))) {
      this.select(v.ast, scope, false);
      return true;
    }
    if (v.type === 'select') {
      this.select(v, scope, false);
      return true;
    }
    let changed = false;
    for (const key of Object.keys(v)) {
      if (key === 'loc' || key === 'tableList' || key === 'columnList') continue;
      changed = this.expr(v[key], scope, selectAliases) || changed;
    }
    return changed;
  }

  private column(ref: Node, scope: Scope, selectAliases: boolean): boolean {
    const name = columnName(ref.column);
    if (!name || name === '*') return false;
    const qualifier = nameOf(ref.table);
    if (!qualifier && name.toUpperCase() === 'DEFAULT') {
      // VALUES (..., DEFAULT): the parser reads a column named DEFAULT; keep the keyword.
      for (const k of Object.keys(ref)) delete ref[k];
      Object.assign(ref, { type: 'origin', value: 'DEFAULT' });
      return false;
    }
    const binding = qualifier ? findQualified(scope, qualifier) : findUnqualified(scope, name, selectAliases);
    if (!binding?.mapping) return false;
    const target = this.mapColumn(binding.mapping, name);
    let changed = false;
    if (target !== name) {
      setColumnName(ref, target);
      changed = true;
    }
    if (qualifier && binding.unaliased && qualifier !== binding.mapping.target) {
      ref.table = renameColumnValue(ref.table, binding.mapping.target);
      changed = true;
    }
    if (changed) this.result.changed = true;
    return changed;
  }

  private mapColumn(m: TableMapping, name: string): string {
    const key = lower(name);
    if (m.excluded.has(key))
      throw new MappingRule(
        `column ${m.source}.${name} is excluded (excludeColumns): the target table ${m.target} does not have it`,
      );
    return m.renamed.get(key) ?? name;
  }

  // ---- writes ---------------------------------------------------------------------------------------

  private insert(stmt: Node): void {
    const target = nodes(stmt.table)[0];
    const table = target ? str(target.table) : undefined;
    if (!target || !table) throw new MappingRule('INSERT without a table');
    const mapping = this.ctx.mapping(table);
    const scope: Scope = {
      bindings: [
        {
          name: table,
          mapping,
          columns: this.ctx.columns(table)?.map(lower),
          unaliased: true,
        },
      ],
      aliases: new Set(),
      ctes: new Map(),
    };
    if (mapping) {
      target.table = mapping.target;
      this.result.changed = true;
      if (Array.isArray(stmt.columns)) {
        stmt.columns = stmt.columns.map((c) =>
          renameColumnValue(c, this.mapColumn(mapping, columnName(c) ?? '')),
        );
      } else if (!Array.isArray(stmt.set)) {
        const cols = this.ctx.columns(table);
        if (!cols) throw new MappingRule(`columns of ${table} unknown: INSERT without a column list`);
        if (cols.some((c) => mapping.excluded.has(lower(c))))
          throw new MappingRule(
            `INSERT into ${table} without a column list: it has excluded columns (excludeColumns); name the columns`,
          );
        stmt.columns = cols.map((c) => mapping.renamed.get(lower(c)) ?? c);
      }
    }
    for (const s of nodes(stmt.set)) this.assignment(s, scope);
    const values = isNode(stmt.values) ? stmt.values : undefined;
    if (values?.type === 'select') this.select(values, undefined, false);
    else this.expr(values, scope, false);
    const odku = isNode(stmt.on_duplicate_update) ? stmt.on_duplicate_update : undefined;
    for (const s of nodes(odku?.set)) this.assignment(s, scope);
  }

  /** `col = expr` of SET / ON DUPLICATE KEY UPDATE. */
  private assignment(s: Node, scope: Scope): void {
    const ref: Node = { type: 'column_ref', table: s.table ?? null, column: s.column };
    if (this.column(ref, scope, false)) {
      s.column = ref.column;
      if (s.table) s.table = ref.table;
    }
    this.expr(s.value, scope, false);
  }

  private update(stmt: Node): void {
    const scope: Scope = { bindings: [], aliases: new Set(), ctes: new Map() };
    this.fromList(stmt.table, scope);
    for (const item of nodes(stmt.table)) if (item.on) this.expr(item.on, scope, false);
    for (const s of nodes(stmt.set)) this.assignment(s, scope);
    this.expr(stmt.where, scope, false);
    this.expr(stmt.orderby, scope, false);
  }

  private delete(stmt: Node): void {
    const scope: Scope = { bindings: [], aliases: new Set(), ctes: new Map() };
    const from = nodes(stmt.from);
    this.fromList(from, scope);
    for (const item of from) if (item.on) this.expr(item.on, scope, false);
    for (const t of nodes(stmt.table)) {
      const name = nameOf(t.table);
      const b = name ? scope.bindings.find((x) => x.name === name) : undefined;
      if (b?.mapping && b.unaliased) t.table = renameColumnValue(t.table, b.mapping.target);
    }
    this.expr(stmt.where, scope, false);
    this.expr(stmt.orderby, scope, false);
  }
}

function findQualified(scope: Scope | undefined, qualifier: string): Binding | undefined {
  for (let s = scope; s; s = s.parent) {
    const b = s.bindings.find((x) => x.name === qualifier);
    if (b) return b;
  }
  return undefined;
}

/** The binding an unqualified column belongs to: the innermost scope with a table having it. */
function findUnqualified(
  scope: Scope | undefined,
  name: string,
  selectAliases: boolean,
): Binding | undefined {
  const key = lower(name);
  if (selectAliases && scope?.aliases.has(key)) return undefined;
  for (let s = scope; s; s = s.parent) {
    const found = s.bindings.filter((b) => b.columns?.includes(key));
    if (found.length === 1) return found[0];
    if (found.length > 1) {
      // Ambiguous on the source too (or USING-merged): fine unless a mapped table renames it.
      if (found.some((b) => b.mapping && (b.mapping.renamed.has(key) || b.mapping.excluded.has(key))))
        throw new MappingRule(`column ${name} is ambiguous and renamed or excluded on the target`);
      return undefined;
    }
    // Columns of some table unknown: with a single table in scope it must be that one.
    if (s.bindings.length === 1 && !s.bindings[0].columns) return s.bindings[0];
  }
  return undefined;
}

/** Output column names of a SELECT (source names: the select list is aliased back). */
function outputNames(sel: Node): string[] {
  return nodes(sel.columns).map((item) => {
    const as = aliasOf(item.as);
    if (as) return as;
    const e = isNode(item.expr) ? item.expr : undefined;
    return e?.type === 'column_ref' ? (columnName(e.column) ?? '') : '';
  });
}

/** A qualifier or name: plain, or a quoted-string node (`tbl`.col). */
function nameOf(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (isNode(v) && typeof v.value === 'string') return v.value;
  return undefined;
}

function cteName(cte: Node): string | undefined {
  if (typeof cte.name === 'string') return cte.name;
  if (isNode(cte.name) && typeof cte.name.value === 'string') return cte.name.value;
  return undefined;
}

function aliasOf(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (isNode(v) && typeof v.value === 'string') return v.value;
  return undefined;
}

/** The same shape as `v` (plain string or {expr: {value}}) with another name. */
function renameColumnValue(v: unknown, name: string): unknown {
  if (typeof v === 'string') return name;
  if (isNode(v) && isNode(v.expr)) return { ...v, expr: { ...v.expr, value: name } };
  if (isNode(v) && typeof v.value === 'string') return { ...v, value: name };
  if (isNode(v) && v.type === 'column_ref') return { ...v, column: renameColumnValue(v.column, name) };
  return name;
}

function setColumnName(ref: Node, name: string): void {
  ref.column = renameColumnValue(ref.column, name);
}

function lower(s: string): string {
  return s.toLowerCase();
}

/**
 * Rewrites the statement in place for the target. Throws MappingRule when it cannot be expressed there.
 */
export function rewriteForTarget(stmt: Node, ctx: RewriteContext): RewriteResult {
  const r = new Rewriter(ctx);
  r.statement(stmt);
  return r.result;
}
