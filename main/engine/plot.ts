/**
 * The engine's plot handlers: density grids (the native 2-D binning over the viewport at the
 * screen's resolution, with per-category counts for a dictionary-encoded colour column, or the
 * mean of a numeric / date-time colour column per cell — the kernel's agg 'mean'), the
 * points themselves when the viewport holds at most the point budget (counted first with a 1x1
 * bin2d; then the first `count` row ids passing "x in view and y in view and the filter", found
 * by the native filter in one parallel pass, and x, y, colour gathered at those rows), and each column's range for
 * default limits. Pure Node; delegated to by service.ts.
 *
 * A density may be asked for over a sample (`sample`, a row budget): on a dataset above it the
 * kernels read only evenly spaced blocks of rows (sampleRanges) — columns and filter cut to those
 * rows — for a first image in tens of milliseconds, which the caller replaces with the exact
 * counts when they come.
 *
 * Each handler gets the user's filter as an expression (`where`, parsed) and combines it with what
 * the view adds — the viewport, a colour value — as expressions, compiling each combination once
 * (main/engine/filter.ts); compiled filters are opaque here.
 */
import type { Vector } from 'apache-arrow';
import { bin2d, hist1d, readRows, summary, type ColumnDesc } from '../../native/index';
import { pruneRows, sliceRows, zoneRange, type RowRange } from '../../native/zones';
import { filteredRowIds, takeRows } from '../../native/select';
import type { Expr } from '../../shared/expr/ast';
import type { HandlerContext } from '../../shared/rpc';
import { CdxError } from '../../shared/errors';
import { andAll, compileFilter, compileFor, datasetColumns, equals, inRange, type CompiledFilter } from './filter';
import {
  MAX_CATEGORIES, type HistogramParams, type HistogramResult, type DensityParams, type DensityResult, type PlotColumnInfo, type PlotRangesParams, type PointsParams, type PointsResult,
} from '../../shared/plot/types';
import type { OpenedDataset } from './datasets';
import { columnZones, knownZones, zoneHome } from './zones';
import { spatialFor } from './spatial';

const MS_PER: Record<string, number> = { day: 86_400_000, s: 1000, ms: 1, us: 1e-3, ns: 1e-6 };

export function numericColumn(ds: OpenedDataset, name: string, role: string): ColumnDesc {
  const c = ds.columns.get(name);
  if (!c) throw new CdxError('E_UNKNOWN_COLUMN', `${ds.location}: no column "${name}"${ds.unsupported.has(name) ? ` (${ds.unsupported.get(name)})` : ''}`, { file: ds.location, column: name });
  if (c.kind !== 'numeric' || c.logical?.type === 'bool8') throw new CdxError('E_BAD_TYPE', `${ds.location}: column "${name}" (${role}) is not numeric or date/time`, { file: ds.location, column: name });
  return c;
}

function columnKind(c: ColumnDesc): PlotColumnInfo['kind'] {
  if (c.kind === 'dict' || c.kind === 'utf8' || c.kind === 'large_utf8' || c.kind === 'bool' || c.logical?.type === 'bool8') return 'category';
  if (c.logical) return 'time';
  return 'number';
}

const labelCache = new WeakMap<ColumnDesc, string[]>();

/** dictionary labels of a dict column (null when too many to colour by) */
export async function categoryLabels(c: ColumnDesc, signal?: AbortSignal): Promise<string[] | null> {
  if (c.kind !== 'dict' || !c.dictionary) return null;
  const hit = labelCache.get(c);
  if (hit) return hit.length <= MAX_CATEGORIES ? hit : null;
  const n = c.dictionary.chunks.reduce((s, k) => s + k.rows, 0);
  if (n > MAX_CATEGORIES) {
    labelCache.set(c, new Array(n));
    return null;
  }
  const t = await readRows([c.dictionary], 0, n, { signal });
  const v = t.getChildAt(0)!;
  const labels = Array.from({ length: n }, (_, i) => String(v.get(i)));
  labelCache.set(c, labels);
  return labels;
}

/** string and bool colour columns: their values, when few enough to blend (from the native top-k) */
const valueCache = new WeakMap<ColumnDesc, { labels: string[]; values: (string | boolean)[] } | null>();

