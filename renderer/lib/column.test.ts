import { describe, expect, it } from 'vitest';
import { formatExpr } from '../../shared/expr/format';
import { ColumnStats } from './column.svelte';
import { HistogramState } from './histogram.svelte';
import type { DatasetView } from './dataset.svelte';

const view = {
  id: 'd1',
  where: '',
  overview: { schema: { fields: [{ name: 'payment', type: 'string' }, { name: 'day', type: 'date' }, { name: 'fare', type: 'float64' }] } },
} as unknown as DatasetView;

describe('filters built from a column', () => {
  it('only / exclude a value, as expressions (dates compare as dates, nulls with is null)', () => {
    const p = new ColumnStats(view, 'payment');
    expect(formatExpr(p.only('cash'))).toBe('payment = "cash"');
    expect(formatExpr(p.exclude('card'))).toBe('payment != "card"');
    expect(formatExpr(p.only(null))).toBe('payment is null');
    expect(formatExpr(p.exclude(null))).toBe('payment is not null');
    expect(formatExpr(new ColumnStats(view, 'day').only('2025-01-31'))).toBe("day = date '2025-01-31'");
  });

  it('a range of histogram bins; the last bin is closed, so reaching it includes the maximum', () => {
    const f = new ColumnStats(view, 'fare');
    f.info = { histogram: { lo: 0, hi: 10, counts: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] } } as unknown as ColumnStats['info'];
    expect(f.binRange(1, 2)).toEqual({ kind: 'range', col: { kind: 'col', name: 'fare' }, lo: 1, hi: 3 });
    const last = f.binRange(8, 9)!;
    expect(last.kind === 'range' && last.hi > 10).toBe(true);
  });

  it("a brushed histogram range snaps outwards to whole bins", () => {
    const h = new HistogramState(view);
    h.column = 'fare';
    h.hist = { lo: 0, hi: 100, bins: 10, counts: new Array(10).fill(1), binned: 10 } as unknown as HistogramState['hist'];
    expect(h.brushFilter(12, 27)).toEqual({ kind: 'range', col: { kind: 'col', name: 'fare' }, lo: 10, hi: 30 });
    expect(h.brushFilter(-5, 200)).toEqual({ kind: 'range', col: { kind: 'col', name: 'fare' }, lo: 0, hi: 100 });
  });
});
