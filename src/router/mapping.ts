/**
 * The plan's table mapping as the router uses it: which source tables are renamed (targetName), which
 * columns renamed (columnMap) or left out (excludeColumns) on the target, and how a mirrored row image
 * travels between the two layouts.
 */
import type { Side } from '../shared/switches.js';
import type { MirrorOp } from './mirror.js';
import type { TableConfig, TableMeta } from './schema.js';
import type { TableMapping } from './sql/rewrite.js';

export class RouterMappings {
  private readonly bySource = new Map<string, TableMapping>();
  private readonly byTarget = new Map<string, TableMapping>();

  constructor(tables: Record<string, TableConfig> = {}) {
    for (const [name, config] of Object.entries(tables)) {
      const renamed = new Map(
        Object.entries(config.columnMap ?? {})
          .filter(([from, to]) => from !== to)
          .map(([from, to]) => [from.toLowerCase(), to]),
      );
      const excluded = new Set((config.excludeColumns ?? []).map((c) => c.toLowerCase()));
      const target = config.targetName ?? name;
      if (target === name && renamed.size === 0 && excluded.size === 0) continue;
      const m: TableMapping = { source: name, target, renamed, excluded };
      this.bySource.set(name, m);
      this.byTarget.set(target, m);
    }
  }

  /** True when some table is mapped (a router without mappings never rewrites). */
  get any(): boolean {
    return this.bySource.size > 0;
  }

  /** The mapping of a source table. */
  of(table: string): TableMapping | undefined {
    return this.bySource.get(table);
  }

  /** The mapping whose target table is `table`. */
  ofTarget(table: string): TableMapping | undefined {
    return this.byTarget.get(table);
  }

  isMapped(table: string): boolean {
    return this.bySource.has(table);
  }

  /** Every source and target name of mapped tables (to spot them in statements the parser rejects). */
  names(): string[] {
    return [...this.bySource.values()].flatMap((m) => [m.source.toLowerCase(), m.target.toLowerCase()]);
  }

  /** The table's name on `side`, from either side's name. */
  tableOn(side: Side, table: string): string {
    const m = this.bySource.get(table) ?? this.byTarget.get(table);
    if (!m) return table;
    return side === 'source' ? m.source : m.target;
  }

  /** Table configs for introspecting the target: keyed and with key columns by target names. */
  targetConfigs(tables: Record<string, TableConfig> = {}): Record<string, TableConfig> {
    const out: Record<string, TableConfig> = {};
    for (const [name, config] of Object.entries(tables)) {
      const m = this.bySource.get(name);
      if (!m) {
        out[name] = config;
        continue;
      }
      const col = (c: string) => toTarget(m, c) ?? c;
      out[m.target] = {
        ...config,
        key: config.key?.map(col),
        autoIncrement: config.autoIncrement && col(config.autoIncrement),
        uniqueKeys: config.uniqueKeys?.map((k) => k.map(col)),
      };
    }
    return out;
  }

  /**
   * A mirror op captured on `from` (its table and meta in `from`'s names), expressed for the other side:
   * the table renamed, each row image projected onto the columns the other side has under the mapping
   * (source -> target drops excluded columns; target -> source writes only mapped columns, so the
   * source's excluded columns keep their values, or their defaults on insert). `op.table` becomes the
   * source name (what repair entries and the repair loop use). `otherMeta` is the other side's table.
   */
  async forOtherSide(
    op: MirrorOp,
    from: Side,
    otherMeta: (table: string) => Promise<TableMeta>,
  ): Promise<MirrorOp> {
    const m = from === 'source' ? this.bySource.get(op.table) : this.byTarget.get(op.table);
    if (!m) return op;
    const logical = { ...op, table: m.source };
    const meta = op.meta;
    if (!meta || op.tableLevel) return { ...logical, meta: undefined };
    const other = await otherMeta(from === 'source' ? m.target : m.source);
    const writable = new Map(other.writable.map((c) => [c.toLowerCase(), c]));
    const map = (c: string) => {
      const name = from === 'source' ? toTarget(m, c) : toSource(m, c);
      return name === undefined ? undefined : writable.get(name.toLowerCase());
    };
    const idx: number[] = [];
    const cols: string[] = [];
    meta.writable.forEach((c, i) => {
      const o = map(c);
      if (o !== undefined) {
        idx.push(i);
        cols.push(o);
      }
    });
    const key = meta.key.map((k) => map(k));
    if (key.some((k) => k === undefined))
      return {
        ...logical,
        meta: undefined,
        tableLevel: `key of ${m.source} not mapped on the ${from === 'source' ? 'target' : 'source'}`,
      };
    const mapped: TableMeta = {
      ...other,
      writable: cols,
      key: key as string[],
      binary: new Set([...other.binary]),
    };
    return {
      ...logical,
      meta: mapped,
      upserts: op.upserts.map((row) => idx.map((i) => row[i] ?? null)),
    };
  }
}

/** Target name of a source column; undefined when excluded. */
export function toTarget(m: TableMapping, column: string): string | undefined {
  const key = column.toLowerCase();
  if (m.excluded.has(key)) return undefined;
  return m.renamed.get(key) ?? column;
}

/** Source name of a target column; undefined when it has none (a target-only column). */
export function toSource(m: TableMapping, column: string): string | undefined {
  const key = column.toLowerCase();
  for (const [from, to] of m.renamed) if (to.toLowerCase() === key) return from;
  // A source column renamed away leaves its old name free on the target: not the same column.
  if (m.renamed.has(key) || m.excluded.has(key)) return undefined;
  return column;
}
