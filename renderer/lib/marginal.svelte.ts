/**
 * Marginal histograms of a scatter / density plot, as a Svelte 5 rune class: a thin histogram of
 * the x column along the top of the plot and one of the y column along its right, over the plot's
 * current x (resp. y) range, at about one bin per 4 px of the plot's axis, under the dataset's
 * filters. Each is a `HistogramState` (lib/histogram.svelte.ts): the same engine call
 * (`histogram`), the same cancelling of the call in flight when the view moves (`Request`), and
 * the same brush — whole bins, bounds in the column's own terms — so a drag along a marginal adds
 * the very chip a drag on the histogram view would.
 *
 * Which marginal: the marginal of what is in view. The x marginal counts only the rows whose y is
 * within the viewed y range (and the y marginal those whose x is within the viewed x range), so
 * its bins add up to the plot's "N in view" and a zoom into a cluster shows that cluster's
 * distribution, not the whole column's squeezed into the range. (The unrestricted histogram of a
 * column is the histogram view's.) The restriction is the viewport's own half-open test in stored
 * units, exactly the density's, not a filter rounded to the pixel (`inViewClause`).
 *
 * Also the pure geometry the component draws with (`marginalBars`, `marginalValue`), tested beside.
 */
import type { Expr } from '../../shared/expr/ast';
import { andAll } from '../../shared/expr/bind';
import { formatExpr } from '../../shared/expr/format';
import { col } from '../../shared/expr/literal';
import { isTimeType, rangeColumn, rangeFilter, type RangeColumn } from './filters';
import type { HistogramResult, PlotColumnInfo } from '../../shared/plot/types';
import type { Viewport } from '../../shared/plot/viewport';
import type { DatasetView } from './dataset.svelte';
import { HistogramState } from './histogram.svelte';

export type MarginalAxis = 'x' | 'y';

/** bins for an axis `len` css px long: about one per 4 px (as the histogram view), 8 to 1024 */
export function marginalBins(len: number): number {
  return Math.max(8, Math.min(1024, Math.floor(len / 4)));
}

/**
 * Column `c` within a viewed range [lo, hi) (stored units), the same test as the viewport's. A
 * date or timestamp is a whole number of stored units, so [ceil lo, ceil hi) selects the same
 * values; it is written as ISO literals (`rangeFilter` at one stored unit, exact) so that a source
 * computing in SQL compares a timestamp with a timestamp, not with a number.
 */
export function inViewClause(c: RangeColumn, lo: number, hi: number): Expr {
  if (isTimeType(c.type)) return rangeFilter(c, Math.ceil(lo), Math.ceil(hi), 1);
  return { kind: 'range', col: col(c.name), lo, hi };
}

/** The engine's `where` text for a marginal: the dataset's filter (null: none) and the other axis's column in view. */
export function inViewWhere(filter: Expr | null, c: RangeColumn, lo: number, hi: number): string {
  return formatExpr(andAll([filter, inViewClause(c, lo, hi)]));
}

/** one bar: `at` and `len` along the axis (css px from the plot area's start), `depth` across it */
export interface MarginalBar {
  at: number;
  len: number;
  depth: number;
  count: number;
}

/**
 * The bars of `h` drawn over the viewed `range` of an axis `size` css px long, with the largest
 * count `depth` px deep. Along x the data grows rightwards from 0; along y it grows upwards, so
 * `at` is measured from the top (the plot's y axis). A histogram of an earlier range (the view
 * moved, the new bins are on their way) is drawn where its bins now lie; empty bins and bins
 * wholly outside the range are left out, a bin cut by the range's edge is clipped to it.
 */
export function marginalBars(h: HistogramResult, range: [number, number], size: number, depth: number, axis: MarginalAxis): MarginalBar[] {
  const out: MarginalBar[] = [];
  const span = range[1] - range[0];
  if (!(span > 0) || size <= 0) return out;
  let max = 0;
  for (let i = 0; i < h.bins; i++) max = Math.max(max, h.counts[i]!);
  if (!max) return out;
  const d = (h.hi - h.lo) / h.bins;
  const px = (v: number) => ((v - range[0]) / span) * size;
  for (let i = 0; i < h.bins; i++) {
    const c = h.counts[i]!;
    if (!c) continue;
    const a = Math.max(0, px(h.lo + i * d)), b = Math.min(size, px(h.lo + (i + 1) * d));
    if (!(b > a)) continue;
    const deep = (c / max) * depth;
    out.push(axis === 'x' ? { at: a, len: b - a, depth: deep, count: c } : { at: size - b, len: b - a, depth: deep, count: c });
  }
  return out;
}

/** the data value at `px` css px along an axis `size` px long showing `range` (y: from the top) */
export function marginalValue(px: number, size: number, range: [number, number], axis: MarginalAxis): number {
  const f = px / size;
  return axis === 'x' ? range[0] + f * (range[1] - range[0]) : range[1] - f * (range[1] - range[0]);
}

export class Marginals {
  /** shown (the plot's "Marginals" checkbox) */
  on = $state(true);
  readonly x: HistogramState;
  readonly y: HistogramState;

  constructor(view: DatasetView) {
    this.x = new HistogramState(view);
    this.y = new HistogramState(view);
  }

  /**
   * Both marginals of the viewport `vp` of the columns `xInfo`, `yInfo` (the plot's, set up
   * together with `vp`) under `filter`, for a plot area `plotW` x `plotH` css px. Each call
   * supersedes the one in flight (after a frame's pause, as the plot's own requests).
   */
  refresh(vp: Viewport, xInfo: PlotColumnInfo | null, yInfo: PlotColumnInfo | null, filter: Expr | null, plotW: number, plotH: number): void {
    if (!this.on || !xInfo || !yInfo) return;
    aim(this.x, xInfo, [vp.x0, vp.x1]);
    aim(this.y, yInfo, [vp.y0, vp.y1]);
    const fields = this.x.view.overview?.schema.fields;
    const xc = rangeColumn(fields, xInfo.name, xInfo.msPerUnit), yc = rangeColumn(fields, yInfo.name, yInfo.msPerUnit);
    void this.x.refresh(marginalBins(plotW), inViewWhere(filter, yc, vp.y0, vp.y1));
    void this.y.refresh(marginalBins(plotH), inViewWhere(filter, xc, vp.x0, vp.x1));
  }

  cancel(): void {
    this.x.cancel();
    this.y.cancel();
  }
}

/** a marginal on `info`'s column over `range`; another column's bins are dropped, not redrawn on this one's axis */
function aim(hs: HistogramState, info: PlotColumnInfo, range: [number, number]): void {
  if (hs.info !== info) {
    hs.column = info.name;
    hs.info = info;
    hs.hist = null;
  }
  hs.range = range;
}
