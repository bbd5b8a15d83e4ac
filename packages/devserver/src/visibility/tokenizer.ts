import { malformed } from './errors.js';

/** Token kinds of the list-filter dialect (a WHERE clause plus optional GROUP BY / ORDER BY). */
export type TokenKind =
  | 'ident' // bare or backtick-quoted name
  | 'keyword' // reserved word, upper-cased in `text`
  | 'string' // single- or double-quoted literal, unescaped in `text`
  | 'number' // numeric literal, source text in `text`
  | 'op' // = != <> < <= > >=
  | 'lparen'
  | 'rparen'
  | 'comma'
  | 'eof';

export interface Token {
  kind: TokenKind;
  text: string;
  /** Offset of the token's first character in the query. */
  pos: number;
}

const KEYWORDS = new Set([
  'AND',
  'OR',
  'NOT',
  'IN',
  'BETWEEN',
  'IS',
  'NULL',
  'STARTS_WITH',
  'LIKE',
  'ORDER',
  'GROUP',
  'BY',
  'ASC',
  'DESC',
  'LIMIT',
  'TRUE',
  'FALSE',
  'SELECT',
  'FROM',
  'WHERE',
]);

const isIdentStart = (c: string): boolean => /[A-Za-z_]/.test(c);
const isIdentPart = (c: string): boolean => /[A-Za-z0-9_.]/.test(c);
const isDigit = (c: string): boolean => c >= '0' && c <= '9';

const ESCAPES: Record<string, string> = {
  n: '\n',
  t: '\t',
  r: '\r',
  b: '\b',
  '0': '\0',
  Z: '\x1a',
};

/**
 * Reads the quoted text starting at `start` (its opening quote): a doubled quote stands for itself and,
 * with `backslash`, backslash escapes too. Returns the text and the offset after the closing quote, or
 * undefined when the quote is not closed.
 */
function quoted(input: string, start: number, backslash: boolean): { text: string; end: number } | undefined {
  const quote = input.charAt(start);
  const n = input.length;
  let text = '';
  let i = start + 1;
  while (i < n) {
    const ch = input.charAt(i);
    if (backslash && ch === '\\' && i + 1 < n) {
      const next = input.charAt(i + 1);
      text += ESCAPES[next] ?? next;
      i += 2;
      continue;
    }
    if (ch === quote) {
      if (input.charAt(i + 1) === quote) {
        text += quote;
        i += 2;
        continue;
      }
      return { text, end: i + 1 };
    }
    text += ch;
    i++;
  }
  return undefined;
}

/** Splits a query into tokens; the last token is always `eof`. Throws InvalidQueryError. */
export function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = input.length;

  while (i < n) {
    const c = input.charAt(i);
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const start = i;

    if (c === "'" || c === '"') {
      // MySQL-style string: doubled quote or backslash escapes.
      const q = quoted(input, start, true);
      if (!q) throw malformed(`unterminated string literal at position ${start + 1}`);
      tokens.push({ kind: 'string', text: q.text, pos: start });
      i = q.end;
      continue;
    }

    if (c === '`') {
      const q = quoted(input, start, false);
      if (!q) throw malformed(`unterminated quoted name at position ${start + 1}`);
      if (q.text === '') throw malformed(`empty quoted name at position ${start + 1}`);
      tokens.push({ kind: 'ident', text: q.text, pos: start });
      i = q.end;
      continue;
    }

    const signedNumber =
      (c === '-' || c === '+') &&
      (isDigit(input.charAt(i + 1)) || (input.charAt(i + 1) === '.' && isDigit(input.charAt(i + 2))));
    if (isDigit(c) || (c === '.' && isDigit(input.charAt(i + 1))) || signedNumber) {
      i++;
      while (i < n && /[0-9.]/.test(input.charAt(i))) i++;
      if (i < n && /[eE]/.test(input.charAt(i))) {
        const save = i;
        i++;
        if (input.charAt(i) === '+' || input.charAt(i) === '-') i++;
        if (isDigit(input.charAt(i))) {
          while (i < n && isDigit(input.charAt(i))) i++;
        } else {
          i = save;
        }
      }
      const text = input.slice(start, i);
      if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) {
        throw malformed(`invalid number '${text}' at position ${start + 1}`);
      }
      if (i < n && isIdentStart(input.charAt(i))) {
        throw malformed(`syntax error at position ${start + 1} near '${input.slice(start, i + 1)}'`);
      }
      tokens.push({ kind: 'number', text, pos: start });
      continue;
    }

    if (isIdentStart(c)) {
      i++;
      while (i < n && isIdentPart(input.charAt(i))) i++;
      const text = input.slice(start, i);
      const upper = text.toUpperCase();
      tokens.push(
        KEYWORDS.has(upper)
          ? { kind: 'keyword', text: upper, pos: start }
          : { kind: 'ident', text, pos: start },
      );
      continue;
    }

    const two = input.slice(i, i + 2);
    if (two === '!=' || two === '<>' || two === '<=' || two === '>=') {
      tokens.push({ kind: 'op', text: two === '<>' ? '!=' : two, pos: start });
      i += 2;
      continue;
    }
    if (c === '=' || c === '<' || c === '>') {
      tokens.push({ kind: 'op', text: c, pos: start });
      i++;
      continue;
    }
    if (c === '(') {
      tokens.push({ kind: 'lparen', text: c, pos: start });
      i++;
      continue;
    }
    if (c === ')') {
      tokens.push({ kind: 'rparen', text: c, pos: start });
      i++;
      continue;
    }
    if (c === ',') {
      tokens.push({ kind: 'comma', text: c, pos: start });
      i++;
      continue;
    }
    throw malformed(`syntax error at position ${start + 1} near '${input.slice(start, start + 10)}'`);
  }
  tokens.push({ kind: 'eof', text: '', pos: n });
  return tokens;
}
