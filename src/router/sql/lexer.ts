/**
 * The only text scanning the router does: finding `?` placeholders and the router's own markers
 * outside quoted strings, quoted identifiers and comments (the same rule mysql2's format applies).
 * Statements themselves are parsed by node-sql-parser.
 */

const MARKER_PREFIX = '@__rtp';
/**
 * Some clauses (LIMIT) accept no variable in node-sql-parser's grammars: the second attempt marks
 * placeholders as number literals from this base instead.
 */
export const NUMBER_MARKER_BASE = 7_700_000_000_000;

export interface Placeholders {
  /** Number of `?` placeholders. */
  count: number;
  /** A `??` (identifier placeholder) is present: the template cannot be analysed with markers. */
  identifierPlaceholder: boolean;
  /** The SQL with every `?` replaced by a marker variable (`@__rtp<N>`), parseable by node-sql-parser. */
  marked: string;
}

type Visitor = (index: number) => void;

/** Calls visit(i) for every character position outside quotes and comments. */
function scan(sql: string, visit: Visitor): void {
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i];
    if (c === "'" || c === '"' || c === '`') {
      i++;
      while (i < n) {
        if (sql[i] === '\\' && c !== '`') {
          i += 2;
          continue;
        }
        if (sql[i] === c) {
          if (sql[i + 1] === c) {
            i += 2;
            continue;
          }
          break;
        }
        i++;
      }
      i++;
      continue;
    }
    if (
      c === '#' ||
      (c === '-' && sql[i + 1] === '-' && (sql[i + 2] === ' ' || sql[i + 2] === '\t' || sql[i + 2] === '\n'))
    ) {
      while (i < n && sql[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? n : end + 2;
      continue;
    }
    visit(i);
    i++;
  }
}

export function markPlaceholders(sql: string, style: 'var' | 'number' = 'var'): Placeholders {
  let count = 0;
  let identifierPlaceholder = false;
  const parts: string[] = [];
  let last = 0;
  let skipNext = -1;
  scan(sql, (i) => {
    if (i === skipNext || sql[i] !== '?') return;
    if (sql[i + 1] === '?') {
      identifierPlaceholder = true;
      skipNext = i + 1;
      return;
    }
    parts.push(
      sql.slice(last, i),
      style === 'var' ? `${MARKER_PREFIX}${count}` : ` ${NUMBER_MARKER_BASE + count} `,
    );
    last = i + 1;
    count++;
  });
  parts.push(sql.slice(last));
  return { count, identifierPlaceholder, marked: parts.join('') };
}

/**
 * Turns SQL generated from a marked AST back into a parameterised fragment: markers outside quotes
 * become `?`, and their placeholder indexes are returned in text order.
 */
export function unmark(sql: string, style: 'var' | 'number' = 'var'): { sql: string; params: number[] } {
  const params: number[] = [];
  const parts: string[] = [];
  let last = 0;
  let resumeAt = 0;
  const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
  const isWord = (c: string | undefined) => c !== undefined && /[A-Za-z0-9_$.]/.test(c);
  scan(sql, (i) => {
    if (i < resumeAt) return;
    let index: number;
    let j: number;
    if (sql[i] === '@' && sql.startsWith(MARKER_PREFIX, i)) {
      j = i + MARKER_PREFIX.length;
      while (isDigit(sql[j])) j++;
      if (j === i + MARKER_PREFIX.length) return;
      index = Number(sql.slice(i + MARKER_PREFIX.length, j));
    } else if (style === 'number' && sql[i] === '7' && !isWord(sql[i - 1])) {
      j = i;
      while (isDigit(sql[j])) j++;
      if (isWord(sql[j])) return;
      const n = Number(sql.slice(i, j)) - NUMBER_MARKER_BASE;
      if (!(n >= 0 && n < 100_000)) return;
      index = n;
    } else {
      return;
    }
    params.push(index);
    parts.push(sql.slice(last, i), '?');
    last = j;
    resumeAt = j;
  });
  parts.push(sql.slice(last));
  return { sql: parts.join(''), params };
}

/** The placeholder index a marker variable name stands for, or undefined. */
export function numberMarkerIndex(value: number): number | undefined {
  const n = value - NUMBER_MARKER_BASE;
  return Number.isInteger(n) && n >= 0 && n < 100_000 ? n : undefined;
}

