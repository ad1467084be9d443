/**
 * The line plot's pictures: the M4 line drawn at one pixel column per M4 column is pixel for pixel
 * the line through every row (the property that lets only ~4 points per column travel), the SVG
 * holds the lines as vector paths and the axes as text, the CSV the decimated points.
 */
import { describe, expect, it } from 'vitest';
import { drawPolyline, lineCSV, lineRaster, lineSVG, seriesColor } from './linesvg';
import { m4Polyline } from './m4';
import { plotFrame } from './svg';
import type { LineResult, LineSeries } from './types';

/** M4 over arrays in x order (a test-side reference; the engine's is checked against numpy) */
function m4Of(x: Float64Array, y: Float64Array, x0: number, x1: number, W: number): LineSeries {
  const nan = () => new Float64Array(W).fill(NaN);
  const s: LineSeries = { y: 'v', count: new Float64Array(W), firstX: nan(), firstY: nan(), lastX: nan(), lastY: nan(), minX: nan(), minY: nan(), maxX: nan(), maxY: nan(), before: null, after: null };
  for (let r = 0; r < x.length; r++) {
    const v = x[r]!, w = y[r]!;
    if (v < x0) { s.before = [v, w]; continue; }
    if (v >= x1) { if (!s.after) s.after = [v, w]; continue; }
    const i = Math.min(W - 1, Math.floor(((v - x0) * W) / (x1 - x0)));
    if (s.count[i] === 0) { s.firstX[i] = v; s.firstY[i] = w; s.minX[i] = v; s.minY[i] = w; s.maxX[i] = v; s.maxY[i] = w; }
    s.count[i]!++;
    s.lastX[i] = v; s.lastY[i] = w;
    if (w < s.minY[i]!) { s.minY[i] = w; s.minX[i] = v; }
    if (w > s.maxY[i]!) { s.maxY[i] = w; s.maxX[i] = v; }
  }
  return s;
}

function walk(n: number, seed: number, spiky = false): { x: Float64Array; y: Float64Array } {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  const x = new Float64Array(n), y = new Float64Array(n);
  let v = 0, t = 0;
  for (let i = 0; i < n; i++) {
    t += Math.floor(rnd() * 3); // ties included
    v += rnd() - 0.5 + (spiky && rnd() < 0.001 ? (rnd() - 0.5) * 400 : 0);
    x[i] = t;
    y[i] = v;
  }
  return { x, y };
}

describe('the M4 line is the full line, pixel for pixel', () => {
  for (const [W, H, n, seed, spiky, zoom] of [[800, 400, 100_000, 1, false, 1], [333, 217, 200_000, 7, true, 1], [1200, 300, 100_000, 3, true, 0.05], [64, 64, 50_000, 9, false, 0.3]] as const) {
    it(`${n} points at ${W} x ${H}${zoom < 1 ? `, a ${zoom * 100}% zoom` : ''}`, () => {
      const { x, y } = walk(n, seed, spiky);
      const span = x[n - 1]! + 1 - x[0]!;
      const x0 = x[0]! + span * (zoom < 1 ? 0.4 : 0), x1 = x0 + span * zoom;
      const s = m4Of(x, y, x0, x1, W);
      let lo = Infinity, hi = -Infinity;
      for (let i = 0; i < n; i++) if (x[i]! >= x0 && x[i]! < x1) { lo = Math.min(lo, y[i]!); hi = Math.max(hi, y[i]!); }
      const y0 = lo - (hi - lo) * 0.05, y1 = hi + (hi - lo) * 0.05;
      const full = new Uint8ClampedArray(W * H * 4).fill(255);
      drawPolyline(full, W, H, { x, y }, x0, x1, y0, y1, seriesColor(0));
      const r: LineResult = { x0, x1, width: W, series: [s], rows: n, used: n, ms: 0 };
      const dec = lineRaster(r, W, H, y0, y1);
      let diff = 0, ink = 0;
      for (let i = 0; i < full.length; i += 4) {
        if (full[i] !== dec[i] || full[i + 1] !== dec[i + 1] || full[i + 2] !== dec[i + 2]) diff++;
        if (full[i] !== 255 || full[i + 1] !== 255 || full[i + 2] !== 255) ink++;
      }
      expect(ink).toBeGreaterThan(W);
      expect(diff).toBe(0);
      expect(m4Polyline(s).x.length).toBeLessThanOrEqual(4 * W + 2);
    });
  }

  it('a line decimated any other way is not (the test can fail): every 10th point', () => {
    const { x, y } = walk(100_000, 1, true);
    const W = 400, H = 200, x0 = x[0]!, x1 = x[x.length - 1]! + 1;
    const y0 = Math.min(...y) - 1, y1 = Math.max(...y) + 1;
    const full = new Uint8ClampedArray(W * H * 4).fill(255), thin = new Uint8ClampedArray(W * H * 4).fill(255);
    drawPolyline(full, W, H, { x, y }, x0, x1, y0, y1, [0, 0, 0]);
    drawPolyline(thin, W, H, { x: x.filter((_, i) => i % 10 === 0), y: y.filter((_, i) => i % 10 === 0) }, x0, x1, y0, y1, [0, 0, 0]);
    let diff = 0;
    for (let i = 0; i < full.length; i += 4) if (full[i] !== thin[i]) diff++;
    expect(diff).toBeGreaterThan(10);
  });
});

describe('exports', () => {
  const { x, y } = walk(10_000, 5);
  const r: LineResult = { x0: 0, x1: x[x.length - 1]! + 1, width: 200, series: [m4Of(x, y, 0, x[x.length - 1]! + 1, 200), { ...m4Of(x, y.map((v) => -v), 0, x[x.length - 1]! + 1, 200), y: 'w', label: 'a "b", c' }], rows: 10_000, used: 20_000, ms: 0 };
  it('SVG: one vector path per series (and an area under it), axes as text, a legend', () => {
    const svg = lineSVG(r, { frame: plotFrame(640, 360), vp: { x0: r.x0, x1: r.x1, y0: -80, y1: 80 }, xLabel: 't', yLabel: 'value', area: true, title: 'demo' });
    expect(svg.match(/<path class="series" d="M/g)).toHaveLength(2);
    expect(svg.match(/<path class="area"/g)).toHaveLength(2);
    expect(svg).toContain('<text class="x-label"');
    expect(svg).toContain('>value</text>');
    expect(svg).toContain('w · a &quot;b&quot;, c');
    expect(svg).not.toContain('<image');
    // the path's points are the polyline's
    const pts = svg.match(/<path class="series" d="([^"]+)"/)![1]!.split(/[ML]/).filter(Boolean);
    expect(pts).toHaveLength(m4Polyline(r.series[0]!).x.length);
  });
  it('CSV: series, x, y per decimated point, quoted where needed', () => {
    const csv = lineCSV(r).trim().split('\n');
    expect(csv[0]).toBe('series,x,y');
    expect(csv.length - 1).toBe(m4Polyline(r.series[0]!).x.length + m4Polyline(r.series[1]!).x.length);
    expect(csv[csv.length - 1]!.startsWith('"w · a ""b"", c",')).toBe(true);
    const p = m4Polyline(r.series[0]!);
    expect(csv[1]).toBe(`v,${p.x[0]},${p.y[0]}`);
  });
});
