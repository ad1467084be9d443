import { describe, expect, it } from 'vitest';
import type { Expr } from './ast';
import { andAll, checkExpr, columnsOf, evalExpr3, evalExprOnRow, orAll } from './bind';
import { col, lit } from './literal';
import { parseExpr } from './parse';

const ev = (text: string, row: Record<string, unknown>) => evalExpr3(parseExpr(text), row);

describe('evalExpr3: three-valued logic', () => {
  const T = 'x = 1', F = 'x = 2', U = 'n = 1';
  const row = { x: 1, n: null };
  const name = (t: string) => (t === T ? 'T' : t === F ? 'F' : 'U');
  const val = { T: true, F: false, U: null } as const;

  it('and / or / not truth tables (Kleene)', () => {
    for (const a of [T, F, U])
      for (const b of [T, F, U]) {
        const A = val[name(a)], B = val[name(b)];
        const and = A === false || B === false ? false : A === null || B === null ? null : true;
        const or = A === true || B === true ? true : A === null || B === null ? null : false;
        expect(ev(`${a} and ${b}`, row), `${name(a)} and ${name(b)}`).toBe(and);
        expect(ev(`${a} or ${b}`, row), `${name(a)} or ${name(b)}`).toBe(or);
      }
    expect(ev(`not ${T}`, row)).toBe(false);
    expect(ev(`not ${F}`, row)).toBe(true);
    expect(ev(`not ${U}`, row)).toBe(null);
    expect(ev('true', row)).toBe(true);
    expect(ev('false', row)).toBe(false);
  });

  it('collapses unknown to false at the top', () => {
    expect(evalExprOnRow(parseExpr('n = 1'), { n: null })).toBe(false);
    expect(evalExprOnRow(parseExpr('not n = 1'), { n: null })).toBe(false);
    expect(evalExprOnRow(parseExpr('n = 1 or x = 1'), { n: null, x: 1 })).toBe(true);
    // a missing column reads as null
    expect(evalExprOnRow(parseExpr('missing is null'), {})).toBe(true);
  });

  it('comparisons with a null cell or a null literal are unknown; is null is never unknown', () => {
    for (const op of ['=', '!=', '<', '<=', '>', '>=']) {
      expect(ev(`n ${op} 1`, { n: null })).toBe(null);
      expect(ev(`x ${op} null`, { x: 1 })).toBe(null);
    }
    expect(ev('n is null', { n: null })).toBe(true);
    expect(ev('n is not null', { n: null })).toBe(false);
    expect(ev('n is null', { n: NaN })).toBe(false);
    expect(ev('n is null', { n: undefined })).toBe(true);
  });

  it('NaN compares like IEEE: false, except != which is true', () => {
    for (const [op, want] of [['=', false], ['!=', true], ['<', false], ['<=', false], ['>', false], ['>=', false]] as const) {
      expect(ev(`x ${op} 1`, { x: NaN }), `NaN ${op} 1`).toBe(want);
      expect(ev(`x ${op} nan`, { x: 1 }), `1 ${op} nan`).toBe(want);
      expect(ev(`x ${op} nan`, { x: NaN }), `NaN ${op} nan`).toBe(want);
    }
    expect(ev('x in (nan, 1)', { x: NaN })).toBe(false);
    expect(ev('x not in (nan)', { x: NaN })).toBe(true);
    expect(ev('x between -inf and inf', { x: NaN })).toBe(false);
    expect(ev('x not between -inf and inf', { x: NaN })).toBe(true);
    expect(ev('x in [-inf, inf)', { x: NaN })).toBe(false);
    expect(ev('x > -inf', { x: Infinity })).toBe(true);
  });

  it('in-lists follow SQL: a null in the list makes a miss unknown', () => {
    expect(ev('x in (1, null)', { x: 1 })).toBe(true);
    expect(ev('x in (2, null)', { x: 1 })).toBe(null);
    expect(ev('x not in (2, null)', { x: 1 })).toBe(null);
    expect(ev('x not in (2, 3)', { x: 1 })).toBe(true);
    expect(ev('x in ()', { x: 1 })).toBe(false);
    expect(ev('x in ()', { x: null })).toBe(false);
    expect(ev('x not in ()', { x: null })).toBe(true);
    expect(ev('x in (1)', { x: null })).toBe(null);
  });

  it('between is inclusive, range half-open, with null bounds as in SQL', () => {
    expect(ev('x between 1 and 2', { x: 1 })).toBe(true);
    expect(ev('x between 1 and 2', { x: 2 })).toBe(true);
    expect(ev('x in [1, 2)', { x: 2 })).toBe(false);
    expect(ev('x in [1, 2)', { x: 1 })).toBe(true);
    expect(ev('x between null and 2', { x: 3 })).toBe(false);
    expect(ev('x between null and 2', { x: 1 })).toBe(null);
    expect(ev('x not between 1 and 2', { x: 3 })).toBe(true);
    expect(ev('x between 2 and 1', { x: 1.5 })).toBe(false);
  });

  it('int64 cells as bigint compare exactly with numbers and big literals', () => {
    const big = 2n ** 53n + 1n;
    expect(ev('x = 9007199254740993', { x: big })).toBe(true);
    expect(ev('x = 9007199254740992', { x: big })).toBe(false); // {int: 2^53} vs 2^53+1
    expect(ev('x > 9007199254740992.0', { x: big })).toBe(true);
    expect(ev('x < 1e300', { x: 2n ** 63n - 1n })).toBe(true);
    expect(ev('x = 18446744073709551615', { x: 2n ** 64n - 1n })).toBe(true);
    expect(ev('x in (1, 2)', { x: 2n })).toBe(true);
    expect(ev('x between -1 and 0.5', { x: 0n })).toBe(true);
    expect(ev('x = 9007199254740993', { x: 9007199254740992 })).toBe(false);
  });

  it('strings compare by code point (UTF-8 byte order); mismatched kinds are unknown', () => {
    expect(ev("s < 'b'", { s: 'a' })).toBe(true);
    expect(ev("s < 'a'", { s: 'B' })).toBe(true); // case-sensitive: 'B' (0x42) < 'a'
    expect(ev("s > '\uffff'", { s: '😀' })).toBe(true); // U+1F600 > U+FFFF, unlike UTF-16 order
    expect(ev("s = ''", { s: '' })).toBe(true);
    expect(ev("s < 'ab'", { s: 'a' })).toBe(true);
    expect(ev('s = 1', { s: '1' })).toBe(null);
    expect(ev("x = '1'", { x: 1 })).toBe(null);
    expect(ev('b = true', { b: true })).toBe(true);
    expect(ev('b > false', { b: true })).toBe(true);
  });

  it('dates and timestamps compare against Date, epoch-ms and ISO-string cells (naive = UTC)', () => {
    const d = new Date(Date.UTC(2024, 0, 31));
    expect(ev("d = date '2024-01-31'", { d })).toBe(true);
    expect(ev("d < timestamp '2024-01-31T00:00:01Z'", { d })).toBe(true);
    expect(ev("d = timestamp '2024-01-31T02:00+02:00'", { d })).toBe(true);
    expect(ev("d = date '2024-01-31'", { d: d.getTime() })).toBe(true);
    expect(ev("d = date '2024-01-31'", { d: '2024-01-31' })).toBe(true);
    expect(ev("d > date '2024-01-31'", { d: '2024-01-31 10:00:00' })).toBe(true);
    expect(ev("d > date '2024-01-31'", { d: 'not a date' })).toBe(null);
  });

  it('point in polygon: even-odd rule, nulls unknown, NaN outside', () => {
    const sq = '(x, y) in polygon [(0,0), (4,0), (4,4), (0,4)]';
    expect(ev(sq, { x: 2, y: 2 })).toBe(true);
    expect(ev(sq, { x: 5, y: 2 })).toBe(false);
    expect(ev(sq, { x: 0, y: 0 })).toBe(true); // lower-left edges belong to the polygon
    expect(ev(sq, { x: 4, y: 2 })).toBe(false); // right edge does not
    expect(ev(sq, { x: 2, y: 4 })).toBe(false); // top edge does not
    expect(ev(sq, { x: null, y: 2 })).toBe(null);
    expect(ev(sq, { x: NaN, y: 2 })).toBe(false);
    expect(ev(sq, { x: 2n, y: 2n })).toBe(true);
    // a self-intersecting bow tie and a square with a hole (even-odd)
    const bow = '(x, y) in polygon [(0,0), (4,4), (4,0), (0,4)]';
    expect(ev(bow, { x: 1, y: 2 })).toBe(true);
    expect(ev(bow, { x: 2, y: 1 })).toBe(false);
    expect(ev('(x, y) in polygon [(0,0), (1,1)]', { x: 0.5, y: 0.1 })).toBe(false);
    expect(ev('(x, y) in polygon []', { x: 0, y: 0 })).toBe(false);
  });
});

