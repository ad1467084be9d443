/**
 * Random expression trees for property tests (a seeded PRNG, so failures reproduce).
 * Test support only; pure TypeScript like the rest of shared/.
 */
import type { ColumnRef, CompareOp, Expr, Literal } from '../ast';

export type Rand = () => number;

/** mulberry32 */
export function seeded(seed: number): Rand {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const int = (r: Rand, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));

/** kind of values a column holds: decides which literals it is compared with */
export type ColKind = 'num' | 'int64' | 'str' | 'bool' | 'date' | 'any';
export interface GenColumn {
  name: string;
  kind: ColKind;
}

export interface GenOptions {
  columns: GenColumn[];
  /** numbers to draw from for 'num' columns (defaults to awkward ones) */
  numbers?: number[];
  strings?: string[];
  dates?: string[];
  bigints?: string[];
  /** allow null literals */
  nulls?: boolean;
  /**
   * also draw string predicates (contains, starts_with, ends_with, like/ilike, regular
   * expressions) on 'str' columns; off by default so that existing seeded sequences stay the same
   */
  stringPredicates?: boolean;
  likePatterns?: string[];
  regexPatterns?: string[];
  maxDepth?: number;
}

const AWKWARD_NUMBERS = [0, -0, 1, -1, 2.5, -3.75, 1e-7, 123456789, 1e300, -1e-300, 2 ** 53, 2 ** 60, 5e-324, Infinity, -Infinity, NaN, 0.1, 1 / 3];
const AWKWARD_STRINGS = ['', 'a', "it's", 'say "hi"', 'back\\slash', 'new\nline\ttab', '`tick`', 'é', '😀', '\u0000nul', 'lone \ud800 high', 'x\u2028y', "''", '""'];
const AWKWARD_DATES = ['2024-01-31', '1969-12-31', '2024-02-29T23:59:59Z', '2000-01-01T00:00:00.123456+05:30', '2024-01-31T10:00'];
/** LIKE patterns with every feature: wildcards, escapes, multi-byte characters, case */
export const AWKWARD_LIKE = ['a%', '%a', '%a%', '_', 'a_', '%é%', '😀', '_%_', '\\%', "it's", '%b', 'A%', '', '%', 'a\\_b', '%\\\\%', 'É', '%S%', 'b_', '__'];
/** Regular expressions of the portable subset (strmatch.ts) */
export const AWKWARD_REGEX = [
  '^a', 'b$', 'a|b', '^(a|b)+$', '[a-c]', '[^a]', '\\d', '\\w+', '^.$', '.', 'é', '😀', 'A', '^$', 'a{2}', "it's", '\\s', 'x*',
  '^[^a-z]*$', '(?:ab)?c', '^[A-Z]', 'É', '\\\\', '"', '^.{2,3}$', '[\\]\\-]', 'b+a*$', '\\W',
];
const AWKWARD_BIGINTS = ['9007199254740993', '-9007199254740993', '9223372036854775807', '-9223372036854775808', '18446744073709551615'];

export function genLiteral(r: Rand, kind: ColKind, o: GenOptions): Literal {
  if (o.nulls !== false && r() < 0.05) return { kind: 'lit', value: null };
  const k = kind === 'any' ? pick(r, ['num', 'int64', 'str', 'bool', 'date'] as const) : kind;
  switch (k) {
    case 'num':
      return { kind: 'lit', value: pick(r, o.numbers ?? AWKWARD_NUMBERS) };
    case 'int64':
      if (r() < 0.5) return { kind: 'lit', int: pick(r, o.bigints ?? AWKWARD_BIGINTS) };
      return { kind: 'lit', value: pick(r, (o.numbers ?? AWKWARD_NUMBERS).filter((n) => Number.isSafeInteger(n))) };
    case 'str':
      return { kind: 'lit', value: pick(r, o.strings ?? AWKWARD_STRINGS) };
    case 'bool':
      return { kind: 'lit', value: r() < 0.5 };
    case 'date':
      return { kind: 'lit', date: pick(r, o.dates ?? AWKWARD_DATES) };
  }
}

export function genExpr(r: Rand, o: GenOptions, depth = 0): Expr {
  const maxDepth = o.maxDepth ?? 4;
  const col = (c: GenColumn): ColumnRef => ({ kind: 'col', name: c.name });
  const leaf = depth >= maxDepth || r() < 0.45;
  if (!leaf) {
    const k = pick(r, ['and', 'or', 'not', 'and', 'or'] as const);
    if (k === 'not') return { kind: 'not', arg: genExpr(r, o, depth + 1) };
    const n = r() < 0.1 ? 0 : int(r, 2, 3);
    return { kind: k, args: Array.from({ length: n }, () => genExpr(r, o, depth + 1)) };
  }
  const c = pick(r, o.columns);
  const numCols = o.columns.filter((x) => x.kind === 'num' || x.kind === 'any' || x.kind === 'int64');
  const strCols = o.columns.filter((x) => x.kind === 'str');
  const which = pick(
    r,
    o.stringPredicates && strCols.length
      ? (['cmp', 'cmp', 'cmp', 'in', 'isnull', 'between', 'range', 'inpolygon', 'match', 'match', 'match'] as const)
      : (['cmp', 'cmp', 'cmp', 'in', 'isnull', 'between', 'range', 'inpolygon'] as const),
  );
  const neg = r() < 0.4 ? { negated: true as const } : {};
  switch (which) {
    case 'cmp':
      return { kind: 'cmp', op: pick(r, ['=', '!=', '<', '<=', '>', '>='] as CompareOp[]), left: col(c), right: genLiteral(r, c.kind, o) };
    case 'in':
      return { kind: 'in', col: col(c), values: Array.from({ length: int(r, 0, 4) }, () => genLiteral(r, c.kind, o)), ...neg };
    case 'isnull':
      return { kind: 'isnull', col: col(c), ...neg };
    case 'between':
      return { kind: 'between', col: col(c), lo: genLiteral(r, c.kind, o), hi: genLiteral(r, c.kind, o), ...neg };
    case 'range': {
      if (!numCols.length) return { kind: 'isnull', col: col(c) };
      const nums = (o.numbers ?? AWKWARD_NUMBERS).filter((n) => !Number.isNaN(n));
      const a = pick(r, nums), b = pick(r, nums);
      return { kind: 'range', col: col(pick(r, numCols)), lo: Math.min(a, b), hi: r() < 0.1 ? Math.min(a, b) : Math.max(a, b) };
    }
    case 'match': {
      const sc = col(pick(r, strCols));
      const op = pick(r, ['contains', 'starts_with', 'ends_with', 'like', 'like', 'regex', 'regex'] as const);
      if (op === 'like' || op === 'regex') {
        const pattern = pick(r, op === 'like' ? (o.likePatterns ?? AWKWARD_LIKE) : (o.regexPatterns ?? AWKWARD_REGEX));
        return { kind: 'match', op, col: sc, pattern, ...(r() < 0.4 ? { icase: true as const } : {}), ...neg };
      }
      return { kind: 'match', op, col: sc, pattern: pick(r, o.strings ?? AWKWARD_STRINGS) };
    }
    case 'inpolygon': {
      if (!numCols.length) return { kind: 'isnull', col: col(c) };
      const n = int(r, 3, 7);
      const polygon = Array.from({ length: n }, () => [Math.round((r() * 20 - 10) * 4) / 4, Math.round((r() * 20 - 10) * 4) / 4] as [number, number]);
      return { kind: 'inpolygon', x: col(pick(r, numCols)), y: col(pick(r, numCols)), polygon };
    }
  }
}
