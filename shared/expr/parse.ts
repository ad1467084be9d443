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
import type { ArithOp, CastType, ColumnRef, CompareOp, Expr, Literal, StringFn, Value } from './ast';
import { ExprError, ExprSyntaxError } from './errors';
import { CAST_NAMES, FUNCTIONS } from './functions';
import { formatValue } from './format';
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
  'case', 'when', 'then', 'else', 'end', 'cast', 'as',
]);
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
    if (two === '<=' || two === '>=' || two === '!=' || two === '<>' || two === '==' || two === '||' || two === '::') {
      toks.push({ kind: 'op', text: two, pos: start, end: i + 2 });
      i += 2;
      continue;
    }
    if (c === '<' || c === '>' || c === '=') {
      toks.push({ kind: 'op', text: c, pos: start, end: i + 1 });
      i++;
      continue;
    }
    if ('()[],-+*/%'.includes(c)) {
      toks.push({ kind: 'punct', text: c, pos: start, end: i + 1 });
      i++;
      continue;
    }
    const prev = toks[toks.length - 1];
    if ((c === '.' || c === ':' || c === '#' || c === '@' || c === '?' || c === '&') && prev?.kind === 'ident' && prev.end === i) {
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

  /** A node where a condition stands: a lone number or text is a mistake (`x = 1 and 5`). */
  private asPred(n: PNode): Expr {
    if (n.t === 'lit') {
      const v = (n.lit as { value?: unknown }).value;
      if (typeof v !== 'boolean' && v !== null) this.fail(`Expected an operator after the value, found ${describe(this.peek())}`);
    }
    return toPred(n);
  }

  parse(): Expr {
    if (this.peek().kind === 'eof') this.fail('Empty expression');
    const e = this.asPred(this.or());
    const t = this.peek();
    if (t.kind !== 'eof') {
      if (this.isPunct(t, ')')) this.fail("Unbalanced ')'");
      this.fail(`Expected 'and', 'or' or the end of the expression, found ${describe(t)}`);
    }
    return e;
  }

  /** A value expression alone (a computed column's definition, a group key). */
  parseValue(): Value {
    if (this.peek().kind === 'eof') this.fail('Empty expression');
    const v = toValue(this.or());
    const t = this.peek();
    if (t.kind !== 'eof') {
      if (this.isPunct(t, ')')) this.fail("Unbalanced ')'");
      this.fail(`Expected an operator or the end of the expression, found ${describe(t)}`);
    }
    return v;
  }

  private or(): PNode {
    const first = this.and();
    if (!this.isKw(this.peek(), 'or')) return first;
    const args = [this.asPred(first)];
    while (this.acceptKw('or')) args.push(this.asPred(this.and()));
    return pred({ kind: 'or', args }, first.pos);
  }

  private and(): PNode {
    const first = this.unary();
    if (!this.isKw(this.peek(), 'and')) return first;
    const args = [this.asPred(first)];
    while (this.acceptKw('and')) args.push(this.asPred(this.unary()));
    return pred({ kind: 'and', args }, first.pos);
  }

  private depth = 0;
  private enter(): void {
    if (++this.depth > MAX_DEPTH) this.fail(`Expression nested too deeply (more than ${MAX_DEPTH} levels)`);
  }
  private unary(): PNode {
    this.enter();
    try {
      const t = this.peek();
      if (this.acceptKw('not')) return pred({ kind: 'not', arg: this.asPred(this.unary()) }, t.pos);
      return this.comparison();
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

  /** An operand and what follows it: a comparison, is null, in, between, like, a regular expression — or nothing. */
  private comparison(): PNode {
    const start = this.peek();
    // (x, y) in polygon …
    if (this.isPunct(start, '(')) {
      const a = this.peek(1), b = this.peek(2);
      if ((a.kind === 'ident' || a.kind === 'qident') && this.isPunct(b, ',')) return pred(this.polygon(), start.pos);
    }
    // a column named inf, nan or infinity where a predicate starts: `inf > 3` (as a value it is on the right)
    const w = start.kind === 'ident' ? start.text.toLowerCase() : '';
    const after = this.peek(1);
    const colFirst = (w === 'inf' || w === 'infinity' || w === 'nan') && (after.kind === 'op' || ['is', 'in', 'between', 'not', 'like', 'ilike'].some((k) => this.isKw(after, k)));
    const left: PNode = colFirst ? (this.next(), { t: 'col', ref: { kind: 'col', name: start.text }, pos: start.pos }) : this.operand();
    const op = this.peek();
    if (op.kind === 'op' && Object.hasOwn(REGEX_OPS, op.text)) {
      this.next();
      const pattern = this.pattern('regex', `'${op.text}'`);
      const { icase, negated } = REGEX_OPS[op.text]!;
      return pred({ kind: 'match', op: 'regex', col: subject(left), pattern, ...(icase ? { icase } : {}), ...(negated ? { negated } : {}) }, left.pos);
    }
    if (op.kind === 'op') {
      this.next();
      if (!this.isOperandStart()) this.fail(`Expected a value after '${op.text}', found ${describe(this.peek())}`);
      const right = this.operand();
      return pred(compare(OPS[op.text]!, left, right), left.pos);
    }
    if (this.acceptKw('is')) {
      const negated = this.acceptKw('not');
      this.expectKw('null', `after 'is${negated ? ' not' : ''}'`);
      const col = subject(left);
      return pred(negated ? { kind: 'isnull', col, negated: true } : { kind: 'isnull', col }, left.pos);
    }
    let negated = false;
    const notTok = this.peek();
    if (this.isKw(notTok, 'not')) {
      const nx = this.peek(1);
      if (!this.isKw(nx, 'in') && !this.isKw(nx, 'between') && !this.isKw(nx, 'like') && !this.isKw(nx, 'ilike'))
        this.fail(`Expected 'in' or 'between' after 'not' (or 'like', 'ilike'), found ${describe(nx)}`, nx);
      this.next();
      negated = true;
    }
    const likeTok = this.peek();
    if (this.acceptKw('like') || this.acceptKw('ilike')) {
      const icase = this.isKw(likeTok, 'ilike');
      const pattern = this.pattern('like', `'${likeTok.text}'`);
      return pred({ kind: 'match', op: 'like', col: subject(left), pattern, ...(icase ? { icase } : {}), ...(negated ? { negated } : {}) }, left.pos);
    }
    if (this.acceptKw('between')) {
      const lo = this.operand();
      this.expectKw('and', "between the two bounds of 'between'");
      const hi = this.operand();
      if (lo.t === 'lit' && hi.t === 'lit') {
        const col = subject(left);
        return pred(negated ? { kind: 'between', col, lo: lo.lit, hi: hi.lit, negated: true } : { kind: 'between', col, lo: lo.lit, hi: hi.lit }, left.pos);
      }
      const both: Expr = { kind: 'and', args: [compare('>=', left, lo), compare('<=', left, hi)] };
      return pred(negated ? { kind: 'not', arg: both } : both, left.pos);
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
          return pred({ kind: 'range', col: subject(left), lo, hi }, left.pos);
        }
        if (this.isPunct(close, ']')) {
          this.next();
          return pred({ kind: 'between', col: subject(left), lo: { kind: 'lit', value: lo }, hi: { kind: 'lit', value: hi } }, left.pos);
        }
        this.fail(`Expected ')' (half-open range) or ']' (closed range), found ${describe(close)}`);
      }
      if (this.isKw(open, 'polygon')) this.fail("'in polygon' needs two columns: (x, y) in polygon [(x0, y0), …]");
      this.expectPunct('(', "after 'in' (a list of values in parentheses)");
      const items: PNode[] = [];
      if (!this.isPunct(this.peek(), ')')) {
        for (;;) {
          const t = this.peek();
          if (!this.isOperandStart()) {
            const bare = t.kind === 'ident' && !RESERVED.has(t.text.toLowerCase()) ? `: did you mean '${t.text}'? (text values are quoted)` : '';
            this.fail(`Expected a value in the list (a number, a string, true, false, null, date '…' or timestamp '…'), found ${describe(t)}${bare}`);
          }
          items.push(this.operand());
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
      if (items.every((i) => i.t === 'lit')) {
        const values = items.map((i) => (i as { lit: Literal }).lit);
        const col = subject(left);
        return pred(negated ? { kind: 'in', col, values, negated: true } : { kind: 'in', col, values }, left.pos);
      }
      const any: Expr = { kind: 'or', args: items.map((i) => compare('=', left, i)) };
      return pred(negated ? { kind: 'not', arg: any } : any, left.pos);
    }
    if (negated) this.fail(`Expected 'in' or 'between' after 'not' (or 'like', 'ilike'), found ${describe(this.peek())}`);
    // nothing follows: the operand is itself the predicate (a boolean column or value), or a typo
    const nx = this.peek();
    const ends = nx.kind === 'eof' || this.isPunct(nx, ')') || this.isPunct(nx, ',') || this.isKw(nx, 'and') || this.isKw(nx, 'or') || this.isKw(nx, 'then') || this.isKw(nx, 'else') || this.isKw(nx, 'end') || this.isKw(nx, 'when') || this.isKw(nx, 'as');
    if (!ends) {
      if (left.t === 'col' && start.kind === 'ident') {
        let hint = '';
        if (nx.kind === 'ident' || nx.kind === 'number' || (nx.kind === 'punct' && nx.text !== '(' && nx.text !== ')')) {
          // `dep delay > 10`: a name with spaces
          let k = 0;
          while (this.peek(k).kind !== 'eof' && this.peek(k).kind !== 'op' && !this.isPunct(this.peek(k), ')') && !['in', 'is', 'between', 'like', 'ilike', 'not', 'and', 'or'].includes(this.peek(k).text.toLowerCase())) k++;
          const end = k > 0 ? this.peek(k - 1).end : nx.end;
          const name = this.text.slice(start.pos, end).trim();
          if (name !== left.ref.name) hint = `: a column name with spaces or symbols is written in backquotes, e.g. \`${name}\``;
        }
        this.fail(`Expected an operator (=, !=, <, <=, >, >=, in, not in, between, is null, like, ~) after the column '${left.ref.name}', found ${describe(nx)}${hint}`);
      }
      this.fail(`Expected an operator (=, !=, <, <=, >, >=, in, between, is null, like, ~, and, or), found ${describe(nx)}`);
    }
    return left;
  }

  private isOperandStart(k = 0): boolean {
    const t = this.peek(k);
    if (this.isValueStart(k) || this.isColumnStart(k)) return true;
    if (t.kind === 'punct' && (t.text === '(' || t.text === '-' || t.text === '+')) return true;
    return (this.isKw(t, 'case') && this.isKw(this.peek(k + 1), 'when')) || (this.isKw(t, 'cast') && this.isPunct(this.peek(k + 1), '('));
  }

  /** concat = additive { "||" additive } */
  private operand(): PNode {
    let left = this.additive();
    while (this.peek().kind === 'op' && this.peek().text === '||') {
      const op = this.next();
      const right = this.additive();
      left = val({ kind: 'call', fn: '||', args: [toValue(left), toValue(right)] }, op.pos);
    }
    return left;
  }

  private additive(): PNode {
    let left = this.term();
    for (;;) {
      const t = this.peek();
      if (t.kind !== 'punct' || (t.text !== '+' && t.text !== '-')) return left;
      this.next();
      const right = this.term();
      left = val({ kind: 'arith', op: t.text as ArithOp, left: toValue(left), right: toValue(right) }, t.pos);
    }
  }

  private term(): PNode {
    let left = this.signed();
    for (;;) {
      const t = this.peek();
      if (t.kind !== 'punct' || (t.text !== '*' && t.text !== '/' && t.text !== '%')) return left;
      this.next();
      const right = this.signed();
      left = val({ kind: 'arith', op: t.text as ArithOp, left: toValue(left), right: toValue(right) }, t.pos);
    }
  }

  private signed(): PNode {
    const t = this.peek();
    if (t.kind === 'punct' && (t.text === '-' || t.text === '+')) {
      if (this.isNumberish(1)) return this.postfix(lit(this.value('a number'), t.pos));
      this.next();
      this.enter();
      try {
        const arg = this.signed();
        return t.text === '+' ? arg : val({ kind: 'neg', arg: toValue(arg) }, t.pos);
      } finally {
        this.depth--;
      }
    }
    return this.postfix(this.primary());
  }

  /** x::type … */
  private postfix(n: PNode): PNode {
    while (this.peek().kind === 'op' && this.peek().text === '::') {
      const op = this.next();
      const to = this.typeName();
      n = val({ kind: 'cast', arg: toValue(n), to }, op.pos);
    }
    return n;
  }

  private typeName(): CastType {
    const t = this.peek();
    const to = t.kind === 'ident' ? CAST_NAMES[t.text.toLowerCase()] : undefined;
    if (!to) this.fail(`Expected a type (int, float, string, bool, date, timestamp), found ${describe(t)}`);
    this.next();
    return to;
  }

  private primary(): PNode {
    const t = this.peek();
    if (this.isPunct(t, '(')) {
      this.next();
      const inner = this.or();
      const close = this.peek();
      if (!this.isPunct(close, ')')) this.fail(`Expected ')' to close the '(' at position ${t.pos}, found ${describe(close)}`);
      this.next();
      return inner;
    }
    if (this.isValueStart()) return lit(this.value('a value'), t.pos);
    if (this.isKw(t, 'case') && this.isKw(this.peek(1), 'when')) return this.caseExpr();
    if (this.isKw(t, 'cast') && this.isPunct(this.peek(1), '(')) {
      this.next();
      this.next();
      const arg = this.or();
      this.expectKw('as', 'in cast(value as type)');
      const to = this.typeName();
      this.expectPunct(')', 'to close cast(…)');
      return val({ kind: 'cast', arg: toValue(arg), to }, t.pos);
    }
    if (t.kind === 'ident' && this.isPunct(this.peek(1), '(') && !RESERVED.has(t.text.toLowerCase())) return this.call();
    if (this.isColumnStart()) {
      this.next();
      return { t: 'col', ref: { kind: 'col', name: t.text }, pos: t.pos };
    }
    if (t.kind === 'ident' && RESERVED.has(t.text.toLowerCase()))
      this.fail(`Expected a column name, found the keyword '${t.text}' (write \`${t.text}\` for a column so named)`);
    this.fail(`Expected a column name, a value or '(', found ${describe(t)}`);
  }

  private caseExpr(): PNode {
    const start = this.next();
    const whens: { when: Expr; then: Value }[] = [];
    while (this.acceptKw('when')) {
      const when = this.asPred(this.or());
      this.expectKw('then', "after case's when condition");
      whens.push({ when, then: toValue(this.or()) });
    }
    if (whens.length === 0) this.fail(`Expected 'when' after 'case', found ${describe(this.peek())}`);
    let otherwise: Value | undefined;
    if (this.acceptKw('else')) otherwise = toValue(this.or());
    this.expectKw('end', "to close 'case'");
    return val(otherwise === undefined ? { kind: 'case', whens } : { kind: 'case', whens, else: otherwise }, start.pos);
  }

  /** name(arg, …): a function of FUNCTIONS; contains(col, 'text') and the like are string predicates */
  private call(): PNode {
    const name = this.next();
    const fn = name.text.toLowerCase();
    const info = FUNCTIONS[fn] ?? (fn === 'matches' ? { min: 2, max: 2, doc: '' } : undefined);
    if (!info) {
      const near = closestWord(fn, [...Object.keys(FUNCTIONS), 'matches']);
      this.fail(`Unknown function '${name.text}'${near ? ` — did you mean ${near}()?` : ` (functions: ${Object.keys(FUNCTIONS).join(', ')})`}`, name);
    }
    this.expectPunct('(', `after '${name.text}'`);
    const args: PNode[] = [];
    const patternFn = fn === 'contains' || fn === 'starts_with' || fn === 'ends_with' || fn === 'matches';
    if (!this.isPunct(this.peek(), ')')) {
      for (;;) {
        if (patternFn && args.length === 1) {
          // the text or regular expression of a string predicate: checked here when quoted
          const p = this.peek();
          if (p.kind === 'string' && (this.isPunct(this.peek(1), ')'))) {
            const text = this.pattern(fn === 'matches' ? 'regex' : 'text', `${name.text}()`);
            args.push(lit({ kind: 'lit', value: text }, p.pos));
          } else if (fn === 'matches') {
            this.pattern('regex', `${name.text}()`);
          } else args.push(this.or());
        } else args.push(this.or());
        if (this.isPunct(this.peek(), ',')) {
          this.next();
          continue;
        }
        break;
      }
    }
    const close = this.peek();
    if (!this.isPunct(close, ')')) this.fail(`Expected ',' or ')' to close ${name.text}(…), found ${describe(close)}`);
    this.next();
    if (args.length < info.min || args.length > info.max) {
      const want = info.min === info.max ? `${info.min}` : info.max >= 64 ? `at least ${info.min}` : `${info.min} to ${info.max}`;
      this.fail(`${name.text}() takes ${want} argument${info.min === 1 && info.max === 1 ? '' : 's'}, not ${args.length}${info.doc ? ` — ${info.doc}` : ''}`, name);
    }
    if (patternFn) {
      const [s, p] = args as [PNode, PNode];
      const pattern = p.t === 'lit' && typeof (p.lit as { value?: unknown }).value === 'string' ? ((p.lit as { value: string }).value) : null;
      if (pattern !== null) {
        const col = subject(s);
        return pred(fn === 'matches' ? { kind: 'match', op: 'regex', col, pattern } : { kind: 'match', op: fn as StringFn, col, pattern }, name.pos);
      }
    }
    if (fn === 'if') {
      const [c, a, b] = args as [PNode, PNode, PNode];
      return val({ kind: 'case', whens: [{ when: this.asPred(c), then: toValue(a) }], else: toValue(b) }, name.pos);
    }
    return val({ kind: 'call', fn: fn === 'power' ? 'pow' : fn === 'substring' ? 'substr' : fn === 'log' ? 'ln' : fn, args: args.map(toValue) }, name.pos);
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

/** Parse the text form of an expression (a filter: a predicate). Throws ExprSyntaxError (code 'E_SYNTAX'). */
export function parseExpr(text: string): Expr {
  return new Parser(text, tokenize(text)).parse();
}

/** Parse a value expression (`fare / distance`, `date_trunc('month', t)`). Throws ExprSyntaxError. */
export function parseValue(text: string): Value {
  return new Parser(text, tokenize(text)).parseValue();
}

// ───────────────────────── parse nodes ─────────────────────────
// Operands and predicates share one grammar (as in SQL); what a node becomes — a predicate of the
// filter model or a value — is decided by where it stands.

type PNode =
  | { t: 'lit'; lit: Literal; pos: number }
  | { t: 'col'; ref: ColumnRef; pos: number }
  | { t: 'val'; v: Value; pos: number }
  | { t: 'pred'; e: Expr; pos: number };

/** Where each value node began in the text (for errors that point at it). */
const positions = new WeakMap<object, number>();
/** The position in its text where a parsed value began, when known. */
export function valuePosition(v: object): number | undefined {
  return positions.get(v);
}

function lit(l: Literal, pos: number): PNode {
  return { t: 'lit', lit: l, pos };
}
function val(v: Value, pos: number): PNode {
  positions.set(v, pos);
  return { t: 'val', v, pos };
}
function pred(e: Expr, pos: number): PNode {
  return { t: 'pred', e, pos };
}

function toValue(n: PNode): Value {
  switch (n.t) {
    case 'lit': return n.lit;
    case 'col': return n.ref;
    case 'val': return n.v;
    case 'pred': {
      const v: Value = n.e.kind === 'test' ? n.e.arg : { kind: 'pred', arg: n.e };
      positions.set(v, n.pos);
      return v;
    }
  }
}

function toPred(n: PNode): Expr {
  switch (n.t) {
    case 'pred': return n.e;
    case 'lit': {
      const v = (n.lit as { value?: unknown }).value;
      if (v === true) return { kind: 'and', args: [] };
      if (v === false) return { kind: 'or', args: [] };
      return { kind: 'test', arg: n.lit };
    }
    case 'col': return { kind: 'test', arg: n.ref };
    case 'val': return { kind: 'test', arg: n.v };
  }
}

/** What a predicate applies to: a column, or an inline computed value named by its text. */
function subject(n: PNode): ColumnRef {
  if (n.t === 'col') return n.ref;
  const v = toValue(n);
  const ref: ColumnRef = { kind: 'col', name: formatValue(v), expr: v };
  positions.set(ref, n.pos);
  return ref;
}

function compare(op: CompareOp, l: PNode, r: PNode): Expr {
  if (l.t !== 'lit' && r.t === 'lit') return { kind: 'cmp', op, left: subject(l), right: r.lit };
  if (l.t === 'lit' && r.t !== 'lit') return { kind: 'cmp', op: FLIP[op], left: subject(r), right: l.lit };
  const v: Value = { kind: 'cmpv', op, left: toValue(l), right: toValue(r) };
  positions.set(v, l.pos);
  return { kind: 'test', arg: v };
}

function closestWord(w: string, words: string[]): string | undefined {
  let best: string | undefined, bestD = Infinity;
  for (const x of words) {
    const d = levenshtein(w, x);
    if (d < bestD) [best, bestD] = [x, d];
  }
  return bestD <= Math.max(1, Math.floor(w.length / 3)) ? best : undefined;
}

function levenshtein(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}