describe('helpers', () => {
  it('andAll / orAll flatten and simplify', () => {
    const a = parseExpr('a = 1'), b = parseExpr('b = 2'), c = parseExpr('c = 3');
    expect(andAll([])).toEqual({ kind: 'and', args: [] });
    expect(andAll([a])).toBe(a);
    expect(andAll([a, null, undefined, { kind: 'and', args: [b, c] }, { kind: 'and', args: [] }])).toEqual({ kind: 'and', args: [a, b, c] });
    expect(andAll([a, { kind: 'or', args: [b, c] }])).toEqual({ kind: 'and', args: [a, { kind: 'or', args: [b, c] }] });
    expect(orAll([a, { kind: 'or', args: [b, c] }])).toEqual({ kind: 'or', args: [a, b, c] });
  });

  it('columnsOf lists each column once in order', () => {
    expect(columnsOf(parseExpr('b = 1 and (a is null or `odd name` in (1)) and (x, b) in polygon [] and c in [0, 1) and not d between 1 and 2'))).toEqual([
      'b', 'a', 'odd name', 'x', 'c', 'd',
    ]);
  });

  it('col / lit build nodes', () => {
    expect(col('x')).toEqual({ kind: 'col', name: 'x' });
    expect(lit(3)).toEqual({ kind: 'lit', value: 3 });
    expect(lit(3n)).toEqual({ kind: 'lit', value: 3 });
    expect(lit(2n ** 60n)).toEqual({ kind: 'lit', int: '1152921504606846976' });
    expect(lit(new Date(Date.UTC(2024, 0, 31)))).toEqual({ kind: 'lit', date: '2024-01-31' });
    expect(lit(new Date(Date.UTC(2024, 0, 31, 10)))).toEqual({ kind: 'lit', date: '2024-01-31T10:00:00.000Z' });
  });
});

