/**
 * The line plot's pure parts (lib/line.svelte.ts): default columns, x zoom and pan, the y fit,
 * the pixel column of an x and the values there (as the engine cuts columns), the CSV's x text;
 * and the drawing's spans (gl/linespans.ts): the M4 polyline lights exactly the pixels of the
 * full-resolution polyline, at several sizes and zooms (M4 computed here by its definition).
 */
import { describe, expect, it } from 'vitest';
import type { Field } from '../../shared/datashape';
import type { LineResult, LineSeries } from '../../shared/plot/types';
import { m4Polyline } from '../../shared/plot/m4';
import { baselineRow, lineSpans, spanTriangles } from '../../shared/plot/linespans';
import { columnOf, csvX, defaultX, defaultY, deviceColumns, fitY, hoverText, panX, valuesAt, zoomX } from './line.svelte';

const f = (name: string, type: string): Field => ({ name, type, nullable: true }) as Field;

/** M4 of (xs, ys) over [x0, x1) at W columns, by its definition (engine's ties and column rule) */
function m4(xs: ArrayLike<number>, ys: ArrayLike<number>, x0: number, x1: number, W: number): LineSeries {
  const nan = () => new Float64Array(W).fill(NaN);
  const s: LineSeries = { y: 'y', count: new Float64Array(W), firstX: nan(), firstY: nan(), lastX: nan(), lastY: nan(), minX: nan(), minY: nan(), maxX: nan(), maxY: nan(), before: null, after: null };
  const scale = W / (x1 - x0);
  for (let r = 0; r < xs.length; r++) {
    const x = xs[r]!, y = ys[r]!;
    if (x < x0) {
      if (!s.before || x >= s.before[0]) s.before = [x, y];
      continue;
    }
    if (!(x < x1)) {
      if (!s.after || x < s.after[0]) s.after = [x, y];
      continue;
    }
    const i = Math.min(W - 1, Math.floor((x - x0) * scale));
    if (!s.count[i]) {
      s.firstX[i] = s.lastX[i] = s.minX[i] = s.maxX[i] = x;
      s.firstY[i] = s.lastY[i] = s.minY[i] = s.maxY[i] = y;
    } else {
      if (x < s.firstX[i]!) { s.firstX[i] = x; s.firstY[i] = y; }
      if (x >= s.lastX[i]!) { s.lastX[i] = x; s.lastY[i] = y; }
      if (y < s.minY[i]!) { s.minY[i] = y; s.minX[i] = x; }
      if (y > s.maxY[i]!) { s.maxY[i] = y; s.maxX[i] = x; }
    }
    s.count[i]!++;
  }
  return s;
}

function series(n: number, seed: number): { x: Float64Array; y: Float64Array } {
  let s = seed;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  const x = new Float64Array(n), y = new Float64Array(n);
  let t = 1.7e12, v = 0;
  for (let i = 0; i < n; i++) {
    t += 1000 + Math.floor(rnd() * 9000);
    v += (rnd() - 0.5) * 4 + (rnd() < 0.001 ? (rnd() - 0.5) * 400 : 0);
    x[i] = t;
    y[i] = v + 10 * Math.sin(i / 500);
  }
  return { x, y };
}