export async function valueCategories(c: ColumnDesc, signal?: AbortSignal): Promise<{ labels: string[]; values: (string | boolean)[] } | null> {
  if (c.kind === 'bool' || c.logical?.type === 'bool8') return { labels: ['false', 'true'], values: [false, true] };
  if (c.kind !== 'utf8' && c.kind !== 'large_utf8') return null;
  if (valueCache.has(c)) return valueCache.get(c)!;
  const s = await summary(c, { bins: 0, topk: MAX_CATEGORIES + 1, signal });
  const top = s.topk ?? [];
  const r = !s.topkApproximate && s.distinct <= MAX_CATEGORIES && top.length <= MAX_CATEGORIES && top.length > 0
    ? { labels: top.map((t) => String(t.value)), values: top.map((t) => String(t.value)) }
    : null;
  valueCache.set(c, r);
  return r;
}

/** the user's filter AND colour = value, compiled for the kernels (over the sample's rows when sampling) */
function valueFilter(ds: OpenedDataset, where: Expr | undefined, column: string, value: string | boolean, smp: Sample | null): CompiledFilter {
  const e = andAll([where, equals(column, value)]);
  return smp ? smp.filter(e)! : compileFor(ds, e)!;
}

export function unknownColumn(ds: OpenedDataset, name: string): CdxError {
  return new CdxError('E_UNKNOWN_COLUMN', `${ds.location}: no column "${name}"`, { file: ds.location, column: name });
}

// ---------------------------------------------------------------------------------------------

export async function plotRanges(ds: OpenedDataset, p: PlotRangesParams, signal?: AbortSignal): Promise<PlotColumnInfo[]> {
  const out: PlotColumnInfo[] = [];
  for (const name of p.columns) {
    const c = ds.columns.get(name);
    if (!c) throw unknownColumn(ds, name);
    const kind = columnKind(c);
    const info: PlotColumnInfo = { name, kind, min: NaN, max: NaN };
    if (kind === 'time') info.msPerUnit = MS_PER[(c.logical as { unit: string }).unit] ?? 1;
    if (kind !== 'category' && p.noRange?.includes(name)) {
      // the caller has the limits: no pass over the data for them
      out.push(info);
      continue;
    }
    if (kind === 'category') {
      const labels = c.kind === 'dict' ? await categoryLabels(c, signal) : (await valueCategories(c, signal))?.labels ?? null;
      if (labels) info.categories = labels;
      info.min = 0;
      info.max = Math.max(0, (labels?.length ?? 1) - 1);
    } else if (c.kind === 'numeric') {
      // from the column's zone maps: known ones cost nothing, else one pass at read bandwidth (kept)
      // (of the finite values: a stray infinity would make the default view useless)
      const z = await columnZones(zoneHome(ds), c, signal);
      const f = zoneRange(z, true), r = f.min <= f.max ? f : zoneRange(z);
      if (r.min <= r.max) [info.min, info.max] = finiteRange(r.min, r.max);
    }
    out.push(info);
  }
  return out;
}

function finiteRange(min: number, max: number): [number, number] {
  // infinities would make useless limits: fall back to the largest finite doubles
  return [Number.isFinite(min) ? min : -Number.MAX_VALUE, Number.isFinite(max) ? max : Number.MAX_VALUE];
}

/**
 * The row ranges of x and y that can hold a point of the viewport, from their zone maps when known
 * (null when they are not, or when no block can be skipped).
 */
function viewRows(ds: OpenedDataset, x: ColumnDesc, y: ColumnDesc, v: { x0: number; x1: number; y0: number; y1: number }): ReturnType<typeof pruneRows> | null {
  const zx = knownZones(zoneHome(ds), x), zy = knownZones(zoneHome(ds), y);
  if (!zx || !zy) return null;
  return nonEmpty(pruneRows(zx, zy, v.x0, v.x1, v.y0, v.y1));
}

function nonEmpty(cut: ReturnType<typeof pruneRows>): ReturnType<typeof pruneRows> | null {
  return cut.skipped > 0 ? cut : null;
}

// ---------------------------------------------------------------------------------------------
// Samples: a quick first image of a large dataset (DensityParams.sample)

/**
 * rows per block of a density sample: small enough that a file written in some order is seen in
 * many places (245 blocks for 4M rows), large enough to be read at full bandwidth (64 KB of a float32)
 */
export const SAMPLE_BLOCK_ROWS = 16_384;

