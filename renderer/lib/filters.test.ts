import { describe, expect, it } from 'vitest';
import type { Expr } from '../../shared/expr/ast';
import { formatExpr } from '../../shared/expr/format';
import { parseExpr } from '../../shared/expr/parse';
import { parseTime } from '../../shared/expr/literal';
import { boxFilter, describeFilter, pickedValues, rangeFilter, withoutColumn } from './filters';

const fields = [
  { name: 'n', type: 'int32', nullable: false },
  { name: 'fare', type: 'float64', nullable: false },
  { name: 'pickup_at', type: 'timestamp', unit: 'ms', nullable: false },
  { name: 'date', type: 'timestamp', unit: 'us', nullable: false },
  { name: 'day', type: 'date', nullable: false },
  { name: 'delay', type: 'float64', nullable: false },
  { name: 'origin', type: 'string', nullable: false },
] as const;

/** the stored value a date/timestamp literal compares as (what the engine's compiler computes), in units per second `ups` */
function stored(text: string, ups: number): number {
  const t = parseTime(text)!;
  return t.seconds * ups + Number((t.fraction || '0').padEnd(9, '0').slice(0, 9)) / (1e9 / ups);
}

function range(e: Expr): [string, string] {
  if (e.kind !== 'and') throw new Error('not a pair');
  const [a, b] = e.args as { right: { date: string } }[];
  return [a!.right.date, b!.right.date];
}

describe('range filters in the column\'s own terms', () => {
  it('an integer column gets integer bounds that hold exactly the integers of the drawn range', () => {
    expect(rangeFilter({ name: 'n', type: 'int32' }, 3.2, 7.8, 0.01)).toEqual({ kind: 'range', col: { kind: 'col', name: 'n' }, lo: 4, hi: 8 });
    let s = 7;
    const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
    for (let k = 0; k < 500; k++) {
      const a = (rnd() - 0.5) * 200, b = a + rnd() * 50;
      const e = rangeFilter({ name: 'n', type: 'int64' }, a, b, 0.3) as { lo: number; hi: number };
      expect(Number.isInteger(e.lo) && Number.isInteger(e.hi)).toBe(true);
      for (let v = Math.floor(a) - 2; v <= Math.ceil(b) + 2; v++) expect(v >= e.lo && v < e.hi).toBe(v >= a && v < b);
    }
    // a closed last bin includes its maximum
    const last = rangeFilter({ name: 'n', type: 'int32' }, 2.5, 10, 0.01, true) as { lo: number; hi: number };
    expect([last.lo, last.hi]).toEqual([3, 11]);
  });

  it('floats are rounded to the view\'s resolution (a pixel) and read back exactly', () => {
    const e = rangeFilter({ name: 'fare', type: 'float64' }, 4.283712, 10.301234, 0.0178);
    expect(formatExpr(e)).toBe('fare in [4.28, 10.3)');
    expect(parseExpr(formatExpr(e))).toEqual(e);
    expect(formatExpr(rangeFilter({ name: 'delay', type: 'float64' }, 427.65382450810193, 912.3, 2.7))).toBe('delay in [428, 912)');
    expect(formatExpr(rangeFilter({ name: 'x', type: 'float64' }, -0.0123456, 0.0234567, 0.00007))).toBe('x in [-0.01235, 0.02346)');
    // a closed bound lies above the maximum
    const c = rangeFilter({ name: 'fare', type: 'float64' }, 0, 10, 0.0178, true) as { hi: number };
    expect(c.hi).toBeGreaterThan(10);
    expect(c.hi).toBeLessThanOrEqual(10.02);
  });

  it('a timestamp range becomes ISO literals at the view\'s resolution that compare as the stored values they stand for', () => {
    // ms timestamps; 57 minutes a pixel -> half-hour steps
    const lo = Date.UTC(2001, 3, 13, 22, 27, 11, 5), hi = Date.UTC(2001, 4, 21, 5, 41, 0);
    const e = rangeFilter({ name: 'pickup_at', type: 'timestamp', unit: 'ms' }, lo, hi, 57 * 60_000);
    expect(formatExpr(e)).toBe("pickup_at >= timestamp '2001-04-13T22:30' and pickup_at < timestamp '2001-05-21T05:30'");
    expect(parseExpr(formatExpr(e))).toEqual(e);
    expect(describeFilter(e, fields as never)).toBe('pickup_at in [2001-04-13 22:30, 2001-05-21 05:30)');
    const [a, b] = range(e);
    expect(stored(a, 1000)).toBe(Date.UTC(2001, 3, 13, 22, 30));
    expect(stored(b, 1000)).toBe(Date.UTC(2001, 4, 21, 5, 30));
  });

  it('the issue\'s box on a microsecond date x delay plot reads as times and numbers, not 17 digits', () => {
    const f = boxFilter(
      { name: 'date', type: 'timestamp', unit: 'us' }, [984511512366469.4, 987764287506498.2], 3_600_000_000 * 3.5,
      { name: 'delay', type: 'float64' }, [427.65382450810193, 1204.1], 2.1,
    );
    // 3.5 h a pixel: 3-hour steps
    expect(describeFilter(f, fields as never)).toBe('date in [2001-03-13 18:00, 2001-04-20 12:00) and delay in [428, 1204)');
    expect(formatExpr(f)).toBe("`date` >= timestamp '2001-03-13T18:00' and `date` < timestamp '2001-04-20T12:00' and delay in [428, 1204)");
    expect(parseExpr(formatExpr(f))).toEqual(f);
    // the literal compares as an exact stored microsecond value
    const [a] = range({ kind: 'and', args: (f as { args: Expr[] }).args.slice(0, 2) });
    expect(stored(a, 1e6)).toBe(Date.UTC(2001, 2, 13, 18) * 1000);
  });

  it('below a storage unit\'s worth of resolution the literal keeps every stored digit', () => {
    const v = 987199512366469; // us
    const e = rangeFilter({ name: 'date', type: 'timestamp', unit: 'us' }, v, v + 10, 0.2);
    const [a, b] = range(e);
    expect(a).toBe('2001-04-13T22:05:12.366469');
    expect(stored(a, 1e6)).toBe(v);
    expect(stored(b, 1e6)).toBe(v + 10);
    // nanoseconds: the fraction's nine digits
    const ns = rangeFilter({ name: 't', type: 'timestamp', unit: 'ns' }, 1_700_000_000_123_456_000, 1_700_000_000_123_457_000, 1);
    expect(range(ns)[0]).toBe('2023-11-14T22:13:20.123456');
  });

  it('a date column (days) gets whole days', () => {
    const e = rangeFilter({ name: 'day', type: 'date' }, 11300.4, 11340.7, 0.1);
    expect(formatExpr(e)).toBe("day >= date '2000-12-09' and day < date '2001-01-19'");
    expect(describeFilter(e, fields as never)).toBe('day in [2000-12-09, 2001-01-19)');
  });
});

