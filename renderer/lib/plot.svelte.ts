/**
 * One scatter/density plot's state as a Svelte 5 rune class: the columns, the viewport,
 * tone/colour settings, the point budget, and the latest density grid and point set with the
 * viewport each was made for. Every view change cancels the request in flight (`Request`). The
 * density grid comes first (one native pass that also counts the points in view); when the count
 * is within the budget the points follow and replace it. Zooming inside a complete point set
 * needs no request at all.
 *
 * The first image of a plot (new columns, colour or filter), and each view change after an exact
 * density that took long, is asked for as a sample first (DensityParams.sample: SAMPLE_ROWS rows
 * of a larger dataset, tens of milliseconds): drawn at once, said to be a sample, and replaced by
 * the exact counts when they come. A dataset within the budget answers the first call exactly.
 *
 * Zoom stops at a limit (`limitZoom`): a million times the home view, or a few thousand ulps of the
 * values shown, whichever is wider, and out at a thousand times the home view. Points are drawn at
 * a size and opacity adapted to how many overlap on screen (`pointStyle`), so that 200,000 points
 * show their density as shades instead of one opaque blob.
 */
import type { Field } from '../../shared/datashape';
import { DENSITY_SAMPLE_ROWS, type DensityResult, type PlotColumnInfo, type PointsResult } from '../../shared/plot/types';
import { paddedRange, vpEqual, type Viewport } from '../../shared/plot/viewport';
import type { ColormapName } from '../../shared/plot/colormap';
import type { ToneHow } from '../../shared/plot/shade';
import type { AxisKind } from '../../shared/plot/ticks';
import type { DatasetView } from './dataset.svelte';
import { CdxError } from '../../shared/errors';
import { Request } from './request.svelte';

/** rows a quick first image is binned over, on a larger dataset (the exact counts follow) */
export const SAMPLE_ROWS = DENSITY_SAMPLE_ROWS;
/** an exact density slower than this: the next view changes show a sample first too */
export const SLOW_EXACT_MS = 300;

/** the factor that turns a sampled count into an estimate for the whole dataset (1 for exact counts) */
export function sampleScale(d: DensityResult): number {
  return d.sample && d.sample.rows > 0 ? d.sample.of / d.sample.rows : 1;
}

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
  /** points in view passing the filters (from the last exact density pass; null while a sample is shown) */
  count = $state<number | null>(null);
  lastMs = $state<number | null>(null);
  /** a failure beside the view's own calls (an export), until the view changes */
  note = $state<string | null>(null);
  /** size and opacity adapt to the points' overlap (the user's size and opacity are the most they get) */
  autoStyle = $state(true);
  /** the zoom stopped at its limit (said in the status line until the next zoom) */
  zoomNote = $state<string | null>(null);
  /** the viewport the next set-up takes instead of the home view (a workspace's plot settings, an undo) */
  pendingViewport: Viewport | null = null;
  /** new columns were set up: busy until the refresh that follows has an image (tests and the status line wait on this) */
  private awaitingImage = $state(false);
  /** the request key whose last exact density took longer than SLOW_EXACT_MS */
  private slowKey: string | null = null;
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
    this.vp = this.pendingViewport ?? this.home;
    this.pendingViewport = null;
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
    // the density is coloured by a category (per-category counts) or by a number / time (its mean per cell)
    const colorDensity = !!color && !!this.colorInfo;
    const w = where || undefined;
    let t0 = 0;
    const prev = this.density;
    // a sample first: the plot's first image, or its exact counts are slow to come
    const sampleFirst = !prev || prev.key !== key || !!prev.res.sample || this.slowKey === key;
    await this.viewReq.run(
      async ({ signal, current }) => {
        t0 = performance.now();
        const params = { dataset, x, y, ...vp, width: grid.width, height: grid.height, where: w, color: colorDensity ? color : undefined };
        let d: DensityResult | null = null;
        if (sampleFirst) {
          const s = await api.density({ ...params, sample: SAMPLE_ROWS }, { signal });
          if (!current()) return;
          if (s.sample) {
            // drawn at once unless the points of this view are on screen; the exact counts follow
            if (!(this.mode === 'points' && this.points?.key === key)) {
              this.density = { res: s, vp, key };
              this.count = null;
              this.mode = 'density';
              this.awaitingImage = false;
              this.lastMs = performance.now() - t0;
            }
          } else d = s; // within the budget: already exact
        }
        d ??= await api.density(params, { signal });
        if (!current()) return;
        // (the engine's own time: what a sample first would have saved)
        this.slowKey = d.ms > SLOW_EXACT_MS ? key : null;
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
    const colored = !!(this.density?.res.categories || this.density?.res.means);
    // (never a sample: an export is of the exact counts)
    const d = await this.exportReq.run(({ signal }) =>
      this.view.engine.api.density({ dataset: this.view.id, x, y, ...vp, width, height, where: where || undefined, color: colored ? color : undefined }, { signal }),
    );
    if (!d) throw this.exportReq.error ?? CdxError.cancelled('the export');
    return d;
  }

  setViewport(v: Viewport): void {
    const { vp, limited } = limitZoom(v, this.vp, this.home);
    this.zoomNote = limited === 'in' ? 'zoomed in as far as it goes' : limited === 'out' ? 'zoomed out as far as it goes' : null;
    if (!vpEqual(vp, this.vp)) this.vp = vp;
  }

  /**
   * The points' size (css px) and opacity for a plot area `plotW` css px wide: the user's, or
   * smaller where many overlap (`autoStyle`; see `adaptPointStyle`).
   */
  pointStyle(plotW: number): PointStyle {
    const user = { size: this.pointSize, opacity: this.opacity, adapted: false };
    const d = this.density;
    const p = this.points;
    if (!this.autoStyle || !d || !p || !p.res.sent || plotW <= 0) return user;
    // the density grid is at device pixels; the points may be drawn in a view zoomed in since
    const devPerCss = d.res.width / plotW;
    const area = (v: Viewport) => (v.x1 - v.x0) * (v.y1 - v.y0);
    return adaptPointStyle(busiestCells(d.res.counts), devPerCss, area(this.vp) / area(d.vp), this.pointSize, this.opacity);
  }
}

