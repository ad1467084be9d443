import { describe, expect, it } from 'vitest';
import type { Expr } from './ast';
import { ExprSyntaxError } from './errors';
import { parseExpr } from './parse';

const c = (name: string) => ({ kind: 'col' as const, name });
const v = (value: number | string | boolean | null) => ({ kind: 'lit' as const, value });

function syntaxError(text: string): ExprSyntaxError {
  try {
    parseExpr(text);
  } catch (e) {
    expect(e).toBeInstanceOf(ExprSyntaxError);
    return e as ExprSyntaxError;
  }
  throw new Error(`expected a syntax error for ${JSON.stringify(text)}`);
}

describe('parseExpr: trees', () => {
  it('parses the example from the issue', () => {
    expect(parseExpr('price > 100 and country in ("US", "CA") and comment is not null')).toEqual({
      kind: 'and',
      args: [
        { kind: 'cmp', op: '>', left: c('price'), right: v(100) },
        { kind: 'in', col: c('country'), values: [v('US'), v('CA')] },
        { kind: 'isnull', col: c('comment'), negated: true },
      ],
    });
  });

  it('gives not > and > or precedence, and keeps parenthesised groups', () => {
    expect(parseExpr('not (a = 1 or b != 2)')).toEqual({
      kind: 'not',
      arg: { kind: 'or', args: [{ kind: 'cmp', op: '=', left: c('a'), right: v(1) }, { kind: 'cmp', op: '!=', left: c('b'), right: v(2) }] },
    });
    expect(parseExpr('a = 1 or b = 2 and not c = 3')).toEqual({
      kind: 'or',
      args: [
        { kind: 'cmp', op: '=', left: c('a'), right: v(1) },
        { kind: 'and', args: [{ kind: 'cmp', op: '=', left: c('b'), right: v(2) }, { kind: 'not', arg: { kind: 'cmp', op: '=', left: c('c'), right: v(3) } }] },
      ],
    });
    expect(parseExpr('(a = 1 and b = 2) and c = 3')).toEqual({
      kind: 'and',
      args: [
        { kind: 'and', args: [{ kind: 'cmp', op: '=', left: c('a'), right: v(1) }, { kind: 'cmp', op: '=', left: c('b'), right: v(2) }] },
        { kind: 'cmp', op: '=', left: c('c'), right: v(3) },
      ],
    });
  });

  it('parses between, not between, not in, is null, and between inside a conjunction', () => {
    expect(parseExpr('x between 1 and 5 and y not between -1.5 and 2e3')).toEqual({
      kind: 'and',
      args: [
        { kind: 'between', col: c('x'), lo: v(1), hi: v(5) },
        { kind: 'between', col: c('y'), lo: v(-1.5), hi: v(2000), negated: true },
      ],
    });
    expect(parseExpr("name NOT IN ('a','b')")).toEqual({ kind: 'in', col: c('name'), values: [v('a'), v('b')], negated: true });
    expect(parseExpr('x IS NULL')).toEqual({ kind: 'isnull', col: c('x') });
    expect(parseExpr('x in ()')).toEqual({ kind: 'in', col: c('x'), values: [] });
  });

  it('accepts every operator spelling and flips value-first comparisons', () => {
    const ops: [string, string][] = [['=', '='], ['==', '='], ['!=', '!='], ['<>', '!='], ['<', '<'], ['<=', '<='], ['>', '>'], ['>=', '>=']];
    for (const [t, op] of ops) expect(parseExpr(`x ${t} 1`)).toEqual({ kind: 'cmp', op, left: c('x'), right: v(1) });
    expect(parseExpr('100 < x')).toEqual({ kind: 'cmp', op: '>', left: c('x'), right: v(100) });
    expect(parseExpr("'a' >= s")).toEqual({ kind: 'cmp', op: '<=', left: c('s'), right: v('a') });
  });

  it('reads numbers: ints, floats, exponents, signs, inf, nan, -0 and exact big integers', () => {
    const lit = (t: string) => (parseExpr(`x = ${t}`) as Extract<Expr, { kind: 'cmp' }>).right;
    expect(lit('42')).toEqual(v(42));
    expect(lit('-42')).toEqual(v(-42));
    expect(lit('+42')).toEqual(v(42));
    expect(lit('1.5')).toEqual(v(1.5));
    expect(lit('.5')).toEqual(v(0.5));
    expect(lit('1.')).toEqual(v(1));
    expect(lit('1e3')).toEqual(v(1000));
    expect(lit('2.5E-3')).toEqual(v(0.0025));
    expect(lit('inf')).toEqual(v(Infinity));
    expect(lit('-Infinity')).toEqual(v(-Infinity));
    expect(Number.isNaN((lit('NaN') as { value: number }).value)).toBe(true);
    expect(Object.is((lit('-0') as { value: number }).value, -0)).toBe(true);
    expect(lit('9007199254740991')).toEqual(v(9007199254740991));
    expect(lit('9007199254740993')).toEqual({ kind: 'lit', int: '9007199254740993' });
    expect(lit('-9223372036854775808')).toEqual({ kind: 'lit', int: '-9223372036854775808' });
    expect(lit('18446744073709551615')).toEqual({ kind: 'lit', int: '18446744073709551615' });
    expect(lit('00012')).toEqual(v(12));
    // beyond 64 bits: a float
    expect(lit('18446744073709551616')).toEqual(v(18446744073709551616));
    // an integral float stays a float
    expect(lit('9007199254740993.0')).toEqual(v(9007199254740992));
  });

  it('reads strings with either quote, doubled quotes and backslash escapes', () => {
    const lit = (t: string) => (parseExpr(`s = ${t}`) as Extract<Expr, { kind: 'cmp' }>).right;
    expect(lit(`'it''s'`)).toEqual(v("it's"));
    expect(lit(`"say ""hi"""`)).toEqual(v('say "hi"'));
    expect(lit(`'it\\'s'`)).toEqual(v("it's"));
    expect(lit(`"a\\\\b\\n\\t\\u00e9\\u{1F600}"`)).toEqual(v('a\\b\n\té😀'));
    expect(lit(`"double 'single' inside"`)).toEqual(v("double 'single' inside"));
    expect(lit(`''`)).toEqual(v(''));
  });

  it('reads true/false/null values and bare true/false as the empty and/or', () => {
    expect(parseExpr('flag = TRUE')).toEqual({ kind: 'cmp', op: '=', left: c('flag'), right: v(true) });
    expect(parseExpr('flag != false')).toEqual({ kind: 'cmp', op: '!=', left: c('flag'), right: v(false) });
    expect(parseExpr('x = null')).toEqual({ kind: 'cmp', op: '=', left: c('x'), right: v(null) });
    expect(parseExpr('true')).toEqual({ kind: 'and', args: [] });
    expect(parseExpr('false or x = 1')).toEqual({ kind: 'or', args: [{ kind: 'or', args: [] }, { kind: 'cmp', op: '=', left: c('x'), right: v(1) }] });
  });

  it('reads dates and timestamps, and lets date/timestamp/inf be column names', () => {
    expect(parseExpr("d >= date '2024-01-31'")).toEqual({ kind: 'cmp', op: '>=', left: c('d'), right: { kind: 'lit', date: '2024-01-31' } });
    expect(parseExpr("t < TIMESTAMP '2024-01-31 10:00:00.123+02:00'")).toEqual({
      kind: 'cmp', op: '<', left: c('t'), right: { kind: 'lit', date: '2024-01-31T10:00:00.123+02:00' },
    });
    expect(parseExpr("date = date '2024-02-29'")).toEqual({ kind: 'cmp', op: '=', left: c('date'), right: { kind: 'lit', date: '2024-02-29' } });
    expect(parseExpr('timestamp is null')).toEqual({ kind: 'isnull', col: c('timestamp') });
    expect(parseExpr('inf > nan')).toEqual({ kind: 'cmp', op: '>', left: c('inf'), right: v(NaN) });
  });

  it('reads quoted and unicode column names', () => {
    expect(parseExpr('`odd name` = 1')).toEqual({ kind: 'cmp', op: '=', left: c('odd name'), right: v(1) });
    expect(parseExpr('`a``b` is null')).toEqual({ kind: 'isnull', col: c('a`b') });
    expect(parseExpr('`and` = 1')).toEqual({ kind: 'cmp', op: '=', left: c('and'), right: v(1) });
    expect(parseExpr('prix_€ = 1'.replace('€', 'é'))).toEqual({ kind: 'cmp', op: '=', left: c('prix_é'), right: v(1) });
    expect(parseExpr('Größe > 1')).toEqual({ kind: 'cmp', op: '>', left: c('Größe'), right: v(1) });
  });

  it('reads brush ranges and lasso polygons', () => {
    expect(parseExpr('x in [0, 1.5)')).toEqual({ kind: 'range', col: c('x'), lo: 0, hi: 1.5 });
    expect(parseExpr('x in [-inf, 3)')).toEqual({ kind: 'range', col: c('x'), lo: -Infinity, hi: 3 });
    expect(parseExpr('x in [1, 2]')).toEqual({ kind: 'between', col: c('x'), lo: v(1), hi: v(2) });
    const poly = { kind: 'inpolygon', x: c('x'), y: c('y'), polygon: [[0, 0], [1, 0], [1, 1]] };
    expect(parseExpr('(x, y) in polygon [(0,0), (1,0), (1,1)]')).toEqual(poly);
    expect(parseExpr('(x,y) IN POLYGON ((0,0),(1,0),(1,1))')).toEqual(poly);
    expect(parseExpr('(x, y) in polygon [(0,0), (1,0), (1,1)] and z = 1')).toEqual({
      kind: 'and', args: [poly, { kind: 'cmp', op: '=', left: c('z'), right: v(1) }],
    });
  });
});

