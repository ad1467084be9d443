/**
 * One scatter/density plot's state as a Svelte 5 rune class: the columns, the viewport,
 * tone/colour settings, the point budget, and the latest density grid and point set with the
 * viewport each was made for. Every view change cancels the request in flight (`Request`). The
 * density grid comes first (one native pass that also counts the points in view); when the count
 * is within the budget the points follow and replace it. Zooming inside a complete point set
 * needs no request at all.
 */
import type { Field } from '../../shared/datashape';
import type { DensityResult, PlotColumnInfo, PointsResult } from '../../shared/plot/types';
import { paddedRange, vpEqual, type Viewport } from '../../shared/plot/viewport';
import type { ColormapName } from '../../shared/plot/colormap';
import type { ToneHow } from '../../shared/plot/shade';
import type { AxisKind } from '../../shared/plot/ticks';
import type { DatasetView } from './dataset.svelte';
import { CdxError } from '../../shared/errors';
import { Request } from './request.svelte';

export const NUMERIC_TYPES = new Set(['int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64', 'float32', 'float64', 'date', 'timestamp']);

export function plottable(f: Field): boolean {
  return NUMERIC_TYPES.has(f.type);
}

export interface Timed<T> {
  res: T;
  vp: Viewport;
  /** request key (columns + filter) the result belongs to */
  key: string;
}

export class PlotState {
  x = $state('');
  y = $state('');
  color = $state('');
  how = $state<ToneHow>('eq_hist');
  cmap = $state<ColormapName>('fire');
  budget = $state(1_000_000);
  pointSize = $state(3);
  opacity = $state(0.8);
  vp = $state.raw<Viewport>({ x0: 0, x1: 1, y0: 0, y1: 1 });
  home = $state.raw<Viewport>({ x0: 0, x1: 1, y0: 0, y1: 1 });
  xInfo = $state.raw<PlotColumnInfo | null>(null);
  yInfo = $state.raw<PlotColumnInfo | null>(null);
  colorInfo = $state.raw<PlotColumnInfo | null>(null);
  density = $state.raw<Timed<DensityResult> | null>(null);
  points = $state.raw<Timed<PointsResult> | null>(null);
  mode = $state<'density' | 'points'>('density');
  /** points in view passing the filters (from the last density pass) */
  count = $state<number | null>(null);
  lastMs = $state<number | null>(null);
  /** a failure beside the view's own calls (an export), until the view changes */
  note = $state<string | null>(null);
  /** new columns were set up: busy until the refresh that follows has an image (tests and the status line wait on this) */
  private awaitingImage = $state(false);
  private setupReq = new Request<PlotColumnInfo[]>();
  private viewReq = new Request<void>();
  private exportReq = new Request<DensityResult>();

  constructor(readonly view: DatasetView) {}

  get busy(): boolean {
    return this.awaitingImage || this.setupReq.busy || this.viewReq.busy;
  }

  get error(): string | null {
    return (this.setupReq.error ?? this.viewReq.error)?.message ?? this.note;
  }

  axisKind(info: PlotColumnInfo | null): AxisKind {
    return info?.kind === 'time' ? { kind: 'time', msPerUnit: info.msPerUnit } : { kind: 'number' };
  }

  key(where: string): string {
    return JSON.stringify([this.x, this.y, this.color, where]);
  }

  /** column ranges -> home viewport (padded data range) */
  async setup(): Promise<void> {
    if (!this.x || !this.y) return;
    this.note = null;
    this.awaitingImage = true;
    this.mode = 'density';
    const cols = [this.x, this.y, ...(this.color ? [this.color] : [])];
    const hasColor = !!this.color;
    const r = await this.setupReq.run(({ signal }) => this.view.engine.api.plotRanges({ dataset: this.view.id, columns: cols }, { signal }));
    if (!r) {
      // failed (not superseded): no image will follow
      if (!this.setupReq.busy) this.awaitingImage = false;
      return;
    }
    this.xInfo = r[0]!;
    this.yInfo = r[1]!;
    this.colorInfo = hasColor ? r[2]! : null;
    const [x0, x1] = paddedRange(r[0]!.min, r[0]!.max);
    const [y0, y1] = paddedRange(r[1]!.min, r[1]!.max);
    this.home = { x0, x1, y0, y1 };
    this.vp = this.home;
    this.density = null;
    this.points = null;
    this.count = null;
    this.awaitingImage = true;
  }

