import { describe, expect, it } from 'vitest';
import { parseExpr } from '../../shared/expr/parse';
import type { HistogramResult } from '../../shared/plot/types';
import { formatExpr } from '../../shared/expr/format';
import { inViewClause, inViewWhere, marginalBars, marginalBins, marginalValue } from './marginal.svelte';

const hist = (lo: number, hi: number, counts: number[]): HistogramResult => ({ counts: Float64Array.from(counts), lo, hi, bins: counts.length, rows: 0, binned: 0, ms: 0 });

describe('marginal histograms', () => {
  it('asks for about one bin per 4 px, 8 to 1024', () => {
    expect(marginalBins(400)).toBe(100);
    expect(marginalBins(10)).toBe(8);
    expect(marginalBins(10_000)).toBe(1024);
  });

  it("adds the other axis's viewed range to the filter, exactly (round-trips through the text)", () => {
    expect(inViewWhere(null, { name: 'y', type: 'float64' }, -0.1, 2.5)).toBe('y in [-0.1, 2.5)');
    const lo = 0.1 + 0.2, hi = 1 / 3;
    const w = inViewWhere(parseExpr('fare > 3'), { name: 'pickup time', type: 'float32' }, lo, hi);
    expect(w).toBe('fare > 3 and `pickup time` in [0.30000000000000004, 0.3333333333333333)');
    const e = parseExpr(w) as { kind: 'and'; args: { kind: string; lo?: number; hi?: number }[] };
    expect(e.args[1]).toMatchObject({ kind: 'range', lo, hi });
  });

  it('writes a time axis in view as timestamps, selecting the same stored values as the viewport', () => {
    // microseconds: the viewport [lo, hi) holds the stored integers ceil(lo) .. ceil(hi) - 1
    const us = { name: 't', type: 'timestamp', unit: 'us', msPerUnit: 1e-3 };
    const lo = 1_741_000_000_123_456.2, hi = 1_741_000_060_000_000;
    expect(inViewClause(us, lo, hi)).toEqual(parseExpr("t >= timestamp '2025-03-03T11:06:40.123457' and t < timestamp '2025-03-03T11:07:40'"));
    // days: 20,000.5 is after day 20,000 (2024-10-04), so the first day in view is 2024-10-05
    const days = { name: 'd', type: 'date', msPerUnit: 86_400_000 };
    expect(formatExpr(inViewClause(days, 20_000.5, 20_010))).toBe("d >= date '2024-10-05' and d < date '2024-10-14'");
    expect(inViewClause({ name: 'n', type: 'int64' }, 1.5, 7.25)).toEqual({ kind: 'range', col: { kind: 'col', name: 'n' }, lo: 1.5, hi: 7.25 });
  });

  it('draws bins where they lie in the viewed range: x grows rightwards, y upwards from the bottom', () => {
    const h = hist(0, 10, [1, 0, 4, 2, 0, 0, 0, 0, 0, 8]);
    // 100 px for 0..10: a bin per 10 px; the largest count (8) is 40 px deep
    expect(marginalBars(h, [0, 10], 100, 40, 'x')).toEqual([
      { at: 0, len: 10, depth: 5, count: 1 },
      { at: 20, len: 10, depth: 20, count: 4 },
      { at: 30, len: 10, depth: 10, count: 2 },
      { at: 90, len: 10, depth: 40, count: 8 },
    ]);
    const y = marginalBars(h, [0, 10], 100, 40, 'y');
    expect(y[0]).toEqual({ at: 90, len: 10, depth: 5, count: 1 }); // the lowest bin at the bottom
    expect(y[3]).toEqual({ at: 0, len: 10, depth: 40, count: 8 });
  });

  it('draws the bins of an earlier range moved with the view, clipped to it', () => {
    // the view panned right by half a bin and zoomed in: bins 0 and 9 are cut by the edges
    const h = hist(0, 10, [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
    const b = marginalBars(h, [0.5, 5.5], 100, 10, 'x');
    expect(b.length).toBe(6);
    expect(b[0]).toEqual({ at: 0, len: 10, depth: 10, count: 1 });
    expect(b[1]!.at).toBeCloseTo(10);
    expect(b[5]!.at + b[5]!.len).toBeCloseTo(100);
    expect(b[5]!.len).toBeCloseTo(10);
    expect(marginalBars(hist(0, 1, [0, 0]), [0, 1], 100, 10, 'x')).toEqual([]);
    expect(marginalBars(h, [1, 1], 100, 10, 'x')).toEqual([]);
  });

  it('turns a position along the strip into data: x from the left, y from the top', () => {
    expect(marginalValue(25, 100, [0, 4], 'x')).toBe(1);
    expect(marginalValue(25, 100, [0, 4], 'y')).toBe(3);
    expect(marginalValue(0, 100, [-2, 2], 'y')).toBe(2);
  });
});
