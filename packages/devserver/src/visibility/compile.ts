import {
  BOOL,
  DATETIME,
  DOUBLE,
  INT,
  KEYWORD,
  KEYWORD_LIST,
  TEXT,
  executionStatusName,
  isValidExecutionStatus,
  parseExecutionStatus,
  resolveAttribute,
  typeName,
  type ResolvedAttribute,
} from './attributes.js';
import { InvalidQueryError, invalidExpression, notSupported } from './errors.js';
import { parseQuery, type CompareOp, type Expr, type Literal } from './parser.js';

/** One row of the visibility store, as the server core keeps it. */
export type VisibilityRecord = {
  namespace: string;
  workflowId: string;
  runId: string;
  workflowType: string;
  /** temporal.api.enums.v1.WorkflowExecutionStatus */
  status: number;
  startTime: Date;
  closeTime?: Date;
  executionTime?: Date;
  taskQueue: string;
  /**
   * Decoded JSON values: string, number, boolean, string[] for KeywordList, ISO string for
   * Datetime. System attributes the record has no field for (HistoryLength, ParentWorkflowId,
   * ...) may also be supplied here under their own names.
   */
  searchAttributes: Record<string, unknown>;
};

export interface CompiledListQuery {
  /** True when the record matches the WHERE part (SQL three-valued logic: unknown = no match). */
  filter(rec: VisibilityRecord): boolean;
  /** Sort comparator: the query's ORDER BY, then the server's default order as tie-breaker. */
  compare(a: VisibilityRecord, b: VisibilityRecord): number;
  /** Canonical field names of a GROUP BY clause (Count only); empty when absent. */
  groupBy: string[];
  /** The GROUP BY values of a record, e.g. ['Running'] for `GROUP BY ExecutionStatus`. */
  groupValues(rec: VisibilityRecord): Array<string | number | boolean | null>;
}

/** A normalised attribute value: what comparisons operate on. */
type Scalar = string | number | boolean;
type Value = Scalar | string[] | null;
/** SQL truth value: null means "unknown" (a NULL took part). */
type Tri = boolean | null;
type Predicate = (rec: VisibilityRecord) => Tri;

const NANOS_PER_MS = 1_000_000;

/**
 * Compiles a List/Count/Scan visibility query into a filter and a comparator.
 * `searchAttributeTypes` maps custom attribute names to temporal.api.enums.v1.IndexedValueType.
 * Throws an Error named 'InvalidArgument' for syntax errors, unknown attributes, type mismatches
 * and unsupported operators.
 */
export function compileListQuery(
  query: string,
  searchAttributeTypes: Map<string, number>,
): CompiledListQuery {
  const parsed = parseQuery(query ?? '');
  const resolve = (name: string): ResolvedAttribute => {
    const attr = resolveAttribute(name, searchAttributeTypes);
    if (!attr) throw invalidExpression(`column name '${name}' is not a valid search attribute`);
    return attr;
  };

  const predicate: Predicate = parsed.where ? compileExpr(parsed.where, resolve) : () => true;

  const sortKeys = parsed.orderBy.map((item) => {
    const attr = resolve(item.column);
    if (attr.type === TEXT) {
      throw notSupported(`unable to sort by search attribute type ${typeName(attr.type)}`);
    }
    return { attr, sign: item.descending ? -1 : 1 };
  });

  if (parsed.groupBy.length > 1) {
    throw notSupported(`'GROUP BY' clause supports only a single field`);
  }
  const groupAttrs = parsed.groupBy.map((name) => {
    const attr = resolve(name);
    const allowed =
      attr.field === 'ExecutionStatus' ||
      attr.field === 'TemporalNamespaceDivision' ||
      attr.field.startsWith('TemporalLowCardinalityKeyword');
    if (!allowed) {
      throw notSupported(`'GROUP BY' clause is not supported for search attribute ${attr.alias}`);
    }
    return attr;
  });

  return {
    filter: (rec) => predicate(rec) === true,
    compare: (a, b) => {
      for (const { attr, sign } of sortKeys) {
        const c = compareForSort(readField(a, attr), readField(b, attr));
        if (c !== 0) return c.nullOrder ? c.value : sign * c.value;
      }
      return defaultOrder(a, b);
    },
    groupBy: groupAttrs.map((a) => a.field),
    groupValues: (rec) =>
      groupAttrs.map((attr) => {
        if (attr.field === 'ExecutionStatus') return executionStatusName(rec.status);
        const v = readField(rec, attr);
        return Array.isArray(v) ? (v[0] ?? null) : v;
      }),
  };
}

/**
 * The official SQL store's order: open executions first, then by close time, start time
 * (both newest first) and run id.
 */
