/**
 * The engine's line plots (EngineApi.line): M4 per pixel column and series over an x range
 * (native/src/m4.cc), for one or more y columns or one y split by a category column. Only about
 * four points per pixel column and series travel, and the line drawn from them (shared/plot/m4.ts)
 * is the line of every row at that width.
 *
 * A zoomed view reads only the row blocks whose x zone meets the range (zone maps, known once the
 * plot has asked for its ranges), and one block more on each side so that the line's neighbours
 * beyond the edges are found in x-ordered data: on a time series ordered by time, 1% of the range
 * reads about 1% of the rows. The filter is compiled over the same cut rows; a filter that cannot
 * be cut (a bool column, a computed condition) reads every row.
 *
 * An unfiltered pass over every row also keeps each y's M4 per block of 4096 rows (block
 * summaries, below); later unfiltered views merge whole blocks from them and read only the blocks
 * that straddle pixel columns — a whole-range view of 1e9 ordered rows reads a few million.
 *
 * A split column is dictionary-encoded (one pass, a series per code) or strings / bools with at
 * most MAX_CATEGORIES values (one filtered pass per value). Pure Node; delegated to by service.ts.
 */
import { m4 } from '../../native/m4';
import { sliceRows, type RowRange } from '../../native/zones';
import type { ColumnDesc } from '../../native/index';
import type { RawM4 } from '../../native/binding';
import type { Expr } from '../../shared/expr/ast';
import type { HandlerContext } from '../../shared/rpc';
import { CdxError } from '../../shared/errors';
import { MAX_CATEGORIES, type LineParams, type LineResult, type LineSeries } from '../../shared/plot/types';
import { checkLineParams } from '../../shared/plot/m4';
import { andAll, compileFilter, datasetColumns, equals, type CompiledFilter } from './filter';
import type { OpenedDataset } from './datasets';
import { knownZones, zoneHome } from './zones';
import type { ZoneMaps } from '../../native/zones';
import { categoryLabels, numericColumn, sliceAny, unknownColumn, Unsliceable, valueCategories } from './plot';

/**
 * The row ranges a view of [x0, x1) reads: the x zones that meet it, widened by one zone on each
 * side (the line's neighbours beyond the edges); null when every row is read anyway.
 */
export function lineRows(z: ZoneMaps, x0: number, x1: number): { keep: RowRange[]; skipped: number } | null {
  const n = z.start.length;
  const hit = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    // a zone with nulls or NaN only has min +Inf, max -Inf: nothing of it is drawn
    if (z.max[i]! >= x0 && z.min[i]! < x1) {
      hit[i] = 1;
    }
  }
  const keepZone = new Uint8Array(n);
  for (let i = 0; i < n; i++) if (hit[i] || (i > 0 && hit[i - 1]) || (i + 1 < n && hit[i + 1])) keepZone[i] = 1;
  // the zones next to the kept ones may hold nothing finite: go on to the nearest one that does
  for (let i = 0; i < n; i++) {
    if (!hit[i]) continue;
    for (let j = i - 1; j >= 0 && !hit[j]; j--) { keepZone[j] = 1; if (z.max[j]! >= z.min[j]!) break; }
    for (let j = i + 1; j < n && !hit[j]; j++) { keepZone[j] = 1; if (z.max[j]! >= z.min[j]!) break; }
  }
  const keep: RowRange[] = [];
  let skipped = 0;
  for (let i = 0; i < n; i++) {
    const a = z.start[i]!, b = a + z.rows[i]!;
    if (!keepZone[i]) { skipped += b - a; continue; }
    const last = keep[keep.length - 1];
    if (last && last[1] === a) last[1] = b;
    else keep.push([a, b]);
  }
  return skipped > 0 ? { keep, skipped } : null;
}

function seriesOf(r: RawM4, names: { y: string; label?: string }[]): LineSeries[] {
  return r.series.map((s, i) => ({
    ...names[i]!,
    count: s.count, firstX: s.firstX, firstY: s.firstY, lastX: s.lastX, lastY: s.lastY, minX: s.minX, minY: s.minY, maxX: s.maxX, maxY: s.maxY,
    before: s.before, after: s.after,
  }));
}

// ---------------------------------------------------------------------------------------------
// Block summaries: the M4 of each block of LINE_BLOCK_ROWS rows, per (x, y), kept in memory after
// the first unfiltered pass over every row (the kernel makes them in the same pass). A view then
// merges the blocks that fall inside one pixel column (or wholly beside the range) from their
// summaries and reads only the rows of the others: at 1600 pixel columns, a whole range of 1e9
// ordered rows reads about 1600 x 1.5 blocks instead of every row. Exact: the M4 of a union is
// the M4 of the parts' M4s, ties by row as the kernel breaks them.