export interface PointStyle {
  size: number;
  opacity: number;
  /** smaller than the user's settings */
  adapted: boolean;
}

const busiest = new WeakMap<Uint32Array, number>();

/** the 90th percentile of the non-empty cells' counts (points per device pixel where there are points) */
export function busiestCells(counts: Uint32Array): number {
  const hit = busiest.get(counts);
  if (hit !== undefined) return hit;
  const CAP = 4096;
  const hist = new Uint32Array(CAP + 1);
  let nonzero = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i]!;
    if (c) {
      hist[c < CAP ? c : CAP]!++;
      nonzero++;
    }
  }
  let v = 0;
  if (nonzero) {
    const want = Math.ceil(nonzero * 0.9);
    for (let k = 1, seen = 0; k <= CAP; k++) {
      seen += hist[k]!;
      if (seen >= want) {
        v = k;
        break;
      }
    }
  }
  busiest.set(counts, v);
  return v;
}

/**
 * Size and opacity for points that overlap: `perPixel` points fall on one device pixel of the
 * busy cells (the 90th percentile of the density grid), `devPerCss` device pixels per css px,
 * `zoom` the view's area over the density grid's (a view zoomed in spreads the points). A point
 * `size` css px wide covers (size·devPerCss)² device pixels, so k = perPixel·(size·devPerCss)²
 * points overlap on a busy pixel. Where k is large the size shrinks first (to 1 css px), then the
 * opacity is set so that k overlapping points reach 90 % coverage, 1 - (1 - a)^k = 0.9 — busy
 * regions stay a shade short of opaque, so their own structure shows, and lone points stay
 * visible (opacity at least 0.04). The user's size and opacity are the most used.
 */
export function adaptPointStyle(perPixel: number, devPerCss: number, zoom: number, size: number, opacity: number): PointStyle {
  const density = perPixel * Math.min(1, zoom);
  const overlap = (s: number) => density * (s * devPerCss) ** 2;
  let s = size;
  if (overlap(s) > 4) s = Math.max(1, Math.min(size, size / Math.sqrt(overlap(size) / 4)));
  const k = overlap(s);
  const a = k > 1 ? Math.max(0.04, Math.min(opacity, 1 - Math.pow(0.1, 1 / k))) : opacity;
  return { size: s, opacity: a, adapted: s < size || a < opacity };
}

/** the zoom limits: in to a million times the home view (or a few thousand ulps of the values shown), out to a thousand times */
export const MAX_ZOOM_IN = 1e6;
export const MAX_ZOOM_OUT = 1e3;

/**
 * `next` kept within the zoom limits relative to `home`; an axis past a limit is held at the limit
 * about the point the zoom keeps fixed (so the cursor's data stays under it). `limited` says which
 * limit stopped it.
 */
export function limitZoom(next: Viewport, prev: Viewport, home: Viewport): { vp: Viewport; limited: 'in' | 'out' | null } {
  const out = { ...next };
  let limited: 'in' | 'out' | null = null;
  for (const [a, b] of [['x0', 'x1'], ['y0', 'y1']] as const) {
    const span = next[b] - next[a], prevSpan = prev[b] - prev[a], homeSpan = home[b] - home[a];
    if (!(homeSpan > 0) || !(span > 0)) continue;
    const ulps = Math.max(Math.abs(next[a]), Math.abs(next[b])) * Number.EPSILON * 4096;
    const min = Math.max(homeSpan / MAX_ZOOM_IN, ulps), max = homeSpan * MAX_ZOOM_OUT;
    const target = span < min ? min : span > max ? max : span;
    if (target === span) continue;
    limited = span < min ? 'in' : 'out';
    // the fixed point of the zoom from prev to next: c with (c - p0)/prevSpan = (c - n0)/span
    const c = prevSpan !== span ? (next[a] * prevSpan - prev[a] * span) / (prevSpan - span) : (next[a] + next[b]) / 2;
    const f = Number.isFinite(c) && prevSpan > 0 ? (c - prev[a]) / prevSpan : 0.5;
    out[a] = c - f * target;
    out[b] = out[a] + target;
  }
  return { vp: out, limited };
}

export function contains(outer: Viewport, inner: Viewport): boolean {
  return inner.x0 >= outer.x0 && inner.x1 <= outer.x1 && inner.y0 >= outer.y0 && inner.y1 <= outer.y1;
}
