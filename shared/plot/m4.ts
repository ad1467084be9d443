/**
 * From a line series' M4 (LineSeries: per pixel column the first, last, smallest and largest
 * point) to what is drawn and exported: the polyline through those points in x order, and the
 * decimated rows as a table. Pure; the renderer, the SVG/PNG export, the CSV export and the CLI
 * all draw from `m4Polyline`, so every picture of a line is the same line.
 */
import { CdxError } from '../errors';
import { MAX_LINE_SERIES, type LineParams, type LineSeries } from './types';

export interface Polyline {
  x: Float64Array;
  y: Float64Array;
}

/**
 * The series' points in x order: `before`, then per pixel column with rows first, the min and the
 * max in the order of their x (ties: min first), last — repeated points dropped — then `after`.
 */
export function m4Polyline(s: LineSeries): Polyline {
  const w = s.count.length;
  const xs = new Float64Array(w * 4 + 2), ys = new Float64Array(w * 4 + 2);
  let n = 0;
  const push = (x: number, y: number) => {
    if (n > 0 && xs[n - 1] === x && ys[n - 1] === y) return;
    xs[n] = x;
    ys[n] = y;
    n++;
  };
  if (s.before) push(s.before[0], s.before[1]);
  for (let i = 0; i < w; i++) {
    if (!(s.count[i]! > 0)) continue;
    push(s.firstX[i]!, s.firstY[i]!);
    const minFirst = s.minX[i]! <= s.maxX[i]!;
    if (minFirst) {
      push(s.minX[i]!, s.minY[i]!);
      push(s.maxX[i]!, s.maxY[i]!);
    } else {
      push(s.maxX[i]!, s.maxY[i]!);
      push(s.minX[i]!, s.minY[i]!);
    }
    push(s.lastX[i]!, s.lastY[i]!);
  }
  if (s.after) push(s.after[0], s.after[1]);
  return { x: xs.slice(0, n), y: ys.slice(0, n) };
}

/** a series' name as a legend or a CSV header shows it: the y column, or "y · label" for a split */
export function seriesName(s: Pick<LineSeries, 'y' | 'label'>): string {
  return s.label === undefined ? s.y : `${s.y} · ${s.label}`;
}

/** the y range of the series' points (for default limits): NaN, NaN when none */
export function m4YRange(series: readonly LineSeries[]): { min: number; max: number } {
  let min = Infinity, max = -Infinity;
  for (const s of series)
    for (let i = 0; i < s.count.length; i++) {
      if (!(s.count[i]! > 0)) continue;
      if (s.minY[i]! < min) min = s.minY[i]!;
      if (s.maxY[i]! > max) max = s.maxY[i]!;
    }
  return min <= max ? { min, max } : { min: NaN, max: NaN };
}

/** Check a line request's shape (also used by the database path). */
export function checkLineParams(p: LineParams, where: string): void {
  const W = p.width;
  if (!(Number.isInteger(W) && W >= 1 && W <= 16384)) throw new CdxError('E_BAD_ARG', `${where}: line width ${String(p.width)}: must be a whole number of pixel columns, 1..16384`);
  if (!(Number.isFinite(p.x0) && Number.isFinite(p.x1) && p.x1 > p.x0)) throw new CdxError('E_BAD_ARG', `${where}: empty or unbounded x range [${p.x0}, ${p.x1})`);
  if (!Array.isArray(p.y) || p.y.length < 1 || p.y.length > MAX_LINE_SERIES) throw new CdxError('E_BAD_ARG', `${where}: a line plot takes 1 to ${MAX_LINE_SERIES} y columns`);
  if (p.split && p.y.length !== 1) throw new CdxError('E_BAD_ARG', `${where}: a split by "${p.split}" takes exactly one y column (got ${p.y.length})`);
}
