/**
 * The string predicates of the expression language (ast.ts `match`): their exact rules, the
 * reference matchers the JS evaluator uses, and the forms the other back ends take (SQL pattern
 * text, and the compiled programs the native filter kernel runs).
 *
 * LIKE: `%` matches any run of characters, `_` exactly one character (a code point), `\` makes
 * the next character literal (`\%`, `\_`, `\\`); a pattern ending in a lone `\` is an error. The
 * whole string must match. ILIKE lower-cases both sides per character first (Unicode simple
 * lowercase: `toLowerCase` where it gives one character), as DuckDB's ILIKE does.
 *
 * Regular expressions: a portable subset, found anywhere in the string (a search, like
 * PostgreSQL's `~` and DuckDB's `regexp_matches`):
 *   literal characters; `.` (any character, a newline too); `[abc]`, `[^a-z]` (write `\]`, `\[`,
 *   `\\`, `\^`, `\-` for those characters inside); `\d \D \w \W \s \S` (ASCII: [0-9],
 *   [A-Za-z0-9_], [ \t\n\v\f\r]); `\n \t \r \f \v`; `\` before any punctuation makes it literal;
 *   `^` and `$` (start and end of the string); groups `( )` and `(?: )`; `|`; `* + ?` and
 *   `{n}`, `{n,}`, `{n,m}` with counts up to 255 (a trailing `?` is accepted: whether a string
 *   matches does not depend on laziness).
 * Anything else (back-references, look-arounds, `\b`, POSIX classes, …) is refused with an
 * E_BAD_EXPR error that names the pattern, because DuckDB (RE2), PostgreSQL (ARE) and JavaScript
 * read it differently or not at all. Patterns are re-written from the parsed tree for each engine
 * (regexSource), so `\d` and friends mean the same everywhere. Case-insensitive matching (`~*`)
 * uses Unicode simple case folding (JavaScript's /iu; RE2 agrees on all but rare characters).
 *
 * The native kernel gets LIKE patterns as code-point tokens and regular expressions as a Thompson
 * NFA (a linear-time program, no backtracking: see native/src/filter.cc), both compiled here, so
 * one parser decides what a pattern means.
 */
import type { Expr } from './ast';
import { ExprError } from './errors';

type MatchExpr = Extract<Expr, { kind: 'match' }>;

// ───────────────────────────── case tables ─────────────────────────────

/** Highest code point with a case mapping (Adlam, U+1E943); scanning stops there. */
const CASED_LIMIT = 0x1e960;

let lowerMap: Map<number, number> | null = null;
let foldMap: Map<number, number> | null = null;

function single(s: string): number | null {
  const cp = s.codePointAt(0)!;
  return s.length === String.fromCodePoint(cp).length ? cp : null;
}

/** Unicode simple lowercase per code point (only mappings to one code point; others unchanged). */
export function lowerTable(): Map<number, number> {
  if (!lowerMap) {
    lowerMap = new Map();
    for (let c = 0; c < CASED_LIMIT; c++) {
      if (c >= 0xd800 && c <= 0xdfff) continue;
      const l = single(String.fromCodePoint(c).toLowerCase());
      if (l !== null && l !== c) lowerMap.set(c, l);
    }
  }
  return lowerMap;
}

let upperMap: Map<number, number> | null = null;

/** Simple upper-case mapping per code point (where the upper case is one code point): upper(). */
export function upperTable(): Map<number, number> {
  if (!upperMap) {
    upperMap = new Map();
    for (let c = 0; c < CASED_LIMIT; c++) {
      if (c >= 0xd800 && c <= 0xdfff) continue;
      const u = single(String.fromCodePoint(c).toUpperCase());
      if (u !== null && u !== c) upperMap.set(c, u);
    }
  }
  return upperMap;
}

/**
 * Simple case folding per code point, as JavaScript's /iu canonicalises: a character maps to the
 * lower case of its upper case (so ς, σ, Σ all fold to σ, and ſ to s), kept only where the
 * regular-expression engine itself agrees that the two match; idempotent.
 */
