/**
 * Viewport math for plots: a data rectangle [x0, x1) x [y0, y1) shown in a plot area of
 * width x height pixels, y up. Zoom about a point (the cursor stays over the same data), pan,
 * one-axis zoom, pixel <-> data, the device-pixel grid size for the engine, and where a previous
 * image lands in a new viewport (progressive display: show it rescaled at once).
 */
export interface Viewport {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

export type ZoomAxis = 'both' | 'x' | 'y';

/** the largest grid the engine bins (native bin2d limit) */
export const MAX_GRID = 4096;

export function vpEqual(a: Viewport, b: Viewport): boolean {
  return a.x0 === b.x0 && a.x1 === b.x1 && a.y0 === b.y0 && a.y1 === b.y1;
}

/**
 * Zoom by `factor` (> 1 zooms in) keeping the data under (fx, fy) fixed; fx in [0, 1] from the
 * left, fy in [0, 1] from the bottom.
 */
export function zoomAt(vp: Viewport, fx: number, fy: number, factor: number, axis: ZoomAxis = 'both'): Viewport {
  const out = { ...vp };
  if (axis !== 'y') {
    const cx = vp.x0 + fx * (vp.x1 - vp.x0);
    out.x0 = cx - (cx - vp.x0) / factor;
    out.x1 = cx + (vp.x1 - cx) / factor;
  }
  if (axis !== 'x') {
    const cy = vp.y0 + fy * (vp.y1 - vp.y0);
    out.y0 = cy - (cy - vp.y0) / factor;
    out.y1 = cy + (vp.y1 - cy) / factor;
  }
  return clampSpan(out, vp);
}

/** Pan by a fraction of the view (dx > 0 moves the view right, i.e. data moves left). */
export function pan(vp: Viewport, dxFrac: number, dyFrac: number): Viewport {
  const dx = dxFrac * (vp.x1 - vp.x0), dy = dyFrac * (vp.y1 - vp.y0);
  return { x0: vp.x0 + dx, x1: vp.x1 + dx, y0: vp.y0 + dy, y1: vp.y1 + dy };
}

/** refuse spans so small that float64 cannot tell cells apart (keeps the previous span) */
function clampSpan(v: Viewport, prev: Viewport): Viewport {
  const ok = (a: number, b: number) => Number.isFinite(a) && Number.isFinite(b) && b - a > Math.max(Math.abs(a), Math.abs(b), 1e-300) * 1e-12;
  if (!ok(v.x0, v.x1)) { v.x0 = prev.x0; v.x1 = prev.x1; }
  if (!ok(v.y0, v.y1)) { v.y0 = prev.y0; v.y1 = prev.y1; }
  return v;
}

/** pixel (px from the left, py from the top of the plot area) -> data */
export function pixelToData(vp: Viewport, width: number, height: number, px: number, py: number): [number, number] {
  return [vp.x0 + (px / width) * (vp.x1 - vp.x0), vp.y1 - (py / height) * (vp.y1 - vp.y0)];
}

/** data -> pixel (from the left, from the top) */
export function dataToPixel(vp: Viewport, width: number, height: number, x: number, y: number): [number, number] {
  return [((x - vp.x0) / (vp.x1 - vp.x0)) * width, ((vp.y1 - y) / (vp.y1 - vp.y0)) * height];
}

/** The engine grid for a plot area of css size at a device pixel ratio (each side 1..MAX_GRID). */
export function gridSize(cssWidth: number, cssHeight: number, dpr = 1): { width: number; height: number } {
  const c = (v: number) => Math.max(1, Math.min(MAX_GRID, Math.round(v * dpr)));
  return { width: c(cssWidth), height: c(cssHeight) };
}

/**
 * Where an image of `from` lands when showing `to`: the rectangle in fractions of the plot area
 * (left, top, right, bottom; may lie outside [0, 1]).
 */
export function rescaleRect(from: Viewport, to: Viewport): { left: number; top: number; right: number; bottom: number } {
  const fx = (x: number) => (x - to.x0) / (to.x1 - to.x0);
  const fy = (y: number) => (to.y1 - y) / (to.y1 - to.y0);
  return { left: fx(from.x0), right: fx(from.x1), top: fy(from.y1), bottom: fy(from.y0) };
}

/** Default limits from a data range: padded by `pad` of the span (a point range gets +-0.5). */
export function paddedRange(min: number, max: number, pad = 0.02): [number, number] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0, 1];
  if (max <= min) return [min - 0.5, max + 0.5];
  const d = (max - min) * pad;
  return [min - d, max + d];
}

/**
 * The data range as half-open limits that still count the maximum: [min, max'), max' the next
 * float above max (what `cdx plot` uses by default).
 */
export function closedRange(min: number, max: number): [number, number] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0, 1];
  if (max <= min) return [min - 0.5, max + 0.5];
  return [min, nextUp(max)];
}

export function nextUp(x: number): number {
  if (Number.isNaN(x) || x === Infinity) return x;
  if (x === 0) return Number.MIN_VALUE;
  const b = new Float64Array([x]);
  const i = new BigInt64Array(b.buffer);
  i[0] = x > 0 ? i[0]! + 1n : i[0]! - 1n;
  return b[0]!;
}

/** cell bounds of grid cell (i, j) (row j from the bottom) */
export function cellBounds(vp: Viewport, width: number, height: number, i: number, j: number): Viewport {
  const dx = (vp.x1 - vp.x0) / width, dy = (vp.y1 - vp.y0) / height;
  return { x0: vp.x0 + i * dx, x1: vp.x0 + (i + 1) * dx, y0: vp.y0 + j * dy, y1: vp.y0 + (j + 1) * dy };
}
