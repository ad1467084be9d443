/**
 * A histogram plot's state, as a Svelte 5 rune class: the column, its range (the home range is
 * the padded data range), the visible x range and the latest bins (native 1-D binning) under the
 * dataset's filters. A new column asks for its range first; every change of range, bin count or
 * filter asks for new bins after a frame's pause, cancelling the call in flight (`Request`).
 */
import type { HistogramResult, PlotColumnInfo } from '../../shared/plot/types';
import type { Expr } from '../../shared/expr/ast';
import { paddedRange } from '../../shared/plot/viewport';
import { formatAxisSpan, type AxisKind } from '../../shared/plot/ticks';
import { rangeColumn, rangeFilter } from './filters';
import type { DatasetView } from './dataset.svelte';
import { Request } from './request.svelte';

export class HistogramState {
  column = $state('');
  info = $state.raw<PlotColumnInfo | null>(null);
  range = $state.raw<[number, number]>([0, 1]);
  home = $state.raw<[number, number]>([0, 1]);
  hist = $state.raw<HistogramResult | null>(null);
  private ranges = new Request<PlotColumnInfo>();
  private bins = new Request<HistogramResult>();

  constructor(readonly view: DatasetView) {}

  get busy(): boolean {
    return this.ranges.busy || this.bins.busy;
  }

  get error(): string | null {
    return (this.ranges.error ?? this.bins.error)?.message ?? null;
  }

  get axis(): AxisKind {
    const i = this.info;
    return i?.kind === 'time' ? { kind: 'time', msPerUnit: i.msPerUnit } : { kind: 'number' };
  }

  /** the column's range -> home and visible range */
  async setup(column: string): Promise<void> {
    if (!column) return;
    const r = await this.ranges.run(async ({ signal }) => (await this.view.engine.api.plotRanges({ dataset: this.view.id, columns: [column] }, { signal }))[0]!);
    if (!r) return;
    this.info = r;
    this.home = paddedRange(r.min, r.max, 0.01);
    this.range = this.home;
  }

  /**
   * bins over the visible range: `bins` of them, under the current filters (or under `where`, a
   * caller's own `where` text: a plot's marginal adds the other axis's viewed range to the filters)
   */
  async refresh(bins: number, whereText: string = this.view.where): Promise<void> {
    const info = this.info;
    if (!info || info.name !== this.column) return;
    const [lo, hi] = this.range;
    const where = whereText || undefined;
    const column = this.column;
    const h = await this.bins.run(({ signal }) => this.view.engine.api.histogram({ dataset: this.view.id, column, lo, hi, bins, where }, { signal }), { delay: 16 });
    if (h) this.hist = h;
  }

  reset(): void {
    this.range = this.home;
  }

  cancel(): void {
    this.ranges.cancel();
    this.bins.cancel();
  }

  /**
   * The filter for a brushed x range [a, b] (data units), snapped outwards to whole bins, with
   * bounds at the plot's resolution (a quarter of a bin, about a pixel): integers on an integer
   * column (exactly the integers those bins count), ISO times on a date/timestamp column, floats
   * rounded to the pixel. Null when it covers no bin.
   */
  brushFilter(a: number, b: number): Expr | null {
    const h = this.hist;
    if (!h) return null;
    const w = (h.hi - h.lo) / h.bins;
    const i0 = Math.max(0, Math.floor((a - h.lo) / w)), i1 = Math.min(h.bins, Math.ceil((b - h.lo) / w));
    if (i1 <= i0) return null;
    const lo = i0 === 0 ? h.lo : h.lo + i0 * w, hi = i1 === h.bins ? h.hi : h.lo + i1 * w;
    const c = rangeColumn(this.view.overview?.schema.fields, this.column, this.info?.msPerUnit);
    return rangeFilter(c, lo, hi, w / 4);
  }

  /** the bin width as the axis reads it: a duration on a time axis ("11.7 h") */
  get binWidthText(): string {
    const h = this.hist;
    return h ? formatAxisSpan((h.hi - h.lo) / h.bins, this.axis) : '';
  }
}