export function foldTable(): Map<number, number> {
  if (!foldMap) {
    const m = new Map<number, number>();
    for (let c = 0; c < CASED_LIMIT; c++) {
      if (c >= 0xd800 && c <= 0xdfff) continue;
      const s = String.fromCodePoint(c);
      const up = s.toUpperCase();
      const cands = [single(up.toLowerCase()), single(s.toLowerCase())];
      for (const d of cands) {
        if (d === null || d === c) continue;
        if (new RegExp('^' + escapeJs(c) + '$', 'iu').test(String.fromCodePoint(d))) {
          m.set(c, d);
          break;
        }
      }
    }
    // idempotent: fold(fold(c)) = fold(c)
    for (const [c, d] of m) {
      let e = d;
      for (let k = 0; k < 4 && m.has(e) && m.get(e) !== e; k++) e = m.get(e)!;
      m.set(c, e);
    }
    for (const [c, d] of m) if (c === d) m.delete(c);
    foldMap = m;
  }
  return foldMap;
}

/** A case table as sorted (from, to) pairs, for the native kernel. */
export function tablePairs(m: Map<number, number>): Uint32Array {
  const keys = [...m.keys()].sort((a, b) => a - b);
  const out = new Uint32Array(keys.length * 2);
  keys.forEach((k, i) => {
    out[2 * i] = k;
    out[2 * i + 1] = m.get(k)!;
  });
  return out;
}

const mapCp = (m: Map<number, number>, c: number) => m.get(c) ?? c;

function codePoints(s: string): number[] {
  const out: number[] = [];
  for (const ch of s) out.push(ch.codePointAt(0)!);
  return out;
}

// ───────────────────────────── LIKE ─────────────────────────────

export const LIKE_ANY = -1;
export const LIKE_ONE = -2;

/** `pos`: the offending character's index in the pattern (code points); detail.position is in UTF-16 units. */
function badPattern(kind: string, pattern: string, why: string, pos?: number): never {
  const detail = pos === undefined ? {} : { position: [...pattern].slice(0, pos).join('').length };
  throw new ExprError('E_BAD_EXPR', `Bad ${kind} '${pattern}': ${why}${pos === undefined ? '' : ` (at position ${pos} of the pattern)`}`, detail);
}

/** LIKE pattern → tokens: code points, LIKE_ANY (%) and LIKE_ONE (_). */
export function likeTokens(pattern: string, icase = false): number[] {
  const cps = codePoints(pattern);
  const lower = icase ? lowerTable() : null;
  const out: number[] = [];
  for (let i = 0; i < cps.length; i++) {
    const c = cps[i]!;
    if (c === 0x5c) {
      if (i + 1 >= cps.length) badPattern('LIKE pattern', pattern, 'it ends with a lone backslash (write \\\\ for a backslash)');
      const d = cps[++i]!;
      out.push(lower ? mapCp(lower, d) : d);
    } else if (c === 0x25) {
      if (out[out.length - 1] !== LIKE_ANY) out.push(LIKE_ANY); // %% = %
    } else if (c === 0x5f) out.push(LIKE_ONE);
    else out.push(lower ? mapCp(lower, c) : c);
  }
  return out;
}

/** The pattern text for SQL (`LIKE ? ESCAPE '\'`): only %, _ and \ escaped. */
export function likeSqlPattern(pattern: string): string {
  let s = '';
  for (const t of likeTokens(pattern)) {
    if (t === LIKE_ANY) s += '%';
    else if (t === LIKE_ONE) s += '_';
    else {
      const ch = String.fromCodePoint(t);
      s += ch === '%' || ch === '_' || ch === '\\' ? '\\' + ch : ch;
    }
  }
  return s;
}

