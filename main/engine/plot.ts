/**
 * The engine's plot handlers: density grids (the native 2-D binning over the viewport at the
 * screen's resolution, with per-category counts for a dictionary-encoded colour column), the
 * points themselves when the viewport holds at most the point budget (counted first with a 1x1
 * bin2d, then read straight from the mapped file's byte ranges), and each column's range for
 * default limits. Pure Node; delegated to by service.ts.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { bin2d, compileFilter, hist1d, readRows, regionStats, summary, type ColumnDesc, type CompiledFilter, DTYPE_BYTES } from '../../native/index';
import type { Expr, Literal } from '../../shared/expr/ast';
import type { HandlerContext } from '../../shared/rpc';
import { parseExpr } from '../../shared/expr/parse';
import { evalExprOnRow } from '../../shared/expr/bind';
import { columnsOf } from '../../shared/expr/bind';
import {
  MAX_CATEGORIES, type HistogramParams, type HistogramResult, type DensityParams, type DensityResult, type PlotColumnInfo, type PlotRangesParams, type PointsParams, type PointsResult,
} from '../../shared/plot/types';
import type { OpenedDataset } from './datasets';

export class PlotError extends Error {
  constructor(
    public code: string,
    message: string,
  ) {
    super(message);
  }
}

const MS_PER: Record<string, number> = { day: 86_400_000, s: 1000, ms: 1, us: 1e-3, ns: 1e-6 };

function numericColumn(ds: OpenedDataset, name: string, role: string): ColumnDesc {
  const c = ds.columns.get(name);
  if (!c) throw new PlotError('E_BAD_COLUMN', `${ds.location}: no column "${name}"${ds.unsupported.has(name) ? ` (${ds.unsupported.get(name)})` : ''}`);
  if (c.kind !== 'numeric' || c.logical?.type === 'bool8') throw new PlotError('E_BAD_TYPE', `${ds.location}: column "${name}" (${role}) is not numeric or date/time`);
  return c;
}

function columnKind(c: ColumnDesc): PlotColumnInfo['kind'] {
  if (c.kind === 'dict' || c.kind === 'utf8' || c.kind === 'large_utf8' || c.kind === 'bool' || c.logical?.type === 'bool8') return 'category';
  if (c.logical) return 'time';
  return 'number';
}

const labelCache = new WeakMap<ColumnDesc, string[]>();

/** dictionary labels of a dict column (null when too many to colour by) */
async function categoryLabels(c: ColumnDesc, signal?: AbortSignal): Promise<string[] | null> {
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

async function valueCategories(c: ColumnDesc, signal?: AbortSignal): Promise<{ labels: string[]; values: (string | boolean)[] } | null> {
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

/** the user's filter AND colour = value, compiled for the kernels */
function valueFilter(ds: OpenedDataset, where: string | undefined, column: string, value: string | boolean): CompiledFilter {
  const eq: Expr = { kind: 'cmp', op: '=', left: { kind: 'col', name: column }, right: (typeof value === 'string' ? { kind: 'lit', value } : { kind: 'lit', value }) as Literal };
  const expr: Expr = where?.trim() ? { kind: 'and', args: [parseExpr(where), eq] } : eq;
  return compileFilter(expr, (n) => ds.columns.get(n));
}

// ---------------------------------------------------------------------------------------------

export async function plotRanges(ds: OpenedDataset, p: PlotRangesParams, signal?: AbortSignal): Promise<PlotColumnInfo[]> {
  const out: PlotColumnInfo[] = [];
  for (const name of p.columns) {
    const c = ds.columns.get(name);
    if (!c) throw new PlotError('E_BAD_COLUMN', `${ds.location}: no column "${name}"`);
    const kind = columnKind(c);
    const info: PlotColumnInfo = { name, kind, min: NaN, max: NaN };
    if (kind === 'time') info.msPerUnit = MS_PER[(c.logical as { unit: string }).unit] ?? 1;
    if (kind === 'category') {
      const labels = c.kind === 'dict' ? await categoryLabels(c, signal) : (await valueCategories(c, signal))?.labels ?? null;
      if (labels) info.categories = labels;
      info.min = 0;
      info.max = Math.max(0, (labels?.length ?? 1) - 1);
    } else if (c.kind === 'numeric' && c.chunks.every((k) => k.nullCount === 0 || !k.validity)) {
      let min = Infinity, max = -Infinity;
      for (const k of c.chunks) {
        if (!k.rows) continue;
        const s = await regionStats(c.file, { offset: k.data.offset, count: k.rows, dtype: c.dtype!, littleEndian: c.littleEndian }, { signal });
        if (s.min < min) min = s.min;
        if (s.max > max) max = s.max;
      }
      if (min <= max) [info.min, info.max] = finiteRange(min, max);
    } else if (c.kind === 'numeric') {
      const s = await summary(c, { bins: 0, topk: 0, signal });
      if (s.min !== undefined && s.max !== undefined && s.min <= s.max) [info.min, info.max] = finiteRange(s.min, s.max);
    }
    out.push(info);
  }
  return out;
}

function finiteRange(min: number, max: number): [number, number] {
  // infinities would make useless limits: fall back to the largest finite doubles
  return [Number.isFinite(min) ? min : -Number.MAX_VALUE, Number.isFinite(max) ? max : Number.MAX_VALUE];
}

// ---------------------------------------------------------------------------------------------

export async function density(ds: OpenedDataset, p: DensityParams, filter: CompiledFilter | undefined, ctx?: Pick<HandlerContext, 'signal' | 'progress'>): Promise<DensityResult> {
  const t0 = performance.now();
  const x = numericColumn(ds, p.x, 'x');
  const y = numericColumn(ds, p.y, 'y');
  const W = Math.trunc(p.width), H = Math.trunc(p.height);
  if (!(W >= 1 && W <= 4096 && H >= 1 && H <= 4096)) throw new PlotError('E_BAD_ARG', `grid ${p.width}x${p.height}: each side must be 1..4096`);
  if (!(p.x1 > p.x0) || !(p.y1 > p.y0)) throw new PlotError('E_BAD_ARG', `empty viewport [${p.x0}, ${p.x1}) x [${p.y0}, ${p.y1})`);
  let category: ColumnDesc | undefined, labels: string[] | null = null, note: string | undefined;
  if (p.color) {
    const c = ds.columns.get(p.color);
    if (!c) throw new PlotError('E_BAD_COLUMN', `${ds.location}: no column "${p.color}"`);
    labels = await categoryLabels(c, ctx?.signal);
    if (labels && labels.length * W * H <= 64 * 1024 * 1024) category = c;
    else if (c.kind !== 'dict') {
      // strings / bools without a dictionary: one filtered binning pass per value (few values, bounded work)
      const vc = await valueCategories(c, ctx?.signal);
      if (vc && vc.labels.length * W * H <= 64 * 1024 * 1024 && vc.labels.length * ds.rows <= 4e9) {
        const n = W * H, K = vc.labels.length;
        const categoryCounts = new Uint32Array(K * n), counts = new Uint32Array(n);
        let binned = 0, rows = 0, outside = 0, nan = 0;
        for (let k = 0; k < K; k++) {
          const r = await bin2d({ x, y, x0: p.x0, x1: p.x1, y0: p.y0, y1: p.y1, width: W, height: H }, { filter: valueFilter(ds, p.where, p.color, vc.values[k]!), signal: ctx?.signal });
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
        };
      }
      note = `"${p.color}" is not categorical (or has more than ${MAX_CATEGORIES} values): density shows counts${c.kind === 'numeric' ? ' (points mode colours by value)' : ''}`;
    } else note = `"${p.color}" has too many categories to blend (more than ${MAX_CATEGORIES}); showing counts`;
  }
  const opts = { filter, signal: ctx?.signal, onProgress: ctx ? (q: { fraction: number }) => ctx.progress({ done: q.fraction }) : undefined };
  const spec = { x, y, x0: p.x0, x1: p.x1, y0: p.y0, y1: p.y1, width: W, height: H };
  const r = category ? await bin2d({ ...spec, category, categories: labels!.length }, opts) : await bin2d(spec, opts);
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
    ms: performance.now() - t0,
    ...(note ? { note } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// Points: values read from the mapped file's bytes (stored units, as the kernels see them)

const BATCH = 1 << 20;

function filePath(c: ColumnDesc): string {
  return typeof c.file === 'string' ? c.file : c.file.path;
}

/** rows [start, start + n) of a numeric or dict-index column as float64; null -> NaN */
function readNumeric(c: ColumnDesc, fds: Map<string, number>, start: number, n: number): Float64Array {
  const out = new Float64Array(n);
  const width = DTYPE_BYTES[c.dtype!];
  const le = c.littleEndian ?? true;
  const path = filePath(c);
  let fd = fds.get(path);
  if (fd === undefined) fds.set(path, (fd = openSync(path, 'r')));
  let base = 0;
  for (const k of c.chunks) {
    const lo = Math.max(start, base), hi = Math.min(start + n, base + k.rows);
    if (lo < hi) {
      const cnt = hi - lo;
      // a fresh ArrayBuffer is aligned for any element size: typed-array views, no per-value decode
      const bytes = new Uint8Array(cnt * width);
      readSync(fd, bytes, 0, bytes.length, k.data.offset + (lo - base) * width);
      const o = lo - start;
      const View = le ? VIEWS[c.dtype!] : undefined;
      if (View) out.set(new View(bytes.buffer, 0, cnt) as ArrayLike<number>, o);
      else {
        const dv = new DataView(bytes.buffer);
        const get = getter(c.dtype!);
        for (let i = 0; i < cnt; i++) out[o + i] = get(dv, i * width, le);
      }
      if (k.validity && k.nullCount !== 0) {
        const bit0 = (k.validity.bitOffset ?? 0) + (lo - base);
        const b0 = Math.floor(bit0 / 8), b1 = Math.floor((bit0 + cnt - 1) / 8);
        const bits = Buffer.allocUnsafe(b1 - b0 + 1);
        readSync(fd, bits, 0, bits.length, k.validity.offset + b0);
        for (let i = 0; i < cnt; i++) {
          const b = bit0 + i - b0 * 8;
          if (!((bits[b >> 3]! >> (b & 7)) & 1)) out[o + i] = NaN;
        }
      }
    }
    base += k.rows;
    if (base >= start + n) break;
  }
  return out;
}

/** little-endian dtypes read through a typed-array view (int64/uint64 need a conversion) */
const VIEWS: Partial<Record<string, new (b: ArrayBuffer, o: number, n: number) => ArrayLike<number>>> = {
  float64: Float64Array, float32: Float32Array, int8: Int8Array, uint8: Uint8Array, int16: Int16Array, uint16: Uint16Array, int32: Int32Array, uint32: Uint32Array,
};

function getter(dtype: string): (dv: DataView, o: number, le: boolean) => number {
  switch (dtype) {
    case 'float64': return (dv, o, le) => dv.getFloat64(o, le);
    case 'float32': return (dv, o, le) => dv.getFloat32(o, le);
    case 'int8': return (dv, o) => dv.getInt8(o);
    case 'uint8': return (dv, o) => dv.getUint8(o);
    case 'int16': return (dv, o, le) => dv.getInt16(o, le);
    case 'uint16': return (dv, o, le) => dv.getUint16(o, le);
    case 'int32': return (dv, o, le) => dv.getInt32(o, le);
    case 'uint32': return (dv, o, le) => dv.getUint32(o, le);
    case 'int64': return (dv, o, le) => Number(dv.getBigInt64(o, le));
    default: return (dv, o, le) => Number(dv.getBigUint64(o, le));
  }
}

export async function points(
  ds: OpenedDataset,
  p: PointsParams,
  filter: CompiledFilter | undefined,
  ctx?: Pick<HandlerContext, 'signal' | 'progress'>,
): Promise<PointsResult> {
  const t0 = performance.now();
  const x = numericColumn(ds, p.x, 'x');
  const y = numericColumn(ds, p.y, 'y');
  const vp = p.viewport;
  const signal = ctx?.signal;
  // count first (one native pass): no points are read when the viewport holds more than the budget
  const count = p.count !== undefined && Number.isInteger(p.count) && p.count >= 0
    ? p.count
    : (await bin2d({ x, y, x0: vp.x0, x1: vp.x1, y0: vp.y0, y1: vp.y1, width: 1, height: 1 }, { filter, signal })).binned;
  const empty = { x: new Float64Array(0), y: new Float64Array(0), ids: new Float64Array(0) };
  if (count > p.limit) return { count, sent: false, ...empty, ms: performance.now() - t0 };
  let colorCol: ColumnDesc | undefined, stringCol: ColumnDesc | undefined, categories: string[] | undefined;
  if (p.color) {
    const c = ds.columns.get(p.color);
    if (!c) throw new PlotError('E_BAD_COLUMN', `${ds.location}: no column "${p.color}"`);
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
  const expr = p.where?.trim() ? parseExpr(p.where) : null;
  const filterCols = expr ? columnsOf(expr).map((n) => {
    const c = ds.columns.get(n);
    if (!c) throw new PlotError('E_BAD_COLUMN', `${ds.location}: no column "${n}"`);
    return c;
  }) : [];
  const ox = new Float64Array(count), oy = new Float64Array(count), ids = new Float64Array(count);
  const oc = colorCol || stringCol ? new Float64Array(count) : undefined;
  let m = 0;
  const fds = new Map<string, number>();
  try {
    for (let start = 0; start < ds.rows && m < count; start += BATCH) {
      if (signal?.aborted) throw new PlotError('E_CANCELLED', 'points cancelled');
      const n = Math.min(BATCH, ds.rows - start);
      const xs = readNumeric(x, fds, start, n), ys = readNumeric(y, fds, start, n);
      const cand: number[] = [];
      for (let i = 0; i < n; i++) {
        const a = xs[i]!, b = ys[i]!;
        if (a >= vp.x0 && a < vp.x1 && b >= vp.y0 && b < vp.y1) cand.push(i);
      }
      if (!cand.length) continue;
      let keep = cand;
      if (expr) {
        // the filter's columns for the candidates' span only (Arrow values; the reference evaluator
        // has the native kernels' semantics)
        const lo = cand[0]!, hi = cand[cand.length - 1]! + 1;
        const t = await readRows(filterCols, start + lo, hi - lo, { signal });
        const vecs = filterCols.map((_, k) => t.getChildAt(k)!);
        const row: Record<string, unknown> = {};
        keep = cand.filter((i) => {
          filterCols.forEach((c, k) => (row[c.name] = vecs[k]!.get(i - lo)));
          return evalExprOnRow(expr, row);
        });
      }
      const cs = colorCol && keep.length ? readNumeric(colorCol, fds, start, n) : undefined;
      let sv: { lo: number; get(i: number): unknown } | undefined;
      if (stringCol && keep.length) {
        const lo = keep[0]!, hi = keep[keep.length - 1]! + 1;
        const vec = (await readRows([stringCol], start + lo, hi - lo, { signal })).getChildAt(0)!;
        sv = { lo, get: (i) => vec.get(i) };
      }
      for (const i of keep) {
        if (m >= count) break;
        ox[m] = xs[i]!;
        oy[m] = ys[i]!;
        ids[m] = start + i;
        if (oc) oc[m] = cs ? cs[i]! : code(sv!.get(i - sv!.lo));
        m++;
      }
      ctx?.progress({ done: Math.min(1, (start + n) / ds.rows) });
    }
  } finally {
    for (const fd of fds.values()) closeSync(fd);
  }
  const cut = <T extends Float64Array>(a: T) => (m === count ? a : (a.subarray(0, m) as T));
  return {
    count: m,
    sent: true,
    x: cut(ox), y: cut(oy), ids: cut(ids),
    ...(oc ? { color: cut(oc) } : {}),
    ...(categories ? { categories } : {}),
    ms: performance.now() - t0,
  };
}

// ---------------------------------------------------------------------------------------------

/** A column's histogram over [lo, hi) (the native 1-D binning; brushing selects whole bins). */
export async function histogram(ds: OpenedDataset, p: HistogramParams, filter: CompiledFilter | undefined, signal?: AbortSignal): Promise<HistogramResult> {
  const t0 = performance.now();
  const c = numericColumn(ds, p.column, 'histogram');
  const bins = Math.trunc(p.bins);
  if (!(bins >= 1 && bins <= 65536)) throw new PlotError('E_BAD_ARG', `bins ${p.bins}: must be 1..65536`);
  if (!(p.hi > p.lo)) throw new PlotError('E_BAD_ARG', `empty range [${p.lo}, ${p.hi})`);
  const r = await hist1d(c, { lo: p.lo, hi: p.hi, bins }, { filter, signal });
  return { counts: r.counts, lo: p.lo, hi: p.hi, bins, rows: r.rows, binned: r.binned, ms: performance.now() - t0 };
}
