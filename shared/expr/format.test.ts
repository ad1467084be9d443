import { describe, expect, it } from 'vitest';
import type { Expr } from './ast';
import { formatExpr } from './format';
import { parseExpr } from './parse';
import { genExpr, seeded } from './testing/testgen';

const AWKWARD_COLUMNS = [
  'x', 'price', 'odd name', 'a`b', '``', 'and', 'OR', 'not', 'null', 'True', 'date', 'timestamp', 'inf', 'NaN', 'polygon',
  'Größe', '1abc', '_', 'x$y', ' ', 'tab\there', 'quote"d', "it's", '😀', 'between', 'is', 'in', '-', 'a.b',
].map((name) => ({ name, kind: 'any' as const }));

describe('formatExpr', () => {
  it('prints the canonical form', () => {
    const cases: [string, string][] = [
      ['price > 100 AND country IN ("US", \'CA\') and comment IS NOT NULL', 'price > 100 and country in ("US", "CA") and comment is not null'],
      ['NOT (a == 1 OR b <> 2)', 'not (a = 1 or b != 2)'],
      ['not a = 1 and (b = 2 or c = 3)', 'not a = 1 and (b = 2 or c = 3)'],
      ["s = 'it''s \\\\ \"q\"'", 's = "it\'s \\\\ \\"q\\""'],
      ['x between -1 and 1e21', 'x between -1 and 1e+21'],
      ['x not between -inf and NAN', 'x not between -inf and nan'],
      ['x = -0', 'x = -0'],
      ['x in [0, 1.5)', 'x in [0, 1.5)'],
      ['x in [0, 1]', 'x between 0 and 1'],
      ['(x,y) in polygon ((0,0),(1,0),(1,1))', '(x, y) in polygon [(0, 0), (1, 0), (1, 1)]'],
      ["`date` >= DATE '2024-01-31' and t < timestamp '2024-01-31 10:00'", "`date` >= date '2024-01-31' and t < timestamp '2024-01-31T10:00'"],
      ['`odd name` = 9223372036854775807', '`odd name` = 9223372036854775807'],
      ['1 <= x', 'x >= 1'],
      ['true and false', 'true and false'],
    ];
    for (const [input, out] of cases) expect(formatExpr(parseExpr(input))).toBe(out);
  });

  it('keeps nested groups so the structure survives', () => {
    const e: Expr = {
      kind: 'and',
      args: [
        { kind: 'and', args: [{ kind: 'isnull', col: { kind: 'col', name: 'a' } }, { kind: 'isnull', col: { kind: 'col', name: 'b' } }] },
        { kind: 'not', arg: { kind: 'not', arg: { kind: 'or', args: [] } } },
      ],
    };
    expect(formatExpr(e)).toBe('(a is null and b is null) and not not false');
    expect(parseExpr(formatExpr(e))).toEqual(e);
  });

  it('prints a one-argument and/or as its argument', () => {
    const inner: Expr = { kind: 'isnull', col: { kind: 'col', name: 'a' } };
    expect(formatExpr({ kind: 'and', args: [inner] })).toBe('a is null');
    expect(formatExpr({ kind: 'not', arg: { kind: 'or', args: [{ kind: 'and', args: [inner, inner] }] } })).toBe('not (a is null and a is null)');
  });

  it('round-trips 3000 generated trees with awkward names, strings and numbers', () => {
    const r = seeded(12345);
    for (let i = 0; i < 3000; i++) {
      const e = genExpr(r, { columns: AWKWARD_COLUMNS, maxDepth: 4 });
      const text = formatExpr(e);
      let back: Expr;
      try {
        back = parseExpr(text);
      } catch (err) {
        throw new Error(`tree ${i}: ${text}\n${(err as Error).message}`);
      }
      // toEqual distinguishes -0 from 0 and compares NaN equal to NaN
      expect(back, text).toEqual(e);
      expect(formatExpr(back)).toBe(text);
    }
  });
});