/** rows per block summary */
export const LINE_BLOCK_ROWS = 4096;
/** block summaries of one (x, y) pair beyond this many bytes are not kept (2^31 rows at 104 B per 4096) */
const BLOCK_BYTES_MAX = 64 * 2 ** 20;

interface Blocks {
  rows: number;
  /** 13 per block: count, first x y row, last x y row, min x y row, max x y row */
  data: Float64Array;
}

const blockCache = new WeakMap<ColumnDesc, Map<ColumnDesc, Blocks>>();

function blocksOf(x: ColumnDesc, y: ColumnDesc): Blocks | undefined {
  return blockCache.get(x)?.get(y);
}

/** one series' M4 arrays, with rows, being merged */
interface Acc {
  count: Float64Array;
  firstX: Float64Array; firstY: Float64Array; firstRow: Float64Array;
  lastX: Float64Array; lastY: Float64Array; lastRow: Float64Array;
  minX: Float64Array; minY: Float64Array; minRow: Float64Array;
  maxX: Float64Array; maxY: Float64Array; maxRow: Float64Array;
  before: [number, number] | null; beforeRow: number;
  after: [number, number] | null; afterRow: number;
}

function emptyAcc(W: number): Acc {
  const nan = () => new Float64Array(W).fill(NaN);
  return {
    count: new Float64Array(W), firstX: nan(), firstY: nan(), firstRow: nan(), lastX: nan(), lastY: nan(), lastRow: nan(),
    minX: nan(), minY: nan(), minRow: nan(), maxX: nan(), maxY: nan(), maxRow: nan(), before: null, beforeRow: -1, after: null, afterRow: -1,
  };
}

/** merges one M4 (n points; first, last, min, max with their rows) into pixel column i */
function mergeInto(a: Acc, i: number, n: number, fx: number, fy: number, fr: number, lx: number, ly: number, lr: number, mnx: number, mny: number, mnr: number, mxx: number, mxy: number, mxr: number): void {
  if (!(n > 0)) return;
  if (a.count[i] === 0) {
    a.count[i] = n;
    a.firstX[i] = fx; a.firstY[i] = fy; a.firstRow[i] = fr;
    a.lastX[i] = lx; a.lastY[i] = ly; a.lastRow[i] = lr;
    a.minX[i] = mnx; a.minY[i] = mny; a.minRow[i] = mnr;
    a.maxX[i] = mxx; a.maxY[i] = mxy; a.maxRow[i] = mxr;
    return;
  }
  a.count[i]! += n;
  if (fx < a.firstX[i]! || (fx === a.firstX[i] && fr < a.firstRow[i]!)) { a.firstX[i] = fx; a.firstY[i] = fy; a.firstRow[i] = fr; }
  if (lx > a.lastX[i]! || (lx === a.lastX[i] && lr > a.lastRow[i]!)) { a.lastX[i] = lx; a.lastY[i] = ly; a.lastRow[i] = lr; }
  if (mny < a.minY[i]! || (mny === a.minY[i] && mnr < a.minRow[i]!)) { a.minX[i] = mnx; a.minY[i] = mny; a.minRow[i] = mnr; }
  if (mxy > a.maxY[i]! || (mxy === a.maxY[i] && mxr < a.maxRow[i]!)) { a.maxX[i] = mxx; a.maxY[i] = mxy; a.maxRow[i] = mxr; }
}

function mergeBefore(a: Acc, x: number, y: number, row: number): void {
  if (!a.before || x > a.before[0] || (x === a.before[0] && row > a.beforeRow)) { a.before = [x, y]; a.beforeRow = row; }
}

function mergeAfter(a: Acc, x: number, y: number, row: number): void {
  if (!a.after || x < a.after[0] || (x === a.after[0] && row < a.afterRow)) { a.after = [x, y]; a.afterRow = row; }
}

/**
 * A view from the block summaries of every y column: blocks inside one pixel column or beside
 * the range merged from their summaries, the rest read by the kernel (through columns cut to
 * their rows, the rows mapped back) and merged in. Unfiltered, unsplit views only.
 */