/** Does `text` (code points) match the LIKE tokens? Iterative wildcard matching. */
export function likeMatch(tokens: readonly number[], text: readonly number[]): boolean {
  let i = 0, j = 0, star = -1, mark = 0;
  const n = text.length, m = tokens.length;
  while (i < n) {
    if (j < m && (tokens[j] === LIKE_ONE || tokens[j] === text[i])) {
      i++;
      j++;
    } else if (j < m && tokens[j] === LIKE_ANY) {
      star = j++;
      mark = i;
    } else if (star >= 0) {
      j = star + 1;
      i = ++mark;
    } else return false;
  }
  while (j < m && tokens[j] === LIKE_ANY) j++;
  return j === m;
}

/**
 * A LIKE pattern that is a plain substring test: 'abc' (equality), 'abc%' (prefix), '%abc'
 * (suffix), '%abc%' (contains); null when it needs the general matcher.
 */
export function likeShape(tokens: readonly number[]): { fn: 'eq' | 'prefix' | 'suffix' | 'contains'; cps: number[] } | null {
  let a = 0, b = tokens.length;
  const lead = tokens[0] === LIKE_ANY, trail = b > 0 && tokens[b - 1] === LIKE_ANY && !(lead && b === 1);
  if (lead) a++;
  if (trail) b--;
  const mid = tokens.slice(a, b);
  if (mid.some((t) => t < 0)) return null;
  if (lead && b - a === 0 && tokens.length === 1) return { fn: 'contains', cps: [] }; // '%'
  return { fn: lead && trail ? 'contains' : lead ? 'suffix' : trail ? 'prefix' : 'eq', cps: mid };
}

// ───────────────────────────── regular expressions ─────────────────────────────

export type RNode =
  | { t: 'empty' }
  | { t: 'char'; cp: number }
  | { t: 'set'; ranges: number[]; neg: boolean } // ranges: lo, hi pairs, sorted and merged
  | { t: 'any' }
  | { t: 'bol' }
  | { t: 'eol' }
  | { t: 'cat'; xs: RNode[] }
  | { t: 'alt'; xs: RNode[] }
  | { t: 'rep'; x: RNode; min: number; max: number };

const MAX_COUNT = 255; // PostgreSQL's limit on {n,m}
const SYNTAX = new Set([...'^$\\.*+?()[]{}|/']);
const DIGIT = [0x30, 0x39];
const WORD = [0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a];
const SPACE = [0x09, 0x0d, 0x20, 0x20]; // \t \n \v \f \r and space
const CTRL: Record<string, number> = { n: 10, t: 9, r: 13, f: 12, v: 11 };

function normRanges(r: number[]): number[] {
  const pairs: [number, number][] = [];
  for (let i = 0; i < r.length; i += 2) pairs.push([r[i]!, r[i + 1]!]);
  pairs.sort((a, b) => a[0] - b[0]);
  const out: number[] = [];
  for (const [lo, hi] of pairs) {
    const n = out.length;
    if (n && lo <= out[n - 1]! + 1) out[n - 1] = Math.max(out[n - 1]!, hi);
    else out.push(lo, hi);
  }
  return out;
}

/** The complement of sorted ranges within [0, 0x10FFFF], leaving out the surrogates. */
function complement(r: number[]): number[] {
  const out: number[] = [];
  let next = 0;
  for (let i = 0; i < r.length; i += 2) {
    if (r[i]! > next) out.push(next, r[i]! - 1);
    next = r[i + 1]! + 1;
  }
  if (next <= 0x10ffff) out.push(next, 0x10ffff);
  return normRanges(out.flatMap((v, i) => (i % 2 ? [] : splitSurrogates(v, out[i + 1]!))));
}

function splitSurrogates(lo: number, hi: number): number[] {
  const out: number[] = [];
  if (lo < 0xd800) out.push(lo, Math.min(hi, 0xd7ff));
  if (hi > 0xdfff) out.push(Math.max(lo, 0xe000), hi);
  return out;
}

