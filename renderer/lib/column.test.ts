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

describe('facets and typed ranges from a column', () => {
  function liveView(fields: { name: string; type: string; unit?: string }[]) {
    const filters: { id: number; text: string; expr: unknown; enabled: boolean }[] = [];
    let id = 1;
    const v = {
      id: 'd1',
      overview: { schema: { fields } },
      get activeFilters() { return filters.filter((f) => f.enabled); },
      picked(column: string) {
        for (const f of filters) {
          const e = f.expr as { kind: string; op?: string; left?: { name: string }; col?: { name: string }; right?: unknown; values?: unknown[] };
          if (e.kind === 'cmp' && e.op === '=' && e.left!.name === column) return { id: f.id, values: [e.right] };
          if (e.kind === 'in' && e.col!.name === column) return { id: f.id, values: e.values };
        }
        return null;
      },
      addFilter(expr: unknown) { filters.push({ id: id++, expr, text: formatExpr(expr as never), enabled: true }); },
      replaceFilter(fid: number, expr: unknown) { const f = filters.find((x) => x.id === fid)!; f.expr = expr; f.text = formatExpr(expr as never); },
      removeFilter(fid: number) { filters.splice(filters.findIndex((x) => x.id === fid), 1); },
    };
    return { v: v as unknown as DatasetView, filters };
  }

  it('after "only ORD", adding DFW makes one chip origin in ("ORD", "DFW"); dropping takes it out again', () => {
    const { v, filters } = liveView([{ name: 'origin', type: 'string' }]);
    const s = new ColumnStats(v, 'origin');
    s.togglePicked('ORD');
    expect(filters.map((f) => f.text)).toEqual(['origin = "ORD"']);
    expect(s.isPicked('ORD')).toBe(true);
    expect(s.isPicked('DFW')).toBe(false);
    s.togglePicked('DFW');
    expect(filters.map((f) => f.text)).toEqual(['origin in ("ORD", "DFW")']);
    s.togglePicked('ORD');
    expect(filters.map((f) => f.text)).toEqual(['origin = "DFW"']);
    s.togglePicked('DFW');
    expect(filters).toHaveLength(0);
  });

  it('bins of an integer column give integer bounds; of a timestamp column ISO times', () => {
    const { v } = liveView([{ name: 'n', type: 'int32' }, { name: 'at', type: 'timestamp', unit: 'ms' }]);
    const n = new ColumnStats(v, 'n');
    n.info = { histogram: { lo: 1, hi: 100, counts: new Array(40).fill(1) } } as unknown as ColumnStats['info'];
    // bins 4..9 are [10.9, 25.75): the integers 11..25
    expect(formatExpr(n.binRange(4, 9)!)).toBe('n in [11, 26)');
    expect(formatExpr(n.binRange(30, 39)!)).toBe('n in [76, 101)');
    const at = new ColumnStats(v, 'at');
    const lo = Date.UTC(2025, 0, 1, 0, 21, 33, 130), hi = Date.UTC(2025, 11, 31, 23, 57, 44, 467);
    at.info = { msPerUnit: 1, histogram: { lo, hi, counts: new Array(40).fill(1) } } as unknown as ColumnStats['info'];
    expect(formatExpr(at.binRange(0, 3)!)).toBe("at >= timestamp '2025-01-01T00:00' and at < timestamp '2025-02-06T12:00'");
  });
});