/**
 * The rows a density sample of `budget` rows reads out of `rows`: k = ceil(budget / block) blocks
 * of b = floor(budget / k) consecutive rows, block i (0 <= i < k) starting at row
 * floor(i * (rows - b) / (k - 1)) — the first at row 0, the last ending at the last row, so a
 * dataset written in some order (by time, by x) is covered end to end; one block (k = 1) starts at
 * floor((rows - b) / 2). Null when the dataset has at most `budget` rows (exact counts instead).
 */
export function sampleRanges(rows: number, budget: number, block = SAMPLE_BLOCK_ROWS): RowRange[] | null {
  if (rows <= budget) return null;
  const k = Math.ceil(budget / block), b = Math.floor(budget / k);
  if (k === 1) {
    const s = Math.floor((rows - b) / 2);
    return [[s, s + b]];
  }
  const out: RowRange[] = [];
  for (let i = 0; i < k; i++) {
    const s = Math.floor((i * (rows - b)) / (k - 1));
    out.push([s, s + b]);
  }
  return out;
}

/**
 * The sample budget of a request: DensityParams.sample, replaced by CDX_DENSITY_SAMPLE_ROWS when
 * that is set (tests and tuning: a small dataset sampled); null without a `sample`.
 */
function sampleBudget(p: DensityParams, ds: OpenedDataset): number | null {
  if (p.sample === undefined || p.sample === null) return null;
  if (!(typeof p.sample === 'number' && p.sample >= 1 && Number.isFinite(p.sample))) throw new CdxError('E_BAD_ARG', `${ds.location}: sample ${String(p.sample)}: must be a number of rows, at least 1`, { file: ds.location });
  const env = Number(process.env.CDX_DENSITY_SAMPLE_ROWS);
  return Math.floor(Number.isFinite(env) && env >= 1 ? env : p.sample);
}

/** A density's sample: the rows read, and the dataset's columns and filters cut to them. */
interface Sample {
  ranges: RowRange[];
  rows: number;
  budget: number;
  /** the column over the sample's rows */
  col(c: ColumnDesc): ColumnDesc;
  /** an expression compiled over the sample's rows */
  filter(e: Expr | undefined): CompiledFilter | undefined;
}

/** a column this sample cannot cut (a bool column: its values are bits) */
export class Unsliceable extends Error {}

/** A column cut to row ranges (zones.ts sliceRows); a bool column cannot be (Unsliceable). */
export function sliceAny(c: ColumnDesc, ranges: RowRange[]): ColumnDesc {
  if (c.kind === 'bool' || c.computed?.preds.length) throw new Unsliceable(c.name);
  return sliceRows(c, ranges);
}

/**
 * The sample a request asks for, or null: no `sample`, a dataset within the budget, or a filter
 * on a column the sample cannot cut (then the counts are exact).
 */
function sampling(ds: OpenedDataset, p: DensityParams, where: Expr | undefined): Sample | null {
  const budget = sampleBudget(p, ds);
  const ranges = budget === null ? null : sampleRanges(ds.rows, budget);
  if (!ranges) return null;
  const cut = new Map<ColumnDesc, ColumnDesc>();
  const col = (c: ColumnDesc): ColumnDesc => {
    let s = cut.get(c);
    if (!s) cut.set(c, (s = sliceAny(c, ranges)));
    return s;
  };
  const resolve = datasetColumns(ds);
  const smp: Sample = {
    ranges,
    rows: ranges.reduce((n, [a, b]) => n + b - a, 0),
    budget: budget!,
    col,
    // the filter's columns are cut like the kernel's: the native plan reads them row for row
    filter: (e) => (e ? compileFilter(e, (name) => col(resolve(name))) : undefined),
  };
  try {
    smp.filter(where);
    if (p.color && ds.columns.has(p.color)) col(ds.columns.get(p.color)!);
  } catch (e) {
    if (e instanceof Unsliceable) return null;
    throw e;
  }
  return smp;
}

// ---------------------------------------------------------------------------------------------