describe('defaults and view maths', () => {
  const fields = [f('id', 'int64'), f('name', 'string'), f('v', 'float64'), f('at', 'timestamp'), f('w', 'float32')];
  it('x defaults to the first date/timestamp column, else the first numeric; y to the first numeric other column', () => {
    expect(defaultX(fields)).toBe('at');
    expect(defaultX(fields.filter((g) => g.name !== 'at'))).toBe('id');
    expect(defaultX([f('s', 'string')])).toBe('');
    expect(defaultY(fields, 'at')).toBe('id');
    expect(defaultY([f('at', 'timestamp'), f('v', 'float64')], 'at')).toBe('v');
  });

  it('cuts the range into the plot width in device pixels', () => {
    expect(deviceColumns(800, 1)).toBe(800);
    expect(deviceColumns(800, 2)).toBe(1600);
    expect(deviceColumns(333, 1.5)).toBe(500);
    expect(deviceColumns(0, 1)).toBe(1);
  });

  it('zooms x about the cursor and pans by a fraction of the width', () => {
    const r: [number, number] = [100, 200];
    const z = zoomX(r, 0.25, 2);
    expect(z[0]).toBeCloseTo(112.5, 12);
    expect(z[1]).toBeCloseTo(162.5, 12);
    // the x under the cursor stays there
    expect(z[0] + 0.25 * (z[1] - z[0])).toBeCloseTo(125, 12);
    expect(zoomX(z, 0.25, 0.5)[0]).toBeCloseTo(100, 12);
    // a drag to the right by a tenth of the plot shows earlier data
    expect(panX(r, 0.1)).toEqual([90, 190]);
  });

  it('fits y to the visible points with padding; a flat line and no data get a range too', () => {
    const s = m4(Float64Array.from([0, 1, 2, 3]), Float64Array.from([5, -3, 7, 1]), 0, 4, 4);
    expect(fitY([s])).toEqual([-3 - 0.5, 7 + 0.5]);
    const flat = m4(Float64Array.from([0, 1]), Float64Array.from([2, 2]), 0, 2, 2);
    const [a, b] = fitY([flat]);
    expect(a).toBeLessThan(2);
    expect(b).toBeGreaterThan(2);
    expect(fitY([])).toEqual([0, 1]);
  });
});

describe('hover values', () => {
  const { x, y } = series(5000, 7);
  const x0 = x[100]!, x1 = x[4000]!, W = 300;
  const s = m4(x, y, x0, x1, W);
  const res: LineResult = { x0, x1, width: W, series: [s, { ...s, y: 'z', label: 'b' }], rows: x.length, used: 3900, ms: 0 };

  it('finds the pixel column the engine put an x in', () => {
    expect(columnOf(res, x0)).toBe(0);
    expect(columnOf(res, x1)).toBe(-1);
    expect(columnOf(res, x0 - 1)).toBe(-1);
    for (const r of [100, 777, 2500, 3999]) {
      const i = columnOf(res, x[r]!);
      expect(x[r]! >= x0 + (i * (x1 - x0)) / W - 1e-3 && x[r]! < x0 + ((i + 1) * (x1 - x0)) / W + 1e-3).toBe(true);
    }
  });

  it('gives each series the last value in the column (largest x) and its min and max', () => {
    const i = columnOf(res, x[2500]!);
    const inCol: number[] = [];
    for (let r = 0; r < x.length; r++) if (x[r]! >= x0 && x[r]! < x1 && Math.min(W - 1, Math.floor((x[r]! - x0) * (W / (x1 - x0)))) === i) inCol.push(r);
    expect(inCol.length).toBeGreaterThan(3);
    const v = valuesAt(res, i);
    expect(v.map((q) => q.name)).toEqual(['y', 'z · b']);
    expect(v[0]!.count).toBe(inCol.length);
    expect(v[0]!.last).toBe(y[inCol[inCol.length - 1]!]);
    expect(v[0]!.min).toBe(Math.min(...inCol.map((r) => y[r]!)));
    expect(v[0]!.max).toBe(Math.max(...inCol.map((r) => y[r]!)));
    expect(hoverText(v[0]!)).toMatch(/^-?[\d.]+ \(-?[\d.]+ – -?[\d.]+\)$/);
    expect(hoverText({ ...v[0]!, min: 3, max: 3, last: 3 })).toBe('3');
    expect(hoverText({ ...v[0]!, count: 0 })).toBe('—');
    expect(valuesAt(res, -1)[0]!.count).toBe(0);
  });

  it('writes the CSV x of a time axis as exact ISO text', () => {
    expect(csvX({ kind: 'time', msPerUnit: 1 })(Date.UTC(2025, 2, 8, 14, 30, 15, 250))).toBe('2025-03-08T14:30:15.25');
    expect(csvX({ kind: 'time', msPerUnit: 86_400_000 })(20_000)).toBe('2024-10-04');
    expect(csvX({ kind: 'number' })(1.5)).toBe('1.5');
  });
});