describe('chip text', () => {
  it('a lasso reads as its columns and vertex count; the polygon stays in the expression', () => {
    const polygon: [number, number][] = Array.from({ length: 34 }, (_, i) => [984511512366469 + i * 1e9, Math.sin(i)]);
    const e: Expr = { kind: 'inpolygon', x: { kind: 'col', name: 'date' }, y: { kind: 'col', name: 'delay' }, polygon };
    expect(describeFilter(e, fields as never)).toBe('lasso on (date, delay), 34 points');
    expect(formatExpr(e)).toContain('in polygon [(984511512366469, 0)');
  });

  it('dates typed as text on a time column read as dates (linked filters, issue 18); text on a text column keeps its quotes', () => {
    expect(describeFilter(parseExpr(`day >= '2025-03-10' and day < '2025-04-20'`), fields as never)).toBe('day in [2025-03-10, 2025-04-20)');
    expect(describeFilter(parseExpr(`date > '2025-03-10 12:00'`), fields as never)).toBe('date > 2025-03-10 12:00');
    expect(describeFilter(parseExpr(`day between '2025-01-01' and '2025-02-01'`), fields as never)).toBe('day between 2025-01-01 and 2025-02-01');
    expect(describeFilter(parseExpr(`origin >= 'a' and origin < 'b'`), fields as never)).toBe('origin in ["a", "b")');
    expect(describeFilter(parseExpr(`origin = '2025-01-01'`), fields as never)).toBe('origin = "2025-01-01"');
  });

  it('typed filters read as typed; times without their keywords; a stored-unit range on a time column as ISO', () => {
    expect(describeFilter(parseExpr('fare > 20 and payment in ("cash", "app")'), fields as never)).toBe('fare > 20 and payment in ("cash", "app")');
    expect(describeFilter(parseExpr("pickup_at < timestamp '2025-03-01T10:00:00Z' or fare > 2"), fields as never)).toBe('pickup_at < 2025-03-01 10:00:00 or fare > 2');
    expect(describeFilter(parseExpr('pickup_at in [1735689600000, 1735693200000)'), fields as never)).toBe('pickup_at in [2025-01-01, 2025-01-01 01:00)');
    expect(describeFilter(parseExpr('not (fare > 1 or fare < 0)'), fields as never)).toBe('not (fare > 1 or fare < 0)');
  });
});

describe('facets', () => {
  it("a column's own clauses are left out; clauses on other columns (or on several) stay", () => {
    const chips = [parseExpr('origin = "ORD"'), parseExpr('fare > 2 and origin != "X"'), parseExpr('(origin, fare) in polygon [(0,0),(1,0),(1,1)]')];
    expect(formatExpr(withoutColumn(chips, 'origin')!)).toBe('fare > 2 and (origin, fare) in polygon [(0, 0), (1, 0), (1, 1)]');
    expect(withoutColumn([parseExpr('origin = "ORD"')], 'origin')).toBeNull();
    expect(pickedValues(parseExpr('origin in ("ORD", "DFW")'), 'origin')!.map((l) => (l as { value: string }).value)).toEqual(['ORD', 'DFW']);
    expect(pickedValues(parseExpr('origin not in ("ORD")'), 'origin')).toBeNull();
  });
});