/** Density over the viewport; `where` is the user's filter (parsed). */
export async function density(ds: OpenedDataset, p: DensityParams, where: Expr | undefined, ctx?: Pick<HandlerContext, 'signal' | 'progress'>): Promise<DensityResult> {
  const t0 = performance.now();
  const xAll = numericColumn(ds, p.x, 'x');
  const yAll = numericColumn(ds, p.y, 'y');
  const W = Math.trunc(p.width), H = Math.trunc(p.height);
  if (!(W >= 1 && W <= 4096 && H >= 1 && H <= 4096)) throw new CdxError('E_BAD_ARG', `grid ${p.width}x${p.height}: each side must be 1..4096`);
  if (!(p.x1 > p.x0) || !(p.y1 > p.y0)) throw new CdxError('E_BAD_ARG', `empty viewport [${p.x0}, ${p.x1}) x [${p.y0}, ${p.y1})`);
  // a sample (DensityParams.sample) of a large dataset: every column and filter cut to its rows;
  // not where the view's zone maps leave fewer rows to read than the sample has (a zoomed view)
  let smp = sampling(ds, p, where);
  if (smp && !where && !p.color) {
    const cut = viewRows(ds, xAll, yAll, p);
    if (cut && ds.rows - cut.skipped <= smp.budget) smp = null;
  }
  const filter = smp ? smp.filter(where) : compileFor(ds, where);
  const x = smp ? smp.col(xAll) : xAll, y = smp ? smp.col(yAll) : yAll;
  const sample = smp ? { sample: { rows: smp.rows, of: ds.rows } } : {};
  let category: ColumnDesc | undefined, labels: string[] | null = null, note: string | undefined;
  if (p.color) {
    const c = ds.columns.get(p.color);
    if (!c) throw unknownColumn(ds, p.color);
    if (c.kind === 'numeric' && c.logical?.type !== 'bool8') {
      // a numeric (or date/time) colour: each cell coloured by the mean of the column over its rows,
      // one binning pass with the value column (cells whose rows have no value: NaN)
      const r = await bin2d(
        { x, y, x0: p.x0, x1: p.x1, y0: p.y0, y1: p.y1, width: W, height: H, value: smp ? smp.col(c) : c, agg: 'mean' },
        { filter, signal: ctx?.signal, onProgress: ctx ? (q: { fraction: number }) => ctx.progress({ done: q.fraction }) : undefined },
      );
      return {
        x0: p.x0, x1: p.x1, y0: p.y0, y1: p.y1, counts: r.counts, width: W, height: H,
        means: r.means!, meanOf: p.color,
        rows: r.rows, binned: r.binned, outside: r.outside, nan: r.nan, filtered: r.filtered, ms: performance.now() - t0,
        note: `coloured by the mean of "${p.color}" per cell`,
        ...sample,
      };
    }
    labels = await categoryLabels(c, ctx?.signal);
    if (labels && labels.length * W * H <= 64 * 1024 * 1024) category = c;
    else if (c.kind !== 'dict') {
      // strings / bools without a dictionary: one filtered binning pass per value (few values, bounded work)
      const vc = await valueCategories(c, ctx?.signal);
      if (vc && vc.labels.length * W * H <= 64 * 1024 * 1024 && vc.labels.length * (smp ? smp.rows : ds.rows) <= 4e9) {
        const n = W * H, K = vc.labels.length;
        const categoryCounts = new Uint32Array(K * n), counts = new Uint32Array(n);
        let binned = 0, rows = 0, outside = 0, nan = 0;
        for (let k = 0; k < K; k++) {
          const r = await bin2d({ x, y, x0: p.x0, x1: p.x1, y0: p.y0, y1: p.y1, width: W, height: H }, { filter: valueFilter(ds, where, p.color, vc.values[k]!, smp), signal: ctx?.signal });
          categoryCounts.set(r.counts, k * n);
          for (let i = 0; i < n; i++) counts[i]! += r.counts[i]!;
          binned += r.binned;
          outside += r.outside;
          nan += r.nan;
          rows = r.rows;
          ctx?.progress({ done: (k + 1) / K });
        }
        return {
          x0: p.x0, x1: p.x1, y0: p.y0, y1: p.y1, counts, width: W, height: H, categoryCounts, categories: vc.labels,
          rows, binned, outside, nan, filtered: rows - binned - outside - nan, ms: performance.now() - t0,
          note: `coloured by the ${K} values of "${p.color}" (rows without a value are not drawn)`,
          ...sample,
        };
      }
      note = `"${p.color}" has more than ${MAX_CATEGORIES} values to blend: density shows counts`;
    } else note = `"${p.color}" has too many categories to blend (more than ${MAX_CATEGORIES}); showing counts`;
  }
  const opts = { filter, signal: ctx?.signal, onProgress: ctx ? (q: { fraction: number }) => ctx.progress({ done: q.fraction }) : undefined };
  // Without a filter only the row blocks that can hold a point of the view are read: of the pair's
  // spatially ordered copy when it is built (counts only; it is started here on a large dataset),
  // else of the columns themselves when their zone maps are known.
  // (A sample reads its own rows: none of this.)
  const spatial = filter || category || smp ? null : await spatialFor(ds, x, y);
  const copyCut = spatial ? nonEmpty(pruneRows(spatial.zx, spatial.zy, p.x0, p.x1, p.y0, p.y1)) : null;
  // the copy only where it skips something: a view of everything reads the same rows either way, and
  // measured at 1e9 the file's own order was faster (1.36 s against 1.80 s: the copy, just written,
  // competes for the page cache; Z-ordered binning itself is at most ~10% slower at 200M)
  const copy = copyCut ? spatial : null;
  const cut = filter || smp ? null : copyCut ?? viewRows(ds, x, y, p);
  const only = (c: ColumnDesc) => (cut ? sliceRows(c, cut.keep) : c);
  const spec = { x: only(copy?.x ?? x), y: only(copy?.y ?? y), x0: p.x0, x1: p.x1, y0: p.y0, y1: p.y1, width: W, height: H };
  const r = category ? await bin2d({ ...spec, category: only(smp ? smp.col(category) : category), categories: labels!.length }, opts) : await bin2d(spec, opts);
  const scanned = r.rows;
  if (cut) {
    // the blocks left out hold only rows outside the view
    r.rows += cut.skipped;
    r.outside += cut.skipped;
  }
  let counts = r.counts, categoryCounts: Uint32Array | undefined;
  let binned = r.binned;
  if (category) {
    categoryCounts = r.counts;
    counts = new Uint32Array(W * H);
    const K = labels!.length, n = W * H;
    for (let k = 0; k < K; k++) for (let i = 0, o = k * n; i < n; i++) counts[i]! += categoryCounts[o + i]!;
    // rows whose category is null still count in the density (binned includes them)
    if (r.uncategorized) note = `${r.uncategorized.toLocaleString('en-US')} rows without a "${p.color}" value are not drawn`;
    binned = r.binned;
  }
  return {
    x0: p.x0, x1: p.x1, y0: p.y0, y1: p.y1,
    counts, width: W, height: H,
    ...(categoryCounts ? { categoryCounts, categories: labels! } : {}),
    rows: r.rows, binned, outside: r.outside, nan: r.nan, filtered: r.filtered,
    ...(cut ? { scanned } : {}),
    ms: performance.now() - t0,
    ...(note ? { note } : {}),
    ...sample,
  };
}