function defaultOrder(a: VisibilityRecord, b: VisibilityRecord): number {
  const ca = a.closeTime ? a.closeTime.getTime() : Number.POSITIVE_INFINITY;
  const cb = b.closeTime ? b.closeTime.getTime() : Number.POSITIVE_INFINITY;
  if (ca !== cb) return ca > cb ? -1 : 1;
  const sa = a.startTime.getTime();
  const sb = b.startTime.getTime();
  if (sa !== sb) return sa > sb ? -1 : 1;
  return a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : 0;
}

/** Sorting: nulls go last whatever the direction (as Elasticsearch, which supports ORDER BY). */
function compareForSort(a: Value, b: Value): { value: number; nullOrder: boolean } | 0 {
  const x = Array.isArray(a) ? (a[0] ?? null) : a;
  const y = Array.isArray(b) ? (b[0] ?? null) : b;
  if (x === null && y === null) return 0;
  if (x === null) return { value: 1, nullOrder: true };
  if (y === null) return { value: -1, nullOrder: true };
  const c = compareScalars(x, y);
  return c === 0 ? 0 : { value: c, nullOrder: false };
}

function compareScalars(a: Scalar, b: Scalar): number {
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'boolean' && typeof b === 'boolean') return a === b ? 0 : a ? 1 : -1;
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------
// Expressions

function compileExpr(expr: Expr, resolve: (name: string) => ResolvedAttribute): Predicate {
  switch (expr.type) {
    case 'and': {
      const l = compileExpr(expr.left, resolve);
      const r = compileExpr(expr.right, resolve);
      return (rec) => {
        const a = l(rec);
        if (a === false) return false;
        const b = r(rec);
        if (b === false) return false;
        return a === null || b === null ? null : true;
      };
    }
    case 'or': {
      const l = compileExpr(expr.left, resolve);
      const r = compileExpr(expr.right, resolve);
      return (rec) => {
        const a = l(rec);
        if (a === true) return true;
        const b = r(rec);
        if (b === true) return true;
        return a === null || b === null ? null : false;
      };
    }
    case 'not': {
      const inner = compileExpr(expr.expr, resolve);
      return (rec) => {
        const v = inner(rec);
        return v === null ? null : !v;
      };
    }
    case 'compare':
      return compileCompare(resolve(expr.column), expr.op, expr.value);
    case 'in':
      return compileIn(resolve(expr.column), expr.negated, expr.values);
    case 'between':
      return compileBetween(resolve(expr.column), expr.negated, expr.from, expr.to);
    case 'startsWith':
      return compileStartsWith(resolve(expr.column), expr.negated, expr.value);
    case 'isNull': {
      const attr = resolve(expr.column);
      return (rec) => {
        const v = readField(rec, attr);
        const isNull = v === null || (Array.isArray(v) && v.length === 0);
        return expr.negated ? !isNull : isNull;
      };
    }
  }
}

function operatorNotSupported(attr: ResolvedAttribute, op: string): InvalidQueryError {
  return notSupported(
    `operator '${op.toUpperCase()}' not supported for ${typeName(attr.type)} type search attribute '${attr.alias}'`,
  );
}

const COMPARISON_TYPES = new Set([KEYWORD, INT, DOUBLE, BOOL, DATETIME]);

function compileCompare(attr: ResolvedAttribute, op: CompareOp, lit: Literal): Predicate {
  if (attr.type === KEYWORD_LIST || attr.type === TEXT) {
    if (op !== '=' && op !== '!=') throw operatorNotSupported(attr, op);
    const value = literalValue(attr, lit);
    const negate = op === '!=';
    if (attr.type === KEYWORD_LIST) {
      const wanted = String(value);
      // SQL store semantics: `=` is "contains", `!=` is "does not contain" (missing matches).
      return (rec) => listContainsAny(readField(rec, attr), [wanted]) !== negate;
    }
    const phrases = String(value)
      .split(' ')
      .filter((t) => t !== '')
      .map(textTokens)
      .filter((p) => p.length > 0);
    if (phrases.length === 0) {
      throw invalidExpression(`unexpected value for Text type search attribute (no tokens found)`);
    }
    return (rec) => textMatches(readField(rec, attr), phrases) !== negate;
  }
  if (!COMPARISON_TYPES.has(attr.type)) throw operatorNotSupported(attr, op);
  const value = literalValue(attr, lit);
  return (rec) => {
    const v = readField(rec, attr);
    if (v === null || Array.isArray(v)) return null;
    const c = compareScalars(v, value);
    switch (op) {
      case '=':
        return c === 0;
      case '!=':
        return c !== 0;
      case '<':
        return c < 0;
      case '<=':
        return c <= 0;
      case '>':
        return c > 0;
      case '>=':
        return c >= 0;
    }
  };
}

