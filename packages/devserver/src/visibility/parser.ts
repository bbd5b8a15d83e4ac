import { malformed, notSupported, invalidExpression } from './errors.js';
import { tokenize, type Token } from './tokenizer.js';

/** A literal on the right-hand side of a predicate. */
export type Literal =
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number; text: string }
  | { kind: 'bool'; value: boolean };

export type CompareOp = '=' | '!=' | '<' | '<=' | '>' | '>=';

export type Expr =
  | { type: 'and'; left: Expr; right: Expr }
  | { type: 'or'; left: Expr; right: Expr }
  | { type: 'not'; expr: Expr }
  | { type: 'compare'; column: string; op: CompareOp; value: Literal }
  | { type: 'in'; column: string; negated: boolean; values: Literal[] }
  | { type: 'between'; column: string; negated: boolean; from: Literal; to: Literal }
  | { type: 'startsWith'; column: string; negated: boolean; value: Literal }
  | { type: 'isNull'; column: string; negated: boolean };

export interface OrderItem {
  column: string;
  descending: boolean;
}

export interface ParsedQuery {
  where?: Expr;
  groupBy: string[];
  orderBy: OrderItem[];
}

/**
 * Recursive-descent parser for the visibility dialect:
 *
 *   query     := [orExpr] [GROUP BY name {, name}] [ORDER BY name [ASC|DESC] {, ...}]
 *   orExpr    := andExpr {OR andExpr}
 *   andExpr   := notExpr {AND notExpr}
 *   notExpr   := NOT notExpr | '(' orExpr ')' | predicate
 *   predicate := name op literal | name [NOT] IN '(' literal {, literal} ')'
 *              | name [NOT] BETWEEN literal AND literal | name [NOT] STARTS_WITH literal
 *              | name IS [NOT] NULL
 */
export function parseQuery(input: string): ParsedQuery {
  return new Parser(tokenize(input)).parseQuery();
}

class Parser {
  private i = 0;

  constructor(private readonly tokens: Token[]) {}

  parseQuery(): ParsedQuery {
    const out: ParsedQuery = { groupBy: [], orderBy: [] };
    if (this.isKeyword('SELECT') || this.isKeyword('FROM')) {
      throw malformed(`syntax error at position ${this.peek().pos + 1} near '${this.peek().text}'`);
    }
    if (this.isKeyword('WHERE')) this.next();
    if (!this.isKeyword('ORDER') && !this.isKeyword('GROUP') && this.peek().kind !== 'eof') {
      out.where = this.parseOr();
    }
    if (this.isKeyword('GROUP')) {
      this.next();
      this.expectKeyword('BY');
      out.groupBy.push(this.parseName());
      while (this.peek().kind === 'comma') {
        this.next();
        out.groupBy.push(this.parseName());
      }
    }
    if (this.isKeyword('ORDER')) {
      this.next();
      this.expectKeyword('BY');
      for (;;) {
        const column = this.parseName();
        let descending = false;
        if (this.isKeyword('ASC')) this.next();
        else if (this.isKeyword('DESC')) {
          this.next();
          descending = true;
        }
        out.orderBy.push({ column, descending });
        if (this.peek().kind !== 'comma') break;
        this.next();
      }
    }
    if (this.isKeyword('LIMIT')) throw notSupported(`'LIMIT' clause`);
    const t = this.peek();
    if (t.kind !== 'eof') throw this.syntaxError(t);
    return out;
  }

  private parseOr(): Expr {
    let left = this.parseAnd();
    while (this.isKeyword('OR')) {
      this.next();
      left = { type: 'or', left, right: this.parseAnd() };
    }
    return left;
  }

  private parseAnd(): Expr {
    let left = this.parseNot();
    while (this.isKeyword('AND')) {
      this.next();
      left = { type: 'and', left, right: this.parseNot() };
    }
    return left;
  }

  private parseNot(): Expr {
    if (this.isKeyword('NOT')) {
      this.next();
      return { type: 'not', expr: this.parseNot() };
    }
    if (this.peek().kind === 'lparen') {
      this.next();
      const inner = this.parseOr();
      this.expect('rparen');
      return inner;
    }
    return this.parsePredicate();
  }