export function markerIndex(name: string): number | undefined {
  const bare = MARKER_PREFIX.slice(1);
  if (!name.startsWith(bare)) return undefined;
  const rest = name.slice(bare.length);
  return /^\d+$/.test(rest) ? Number(rest) : undefined;
}

/** The first word of a statement (after comments), upper-cased: a hint when parsing fails. */
export function firstKeyword(sql: string): string {
  let word = '';
  let done = false;
  scan(sql, (i) => {
    if (done) return;
    const c = sql[i];
    const letter = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    if (letter) word += c;
    else if (word) done = true;
  });
  return word.toUpperCase();
}

const SELECT_OPTIONS = new Set([
  'ALL',
  'DISTINCT',
  'DISTINCTROW',
  'HIGH_PRIORITY',
  'STRAIGHT_JOIN',
  'SQL_SMALL_RESULT',
  'SQL_BIG_RESULT',
  'SQL_BUFFER_RESULT',
  'SQL_NO_CACHE',
  'SQL_CACHE',
  'SQL_CALC_FOUND_ROWS',
]);
const SELECT_LIST_END = new Set([
  'FROM',
  'INTO',
  'WHERE',
  'GROUP',
  'HAVING',
  'ORDER',
  'LIMIT',
  'UNION',
  'FOR',
  'WINDOW',
  'LOCK',
  'EXCEPT',
  'INTERSECT',
]);

/**
 * The items of the top-level SELECT's list as written (trimmed): MySQL names an expression's result
 * column after its text. Undefined when the statement does not start with SELECT (or WITH ... SELECT).
 */
export function selectItemTexts(sql: string): string[] | undefined {
  const isWord = (c: string | undefined) => c !== undefined && /[A-Za-z0-9_$]/.test(c);
  let depth = 0;
  let start = -1;
  let end = sql.length;
  const commas: number[] = [];
  let done = false;
  let first = true;
  scan(sql, (i) => {
    if (done) return;
    const c = sql[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ';' && depth === 0 && start >= 0) {
      end = i;
      done = true;
    } else if (depth === 0 && c === ',' && start >= 0) commas.push(i);
    else if (depth === 0 && /[A-Za-z]/.test(c) && !isWord(sql[i - 1])) {
      let j = i;
      while (isWord(sql[j])) j++;
      const word = sql.slice(i, j).toUpperCase();
      if (first && word !== 'SELECT' && word !== 'WITH') {
        done = true;
        return;
      }
      first = false;
      if (start < 0 && word === 'SELECT') start = j;
      else if (start >= 0 && SELECT_LIST_END.has(word)) {
        end = i;
        done = true;
      }
    }
  });
  if (start < 0) return undefined;
  const bounds = [start, ...commas.map((c) => c + 1)];
  return bounds.map((b, k) => {
    let text = sql.slice(b, k + 1 < bounds.length ? bounds[k + 1] - 1 : end).trim();
    if (k === 0) {
      for (;;) {
        const m = /^([A-Za-z_]+)\s+/.exec(text);
        if (!m || !SELECT_OPTIONS.has(m[1].toUpperCase())) break;
        text = text.slice(m[0].length);
      }
    }
    return text;
  });
}

/** Lower-cased words and quoted identifiers outside strings and comments (table names an unparsed statement may touch). */
export function identifierWords(sql: string): Set<string> {
  const out = new Set<string>();
  const re = /`((?:[^`]|``)+)`|([A-Za-z_$][A-Za-z0-9_$]*)/y;
  let skipUntil = 0;
  scan(sql, (i) => {
    if (i < skipUntil) return;
    const c = sql[i];
    if (!/[A-Za-z_$]/.test(c) || /[A-Za-z0-9_$]/.test(sql[i - 1] ?? '')) return;
    re.lastIndex = i;
    const m = re.exec(sql);
    if (m) {
      out.add((m[2] ?? '').toLowerCase());
      skipUntil = i + m[0].length;
    }
  });
  // Quoted identifiers: scan() skips quotes, so read them separately.
  for (const m of sql.matchAll(/`((?:[^`]|``)+)`/g)) out.add(m[1].replace(/``/g, '`').toLowerCase());
  return out;
}

/** Whether a `;` occurs outside quotes and comments (between statements, or a trailing one). */
export function hasSemicolon(sql: string): boolean {
  if (!sql.includes(';')) return false;
  let found = false;
  scan(sql, (i) => {
    if (sql[i] === ';') found = true;
  });
  return found;
}