class RegexParser {
  private i = 0;
  private readonly cps: number[];
  constructor(private readonly pattern: string) {
    this.cps = codePoints(pattern);
  }
  private fail(why: string, at = this.i): never {
    badPattern('regular expression', this.pattern, why, at);
  }
  private peek(): number | undefined {
    return this.cps[this.i];
  }
  private is(ch: string): boolean {
    return this.cps[this.i] === ch.codePointAt(0);
  }

  parse(): RNode {
    const n = this.alt(0);
    if (this.i < this.cps.length) this.fail(this.is(')') ? "unbalanced ')'" : `unexpected '${String.fromCodePoint(this.peek()!)}'`);
    return n;
  }

  private alt(depth: number): RNode {
    if (depth > 100) this.fail('groups nested too deeply');
    const xs = [this.cat(depth)];
    while (this.is('|')) {
      this.i++;
      xs.push(this.cat(depth));
    }
    return xs.length === 1 ? xs[0]! : { t: 'alt', xs };
  }

  private cat(depth: number): RNode {
    const xs: RNode[] = [];
    while (this.i < this.cps.length && !this.is('|') && !this.is(')')) {
      const at = this.i;
      let x = this.atom(depth);
      const q = this.quant();
      if (q) {
        if (x.t === 'bol' || x.t === 'eol') this.fail("a quantifier cannot follow '^' or '$'", at);
        x = x.t === 'empty' ? x : { t: 'rep', x, min: q[0], max: q[1] };
        if (this.isQuantStart()) this.fail('two quantifiers in a row (write (a*)* to repeat a repetition)');
      }
      xs.push(x);
    }
    return xs.length === 0 ? { t: 'empty' } : xs.length === 1 ? xs[0]! : { t: 'cat', xs };
  }

  private isQuantStart(): boolean {
    return this.is('*') || this.is('+') || this.is('?') || this.is('{');
  }

  private num(): number | null {
    let s = '';
    while (this.peek() !== undefined && this.peek()! >= 0x30 && this.peek()! <= 0x39) s += String.fromCodePoint(this.cps[this.i++]!);
    return s ? Number(s) : null;
  }

  private quant(): [number, number] | null {
    let q: [number, number] | null = null;
    if (this.is('*')) q = [0, Infinity];
    else if (this.is('+')) q = [1, Infinity];
    else if (this.is('?')) q = [0, 1];
    if (q) this.i++;
    else if (this.is('{')) {
      const at = this.i++;
      const lo = this.num();
      if (lo === null) this.fail("'{' must start a count {n}, {n,} or {n,m} (write \\{ for a brace)", at);
      let hi: number = lo;
      if (this.is(',')) {
        this.i++;
        const h = this.num();
        hi = h === null ? Infinity : h;
      }
      if (!this.is('}')) this.fail("expected '}' to end the count", this.i);
      this.i++;
      if (lo > MAX_COUNT || (hi !== Infinity && hi > MAX_COUNT)) this.fail(`a count above ${MAX_COUNT}`, at);
      if (hi < lo) this.fail(`the count {${lo},${hi}} has its bounds in the wrong order`, at);
      q = [lo, hi];
    } else return null;
    if (this.is('?')) this.i++; // lazy: the same strings match
    return q;
  }

  private atom(depth: number): RNode {
    const at = this.i;
    const c = this.cps[this.i++]!;
    const ch = String.fromCodePoint(c);
    switch (ch) {
      case '(': {
        if (this.is('?')) {
          if (this.cps[this.i + 1] === 0x3a) this.i += 2;
          else this.fail("only (?: …) groups are supported (no look-arounds, named groups or flags)", at);
        }
        const x = this.alt(depth + 1);
        if (!this.is(')')) this.fail("missing ')'", at);
        this.i++;
        return x;
      }
      case '[':
        return this.set(at);
      case '.':
        return { t: 'any' };
      case '^':
        return { t: 'bol' };
      case '$':
        return { t: 'eol' };
      case '\\':
        return this.escape(at, false) as RNode;
      case '*': case '+': case '?':
        return this.fail(`nothing before '${ch}' to repeat`, at);
      case '{':
        return this.fail("nothing before '{' to repeat (write \\{ for a brace)", at);
      case ']': case '}':
        return this.fail(`write \\${ch} for a literal '${ch}'`, at);
      default:
        return { t: 'char', cp: c };
    }
  }

