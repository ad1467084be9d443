/**
 * A line (or area) plot's state as a Svelte 5 rune class: the x column (time or number), the y
 * columns or one y split by a category, the visible x range, the y limits (fitted to the visible
 * data unless the user fixes them) and the latest M4 answer (EngineApi.line: per device-pixel
 * column and series the first, last, smallest and largest point) with the range it was made for.
 * A view change cancels the call in flight (`Request`) and asks again after a frame's pause; until
 * the answer comes the previous one is drawn in the new view (its polylines are in data units, so
 * they move with the view at once). Everything drawn or exported comes from `m4Polyline`.
 *
 * The pure parts (default columns, zoom and pan of x, the y fit, the values at a pixel column,
 * the CSV's x text) are functions below, tested in line.test.ts; pictures and the decimated CSV
 * come from shared/plot/linesvg.ts, as `cdx plot --kind line` makes them.
 */
import type { Field } from '../../shared/datashape';
import type { Expr } from '../../shared/expr/ast';
import { MAX_LINE_SERIES, type LineResult, type LineSeries, type PlotColumnInfo } from '../../shared/plot/types';
import { m4Polyline, m4YRange, seriesName, type Polyline } from '../../shared/plot/m4';
import { seriesColor } from '../../shared/plot/linesvg';
import { MS, storedTimeText } from '../../shared/timefmt';
import { nextUp, pan, paddedRange, zoomAt } from '../../shared/plot/viewport';
import { formatAxisValue, type AxisKind } from '../../shared/plot/ticks';
import { plottable } from './plot.svelte';
import { rangeColumn, rangeFilter } from './filters';
import type { DatasetView } from './dataset.svelte';
import { Request } from './request.svelte';

const TIME_TYPES = new Set(['date', 'timestamp']);

/** the default x: the first date/timestamp column, else the first numeric one ('' when none) */
export function defaultX(fields: readonly Field[]): string {
  return (fields.find((f) => TIME_TYPES.has(f.type)) ?? fields.find(plottable))?.name ?? '';
}

/** the default y: the first numeric column that is not x and not a time */
export function defaultY(fields: readonly Field[], x: string): string {
  return (fields.find((f) => f.name !== x && plottable(f) && !TIME_TYPES.has(f.type)) ?? fields.find((f) => f.name !== x && plottable(f)))?.name ?? '';
}

/** columns a line can be split by (text-like; the engine refuses more than MAX_CATEGORIES values) */
export function splittable(f: Field): boolean {
  return f.type === 'string' || f.type === 'bool';
}

/** pixel columns the engine cuts the range into: the plot area's width in device pixels */
export function deviceColumns(cssWidth: number, dpr: number): number {
  return Math.max(1, Math.min(16384, Math.round(cssWidth * dpr)));
}

/** x zoomed by `factor` (> 1 in) about the fraction `fx` of the plot's width from the left */
export function zoomX(r: readonly [number, number], fx: number, factor: number): [number, number] {
  const v = zoomAt({ x0: r[0], x1: r[1], y0: 0, y1: 1 }, fx, 0.5, factor, 'x');
  return [v.x0, v.x1];
}

/** x panned: the data moves right by `dxFrac` of the plot's width (a drag to the right) */
export function panX(r: readonly [number, number], dxFrac: number): [number, number] {
  const v = pan({ x0: r[0], x1: r[1], y0: 0, y1: 1 }, -dxFrac, 0);
  return [v.x0, v.x1];
}

/**
 * y limits fitted to the series' points (m4YRange) with `pad` of the span on each side; a flat
 * line gets a unit (or 1 %) around it; no data: [0, 1].
 */
export function fitY(series: readonly LineSeries[], pad = 0.05): [number, number] {
  const r = m4YRange(series);
  if (!Number.isFinite(r.min)) return [0, 1];
  if (r.max === r.min) return paddedRange(r.min, r.max, pad);
  const d = (r.max - r.min) * pad;
  return [r.min - d, r.max + d];
}

/** the pixel column of x in a result (as the engine cut it: native/src/m4.cc SlotOf); -1 outside */
export function columnOf(res: Pick<LineResult, 'x0' | 'x1' | 'width'>, x: number): number {
  if (!(x >= res.x0 && x < res.x1)) return -1;
  return Math.min(res.width - 1, Math.floor((x - res.x0) * (res.width / (res.x1 - res.x0))));
}

export interface HoverValue {
  name: string;
  color: [number, number, number];
  /** rows in the column (0: no value there) */
  count: number;
  /** the last value (largest x) in the column, its x, and the column's smallest and largest value */
  last: number;
  lastX: number;
  min: number;
  max: number;
}

/** each series' values in pixel column `i` of the result */
export function valuesAt(res: LineResult, i: number): HoverValue[] {
  return res.series.map((s, k) => {
    const n = i >= 0 && i < res.width ? s.count[i]! : 0;
    return {
      name: seriesName(s),
      color: seriesColor(k),
      count: n,
      last: n > 0 ? s.lastY[i]! : NaN,
      lastX: n > 0 ? s.lastX[i]! : NaN,
      min: n > 0 ? s.minY[i]! : NaN,
      max: n > 0 ? s.maxY[i]! : NaN,
    };
  });
}

