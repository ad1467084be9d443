/**
 * The text form of filter expressions. Grammar (keywords case-insensitive):
 *
 *   expr      = or
 *   or        = and { "or" and }
 *   and       = unary { "and" unary }
 *   unary     = "not" unary | primary
 *   primary   = "(" expr ")" | "true" | "false" | predicate
 *   predicate = column cmpop value
 *             | value cmpop column                       (flipped: 100 < x  ≡  x > 100)
 *             | column "is" ["not"] "null"
 *             | column ["not"] "in" "(" [ value { "," value } ] ")"
 *             | column ["not"] "between" value "and" value
 *             | column "in" "[" number "," number ")"   (half-open brush range lo <= x < hi)
 *             | column "in" "[" number "," number "]"   (closed: same as between)
 *             | "(" column "," column ")" "in" "polygon" ( "[" points "]" | "(" points ")" )
 *             | column ["not"] ("like" | "ilike") string
 *             | column ("~" | "~*" | "!~" | "!~*") string     (regular expression: ~* ignores case)
 *             | ("contains" | "starts_with" | "ends_with" | "matches") "(" column "," string ")"
 *   points    = [ point { "," point } ] ;  point = "(" number "," number ")"
 *   cmpop     = "=" | "==" | "!=" | "<>" | "<" | "<=" | ">" | ">="
 *   column    = identifier | "`" { any char, "``" for a backquote } "`"
 *   identifier= letter_or_underscore { letter | digit | "_" | "$" }, not a reserved word
 *   value     = number | string | "true" | "false" | "null"
 *             | "date" string | "timestamp" string
 *   number    = ["-"|"+"] ( digits ["." digits] [exp] | "." digits [exp] | "inf" | "infinity" | "nan" )
 *   string    = "'" … "'" | '"' … '"'   (the quote doubled, or backslash escapes
 *               \\ \' \" \n \r \t \0 \b \f \v \uXXXX \u{X…})
 *
 * Reserved words (backquote a column with such a name): and or not in is null between true false.
 * `inf`, `nan`, `date`, `timestamp`, `polygon` are keywords only where a value/polygon is expected;
 * `like`, `ilike` only after a column; `contains`, `starts_with`, `ends_with`, `matches` only
 * before '('. `matches(s, 're')` is another spelling of `s ~ 're'` (the canonical form).
 * The patterns of like/ilike and regular expressions are checked here (strmatch.ts has their
 * rules); a bad one is a syntax error at the pattern's position.
 * `true` alone is the empty conjunction (`{kind:'and', args:[]}`) and `false` the empty disjunction.
 * Parenthesised groups keep their structure: `(a and b) and c` is and[and[a,b], c].
 *
 * Numbers: digits only → a safe integer is { value: number }; beyond ±(2^53 − 1) but within the
 * 64-bit range it is { int: "…" } (exact); beyond that it becomes a float. A '.' or an exponent
 * makes a float.
 */
import type { ColumnRef, CompareOp, Expr, Literal, StringFn } from './ast';
import { ExprError, ExprSyntaxError } from './errors';
import { INT64_MIN, MAX_SAFE, UINT64_MAX, parseTime } from './literal';
import { likeTokens, parseRegex } from './strmatch';

type TokKind = 'ident' | 'qident' | 'string' | 'number' | 'op' | 'punct' | 'eof';
interface Token {
  kind: TokKind;
  /** identifier/string content (unescaped), number text, operator or punctuation */
  text: string;
  pos: number;
  end: number;
}

export const RESERVED = new Set(['and', 'or', 'not', 'in', 'is', 'null', 'between', 'true', 'false']);
/** Words that are keywords only in some positions; the formatter backquotes columns so named. */
export const CONTEXTUAL = new Set([
  'inf', 'infinity', 'nan', 'date', 'timestamp', 'polygon', 'like', 'ilike', 'contains', 'starts_with', 'ends_with', 'matches',
]);
/** The string functions: name → predicate. */
const FUNCTIONS: Record<string, StringFn | 'regex'> = { contains: 'contains', starts_with: 'starts_with', ends_with: 'ends_with', matches: 'regex' };
const REGEX_OPS: Record<string, { icase: boolean; negated: boolean }> = {
  '~': { icase: false, negated: false }, '~*': { icase: true, negated: false }, '!~': { icase: false, negated: true }, '!~*': { icase: true, negated: true },
};

