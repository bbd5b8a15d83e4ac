/**
 * The statement each side runs. The application writes SQL against the source's layout; on the target
 * a statement naming a mapped table runs rewritten (sql/rewrite.ts). Each SQL text is rewritten once
 * (LRU cache); a call binds its values to the rewritten placeholders' order.
 */
import { format } from 'mysql2/promise';
import type { Side } from '../shared/switches.js';
import { needsFormatting, type NormalisedCall } from './args.js';
import { MappingRule, UnmappableStatementError } from './errors.js';
import type { RouterMappings } from './mapping.js';
import type { Analysis } from './sql/analysis.js';
import { analyzeTemplate, collectTables } from './sql/analyze.js';
import { parseSql, type Node, type Parsed } from './sql/ast.js';
import { identifierWords, markPlaceholders, selectItemTexts, unmark } from './sql/lexer.js';
import { rewriteForTarget } from './sql/rewrite.js';

/** A statement template as one side runs it. */
export interface SideTemplate {
  sql: string;
  /** Value index of each `?` of `sql`, in order. */
  params: number[];
  analysis: Analysis;
  /** `*` left out excluded columns (the target's answer lacks columns the source's has). */
  starDropsExcluded: boolean;
}

export interface SideCall {
  call: NormalisedCall;
  analysis: Analysis;
  starDropsExcluded: boolean;
}

/** `transient`: made without some table's columns (the source could not be asked): not kept. */
type Cached = ({ ok: SideTemplate } | { rule: string }) & { transient?: boolean };

/** The statement names no mapped table: it runs as written. */
const UNCHANGED: SideTemplate = {
  sql: '',
  params: [],
  analysis: { kind: 'unparsed', write: false },
  starDropsExcluded: false,
};

export class SideStatements {
  private readonly cache = new Map<string, Promise<Cached>>();

  constructor(
    private readonly mappings: RouterMappings,
    /** Source columns in table order (undefined when unknown). */
    private readonly sourceColumns: (table: string) => Promise<readonly string[] | undefined>,
    private readonly capacity = 2000,
  ) {}

  /**
   * The call as `side` runs it, with the analysis of that text. Source, and statements naming no
   * mapped table: unchanged. Throws UnmappableStatementError when the target cannot run it.
   */
  async forSide(call: NormalisedCall, a: Analysis, side: Side): Promise<SideCall> {
    const sql = call.options.sql;
    if (side === 'source' || !this.mappings.any || a.kind === 'transaction')
      return { call, analysis: a, starDropsExcluded: false };
    const literal =
      needsFormatting(call.values) || (sql.includes('??') && markPlaceholders(sql).identifierPlaceholder);
    const text = literal ? format(sql, call.values as never[]) : sql;
    const t = await this.template(text, a);
    if ('rule' in t) throw new UnmappableStatementError(sql, t.rule);
    if (t.ok === UNCHANGED) return { call, analysis: a, starDropsExcluded: false };
    const values = literal ? [] : t.ok.params.map((i) => call.values[i]);
    return {
      call: { ...call, options: { ...call.options, sql: t.ok.sql, values }, values },
      analysis: t.ok.analysis,
      starDropsExcluded: t.ok.starDropsExcluded,
    };
  }

  private template(sql: string, a: Analysis): Promise<Cached> {
    let p = this.cache.get(sql);
    if (p) {
      this.cache.delete(sql);
      this.cache.set(sql, p);
      return p;
    }
    p = this.rewrite(sql, a).catch((err: unknown) => ({ rule: `rewrite failed: ${(err as Error).message}` }));
    this.cache.set(sql, p);
    const mine = p;
    void p.then((c) => {
      if (c.transient && this.cache.get(sql) === mine) this.cache.delete(sql);
    });
    if (this.cache.size > this.capacity) this.cache.delete(this.cache.keys().next().value as string);
    return p;
  }

  private async rewrite(sql: string, a: Analysis): Promise<Cached> {
    const mapped = (tables: string[]) => tables.some((t) => this.mappings.isMapped(t));
    if (a.kind === 'unparsed') {
      const words = identifierWords(sql);
      if (!this.mappings.names().some((n) => words.has(n))) return { ok: UNCHANGED };
      return { rule: "the router's parser does not understand it, so it cannot rename the mapped table" };
    }
    if (a.kind === 'other') {
      if (!mapped(a.tables)) return { ok: UNCHANGED };
      return {
        rule: `${(a.statements ?? []).join(', ').toUpperCase() || 'this statement'} is not rewritten for a mapped table (only single SELECT/INSERT/REPLACE/UPDATE/DELETE)`,
      };
    }
    let style: 'var' | 'number' = 'var';
    let marked = markPlaceholders(sql);
    let parsed = parseSql(marked.marked);
    if (!parsed && marked.count > 0) {
      style = 'number';
      marked = markPlaceholders(sql, 'number');
      parsed = parseSql(marked.marked);
    }
    if (!parsed || parsed.statements.length !== 1)
      return { rule: 'one statement expected (several statements in one string are not rewritten)' };
    const stmt = parsed.statements[0];
    const tables = collectTables([stmt]);
    if (!mapped(tables)) return { ok: UNCHANGED };
    const columns = new Map<string, readonly string[] | undefined>();
    await Promise.all(
      tables.map(async (t) => columns.set(t, await this.sourceColumns(t).catch(() => undefined))),
    );
    const transient = [...columns.values()].some((c) => c === undefined);
    const result = this.rewriteWith(stmt, parsed, style, marked.marked, columns);
    return transient ? { ...result, transient } : result;
  }

  private rewriteWith(
    stmt: Node,
    parsed: Parsed,
    style: 'var' | 'number',
    marked: string,
    columns: Map<string, readonly string[] | undefined>,
  ): Cached {
    let starDropsExcluded: boolean;
    let changed: boolean;
    try {
      const r = rewriteForTarget(stmt, {
        mapping: (t) => this.mappings.of(t),
        columns: (t) => columns.get(t),
        // An item holding a placeholder is named after the value: no alias for it.
        selectItemTexts: selectItemTexts(marked)?.map((t) =>
          unmark(t, style).params.length > 0 ? undefined : t,
        ),
      });
      starDropsExcluded = r.starDropsExcluded;
      changed = r.changed;
    } catch (err) {
      if (err instanceof MappingRule) return { rule: err.message };
      throw err;
    }
    if (!changed && !starDropsExcluded) return { ok: UNCHANGED };
    const out = unmark(parsed.sqlify([stmt]), style);
    const analysis = analyzeTemplate(out.sql)?.analysis;
    if (!analysis || analysis.kind === 'unparsed')
      return { rule: 'the rewritten statement could not be analysed' };
    return { ok: { sql: out.sql, params: out.params, analysis, starDropsExcluded } };
  }
}