// ---------------------------------------------------------------------------------------------
// Points: the rows in the viewport (and the filter), found and gathered by the native kernels

/** The points in the viewport that pass `where` (the user's filter, parsed), when at most p.limit. */
export async function points(
  ds: OpenedDataset,
  p: PointsParams,
  where: Expr | undefined,
  ctx?: Pick<HandlerContext, 'signal' | 'progress'>,
): Promise<PointsResult> {
  const t0 = performance.now();
  const x = numericColumn(ds, p.x, 'x');
  const y = numericColumn(ds, p.y, 'y');
  const vp = p.viewport;
  const signal = ctx?.signal;
  // the points' filter: "x in view and y in view and the user's filter", one expression compiled once
  const inView = compileFor(ds, andAll([inRange(p.x, vp.x0, vp.x1), inRange(p.y, vp.y0, vp.y1), where]))!;
  // count first (one native pass, the binning's own viewport test): no points are read when the
  // viewport holds more than the budget
  const count = p.count !== undefined && Number.isInteger(p.count) && p.count >= 0
    ? p.count
    : (await bin2d({ x, y, x0: vp.x0, x1: vp.x1, y0: vp.y0, y1: vp.y1, width: 1, height: 1 }, { filter: compileFor(ds, where), signal })).binned;
  const empty = { x: new Float64Array(0), y: new Float64Array(0), ids: new Float64Array(0) };
  if (count > p.limit) return { count, sent: false, ...empty, ms: performance.now() - t0 };
  let colorCol: ColumnDesc | undefined, stringCol: ColumnDesc | undefined, categories: string[] | undefined;
  if (p.color) {
    const c = ds.columns.get(p.color);
    if (!c) throw unknownColumn(ds, p.color);
    if (c.kind === 'dict') {
      colorCol = c;
      categories = (await categoryLabels(c, signal)) ?? undefined;
    } else if (c.kind === 'numeric' && c.logical?.type !== 'bool8') colorCol = c;
    else {
      // strings and bools: codes by first appearance (the density's order when it has the values)
      stringCol = c;
      const vc = await valueCategories(c, signal).catch(() => null);
      categories = vc ? [...vc.labels] : [];
    }
  }
  const codeOf = new Map<string, number>((categories ?? []).map((l, k) => [l, k]));
  const code = (v: unknown): number => {
    const key = v === null || v === undefined ? 'null' : String(v);
    let k = codeOf.get(key);
    if (k === undefined) {
      if (categories!.length >= MAX_CATEGORIES) k = codeOf.get('(other)') ?? (categories!.push('(other)'), codeOf.set('(other)', categories!.length - 1), categories!.length - 1);
      else {
        categories!.push(key);
        codeOf.set(key, (k = categories!.length - 1));
      }
    }
    return k;
  };
  // the points: one native pass over the viewport predicate (and the filter) for the first `count`
  // passing row ids in row order, then a native gather of x, y and the colour at those rows
  const ids = count === 0 ? new Float64Array(0) : await filteredRowIds(inView, {
    limit: count,
    rows: ds.rows,
    signal,
    onProgress: ctx?.progress ? (q) => ctx.progress({ done: q.fraction }) : undefined,
  });
  // a dictionary column's indices are gathered as the numbers they are (takeRows decodes dict to text)
  const extra = colorCol?.kind === 'dict' ? { ...colorCol, kind: 'numeric' as const, dictionary: undefined } : (colorCol ?? stringCol);
  const t = ids.length ? await takeRows(extra ? [x, y, extra] : [x, y], ids, { signal }) : null;
  const m = ids.length;
  const ox = t ? storedNumbers(t.getChildAt(0)!, m) : new Float64Array(0);
  const oy = t ? storedNumbers(t.getChildAt(1)!, m) : new Float64Array(0);
  let oc: Float64Array | undefined;
  if (t && colorCol) oc = storedNumbers(t.getChildAt(2)!, m);
  else if (stringCol) {
    oc = new Float64Array(m);
    const v = t?.getChildAt(2);
    for (let i = 0; i < m; i++) oc[i] = code(v!.get(i));
  }
  return {
    count: m,
    sent: true,
    x: ox, y: oy, ids,
    ...(oc ? { color: oc } : {}),
    ...(categories ? { categories } : {}),
    ms: performance.now() - t0,
  };
}