function compileIn(attr: ResolvedAttribute, negated: boolean, lits: Literal[]): Predicate {
  const op = negated ? 'not in' : 'in';
  if (attr.type === TEXT) throw operatorNotSupported(attr, op);
  const values = lits.map((l) => literalValue(attr, l));
  if (attr.type === KEYWORD_LIST) {
    const wanted = values.map(String);
    return (rec) => listContainsAny(readField(rec, attr), wanted) !== negated;
  }
  if (!COMPARISON_TYPES.has(attr.type)) throw operatorNotSupported(attr, op);
  return (rec) => {
    const v = readField(rec, attr);
    if (v === null || Array.isArray(v)) return null;
    const found = values.some((x) => compareScalars(v, x) === 0);
    return found !== negated;
  };
}

function compileBetween(
  attr: ResolvedAttribute,
  negated: boolean,
  fromLit: Literal,
  toLit: Literal,
): Predicate {
  if (![DATETIME, DOUBLE, INT, KEYWORD].includes(attr.type)) {
    throw invalidExpression(
      `cannot do range condition on search attribute '${attr.alias}' of type ${typeName(attr.type)}`,
    );
  }
  const from = literalValue(attr, fromLit);
  const to = literalValue(attr, toLit);
  return (rec) => {
    const v = readField(rec, attr);
    if (v === null || Array.isArray(v)) return null;
    const inside = compareScalars(v, from) >= 0 && compareScalars(v, to) <= 0;
    return inside !== negated;
  };
}

function compileStartsWith(attr: ResolvedAttribute, negated: boolean, lit: Literal): Predicate {
  if (attr.type !== KEYWORD) throw operatorNotSupported(attr, negated ? 'not starts_with' : 'starts_with');
  if (lit.kind !== 'string') {
    throw invalidExpression(`right-hand side of 'STARTS_WITH' operator must be a literal string`);
  }
  const prefix = lit.value;
  const isStatus = attr.field === 'ExecutionStatus';
  return (rec) => {
    const raw = readField(rec, attr);
    if (raw === null || Array.isArray(raw)) return null;
    const v = isStatus && typeof raw === 'number' ? executionStatusName(raw) : String(raw);
    return v.startsWith(prefix) !== negated;
  };
}

function listContainsAny(v: Value, wanted: string[]): boolean {
  if (v === null) return false;
  const list = Array.isArray(v) ? v : [String(v)];
  return wanted.some((w) => list.includes(w));
}

/** Lower-cased alphanumeric words, like SQLite's unicode61 full-text tokenizer. */
function textTokens(s: string): string[] {
  return s
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((t) => t !== '');
}

/** True when any phrase (consecutive tokens) occurs in the text. */
function textMatches(v: Value, phrases: string[][]): boolean {
  if (v === null) return false;
  const words = textTokens(Array.isArray(v) ? v.join(' ') : String(v));
  return phrases.some((phrase) => {
    for (let i = 0; i + phrase.length <= words.length; i++) {
      if (phrase.every((p, j) => words[i + j] === p)) return true;
    }
    return false;
  });
}

// ---------------------------------------------------------------------------------------------
// Literals: checked against the attribute type at compile time.

function describeLiteral(lit: Literal): string {
  switch (lit.kind) {
    case 'string':
      return `'${lit.value}' (type: string)`;
    case 'number':
      return `${lit.text} (type: ${Number.isInteger(lit.value) && !/[.eE]/.test(lit.text) ? 'int64' : 'float64'})`;
    case 'bool':
      return `${String(lit.value)} (type: bool)`;
  }
}