describe('parseExpr: errors point at the offending position', () => {
  const cases: [string, number, RegExp][] = [
    ['price > and x = 1', 8, /Expected a value after '>'/],
    ['', 0, /Empty expression/],
    ['x = 1 and', 9, /Expected a column name/],
    ['x = 1 y = 2', 6, /Expected 'and', 'or' or the end/],
    ['(x = 1', 6, /Expected '\)' to close the '\(' at position 0/],
    ['x = 1)', 5, /Unbalanced '\)'/],
    ["s = 'abc", 4, /Unterminated string/],
    ['s = "a\\qb"', 6, /Unknown escape \\q/],
    ['x = 1 # 2', 6, /Unexpected character '#'/],
    ['x is 1', 5, /Expected 'null' after 'is'/],
    ['x not = 1', 6, /Expected 'in' or 'between' after 'not'/],
    ['x between 1 or 2', 12, /Expected 'and' between the two bounds/],
    ['x in (1, 2', 10, /Expected ',' or '\)' in the value list/],
    ["d = date '2024-02-30'", 9, /Bad date/],
    ['and = 1', 0, /found the keyword 'and'/],
    ['x in [1, 2', 10, /Expected '\)' \(half-open range\) or '\]'/],
    ['x in polygon [(0,0)]', 5, /needs two columns/],
    ['(x, y) in polygon [(0,0), (1)]', 28, /Expected ',' between a point's x and y/],
    ['x y', 2, /Expected an operator/],
    ['x = 12abc', 4, /Bad number/],
    ['`x = 1', 0, /Unterminated `quoted` column name/],
  ];
  for (const [text, pos, re] of cases) {
    it(`${JSON.stringify(text)} → position ${pos}`, () => {
      const e = syntaxError(text);
      expect(e.code).toBe('E_SYNTAX');
      expect(e.position).toBe(pos);
      expect(e.message).toMatch(re);
      // the message ends with the line and a caret under the position
      const lines = e.message.split('\n');
      expect(lines.at(-1)!.indexOf('^') - 2).toBe(pos);
      expect(lines.at(-2)).toBe('  ' + text);
    });
  }

  it('refuses absurd nesting with a syntax error rather than a stack overflow', () => {
    const deep = '('.repeat(5000) + 'x = 1' + ')'.repeat(5000);
    expect(syntaxError(deep).reason).toMatch(/nested too deeply/);
    expect(syntaxError('not '.repeat(5000) + 'x = 1').reason).toMatch(/nested too deeply/);
    const ok = '('.repeat(400) + 'x = 1' + ')'.repeat(400);
    expect(parseExpr(ok)).toEqual({ kind: 'cmp', op: '=', left: c('x'), right: v(1) });
  });

  it('windows long lines and shows the right line of multi-line text', () => {
    const long = 'a = 1 and '.repeat(30) + 'b >';
    const e = syntaxError(long);
    expect(e.position).toBe(long.length);
    const [, line, caret] = e.message.split('\n');
    expect(line!.length).toBeLessThanOrEqual(80);
    expect(line![caret!.indexOf('^')]).toBe(undefined); // caret one past the end
    const e2 = syntaxError('a = 1\nand b ? 2');
    expect(e2.position).toBe(12);
    expect(e2.message.split('\n').slice(-2)).toEqual(['  and b ? 2', '        ^']);
  });
});

describe('parseExpr: fuzz', () => {
  it('only ever throws ExprSyntaxError, with a position inside the text', async () => {
    const { seeded, pick } = await import('./testing/testgen');
    const { formatExpr } = await import('./format');
    const r = seeded(42);
    const vocab = ['x', '`a b`', 'and', 'or', 'not', 'in', 'is', 'null', 'between', 'true', 'false', 'polygon', 'date', "'2024-01-01'",
      '(', ')', '[', ']', ',', '-', '+', '=', '!=', '<', '>=', '1', '2.5', '1e3', 'nan', 'inf', '"s"', "'t''", '\\', '`', '#', ' ', '9223372036854775808'];
    let parsed = 0;
    for (let i = 0; i < 20000; i++) {
      const n = 1 + Math.floor(r() * 10);
      const text = Array.from({ length: n }, () => pick(r, vocab)).join(r() < 0.7 ? ' ' : '');
      try {
        const e = parseExpr(text);
        parsed++;
        // whatever parses, formats to text that parses back to the same tree
        expect(parseExpr(formatExpr(e)), text).toEqual(e);
      } catch (err) {
        if (!(err instanceof ExprSyntaxError)) throw new Error(`${JSON.stringify(text)}: ${String(err)}`);
        expect(err.position).toBeGreaterThanOrEqual(0);
        expect(err.position).toBeLessThanOrEqual(text.length);
      }
    }
    expect(parsed).toBeGreaterThan(100);
  });
});