/**
 * A gathered column's values in storage units, as the kernels see them (raw timestamp / date
 * units, dictionary indices), float64; null -> NaN.
 */
function storedNumbers(v: Vector, n: number): Float64Array {
  const out = new Float64Array(n);
  let k = 0;
  for (const d of v.data) {
    const vals = d.values as ArrayLike<number | bigint>;
    const st = d.stride;
    for (let i = 0; i < d.length; i++, k++) {
      if (!d.getValid(i)) {
        out[k] = NaN;
        continue;
      }
      const raw = vals[(d.offset + i) * st]!;
      out[k] = typeof raw === 'bigint' ? Number(raw) : raw;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

/** A column's histogram over [lo, hi) (the native 1-D binning; brushing selects whole bins). */
export async function histogram(ds: OpenedDataset, p: HistogramParams, where: Expr | undefined, signal?: AbortSignal): Promise<HistogramResult> {
  const t0 = performance.now();
  const filter = compileFor(ds, where);
  const c = numericColumn(ds, p.column, 'histogram');
  const bins = Math.trunc(p.bins);
  if (!(bins >= 1 && bins <= 65536)) throw new CdxError('E_BAD_ARG', `bins ${p.bins}: must be 1..65536`);
  if (!(p.hi > p.lo)) throw new CdxError('E_BAD_ARG', `empty range [${p.lo}, ${p.hi})`);
  const r = await hist1d(c, { lo: p.lo, hi: p.hi, bins }, { filter, signal });
  return { counts: r.counts, lo: p.lo, hi: p.hi, bins, rows: r.rows, binned: r.binned, ms: performance.now() - t0 };
}
