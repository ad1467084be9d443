/**
 * A line plot's pixels, worked out on the CPU in float64: per device-pixel column, the span of rows
 * the polyline passes through (the closed polyline clipped to the column [c, c+1], rows floor(Y)).
 * The GPU then fills each span as a one-pixel-wide rectangle (triangles, whose coverage rule —
 * a pixel is lit when its centre is inside — has no freedom), and the area under a line as the
 * rectangle from the baseline to the span.
 *
 * Why spans and not GL line strips: a line strip's pixels depend on how the rasteriser treats
 * segment ends (the diamond-exit rule, implementation freedom), so the M4 polyline (4 points per
 * column) and the full-resolution polyline (every row) light different pixels where a column holds
 * many short segments. The set of rows a continuous, x-ordered polyline touches in a column is one
 * interval — [min y, max y] of its points there, widened by the segments that cross the column's
 * edges — and M4 keeps exactly those points and crossing segments, so the spans of the M4
 * polyline equal the spans of the full polyline: the drawn line is pixel-exact by construction
 * (e2e/line18.spec.ts reads both back in Chromium). Columns are computed as the engine cuts them
 * (native/src/m4.cc SlotOf: floor((x - x0) * (width / (x1 - x0)))), so a point lies in the same
 * column on both sides. Coordinates stay float64 until they are whole pixels: timestamps in ns do
 * not survive float32.
 */
import type { Viewport as View } from './viewport';

export interface Spans {
  /** per column: the lowest and highest row lit (row 0 at the bottom); lo > hi where none */
  lo: Int32Array;
  hi: Int32Array;
}

/** pixel columns and rows of a polyline (x ascending) drawn in `view` at W x H device pixels */
export function lineSpans(x: ArrayLike<number>, y: ArrayLike<number>, view: View, W: number, H: number): Spans {
  const lo = new Int32Array(W).fill(H), hi = new Int32Array(W).fill(-1);
  const sx = W / (view.x1 - view.x0), sy = H / (view.y1 - view.y0);
  const n = Math.min(x.length, y.length);
  const mark = (c: number, ya: number, yb: number) => {
    const a = Math.min(ya, yb), b = Math.max(ya, yb);
    if (!(b >= 0 && a < H)) return;
    const r0 = Math.max(0, Math.floor(a)), r1 = Math.min(H - 1, Math.floor(b));
    if (r0 < lo[c]!) lo[c] = r0;
    if (r1 > hi[c]!) hi[c] = r1;
  };
  let pX = NaN, pY = NaN;
  for (let i = 0; i < n; i++) {
    const X = (x[i]! - view.x0) * sx, Y = (y[i]! - view.y0) * sy;
    if (!Number.isFinite(X) || !Number.isFinite(Y)) {
      pX = pY = NaN;
      continue;
    }
    if (!Number.isFinite(pX)) {
      // a run's first point: its own pixel (a lone point is drawn as one)
      const c = Math.floor(X);
      if (c >= 0 && c < W) mark(c, Y, Y);
    } else segment(pX, pY, X, Y);
    pX = X;
    pY = Y;
  }
  return { lo, hi };

  function segment(xa: number, ya: number, xb: number, yb: number): void {
    if (xb < xa) [xa, ya, xb, yb] = [xb, yb, xa, ya];
    if (xb < 0 || xa >= W) return;
    const c0 = Math.max(0, Math.floor(xa)), c1 = Math.min(W - 1, Math.floor(xb));
    const k = xb > xa ? (yb - ya) / (xb - xa) : 0;
    for (let c = c0; c <= c1; c++) {
      if (xb === xa) {
        mark(c, ya, yb);
        continue;
      }
      // the segment over [max(xa, c), min(xb, c + 1)]: its y at both ends (exact at the segment's own ends)
      const l = Math.max(xa, c), r = Math.min(xb, c + 1);
      const yl = l === xa ? ya : ya + (l - xa) * k, yr = r === xb ? yb : ya + (r - xa) * k;
      mark(c, yl, yr);
    }
  }
}

/**
 * The area's floor as a row: y = 0 where it is in view, else the axis bottom (as the SVG export
 * draws it: shared/plot/linesvg.ts lineSVG).
 */
export function baselineRow(view: View, H: number): number {
  if (!(view.y0 <= 0 && view.y1 >= 0)) return 0;
  return Math.max(0, Math.min(H, Math.round((0 - view.y0) * (H / (view.y1 - view.y0)))));
}

/**
 * Triangles (x, y in device pixels; 6 vertices per rectangle) filling each column's span, or with
 * `area`, the rows between the baseline row and the span (not the span itself).
 */
export function spanTriangles(s: Spans, area: { base: number } | null = null): Float32Array {
  const W = s.lo.length;
  const out = new Float32Array(W * 12);
  let n = 0;
  const rect = (x0: number, y0: number, x1: number, y1: number) => {
    out[n++] = x0; out[n++] = y0; out[n++] = x1; out[n++] = y0; out[n++] = x0; out[n++] = y1;
    out[n++] = x1; out[n++] = y0; out[n++] = x1; out[n++] = y1; out[n++] = x0; out[n++] = y1;
  };
  for (let c = 0; c < W; c++) {
    const lo = s.lo[c]!, hi = s.hi[c]!;
    if (lo > hi) continue;
    if (!area) rect(c, lo, c + 1, hi + 1);
    else if (lo > area.base) rect(c, area.base, c + 1, lo);
    else if (hi + 1 <= area.base) rect(c, hi + 1, c + 1, area.base);
  }
  return out.subarray(0, n);
}