  cancel(): void {
    this.setupReq.cancel();
    this.viewReq.cancel();
    this.exportReq.cancel();
  }

  /**
   * Fetch what the viewport needs at a grid of `grid` device pixels (after `delay` ms, unless
   * another view change comes first). Points already held for a viewport containing this one
   * (same columns and filter) are reused without a request.
   */
  async refresh(grid: { width: number; height: number }, where: string, delay = 0): Promise<void> {
    if (!this.x || !this.y || !this.xInfo) return;
    const vp = this.vp;
    const key = this.key(where);
    const p = this.points;
    if (this.mode === 'points' && p && p.key === key && p.res.sent && p.res.count <= this.budget && contains(p.vp, vp)) {
      this.viewReq.reset();
      this.awaitingImage = false;
      let n = 0;
      const { x, y } = p.res;
      for (let i = 0; i < x.length; i++) if (x[i]! >= vp.x0 && x[i]! < vp.x1 && y[i]! >= vp.y0 && y[i]! < vp.y1) n++;
      this.count = n;
      return;
    }
    this.note = null;
    const api = this.view.engine.api;
    const dataset = this.view.id;
    const { x, y, color, budget } = this;
    const colorByCategory = this.colorInfo?.kind === 'category';
    const w = where || undefined;
    let t0 = 0;
    await this.viewReq.run(
      async ({ signal, current }) => {
        t0 = performance.now();
        const d = await api.density({ dataset, x, y, ...vp, width: grid.width, height: grid.height, where: w, color: colorByCategory ? color : undefined }, { signal });
        if (!current()) return;
        this.density = { res: d, vp, key };
        this.count = d.binned;
        // points of other columns or another filter are stale: show this density until new points come
        if (this.points && this.points.key !== key) {
          this.points = null;
          this.mode = 'density';
        }
        this.lastMs = performance.now() - t0;
        if (d.binned <= budget) {
          // the points need a scan of every row: wait until the view has rested a moment
          if (this.mode !== 'points') await new Promise((r) => setTimeout(r, 150));
          if (!current() || signal.aborted) return;
          const pts = await api.points(
            // the density's count is exact unless per-value colour passes left out rows without a value
            { dataset, x, y, color: color || undefined, where: w, viewport: vp, limit: budget, ...(d.categories ? {} : { count: d.binned }) },
            { signal },
          );
          if (!current()) return;
          this.points = { res: pts, vp, key };
          this.mode = pts.sent ? 'points' : 'density';
        } else {
          this.mode = 'density';
          this.points = null;
        }
        this.lastMs = performance.now() - t0;
      },
      { delay },
    );
    // the latest refresh is over (not superseded by a newer one, which is busy now)
    if (!this.viewReq.busy) this.awaitingImage = false;
  }

  /** the current view's density grid binned at width x height (an export at that size); rejects when it cannot be had */
  async densityAt(width: number, height: number, where: string): Promise<DensityResult> {
    const { x, y, color } = this;
    const vp = this.vp;
    const byCategory = !!this.density?.res.categories;
    const d = await this.exportReq.run(({ signal }) =>
      this.view.engine.api.density({ dataset: this.view.id, x, y, ...vp, width, height, where: where || undefined, color: byCategory ? color : undefined }, { signal }),
    );
    if (!d) throw this.exportReq.error ?? CdxError.cancelled('the export');
    return d;
  }

  setViewport(v: Viewport): void {
    if (!vpEqual(v, this.vp)) this.vp = v;
  }
}

export function contains(outer: Viewport, inner: Viewport): boolean {
  return inner.x0 >= outer.x0 && inner.x1 <= outer.x1 && inner.y0 >= outer.y0 && inner.y1 <= outer.y1;
}