/** the x of the decimated CSV: stored units as ISO text on a time axis (exact to the stored unit), else the number */
export function csvX(axis: AxisKind): (x: number) => string {
  if (axis.kind !== 'time') return String;
  const k = axis.msPerUnit ?? 1;
  if (k >= MS.day) return (x) => new Date(x * k).toISOString().slice(0, 10);
  return (x) => storedTimeText(x, Math.round(1000 / k)).replace(' ', 'T');
}

/** the text a hover value reads as: the last value, and min–max when they differ */
export function hoverText(v: HoverValue, axis: AxisKind = { kind: 'number' }): string {
  if (!(v.count > 0)) return '—';
  const f = (x: number) => formatAxisValue(x, axis);
  return v.min === v.max ? f(v.last) : `${f(v.last)} (${f(v.min)} – ${f(v.max)})`;
}

export interface LineAnswer {
  res: LineResult;
  /** the request key (columns + filter) */
  key: string;
  /** the polylines to draw (m4Polyline of each series) */
  lines: Polyline[];
}

export { seriesColor };

export class LineState {
  x = $state('');
  ys = $state<string[]>([]);
  split = $state('');
  area = $state(false);
  /** the user's own y limits (null: fitted to the visible data) */
  yFixed = $state.raw<[number, number] | null>(null);
  xInfo = $state.raw<PlotColumnInfo | null>(null);
  home = $state.raw<[number, number]>([0, 1]);
  range = $state.raw<[number, number]>([0, 1]);
  answer = $state.raw<LineAnswer | null>(null);
  /** the visible range to take once x's range is known (a workspace's, restored with a new x), instead of the whole */
  pendingRange: [number, number] | null = null;
  /** requests sent (tests: a zoom asks again) */
  requests = $state(0);
  note = $state<string | null>(null);
  private setupReq = new Request<PlotColumnInfo>();
  private lineReq = new Request<LineResult>();

  /** the request in flight's progress (0..1) when the engine reports it */
  progress = $state<number | null>(null);

  constructor(readonly view: DatasetView) {}

  get busy(): boolean {
    return this.setupReq.busy || this.lineReq.busy;
  }

  get error(): string | null {
    return (this.setupReq.error ?? this.lineReq.error)?.message ?? this.note;
  }

  get axis(): AxisKind {
    const i = this.xInfo;
    return i?.kind === 'time' ? { kind: 'time', msPerUnit: i.msPerUnit } : { kind: 'number' };
  }

  key(where: string): string {
    return JSON.stringify([this.x, this.ys, this.split, where]);
  }

  /** y limits: the user's, or the visible data's (padded) */
  get yRange(): [number, number] {
    return this.yFixed ?? (this.answer ? fitY(this.answer.res.series) : [0, 1]);
  }

  /** x's range -> home and visible range */
  async setup(): Promise<void> {
    const x = this.x;
    if (!x) return;
    this.note = null;
    const r = await this.setupReq.run(async ({ signal }) => (await this.view.engine.api.plotRanges({ dataset: this.view.id, columns: [x] }, { signal }))[0]!);
    if (!r || x !== this.x) return;
    this.xInfo = r;
    // the data's x range edge to edge (the line reaches both sides), its end the next double
    // above the largest x so that the last row is inside [x0, x1)
    this.home = Number.isFinite(r.min) ? (r.max > r.min ? [r.min, nextUp(r.max)] : paddedRange(r.min, r.max, 0.005)) : [0, 1];
    this.range = this.pendingRange ?? this.home;
    this.pendingRange = null;
  }

  /** M4 over the visible range at `width` device-pixel columns, under `where` */
  async refresh(width: number, where: string = this.view.where): Promise<void> {
    const info = this.xInfo;
    const ys = this.ys.filter(Boolean).slice(0, this.split ? 1 : MAX_LINE_SERIES);
    if (!info || info.name !== this.x || !ys.length) return;
    const [x0, x1] = this.range;
    const key = this.key(where);
    const p = { dataset: this.view.id, x: this.x, y: ys, split: this.split || undefined, x0, x1, width, where: where || undefined };
    this.requests++;
    this.progress = null;
    // (the first unfiltered view of a large dataset reads every row — seconds at a billion — and says how far it is)
    const res = await this.lineReq.run(({ signal, current }) => this.view.engine.api.line(p, { signal, onProgress: (q) => { if (current()) this.progress = q.done; } }), { delay: 16 });
    this.progress = null;
    if (res) this.answer = { res, key, lines: res.series.map(m4Polyline) };
  }

  reset(): void {
    this.range = this.home;
  }

  cancel(): void {
    this.setupReq.cancel();
    this.lineReq.cancel();
  }

  /** the filter for a brushed x range [a, b] (stored units) at `resolution` (stored units per pixel) */
  brushFilter(a: number, b: number, resolution: number): Expr | null {
    if (!(b > a)) return null;
    const c = rangeColumn(this.view.overview?.schema.fields, this.x, this.xInfo?.msPerUnit);
    return rangeFilter(c, a, b, resolution);
  }
}