  /** An escape after '\'; inside a set it returns the ranges. */
  private escape(at: number, inSet: boolean): RNode | number[] {
    const c = this.cps[this.i++];
    if (c === undefined) this.fail('it ends with a lone backslash (write \\\\ for a backslash)', at);
    const ch = String.fromCodePoint(c);
    const cls = (r: number[], neg: boolean): RNode | number[] => (inSet ? (neg ? complement(r) : r) : { t: 'set', ranges: r, neg });
    switch (ch) {
      case 'd': return cls(DIGIT, false);
      case 'D': return cls(DIGIT, true);
      case 'w': return cls(WORD, false);
      case 'W': return cls(WORD, true);
      case 's': return cls(SPACE, false);
      case 'S': return cls(SPACE, true);
    }
    let cp: number;
    if (ch in CTRL) cp = CTRL[ch]!;
    else if (/[\p{L}\p{N}]/u.test(ch)) this.fail(`the escape \\${ch} is not supported`, at);
    else cp = c;
    return inSet ? [cp!, cp!] : { t: 'char', cp: cp! };
  }

  private set(at: number): RNode {
    let neg = false;
    if (this.is('^')) {
      neg = true;
      this.i++;
    }
    if (this.is(']')) this.fail("a class cannot start with ']' (write \\] for one; [] and [^] are not supported)", this.i);
    const ranges: number[] = [];
    for (;;) {
      const c = this.peek();
      if (c === undefined) this.fail("missing ']' to end the class", at);
      if (c === 0x5d) {
        this.i++;
        break;
      }
      const lo = this.setAtom();
      if (typeof lo !== 'number') {
        ranges.push(...lo);
        continue;
      }
      if (this.is('-') && this.cps[this.i + 1] !== undefined && this.cps[this.i + 1] !== 0x5d) {
        const dash = this.i++;
        const hi = this.setAtom();
        if (typeof hi !== 'number') this.fail('a range cannot end with a class escape', dash);
        if (hi < lo) this.fail(`the range ${String.fromCodePoint(lo)}-${String.fromCodePoint(hi)} is out of order`, dash);
        ranges.push(lo, hi);
      } else ranges.push(lo, lo);
    }
    return { t: 'set', ranges: normRanges(ranges), neg };
  }

  /** One character of a set (a code point) or a class escape (ranges). */
  private setAtom(): number | number[] {
    const at = this.i;
    const c = this.cps[this.i++]!;
    if (c === 0x5c) {
      const r = this.escape(at, true) as number[];
      return r.length === 2 && r[0] === r[1] && !/[dDwWsS]/.test(String.fromCodePoint(this.cps[at + 1]!)) ? r[0]! : r;
    }
    if (c === 0x5b) this.fail("write \\[ for a '[' inside a class (POSIX [:classes:] are not supported)", at);
    return c;
  }
}

const parsedCache = new Map<string, RNode>();

/** Parse a regular expression of the portable subset; throws E_BAD_EXPR naming the pattern. */
export function parseRegex(pattern: string): RNode {
  let n = parsedCache.get(pattern);
  if (!n) {
    n = new RegexParser(pattern).parse();
    if (parsedCache.size > 500) parsedCache.clear();
    parsedCache.set(pattern, n);
  }
  return n;
}

function escapeJs(cp: number): string {
  const ch = String.fromCodePoint(cp);
  return SYNTAX.has(ch) ? '\\' + ch : ch;
}

function setChar(cp: number): string {
  const ch = String.fromCodePoint(cp);
  return ch === '\\' || ch === ']' || ch === '[' || ch === '^' || ch === '-' ? '\\' + ch : ch;
}