  private parsePredicate(): Expr {
    const t = this.peek();
    if (t.kind === 'string' || t.kind === 'number' || this.isKeyword('TRUE') || this.isKeyword('FALSE')) {
      throw invalidExpression(`must be a column name but was a value ('${t.text}')`);
    }
    const column = this.parseName();
    const op = this.peek();

    if (op.kind === 'op') {
      this.next();
      return { type: 'compare', column, op: op.text as CompareOp, value: this.parseLiteral() };
    }
    let negated = false;
    if (this.isKeyword('NOT')) {
      this.next();
      negated = true;
    }
    if (this.isKeyword('IN')) {
      this.next();
      this.expect('lparen');
      const values = [this.parseLiteral()];
      while (this.peek().kind === 'comma') {
        this.next();
        values.push(this.parseLiteral());
      }
      this.expect('rparen');
      return { type: 'in', column, negated, values };
    }
    if (this.isKeyword('BETWEEN')) {
      this.next();
      const from = this.parseLiteral();
      this.expectKeyword('AND');
      const to = this.parseLiteral();
      return { type: 'between', column, negated, from, to };
    }
    if (this.isKeyword('STARTS_WITH')) {
      this.next();
      return { type: 'startsWith', column, negated, value: this.parseLiteral() };
    }
    if (this.isKeyword('LIKE')) {
      throw notSupported(`operator '${negated ? 'NOT LIKE' : 'LIKE'}' (use STARTS_WITH for prefix matches)`);
    }
    if (!negated && this.isKeyword('IS')) {
      this.next();
      let isNot = false;
      if (this.isKeyword('NOT')) {
        this.next();
        isNot = true;
      }
      if (!this.isKeyword('NULL')) {
        throw invalidExpression(`'IS' operator can only be used as 'IS NULL' or 'IS NOT NULL'`);
      }
      this.next();
      return { type: 'isNull', column, negated: isNot };
    }
    if (op.kind === 'eof' || op.kind === 'rparen' || this.isKeyword('AND') || this.isKeyword('OR')) {
      throw invalidExpression(`incomplete expression: '${column}' must be followed by an operator`);
    }
    throw this.syntaxError(this.peek());
  }

  private parseLiteral(): Literal {
    const t = this.next();
    switch (t.kind) {
      case 'string':
        return { kind: 'string', value: t.text };
      case 'number':
        return { kind: 'number', value: Number(t.text), text: t.text };
      case 'keyword':
        if (t.text === 'TRUE') return { kind: 'bool', value: true };
        if (t.text === 'FALSE') return { kind: 'bool', value: false };
        if (t.text === 'NULL') {
          throw invalidExpression(`comparison with NULL is not supported (use IS NULL / IS NOT NULL)`);
        }
        throw this.syntaxError(t);
      case 'ident':
        throw notSupported(
          `column name on the right side of comparison expression (did you forget to quote '${t.text}'?)`,
        );
      default:
        throw this.syntaxError(t);
    }
  }

  private parseName(): string {
    const t = this.next();
    if (t.kind !== 'ident') throw this.syntaxError(t);
    return t.text;
  }

  private peek(): Token {
    return this.tokens[this.i] ?? { kind: 'eof', text: '', pos: 0 };
  }

  private next(): Token {
    const t = this.peek();
    if (this.i < this.tokens.length - 1) this.i++;
    return t;
  }

  private isKeyword(word: string): boolean {
    const t = this.peek();
    return t.kind === 'keyword' && t.text === word;
  }

  private expect(kind: Token['kind']): Token {
    const t = this.next();
    if (t.kind !== kind) throw this.syntaxError(t);
    return t;
  }

  private expectKeyword(word: string): void {
    if (!this.isKeyword(word)) throw this.syntaxError(this.peek());
    this.next();
  }

  private syntaxError(t: Token): Error {
    if (t.kind === 'eof') return malformed(`syntax error at position ${t.pos + 1}: unexpected end of query`);
    return malformed(`syntax error at position ${t.pos + 1} near '${t.text}'`);
  }
}
