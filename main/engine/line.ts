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
  return r.series.map((s, i) => ({ ...names[i]!, ...s }));
}

/** Line data over [x0, x1); `where` is the user's filter (parsed). */
export async function line(ds: OpenedDataset, p: LineParams, where: Expr | undefined, ctx?: Pick<HandlerContext, 'signal' | 'progress'>): Promise<LineResult> {
  const t0 = performance.now();
  checkLineParams(p, ds.location);
  const xAll = numericColumn(ds, p.x, 'x');
  const ysAll = p.y.map((n) => numericColumn(ds, n, 'y'));
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
  if (p.split && !splitCol) throw unknownColumn(ds, p.split);
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
  const spec = { x, ys, x0: p.x0, x1: p.x1, width: p.width };
  const kopts = (f: CompiledFilter | undefined) => ({ filter: f, signal: ctx?.signal, onProgress: ctx ? (q: { fraction: number }) => ctx.progress({ done: q.fraction }) : undefined });
  let series: LineSeries[];
  let used = 0, nan = 0, filtered = 0, scannedRows = 0;
  if (!splitCol) {
    const r = await m4(spec, kopts(filter));
    series = seriesOf(r, p.y.map((y) => ({ y })));
    ({ used, nan, filtered } = r);
    scannedRows = r.rows;
  } else {
    const y = p.y[0]!;
    const labels = splitCol.kind === 'dict' ? await categoryLabels(splitCol, ctx?.signal) : null;
    if (labels) {
      const r = await m4({ ...spec, category: col(splitCol), categories: labels.length }, kopts(filter));
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