/**
 * The pattern re-written from its tree in the syntax JavaScript (with the `su` flags), RE2 (after
 * `(?s)`) and PostgreSQL AREs all read the same way: every group non-capturing, class escapes
 * spelled out as ranges, metacharacters escaped.
 */
export function regexSource(n: RNode): string {
  const atom = (x: RNode): string => {
    const s = regexSource(x);
    return x.t === 'char' || x.t === 'set' || x.t === 'any' ? s : `(?:${s})`;
  };
  switch (n.t) {
    case 'empty': return '';
    case 'char': return escapeJs(n.cp);
    case 'any': return '.';
    case 'bol': return '^';
    case 'eol': return '$';
    case 'set': {
      let s = '[' + (n.neg ? '^' : '');
      for (let i = 0; i < n.ranges.length; i += 2) {
        const lo = n.ranges[i]!, hi = n.ranges[i + 1]!;
        s += lo === hi ? setChar(lo) : hi === lo + 1 ? setChar(lo) + setChar(hi) : `${setChar(lo)}-${setChar(hi)}`;
      }
      return s + ']';
    }
    case 'cat': return n.xs.map((x) => (x.t === 'alt' ? `(?:${regexSource(x)})` : regexSource(x))).join('');
    case 'alt': return n.xs.map(regexSource).join('|');
    case 'rep': {
      const q = n.min === 0 && n.max === Infinity ? '*' : n.min === 1 && n.max === Infinity ? '+' : n.min === 0 && n.max === 1 ? '?'
        : n.max === Infinity ? `{${n.min},}` : n.min === n.max ? `{${n.min}}` : `{${n.min},${n.max}}`;
      return atom(n.x) + q;
    }
  }
}

const jsCache = new Map<string, RegExp>();

/** The JavaScript RegExp of a pattern (the reference evaluator's matcher). */
export function jsRegExp(pattern: string, icase = false): RegExp {
  const key = (icase ? 'i:' : 's:') + pattern;
  let re = jsCache.get(key);
  if (!re) {
    re = new RegExp(regexSource(parseRegex(pattern)), icase ? 'siu' : 'su');
    if (jsCache.size > 500) jsCache.clear();
    jsCache.set(key, re);
  }
  return re;
}

// ── the NFA program for the native kernel ──
// Instructions are triples (op, a, b):
export const RX = { SET: 0, NSET: 1, ANY: 2, SPLIT: 3, JMP: 4, BOL: 5, EOL: 6, MATCH: 7, CHAR: 8 } as const;
const MAX_PROGRAM = 30_000;

export interface RegexProgram {
  /** triples (op, a, b): SET/NSET a = first range pair, b = pair count; CHAR a = code point; SPLIT a, b; JMP a */
  prog: Int32Array;
  /** lo, hi code point pairs for the sets */
  ranges: Uint32Array;
  /** the pattern starts with '^' on every branch: try a match at the start only */
  anchored: boolean;
  /** icase: the fold table (sorted from, to pairs) applied to the text */
  fold?: Uint32Array;
}

/** Close a set under case folding: a folded character matches when some member folds to it. */
function foldRanges(r: number[], fold: Map<number, number>): number[] {
  const extra: number[] = [];
  for (const [c, d] of fold) {
    for (let i = 0; i < r.length; i += 2) {
      if (c >= r[i]! && c <= r[i + 1]!) {
        extra.push(d, d);
        break;
      }
    }
  }
  return extra.length ? normRanges([...r, ...extra]) : r;
}

function startsAnchored(n: RNode): boolean {
  switch (n.t) {
    case 'bol': return true;
    case 'cat': return n.xs.length > 0 && startsAnchored(n.xs[0]!);
    case 'alt': return n.xs.every(startsAnchored);
    default: return false;
  }
}