const IDENT_START = /[\p{L}_]/u;
const IDENT_PART = /[\p{L}\p{N}_$]/u;

function tokenize(text: string): Token[] {
  const toks: Token[] = [];
  let i = 0;
  const n = text.length;
  const fail = (msg: string, pos: number): never => {
    throw new ExprSyntaxError(msg, pos, text);
  };
  while (i < n) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const start = i;
    // identifiers (code points, so letters outside the BMP work)
    const cp = String.fromCodePoint(text.codePointAt(i)!);
    if (IDENT_START.test(cp)) {
      i += cp.length;
      while (i < n) {
        const p = String.fromCodePoint(text.codePointAt(i)!);
        if (!IDENT_PART.test(p)) break;
        i += p.length;
      }
      toks.push({ kind: 'ident', text: text.slice(start, i), pos: start, end: i });
      continue;
    }
    if (c === '`') {
      let s = '';
      i++;
      for (;;) {
        if (i >= n) fail('Unterminated `quoted` column name', start);
        const d = text[i]!;
        if (d === '`') {
          if (text[i + 1] === '`') {
            s += '`';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        s += d;
        i++;
      }
      if (s === '') fail('Empty column name', start);
      toks.push({ kind: 'qident', text: s, pos: start, end: i });
      continue;
    }
    if (c === "'" || c === '"') {
      const q = c;
      let s = '';
      i++;
      for (;;) {
        if (i >= n) fail('Unterminated string (no closing ' + q + ')', start);
        const d = text[i]!;
        if (d === q) {
          if (text[i + 1] === q) {
            s += q;
            i += 2;
            continue;
          }
          i++;
          break;
        }
        if (d === '\\') {
          const e = text[i + 1];
          const simple: Record<string, string> = {
            '\\': '\\', "'": "'", '"': '"', n: '\n', r: '\r', t: '\t', '0': '\0', b: '\b', f: '\f', v: '\v', '`': '`',
          };
          if (e !== undefined && e in simple) {
            s += simple[e];
            i += 2;
            continue;
          }
          if (e === 'u') {
            let m = /^\\u\{([0-9a-fA-F]{1,6})\}/.exec(text.slice(i, i + 10));
            if (m) {
              const v = parseInt(m[1]!, 16);
              if (v > 0x10ffff) fail('Code point out of range in \\u{…} escape', i);
              s += String.fromCodePoint(v);
              i += m[0].length;
              continue;
            }
            m = /^\\u([0-9a-fA-F]{4})/.exec(text.slice(i, i + 6));
            if (m) {
              s += String.fromCharCode(parseInt(m[1]!, 16));
              i += 6;
              continue;
            }
            fail('Bad \\u escape: expected \\uXXXX or \\u{X…}', i);
          }
          fail(`Unknown escape \\${e ?? ''} in string (write \\\\ for a backslash, e.g. '\\\\d' in a regular expression)`, i);
        }
        s += d;
        i++;
      }
      toks.push({ kind: 'string', text: s, pos: start, end: i });
      continue;
    }
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(text[i + 1] ?? ''))) {
      const m = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/.exec(text.slice(i))!;
      i += m[0].length;
      if (i < n && IDENT_PART.test(text[i]!)) fail(`Bad number '${text.slice(start, i + 1)}'`, start);
      toks.push({ kind: 'number', text: m[0], pos: start, end: i });
      continue;
    }
    const three = text.slice(i, i + 3);
    if (three === '!~*') {
      toks.push({ kind: 'op', text: three, pos: start, end: i + 3 });
      i += 3;
      continue;
    }
    const two = text.slice(i, i + 2);
    if (two === '~*' || two === '!~') {
      toks.push({ kind: 'op', text: two, pos: start, end: i + 2 });
      i += 2;
      continue;
    }
    if (c === '~') {
      toks.push({ kind: 'op', text: c, pos: start, end: i + 1 });
      i++;
      continue;
    }
    if (two === '<=' || two === '>=' || two === '!=' || two === '<>' || two === '==') {
      toks.push({ kind: 'op', text: two, pos: start, end: i + 2 });
      i += 2;
      continue;
    }
    if (c === '<' || c === '>' || c === '=') {
      toks.push({ kind: 'op', text: c, pos: start, end: i + 1 });
      i++;
      continue;
    }
    if ('()[],-+'.includes(c)) {
      toks.push({ kind: 'punct', text: c, pos: start, end: i + 1 });
      i++;
      continue;
    }
    const prev = toks[toks.length - 1];
    if ((c === '.' || c === ':' || c === '/' || c === '#' || c === '@' || c === '?' || c === '&' || c === '%' || c === '*') && prev?.kind === 'ident' && prev.end === i) {
      // a column name with a symbol in it: suggest backquotes around the whole name
      let j = i;
      while (j < n && /[^\s=<>!~(),'"`]/.test(text[j]!)) j++;
      const name = text.slice(prev.pos, j);
      fail(`Unexpected character '${c}': a column name with spaces or symbols is written in backquotes, e.g. \`${name}\``, start);
    }
    fail(`Unexpected character '${c}'`, start);
  }
  toks.push({ kind: 'eof', text: '', pos: n, end: n });
  return toks;
}

const OPS: Record<string, CompareOp> = { '=': '=', '==': '=', '!=': '!=', '<>': '!=', '<': '<', '<=': '<=', '>': '>', '>=': '>=' };
const FLIP: Record<CompareOp, CompareOp> = { '=': '=', '!=': '!=', '<': '>', '<=': '>=', '>': '<', '>=': '<=' };

function describe(t: Token): string {
  switch (t.kind) {
    case 'eof':
      return 'the end of the text';
    case 'string':
      return 'a string';
    case 'number':
      return `'${t.text}'`;
    case 'qident':
      return `\`${t.text}\``;
    default:
      return `'${t.text}'`;
  }
}

const MAX_DEPTH = 500;

class Parser {
  private i = 0;
  constructor(
    private readonly text: string,
    private readonly toks: Token[],
  ) {}

  private peek(k = 0): Token {
    return this.toks[Math.min(this.i + k, this.toks.length - 1)]!;
  }
  private next(): Token {
    const t = this.peek();
    if (t.kind !== 'eof') this.i++;
    return t;
  }
  private fail(msg: string, t: Token = this.peek()): never {
    throw new ExprSyntaxError(msg, t.pos, this.text);
  }
  private isKw(t: Token, kw: string): boolean {
    return t.kind === 'ident' && t.text.toLowerCase() === kw;
  }
  private acceptKw(kw: string): boolean {
    if (this.isKw(this.peek(), kw)) {
      this.i++;
      return true;
    }
    return false;
  }
  private expectKw(kw: string, what: string): void {
    if (!this.acceptKw(kw)) this.fail(`Expected '${kw}' ${what}, found ${describe(this.peek())}`);
  }
  private isPunct(t: Token, p: string): boolean {
    return t.kind === 'punct' && t.text === p;
  }
  private expectPunct(p: string, what: string): Token {
    const t = this.peek();
    if (!this.isPunct(t, p)) this.fail(`Expected '${p}' ${what}, found ${describe(t)}`);
    return this.next();
  }

  parse(): Expr {
    if (this.peek().kind === 'eof') this.fail('Empty expression');
    const e = this.or();
    const t = this.peek();
    if (t.kind !== 'eof') {
      if (this.isPunct(t, ')')) this.fail("Unbalanced ')'");
      this.fail(`Expected 'and', 'or' or the end of the expression, found ${describe(t)}`);
    }
    return e;
  }

  private or(): Expr {
    const args = [this.and()];
    while (this.acceptKw('or')) args.push(this.and());
    return args.length === 1 ? args[0]! : { kind: 'or', args };
  }

  private and(): Expr {
    const args = [this.unary()];
    while (this.acceptKw('and')) args.push(this.unary());
    return args.length === 1 ? args[0]! : { kind: 'and', args };
  }

  private depth = 0;
  private unary(): Expr {
    if (++this.depth > MAX_DEPTH) this.fail(`Expression nested too deeply (more than ${MAX_DEPTH} levels)`);
    try {
      if (this.acceptKw('not')) return { kind: 'not', arg: this.unary() };
      return this.primary();
    } finally {
      this.depth--;
    }
  }

  private isColumnStart(k = 0): boolean {
    const t = this.peek(k);
    if (t.kind === 'qident') return true;
    if (t.kind !== 'ident') return false;
    const w = t.text.toLowerCase();
    if (RESERVED.has(w)) return false;
    if ((w === 'date' || w === 'timestamp') && this.peek(k + 1).kind === 'string') return false;
    return true;
  }

  private primary(): Expr {
    const t = this.peek();
    if (this.isPunct(t, '(')) {
      // (x, y) in polygon …
      const a = this.peek(1), b = this.peek(2);
      if ((a.kind === 'ident' || a.kind === 'qident') && this.isPunct(b, ',')) return this.polygon();
      this.next();
      const e = this.or();
      const close = this.peek();
      if (!this.isPunct(close, ')'))
        this.fail(`Expected ')' to close the '(' at position ${t.pos}, found ${describe(close)}`);
      this.next();
      return e;
    }
    if (t.kind === 'ident' && Object.hasOwn(FUNCTIONS, t.text.toLowerCase()) && this.isPunct(this.peek(1), '(')) return this.func();
    if ((this.isKw(t, 'true') || this.isKw(t, 'false')) && this.peek(1).kind !== 'op') {
      this.next();
      return this.isKw(t, 'true') ? { kind: 'and', args: [] } : { kind: 'or', args: [] };
    }
    return this.predicate();
  }

  private column(): ColumnRef {
    const t = this.peek();
    if (!this.isColumnStart()) {
      if (t.kind === 'ident' && RESERVED.has(t.text.toLowerCase()))
        this.fail(`Expected a column name, found the keyword '${t.text}' (write \`${t.text}\` for a column so named)`);
      this.fail(`Expected a column name, found ${describe(t)}`);
    }
    this.next();
    return { kind: 'col', name: t.text };
  }

  /** contains(col, 'text'), starts_with(…), ends_with(…), matches(col, 'regex') */
  private func(): Expr {
    const name = this.next();
    const fn = FUNCTIONS[name.text.toLowerCase()]!;
    this.expectPunct('(', `after '${name.text}'`);
    const c = this.column();
    this.expectPunct(',', `after the column in ${name.text}(column, ${fn === 'regex' ? "'regex'" : "'text'"})`);
    const pattern = this.pattern(fn === 'regex' ? 'regex' : 'text', `${name.text}()`);
    const close = this.peek();
    if (!this.isPunct(close, ')')) this.fail(`Expected ')' to close ${name.text}(…), found ${describe(close)}`);
    this.next();
    return fn === 'regex' ? { kind: 'match', op: 'regex', col: c, pattern } : { kind: 'match', op: fn, col: c, pattern };
  }

  /** A quoted pattern or text, checked when it is a LIKE pattern or a regular expression. */
  private pattern(what: 'text' | 'like' | 'regex', after: string): string {
    const t = this.peek();
    if (t.kind !== 'string') {
      const word = t.kind === 'ident' || t.kind === 'qident' || t.kind === 'number' ? t.text : null;
      const noun = what === 'text' ? 'text' : what === 'like' ? 'LIKE pattern' : 'regular expression';
      this.fail(`Expected a quoted ${noun} after ${after}, found ${describe(t)}` + (word !== null ? `: did you mean '${word}'?` : ''));
    }
    this.next();
    try {
      if (what === 'like') likeTokens(t.text);
      else if (what === 'regex') parseRegex(t.text);
    } catch (err) {
      if (!(err instanceof ExprError)) throw err;
      // point the caret at the offending character when the pattern is typed without escapes
      const off = (err as ExprError & { position?: number }).position;
      const raw = this.text.slice(t.pos + 1, t.end - 1);
      if (off !== undefined && raw === t.text)
        throw new ExprSyntaxError(err.message.replace(/ \(at position \d+ of the pattern\)$/, ''), t.pos + 1 + off, this.text);
      this.fail(err.message, t);
    }
    return t.text;
  }

  private predicate(): Expr {
    const t = this.peek();
    if (!this.isColumnStart()) {
      if (this.isValueStart()) {
        const l = this.value('a value');
        const opTok = this.peek();
        if (opTok.kind !== 'op')
          this.fail(`Expected a comparison operator after the value, found ${describe(opTok)}`);
        if (!Object.hasOwn(OPS, opTok.text)) this.fail(`Write the column first: column ${opTok.text} 'pattern'`);
        this.next();
        const c = this.column();
        return { kind: 'cmp', op: FLIP[OPS[opTok.text]!], left: c, right: l };
      }
      if (t.kind === 'ident' && RESERVED.has(t.text.toLowerCase()))
        this.fail(`Expected a column name, found the keyword '${t.text}' (write \`${t.text}\` for a column so named)`);
      this.fail(`Expected a column name or '(', found ${describe(t)}`);
    }
    const colTok = this.peek();
    const c = this.column();
    const op = this.peek();
    if (op.kind === 'op' && Object.hasOwn(REGEX_OPS, op.text)) {
      this.next();
      const pattern = this.pattern('regex', `'${op.text}'`);
      const { icase, negated } = REGEX_OPS[op.text]!;
      return { kind: 'match', op: 'regex', col: c, pattern, ...(icase ? { icase } : {}), ...(negated ? { negated } : {}) };
    }
    if (op.kind === 'op') {
      this.next();
      if (this.isColumnStart() && !this.isValueStart()) {
        const w = this.peek();
        this.fail(
          w.kind === 'ident'
            ? `Expected a value after '${op.text}', found the bare word ${w.text}: did you mean '${w.text}'? (Text values are quoted. Comparing two columns is not supported.)`
            : 'Comparing two columns is not supported; compare a column with a value',
        );
      }
      const r = this.value(`a value after '${op.text}'`);
      return { kind: 'cmp', op: OPS[op.text]!, left: c, right: r };
    }
    if (this.acceptKw('is')) {
      const negated = this.acceptKw('not');
      this.expectKw('null', `after 'is${negated ? ' not' : ''}'`);
      return negated ? { kind: 'isnull', col: c, negated: true } : { kind: 'isnull', col: c };
    }
    let negated = false;
    const notTok = this.peek();
    if (this.acceptKw('not')) {
      negated = true;
      const nx = this.peek();
      if (!this.isKw(nx, 'in') && !this.isKw(nx, 'between') && !this.isKw(nx, 'like') && !this.isKw(nx, 'ilike'))
        this.fail(`Expected 'in' or 'between' after 'not' (or 'like', 'ilike'), found ${describe(nx)}`);
    }
    const likeTok = this.peek();
    if (this.acceptKw('like') || this.acceptKw('ilike')) {
      const icase = this.isKw(likeTok, 'ilike');
      const pattern = this.pattern('like', `'${likeTok.text}'`);
      return { kind: 'match', op: 'like', col: c, pattern, ...(icase ? { icase } : {}), ...(negated ? { negated } : {}) };
    }
    if (this.acceptKw('between')) {
      const lo = this.value("a value after 'between'");
      this.expectKw('and', "between the two bounds of 'between'");
      const hi = this.value("a value after 'and'");
      return negated ? { kind: 'between', col: c, lo, hi, negated: true } : { kind: 'between', col: c, lo, hi };
    }
    if (this.acceptKw('in')) {
      const open = this.peek();
      if (this.isPunct(open, '[')) {
        if (negated) this.fail("'not in [lo, hi)' is not supported; write 'not (x in [lo, hi))'", notTok);
        this.next();
        const lo = this.number('the lower bound of the range');
        this.expectPunct(',', 'between the bounds of the range');
        const hi = this.number('the upper bound of the range');
        const close = this.peek();
        if (this.isPunct(close, ')')) {
          this.next();
          return { kind: 'range', col: c, lo, hi };
        }
        if (this.isPunct(close, ']')) {
          this.next();
          return { kind: 'between', col: c, lo: { kind: 'lit', value: lo }, hi: { kind: 'lit', value: hi } };
        }
        this.fail(`Expected ')' (half-open range) or ']' (closed range), found ${describe(close)}`);
      }
      if (this.isKw(open, 'polygon')) this.fail("'in polygon' needs two columns: (x, y) in polygon [(x0, y0), …]");
      this.expectPunct('(', "after 'in' (a list of values in parentheses)");
      const values: Literal[] = [];
      if (!this.isPunct(this.peek(), ')')) {
        for (;;) {
          values.push(this.value('a value in the list'));
          if (this.isPunct(this.peek(), ',')) {
            this.next();
            continue;
          }
          break;
        }
      }
      const close = this.peek();
      if (!this.isPunct(close, ')')) this.fail(`Expected ',' or ')' in the value list, found ${describe(close)}`);
      this.next();
      return negated ? { kind: 'in', col: c, values, negated: true } : { kind: 'in', col: c, values };
    }
    let hint = '';
    if (colTok.kind === 'ident' && (op.kind === 'ident' || op.kind === 'number' || (op.kind === 'punct' && op.text !== '(' && op.text !== ')'))) {
      // `dep delay > 10`, `dep-delay > 10`: a name with spaces or symbols
      let k = 0;
      while (this.peek(k).kind !== 'eof' && this.peek(k).kind !== 'op' && !this.isPunct(this.peek(k), ')') && !['in', 'is', 'between', 'like', 'ilike', 'not', 'and', 'or'].includes(this.peek(k).text.toLowerCase())) k++;
      const end = k > 0 ? this.peek(k - 1).end : op.end;
      const name = this.text.slice(colTok.pos, end).trim();
      if (name !== c.name) hint = `: a column name with spaces or symbols is written in backquotes, e.g. \`${name}\``;
    }
    this.fail(
      `Expected an operator (=, !=, <, <=, >, >=, in, not in, between, is null, like, ~) after the column '${c.name}', found ${describe(op)}${hint}`,
    );
  }

  private polygon(): Expr {
    this.expectPunct('(', '');
    const x = this.column();
    this.expectPunct(',', 'between the two columns');
    const y = this.column();
    this.expectPunct(')', 'after the two columns');
    this.expectKw('in', 'after (x, y)');
    this.expectKw('polygon', "after '(x, y) in'");
    const open = this.peek();
    let close: string;
    if (this.isPunct(open, '[')) close = ']';
    else if (this.isPunct(open, '(')) close = ')';
    else this.fail(`Expected '[' to start the polygon's points, found ${describe(open)}`);
    this.next();
    const polygon: [number, number][] = [];
    if (!this.isPunct(this.peek(), close)) {
      for (;;) {
        this.expectPunct('(', 'to start a point (x, y)');
        const px = this.number('a point x');
        this.expectPunct(',', "between a point's x and y");
        const py = this.number('a point y');
        this.expectPunct(')', 'to end a point (x, y)');
        polygon.push([px, py]);
        if (this.isPunct(this.peek(), ',')) {
          this.next();
          continue;
        }
        break;
      }
    }
    const t = this.peek();
    if (!this.isPunct(t, close)) this.fail(`Expected ',' or '${close}' in the polygon's points, found ${describe(t)}`);
    this.next();
    return { kind: 'inpolygon', x, y, polygon };
  }

  private isValueStart(k = 0): boolean {
    const t = this.peek(k);
    if (t.kind === 'number' || t.kind === 'string') return true;
    if (t.kind === 'punct') return (t.text === '-' || t.text === '+') && this.isNumberish(k + 1);
    if (t.kind !== 'ident') return false;
    const w = t.text.toLowerCase();
    if (w === 'true' || w === 'false' || w === 'null' || w === 'inf' || w === 'infinity' || w === 'nan') return true;
    return (w === 'date' || w === 'timestamp') && this.peek(k + 1).kind === 'string';
  }
  private isNumberish(k: number): boolean {
    const t = this.peek(k);
    if (t.kind === 'number') return true;
    if (t.kind !== 'ident') return false;
    const w = t.text.toLowerCase();
    return w === 'inf' || w === 'infinity' || w === 'nan';
  }

  /** A plain number (range bounds, polygon points). */
  private number(what: string): number {
    const t = this.peek();
    if (!this.isNumberish(0) && !((t.text === '-' || t.text === '+') && t.kind === 'punct' && this.isNumberish(1)))
      this.fail(`Expected a number for ${what}, found ${describe(t)}`);
    const l = this.value(what);
    if ('int' in l) return Number(l.int);
    return (l as { value: number }).value;
  }

  private value(what: string): Literal {
    const t = this.peek();
    let sign = '';
    if (t.kind === 'punct' && (t.text === '-' || t.text === '+')) {
      if (!this.isNumberish(1)) this.fail(`Expected a number after '${t.text}', found ${describe(this.peek(1))}`, this.peek(1));
      this.next();
      sign = t.text === '-' ? '-' : '';
    }
    const v = this.peek();
    if (v.kind === 'number') {
      this.next();
      return numberLiteral(sign, v.text);
    }
    if (v.kind === 'string' && !sign) {
      this.next();
      return { kind: 'lit', value: v.text };
    }
    if (v.kind === 'ident') {
      const w = v.text.toLowerCase();
      if (w === 'inf' || w === 'infinity') {
        this.next();
        return { kind: 'lit', value: sign ? -Infinity : Infinity };
      }
      if (w === 'nan') {
        this.next();
        return { kind: 'lit', value: NaN };
      }
      if (!sign) {
        if (w === 'true' || w === 'false') {
          this.next();
          return { kind: 'lit', value: w === 'true' };
        }
        if (w === 'null') {
          this.next();
          return { kind: 'lit', value: null };
        }
        if ((w === 'date' || w === 'timestamp') && this.peek(1).kind === 'string') {
          this.next();
          const s = this.next();
          const parsed = parseTime(s.text);
          if (!parsed) this.fail(w === 'date' ? "Bad date: expected 'YYYY-MM-DD'" : "Bad timestamp: expected 'YYYY-MM-DDTHH:MM[:SS[.fff]][Z|±HH:MM]'", s);
          if (w === 'date' && !parsed.dateOnly) this.fail("A date has no time of day; write timestamp '…' for one", s);
          return { kind: 'lit', date: s.text.replace(' ', 'T') };
        }
      }
    }
    const bare = v.kind === 'ident' && !RESERVED.has(v.text.toLowerCase()) ? `: did you mean '${v.text}'? (text values are quoted)` : '';
    this.fail(`Expected ${what} (a number, a string, true, false, null, date '…' or timestamp '…'), found ${describe(v)}${bare}`, v);
  }
}

function numberLiteral(sign: string, text: string): Literal {
  if (/^\d+$/.test(text)) {
    const b = BigInt(sign + text);
    if (b >= -MAX_SAFE && b <= MAX_SAFE) {
      const n = Number(b);
      return { kind: 'lit', value: sign && n === 0 ? -0 : n };
    }
    if (b >= INT64_MIN && b <= UINT64_MAX) return { kind: 'lit', int: b.toString() };
  }
  return { kind: 'lit', value: Number(sign + text) };
}

/** Parse the text form of an expression. Throws ExprSyntaxError (code 'E_SYNTAX'). */
export function parseExpr(text: string): Expr {
  return new Parser(text, tokenize(text)).parse();
}
