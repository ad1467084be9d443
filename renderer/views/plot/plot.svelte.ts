/**
 * One plot's state as a Svelte 5 rune class: the columns, the viewport, tone/colour settings, the
 * point budget, and the latest density grid and point set with the viewport each was made for.
 * Every view change cancels the request in flight. The density grid comes first (one native pass
 * that also counts the points in view); when the count is within the budget the points follow and
 * replace it. Zooming inside a complete point set needs no request at all.
 */
import type { Client } from '../../../shared/rpc';
import type { EngineApi } from '../../../shared/api';
import type { Field } from '../../../shared/datashape';
import type { DensityResult, PlotColumnInfo, PointsResult } from '../../../shared/plot/types';
import { paddedRange, vpEqual, type Viewport } from '../../../shared/plot/viewport';
import type { ColormapName } from '../../../shared/plot/colormap';
import type { ToneHow } from '../../../shared/plot/shade';
import type { AxisKind } from '../../../shared/plot/ticks';

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
  busy = $state(false);
  error = $state<string | null>(null);
  lastMs = $state<number | null>(null);
  private ac: AbortController | null = null;
  private seq = 0;
  private setupSeq = 0;

  constructor(
    private api: () => Client<EngineApi>,
    private datasetOf: () => string,
  ) {}

  get dataset(): string {
    return this.datasetOf();
  }

  /** another dataset in the same view: start over */
  resetColumns(): void {
    this.cancel();
    this.x = this.y = this.color = '';
    this.xInfo = this.yInfo = this.colorInfo = null;
    this.density = this.points = null;
    this.count = null;
    this.mode = 'density';
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
    this.error = null;
    // busy until the refresh that follows has an image (tests and the status line wait on this)
    this.busy = true;
    this.mode = 'density';
    const seq = ++this.setupSeq;
    try {
      const cols = [this.x, this.y, ...(this.color ? [this.color] : [])];
      const r = await this.api().plotRanges({ dataset: this.dataset, columns: cols });
      // columns changed again while the ranges were on their way: a newer setup owns the state
      if (seq !== this.setupSeq) return;
      this.xInfo = r[0]!;
      this.yInfo = r[1]!;
      this.colorInfo = this.color ? r[2]! : null;
      const [x0, x1] = paddedRange(r[0]!.min, r[0]!.max);
      const [y0, y1] = paddedRange(r[1]!.min, r[1]!.max);
      this.home = { x0, x1, y0, y1 };
      this.vp = this.home;
      this.density = null;
      this.points = null;
      this.count = null;
    } catch (e) {
      if (seq !== this.setupSeq) return;
      this.error = (e as Error).message;
      this.busy = false;
    }
  }

  cancel(): void {
    this.ac?.abort();
    this.ac = null;
  }

  /**
   * Fetch what the viewport needs at a grid of `grid` device pixels. Points already held for a
   * viewport containing this one (same columns and filter) are reused without a request.
   */
  async refresh(grid: { width: number; height: number }, where: string): Promise<void> {
    if (!this.x || !this.y || !this.xInfo) return;
    const vp = this.vp;
    const key = this.key(where);
    const p = this.points;
    if (this.mode === 'points' && p && p.key === key && p.res.sent && p.res.count <= this.budget && contains(p.vp, vp)) {
      this.cancel();
      this.busy = false;
      let n = 0;
      const { x, y } = p.res;
      for (let i = 0; i < x.length; i++) if (x[i]! >= vp.x0 && x[i]! < vp.x1 && y[i]! >= vp.y0 && y[i]! < vp.y1) n++;
      this.count = n;
      return;
    }
    this.cancel();
    const ac = new AbortController();
    this.ac = ac;
    const seq = ++this.seq;
    this.busy = true;
    this.error = null;
    const api = this.api();
    const t0 = performance.now();
    const w = where || undefined;
    try {
      const d = await api.density(
        { dataset: this.dataset, x: this.x, y: this.y, ...vp, width: grid.width, height: grid.height, where: w, color: this.colorInfo?.kind === 'category' ? this.color : undefined },
        { signal: ac.signal },
      );
      if (seq !== this.seq) return;
      this.density = { res: d, vp, key };
      this.count = d.binned;
      // points of other columns or another filter are stale: show this density until new points come
      if (this.points && this.points.key !== key) {
        this.points = null;
        this.mode = 'density';
      }
      this.lastMs = performance.now() - t0;
      if (d.binned <= this.budget) {
        // the points need a scan of every row: wait until the view has rested a moment
        if (this.mode !== 'points') await new Promise((r) => setTimeout(r, 150));
        if (seq !== this.seq) return;
        const pts = await api.points(
          // the density's count is exact unless per-value colour passes left out rows without a value
          { dataset: this.dataset, x: this.x, y: this.y, color: this.color || undefined, where: w, viewport: vp, limit: this.budget, ...(d.categories ? {} : { count: d.binned }) },
          { signal: ac.signal },
        );
        if (seq !== this.seq) return;
        this.points = { res: pts, vp, key };
        this.mode = pts.sent ? 'points' : 'density';
      } else {
        this.mode = 'density';
        this.points = null;
      }
      this.lastMs = performance.now() - t0;
    } catch (e) {
      if (seq !== this.seq) return;
      const err = e as { code?: string; message: string };
      if (err.code !== 'E_CANCELLED') this.error = err.message;
    } finally {
      if (seq === this.seq) this.busy = false;
    }
  }

  setViewport(v: Viewport): void {
    if (!vpEqual(v, this.vp)) this.vp = v;
  }
}

export function contains(outer: Viewport, inner: Viewport): boolean {
  return inner.x0 >= outer.x0 && inner.x1 <= outer.x1 && inner.y0 >= outer.y0 && inner.y1 <= outer.y1;
}