describe('line spans', () => {
  const { x, y } = series(100_000, 42);
  const equalSpans = (a: ReturnType<typeof lineSpans>, b: ReturnType<typeof lineSpans>) => {
    let differ = 0;
    for (let c = 0; c < a.lo.length; c++) {
      const ea = a.lo[c]! > a.hi[c]!, eb = b.lo[c]! > b.hi[c]!;
      if (ea !== eb || (!ea && (a.lo[c] !== b.lo[c] || a.hi[c] !== b.hi[c]))) differ++;
    }
    return differ;
  };

  for (const [W, H, from, to] of [[800, 400, 0, 99_999], [1600, 700, 0, 99_999], [333, 91, 20_000, 20_900], [1000, 500, 5_000, 60_000], [97, 1000, 50_000, 50_040]] as const) {
    it(`the M4 polyline lights the pixels of every row: ${W}x${H}, rows ${from}..${to}`, () => {
      const x0 = x[from]!, x1 = x[to]! + 1;
      const s = m4(x, y, x0, x1, W);
      const p = m4Polyline(s);
      let lo = Infinity, hi = -Infinity;
      for (let i = from; i <= to; i++) { lo = Math.min(lo, y[i]!); hi = Math.max(hi, y[i]!); }
      // y a little inside the data's range too: the clipped rows must agree as well
      [{ x0, x1, y0: lo - 1, y1: hi + 1 }, { x0, x1, y0: lo + (hi - lo) * 0.3, y1: hi - (hi - lo) * 0.2 }].forEach((view, k) => {
        const full = lineSpans(x, y, view, W, H), dec = lineSpans(p.x, p.y, view, W, H);
        expect(equalSpans(full, dec)).toBe(0);
        let lit = 0;
        for (let c = 0; c < W; c++) if (full.lo[c]! <= full.hi[c]!) lit++;
        // every column drawn when y shows all the data
        if (k === 0) expect(lit).toBe(W);
      });
      expect(p.x.length).toBeLessThanOrEqual(4 * W + 2);
    });
  }

  it('a line thinned another way (every 50th row) is not the same picture', () => {
    const W = 800, H = 400, view = { x0: x[0]!, x1: x[99_999]! + 1, y0: -300, y1: 300 };
    const every = (k: number) => ({ x: x.filter((_, i) => i % k === 0), y: y.filter((_, i) => i % k === 0) });
    const t = every(50);
    expect(equalSpans(lineSpans(x, y, view, W, H), lineSpans(t.x, t.y, view, W, H))).toBeGreaterThan(50);
  });

  it('spans become one-pixel rectangles; the area fills from the baseline to the line', () => {
    const view = { x0: 0, x1: 4, y0: -2, y1: 2 };
    const sp = lineSpans([0.5, 1.5, 2.5, 3.5], [1.5, 1.5, -1.5, -1.5], view, 4, 4);
    // Y = y + 2: the segment down from column 1's centre crosses x = 2 at Y = 2
    expect(Array.from(sp.lo)).toEqual([3, 2, 0, 0]);
    expect(Array.from(sp.hi)).toEqual([3, 3, 2, 0]);
    expect(baselineRow(view, 4)).toBe(2);
    expect(baselineRow({ ...view, y0: 1 }, 4)).toBe(0);
    // all below zero: the floor is still the axis bottom (as the SVG export has it)
    expect(baselineRow({ ...view, y0: -9, y1: -1 }, 4)).toBe(0);
    const t = spanTriangles(sp);
    expect(t.length).toBe(4 * 12);
    // column 0: rows 3..3 -> the rectangle [0,1] x [3,4]
    expect(Array.from(t.subarray(0, 12))).toEqual([0, 3, 1, 3, 0, 4, 1, 3, 1, 4, 0, 4]);
    // area: column 0 above the baseline (row 2), column 3 below it (row 1); column 1 starts at the baseline, column 2 crosses it: none
    const a = spanTriangles(sp, { base: 2 });
    expect(a.length).toBe(2 * 12);
    expect(Array.from(a.subarray(0, 12))).toEqual([0, 2, 1, 2, 0, 3, 1, 2, 1, 3, 0, 3]);
    expect(Array.from(a.subarray(12, 24))).toEqual([3, 1, 4, 1, 3, 2, 4, 1, 4, 2, 3, 2]);
  });
});