async function lineFromBlocks(
  p: LineParams, x: ColumnDesc, ys: ColumnDesc[], blocks: Blocks[], rows: number, kopts: { signal?: AbortSignal },
): Promise<{ series: LineSeries[]; used: number; nan: number; scanned: number }> {
  const W = p.width, B = LINE_BLOCK_ROWS, scale = W / (p.x1 - p.x0);
  const nb = Math.ceil(rows / B);
  const pix = (v: number) => Math.min(W - 1, Math.floor((v - p.x0) * scale));
  // a block is read again when, for some y, its points straddle pixel columns or the range's edges
  const scan = new Uint8Array(nb);
  for (const bl of blocks) {
    const d = bl.data;
    for (let b = 0; b < nb; b++) {
      const o = b * 13;
      if (!(d[o]! > 0) || scan[b]) continue;
      const fx = d[o + 1]!, lx = d[o + 4]!;
      if (lx < p.x0 || fx >= p.x1) continue;
      if (fx >= p.x0 && lx < p.x1 && pix(fx) === pix(lx)) continue;
      scan[b] = 1;
    }
  }
  const accs = ys.map(() => emptyAcc(W));
  let nan = 0;
  blocks.forEach((bl, k) => {
    const d = bl.data, a = accs[k]!;
    for (let b = 0; b < nb; b++) {
      if (scan[b]) continue;
      const o = b * 13, n = d[o]!;
      nan += Math.min(B, rows - b * B) - n;
      if (!(n > 0)) continue;
      const fx = d[o + 1]!, lx = d[o + 4]!;
      if (lx < p.x0) mergeBefore(a, lx, d[o + 5]!, d[o + 6]!);
      else if (fx >= p.x1) mergeAfter(a, fx, d[o + 2]!, d[o + 3]!);
      else mergeInto(a, pix(fx), n, fx, d[o + 2]!, d[o + 3]!, lx, d[o + 5]!, d[o + 6]!, d[o + 7]!, d[o + 8]!, d[o + 9]!, d[o + 10]!, d[o + 11]!, d[o + 12]!);
    }
  });
  // the blocks read again, as row ranges; the kernel numbers their rows 0.. in order
  const keep: RowRange[] = [];
  for (let b = 0; b < nb; b++) {
    if (!scan[b]) continue;
    const a = b * B, e = Math.min(rows, a + B);
    const last = keep[keep.length - 1];
    if (last && last[1] === a) last[1] = e;
    else keep.push([a, e]);
  }
  let scanned = 0;
  if (keep.length) {
    const starts: number[] = [], cum: number[] = [];
    for (const [a, e] of keep) {
      starts.push(a);
      cum.push(scanned);
      scanned += e - a;
    }
    const abs = (r: number) => {
      let lo = 0, hi = cum.length - 1;
      while (lo < hi) {
        const m = (lo + hi + 1) >> 1;
        if (cum[m]! <= r) lo = m;
        else hi = m - 1;
      }
      return starts[lo]! + (r - cum[lo]!);
    };
    const r = await m4({ x: sliceRows(x, keep), ys: ys.map((c) => sliceRows(c, keep)), x0: p.x0, x1: p.x1, width: W }, kopts);
    nan += r.nan;
    r.series.forEach((s, k) => {
      const a = accs[k]!;
      for (let i = 0; i < W; i++)
        if (s.count[i]! > 0)
          mergeInto(a, i, s.count[i]!, s.firstX[i]!, s.firstY[i]!, abs(s.firstRow[i]!), s.lastX[i]!, s.lastY[i]!, abs(s.lastRow[i]!),
            s.minX[i]!, s.minY[i]!, abs(s.minRow[i]!), s.maxX[i]!, s.maxY[i]!, abs(s.maxRow[i]!));
      if (s.before) mergeBefore(a, s.before[0], s.before[1], abs(s.beforeRow!));
      if (s.after) mergeAfter(a, s.after[0], s.after[1], abs(s.afterRow!));
    });
  }
  let used = 0;
  const series = accs.map((a, k): LineSeries => {
    for (let i = 0; i < W; i++) used += a.count[i]!;
    return {
      y: p.y[k]!, count: a.count, firstX: a.firstX, firstY: a.firstY, lastX: a.lastX, lastY: a.lastY, minX: a.minX, minY: a.minY, maxX: a.maxX, maxY: a.maxY,
      before: a.before, after: a.after,
    };
  });
  return { series, used, nan, scanned };
}