function literalValue(attr: ResolvedAttribute, lit: Literal): Scalar {
  const typeError = (): InvalidQueryError =>
    invalidExpression(
      `invalid value type for search attribute ${attr.alias} of type ${typeName(attr.type)}: ${describeLiteral(lit)}`,
    );

  if (attr.field === 'ExecutionStatus') {
    if (lit.kind === 'string') {
      const s = parseExecutionStatus(lit.value);
      if (s === undefined) throw invalidExpression(`invalid ExecutionStatus value '${lit.value}'`);
      return s;
    }
    if (lit.kind === 'number' && Number.isInteger(lit.value) && isValidExecutionStatus(lit.value))
      return lit.value;
    if (lit.kind === 'number') throw invalidExpression(`invalid ExecutionStatus value ${lit.text}`);
    throw invalidExpression(`unexpected value type bool for search attribute ExecutionStatus`);
  }
  if (attr.field === 'ExecutionDuration') {
    if (lit.kind === 'number' && Number.isInteger(lit.value)) return lit.value;
    if (lit.kind === 'string') {
      const ns = parseDurationNanos(lit.value);
      if (ns === undefined) {
        throw invalidExpression(
          `invalid duration value for search attribute ExecutionDuration: ${lit.value}`,
        );
      }
      return ns;
    }
    throw typeError();
  }

  switch (attr.type) {
    case INT:
    case DOUBLE:
      if (lit.kind !== 'number') throw typeError();
      return lit.value;
    case BOOL:
      if (lit.kind !== 'bool') throw typeError();
      return lit.value;
    case DATETIME: {
      if (lit.kind === 'number' && Number.isInteger(lit.value)) return lit.value / NANOS_PER_MS;
      if (lit.kind !== 'string') throw typeError();
      const ms = parseRfc3339(lit.value);
      if (ms === undefined) throw invalidExpression(`unable to parse datetime '${lit.value}'`);
      return ms;
    }
    case KEYWORD:
    case KEYWORD_LIST:
    case TEXT:
      if (lit.kind !== 'string') throw typeError();
      return lit.value;
    default:
      throw invalidExpression(`unknown search attribute type ${typeName(attr.type)} for ${attr.alias}`);
  }
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** RFC3339 (with optional fraction) -> epoch ms, or undefined when malformed. */
export function parseRfc3339(s: string): number | undefined {
  if (!RFC3339.test(s)) return undefined;
  const ms = Date.parse(s.replace(' ', 'T'));
  return Number.isNaN(ms) ? undefined : ms;
}

const DURATION_UNITS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
  d: 86400e9,
};

/** Go-style durations ("1h30m", "300ms", "2d"), integer nanoseconds, or "hh:mm:ss". */
export function parseDurationNanos(s: string): number | undefined {
  const t = s.trim();
  if (/^-?\d+$/.test(t)) return Number(t);
  const hms = /^(\d+):(\d{2}):(\d{2})$/.exec(t);
  if (hms) return (Number(hms[1]) * 3600 + Number(hms[2]) * 60 + Number(hms[3])) * 1e9;
  const m = /^([+-]?)((?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h|d))+)$/.exec(t);
  if (!m) return undefined;
  let total = 0;
  for (const part of (m[2] ?? '').matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d)/g)) {
    total += Number(part[1]) * (DURATION_UNITS[part[2] ?? ''] ?? 0);
  }
  return m[1] === '-' ? -total : total;
}

// ---------------------------------------------------------------------------------------------
// Reading a record.

function readField(rec: VisibilityRecord, attr: ResolvedAttribute): Value {
  if (attr.system) {
    switch (attr.field) {
      case 'WorkflowId':
        return rec.workflowId;
      case 'RunId':
        return rec.runId;
      case 'WorkflowType':
        return rec.workflowType;
      case 'TaskQueue':
        return rec.taskQueue;
      case 'ExecutionStatus':
        return rec.status;
      case 'StartTime':
        return rec.startTime.getTime();
      case 'CloseTime':
        return rec.closeTime ? rec.closeTime.getTime() : null;
      case 'ExecutionTime':
        return (rec.executionTime ?? rec.startTime).getTime();
      case 'ExecutionDuration': {
        if (!rec.closeTime) return normalize(rec.searchAttributes[attr.field], INT);
        const from = (rec.executionTime ?? rec.startTime).getTime();
        return (rec.closeTime.getTime() - from) * NANOS_PER_MS;
      }
      default:
        break;
    }
  }
  return normalize(rec.searchAttributes[attr.field], attr.type);
}

/** Brings a decoded search attribute value to the attribute's comparable form. */
function normalize(raw: unknown, type: number): Value {
  if (raw === undefined || raw === null) return null;
  if (type === KEYWORD_LIST) {
    const list = Array.isArray(raw) ? raw : [raw];
    return list.filter((x) => x !== null && x !== undefined).map((x) => String(x));
  }
  // Legacy SDK encodings wrap single values in an array.
  let v: unknown = raw;
  if (Array.isArray(v)) {
    if (v.length === 0) return null;
    v = v[0];
  }
  switch (type) {
    case INT:
    case DOUBLE: {
      if (typeof v === 'number') return v;
      if (typeof v === 'bigint') return Number(v);
      if (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v))) return Number(v);
      return null;
    }
    case BOOL:
      if (typeof v === 'boolean') return v;
      if (v === 'true' || v === 'false') return v === 'true';
      return null;
    case DATETIME: {
      if (v instanceof Date) return v.getTime();
      if (typeof v === 'number') return v;
      if (typeof v === 'string') {
        const ms = Date.parse(v);
        return Number.isNaN(ms) ? null : ms;
      }
      return null;
    }
    default:
      if (typeof v === 'string') return v;
      if (typeof v === 'number' || typeof v === 'boolean') return String(v);
      return null;
  }
}