describe('checkExpr', () => {
  const schema = {
    fields: [
      { name: 'price', type: 'float64' },
      { name: 'qty', type: 'int8' },
      { name: 'id', type: 'uint64' },
      { name: 'country', type: 'string' },
      { name: 'ok', type: 'bool' },
      { name: 'day', type: 'date' },
      { name: 'at', type: 'timestamp' },
      { name: 'Name', type: 'string' },
    ],
  };
  const codes = (text: string) => checkExpr(parseExpr(text), schema).map((p) => p.code);

  it('accepts well-typed expressions', () => {
    expect(
      checkExpr(
        parseExpr(
          "price > 100 and country in ('US', 'CA') and ok = true and day >= date '2024-01-01' and at < timestamp '2024-01-01T00:00Z' and id = 18446744073709551615 and (price, qty) in polygon [(0,0),(1,0),(1,1)] and price in [0, 1)",
        ),
        schema,
      ),
    ).toEqual([]);
  });

  it('reports unknown columns once, with a case hint', () => {
    const p = checkExpr(parseExpr('name = "a" or name = "b" or zzz is null'), schema);
    expect(p.map((x) => [x.code, x.column])).toEqual([['E_UNKNOWN_COLUMN', 'name'], ['E_UNKNOWN_COLUMN', 'zzz']]);
    expect(p[0]!.message).toMatch(/did you mean 'Name'/);
  });

  it('reports type mismatches', () => {
    expect(codes("price = 'abc'")).toEqual(['E_TYPE_MISMATCH']);
    expect(codes('country > 3')).toEqual(['E_TYPE_MISMATCH']);
    expect(codes('ok in (1, 0)')).toEqual(['E_TYPE_MISMATCH', 'E_TYPE_MISMATCH']);
    // issue #19: an ISO string converts for a date column (it was a mismatch before); any other string is one
    expect(codes("day = '2024-01-01'")).toEqual([]);
    expect(codes("day = 'soon'")).toEqual(['E_TYPE_MISMATCH']);
    expect(checkExpr(parseExpr("day = 'soon'"), schema)[0]!.message).toMatch(/'soon', which is not a date or time: write 'YYYY-MM-DD'/);
    expect(codes('country in [0, 1)')).toEqual(['E_TYPE_MISMATCH']);
    expect(codes('(country, price) in polygon [(0,0),(1,0),(1,1)]')).toEqual(['E_TYPE_MISMATCH']);
  });

  it('warns about null comparisons, out-of-range integers and empty ranges', () => {
    expect(codes('price = null')).toEqual(['W_NULL_COMPARISON']);
    expect(codes('qty > 300')).toEqual(['W_OUT_OF_RANGE']);
    expect(codes('id = -1')).toEqual(['W_OUT_OF_RANGE']);
    expect(codes('qty in [1, 1)')).toEqual(['W_EMPTY']);
    expect(codes('qty in [1, nan)')).toEqual(['E_BAD_VALUE']);
    expect(codes('(price, qty) in polygon [(0,0),(1,1)]')).toEqual(['W_EMPTY']);
    expect(codes('(price, qty) in polygon [(0,0),(1,1),(inf,0)]')).toEqual(['E_BAD_VALUE']);
    const bad: Expr = { kind: 'cmp', op: '=', left: col('day'), right: { kind: 'lit', date: 'garbage' } };
    expect(checkExpr(bad, schema).map((p) => p.code)).toEqual(['E_BAD_VALUE']);
  });
});

describe('evaluator speed', () => {
  it('evaluates a typical filter over 200k rows quickly', () => {
    const e = parseExpr("price > 100 and country in ('US', 'CA') and comment is not null and (x, y) in polygon [(0,0),(10,0),(10,10),(0,10)] and d < date '2024-01-01'");
    const rows = Array.from({ length: 200_000 }, (_, i) => ({
      price: i % 300, country: i % 3 ? 'US' : 'FR', comment: i % 5 ? 'c' : null, x: i % 13, y: i % 7, d: new Date(Date.UTC(2023, 0, 1 + (i % 500))),
    }));
    const t0 = performance.now();
    let n = 0;
    for (const r of rows) if (evalExprOnRow(e, r)) n++;
    const ms = performance.now() - t0;
    expect(n).toBe(rows.filter((r) => r.price > 100 && r.country !== 'FR' && r.comment !== null && r.x < 10 && r.y < 10 && r.d.getTime() < Date.UTC(2024, 0, 1)).length);
    expect(ms).toBeLessThan(2000);
  });
});