/** Line data over [x0, x1); `where` is the user's filter (parsed). */
export async function line(ds: OpenedDataset, p: LineParams, where: Expr | undefined, ctx?: Pick<HandlerContext, 'signal' | 'progress'>): Promise<LineResult> {
  const t0 = performance.now();
  checkLineParams(p, ds.location);
  const xAll = numericColumn(ds, p.x, 'x');
  const ysAll = p.y.map((n) => numericColumn(ds, n, 'y'));
  if (p.split && !ds.columns.has(p.split)) throw unknownColumn(ds, p.split);
  // unfiltered and unsplit: from the block summaries when they are known (a few blocks read), else
  // a pass over every row that makes them, or over the zones of a zoomed view
  const plain = !where && !p.split;
  const known = plain ? ysAll.map((y) => blocksOf(xAll, y)) : [];
  if (plain && known.every((b): b is Blocks => !!b && b.rows === ds.rows)) {
    const r = await lineFromBlocks(p, xAll, ysAll, known, ds.rows, { signal: ctx?.signal });
    return { x0: p.x0, x1: p.x1, width: p.width, series: r.series, rows: ds.rows, used: r.used, nan: r.nan, filtered: 0, scanned: r.scanned, ms: performance.now() - t0 };
  }
  const resolve = datasetColumns(ds);
  // the row blocks of the range (zone maps of x, when known), with every column and the filter cut to them
  const z = knownZones(zoneHome(ds), xAll);
  let cut = z ? lineRows(z, p.x0, p.x1) : null;
  const cols = new Map<ColumnDesc, ColumnDesc>();
  const col = (c: ColumnDesc): ColumnDesc => {
    if (!cut) return c;
    let s = cols.get(c);
    if (!s) cols.set(c, (s = c.kind === 'bool' || c.computed?.preds.length ? sliceAny(c, cut.keep) : sliceRows(c, cut.keep)));
    return s;
  };
  const compile = (e: Expr | undefined): CompiledFilter | undefined => (e ? compileFilter(e, (name) => col(resolve(name))) : undefined);
  let filter: CompiledFilter | undefined;
  const splitCol = p.split ? ds.columns.get(p.split) : undefined;
  try {
    filter = compile(where);
    if (splitCol) col(splitCol);
  } catch (e) {
    if (!(e instanceof Unsliceable)) throw e;
    cut = null;
    cols.clear();
    filter = compile(where);
  }
  const x = col(xAll), ys = ysAll.map(col);
  const makeBlocks = plain && !cut && (ds.rows / LINE_BLOCK_ROWS) * 104 <= BLOCK_BYTES_MAX;
  const spec = { x, ys, x0: p.x0, x1: p.x1, width: p.width, ...(makeBlocks ? { blockRows: LINE_BLOCK_ROWS } : {}) };
  const kopts = (f: CompiledFilter | undefined) => ({ filter: f, signal: ctx?.signal, onProgress: ctx ? (q: { fraction: number }) => ctx.progress({ done: q.fraction }) : undefined });
  let series: LineSeries[];
  let used = 0, nan = 0, filtered = 0, scannedRows = 0;
  if (!splitCol) {
    const r = await m4(spec, kopts(filter));
    series = seriesOf(r, p.y.map((y) => ({ y })));
    ({ used, nan, filtered } = r);
    scannedRows = r.rows;
    if (r.blocks) {
      let m = blockCache.get(xAll);
      if (!m) blockCache.set(xAll, (m = new Map()));
      r.blocks.forEach((data, k) => m!.set(ysAll[k]!, { rows: ds.rows, data }));
    }
  } else {
    const y = p.y[0]!;
    const labels = splitCol.kind === 'dict' ? await categoryLabels(splitCol, ctx?.signal) : null;
    if (labels) {
      const r = await m4({ x, ys, x0: p.x0, x1: p.x1, width: p.width, category: col(splitCol), categories: labels.length }, kopts(filter));
      series = seriesOf(r, labels.map((label) => ({ y, label })));
      // rows without a split value are not drawn: counted with the filtered-out ones
      ({ used, nan } = r);
      filtered = r.filtered + r.uncategorized;
      scannedRows = r.rows;
    } else if (splitCol.kind === 'dict') {
      throw new CdxError('E_TOO_LARGE', `${ds.location}: "${p.split}" has more than ${MAX_CATEGORIES} values to split a line by`, { file: ds.location, column: p.split });
    } else {
      const vc = splitCol.kind === 'numeric' && splitCol.logical?.type !== 'bool8' ? null : await valueCategories(splitCol, ctx?.signal);
      if (!vc) {
        const why = splitCol.kind === 'numeric' && splitCol.logical?.type !== 'bool8' ? 'is a number, not a category' : `has more than ${MAX_CATEGORIES} values`;
        throw new CdxError(splitCol.kind === 'numeric' ? 'E_BAD_TYPE' : 'E_TOO_LARGE', `${ds.location}: "${p.split}" ${why}: a line splits by a category column of at most ${MAX_CATEGORIES} values`, { file: ds.location, column: p.split });
      }
      series = [];
      let passing = 0;
      for (let k = 0; k < vc.labels.length; k++) {
        const r = await m4(spec, { ...kopts(compile(andAll([where, equals(p.split!, vc.values[k]!)]))), onProgress: undefined });
        series.push(...seriesOf(r, [{ y, label: vc.labels[k]! }]));
        used += r.used;
        nan += r.nan;
        scannedRows = r.rows;
        passing += r.rows - r.filtered;
        ctx?.progress({ done: (k + 1) / vc.labels.length });
      }
      // each row passing the user's filter with a value passed one of these; the rest were filtered out
      filtered = scannedRows - passing;
    }
  }
  return {
    x0: p.x0, x1: p.x1, width: p.width, series,
    rows: ds.rows, used, nan, filtered,
    ...(cut ? { scanned: scannedRows } : {}),
    ms: performance.now() - t0,
  };
}