/** Compile a pattern to the native kernel's NFA program (Thompson construction). */
export function compileRegex(pattern: string, icase = false): RegexProgram {
  const tree = parseRegex(pattern);
  const fold = icase ? foldTable() : null;
  const code: number[] = [];
  const ranges: number[] = [];
  const emit = (op: number, a = 0, b = 0): number => {
    if (code.length / 3 >= MAX_PROGRAM) badPattern('regular expression', pattern, 'it is too large (write fewer or smaller counts)');
    code.push(op, a, b);
    return code.length / 3 - 1;
  };
  const patch = (pc: number, slot: 1 | 2, v: number) => (code[pc * 3 + slot] = v);
  const pc = () => code.length / 3;
  const gen = (n: RNode): void => {
    switch (n.t) {
      case 'empty': return;
      case 'char': {
        const c = fold ? mapCp(fold, n.cp) : n.cp;
        emit(RX.CHAR, c);
        return;
      }
      case 'any': emit(RX.ANY); return;
      case 'bol': emit(RX.BOL); return;
      case 'eol': emit(RX.EOL); return;
      case 'set': {
        const r = fold ? foldRanges(n.ranges, fold) : n.ranges;
        emit(n.neg ? RX.NSET : RX.SET, ranges.length / 2, r.length / 2);
        ranges.push(...r);
        return;
      }
      case 'cat': n.xs.forEach(gen); return;
      case 'alt': {
        // SPLIT L1, next; L1: x0; JMP end; next: SPLIT … ; last branch
        const jumps: number[] = [];
        n.xs.forEach((x, k) => {
          if (k < n.xs.length - 1) {
            const s = emit(RX.SPLIT, 0, 0);
            patch(s, 1, pc());
            gen(x);
            jumps.push(emit(RX.JMP));
            patch(s, 2, pc());
          } else gen(x);
        });
        for (const j of jumps) patch(j, 1, pc());
        return;
      }
      case 'rep': {
        for (let k = 0; k < n.min; k++) gen(n.x);
        if (n.max === Infinity) {
          // L: SPLIT body, out; body; JMP L
          const s = emit(RX.SPLIT);
          patch(s, 1, pc());
          gen(n.x);
          emit(RX.JMP, s);
          patch(s, 2, pc());
        } else {
          const splits: number[] = [];
          for (let k = n.min; k < n.max; k++) {
            const s = emit(RX.SPLIT);
            patch(s, 1, pc());
            splits.push(s);
            gen(n.x);
          }
          for (const s of splits) patch(s, 2, pc());
        }
        return;
      }
    }
  };
  gen(tree);
  emit(RX.MATCH);
  return {
    prog: Int32Array.from(code),
    ranges: Uint32Array.from(ranges),
    anchored: startsAnchored(tree),
    ...(fold ? { fold: tablePairs(fold) } : {}),
  };
}

// ───────────────────────────── checking and evaluation ─────────────────────────────

/** Throws E_BAD_EXPR (naming the pattern) when the predicate's pattern is not valid. */
export function checkPattern(e: MatchExpr): void {
  if (e.op === 'like') likeTokens(e.pattern);
  else if (e.op === 'regex') parseRegex(e.pattern);
}

const likeCache = new Map<string, number[]>();

/** The reference matcher: does the string `s` satisfy the predicate (before `negated`)? */
export function matchString(e: MatchExpr, s: string): boolean {
  switch (e.op) {
    case 'contains': return s.includes(e.pattern);
    case 'starts_with': return s.startsWith(e.pattern);
    case 'ends_with': return s.endsWith(e.pattern);
    case 'regex': return jsRegExp(e.pattern, e.icase).test(s);
    case 'like': {
      const key = (e.icase ? 'i:' : 's:') + e.pattern;
      let toks = likeCache.get(key);
      if (!toks) {
        toks = likeTokens(e.pattern, e.icase);
        if (likeCache.size > 500) likeCache.clear();
        likeCache.set(key, toks);
      }
      let text = codePoints(s);
      if (e.icase) {
        const lower = lowerTable();
        text = text.map((c) => mapCp(lower, c));
      }
      return likeMatch(toks, text);
    }
  }
}
