/**
 * `cdx plot`: the app's density plot from the command line. The grid comes from the engine's
 * `density` (the native binning, exactly what the app draws for the same viewport and size):
 *  - .npy: the counts, shape (H, W), uint32, row 0 = lowest y;
 *  - .png: the shaded density layer, W x H pixels (top row = highest y);
 *  - .svg: the whole plot, W x H: axes, ticks, labels, legend as vectors, the density layer as an
 *    embedded PNG over the plot area (binned at the plot area's size);
 *  - .csv: one line per non-empty cell (bounds and count).
 * Limits default to the data's range (the upper end nudged to the next float so the maximum counts).
 * Outputs are written to a temporary file and renamed when complete.
 */
import { renameSync, writeFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { deflateSync } from 'node:zlib';
import { InvalidArgumentError, type Command } from 'commander';
import type { Client } from '../../shared/rpc';
import type { DatasetOverview, EngineApi } from '../../shared/api';
import type { PlotColumnInfo } from '../../shared/plot/types';
import { closedRange, paddedRange } from '../../shared/plot/viewport';
import { m4YRange } from '../../shared/plot/m4';
import { lineCSV, lineRaster, lineSVG } from '../../shared/plot/linesvg';
import { encodeNPY, encodePNG, gridCSV, base64, PNG_DEFLATE_LEVEL } from '../../shared/plot/encode';
import { densityImage } from '../../shared/plot/render';
import { plotFrame, plotSVG } from '../../shared/plot/svg';
import { isColormap, COLORMAPS, type ColormapName } from '../../shared/plot/colormap';
import { isTone, TONES, type ToneHow } from '../../shared/plot/shade';
import type { AxisKind } from '../../shared/plot/ticks';
import { queryLocation, querySqlOf, withEngine, type WithEngineOptions } from './engine-client';
import { grouped, sqlErrorWithCaret } from './format';

export interface PlotCliHelpers {
  withEngine<T>(fn: (e: { api: Client<EngineApi> }, signal: AbortSignal) => Promise<T>, opts?: WithEngineOptions): Promise<T>;
  openDataset(e: { api: Client<EngineApi> }, location: string, signal: AbortSignal): Promise<DatasetOverview>;
  /** the --sql option's help (index.ts's, so that every command says the same) */
  sqlHelp?: string;
}

/** --xlim/--ylim: two numbers in the column's stored units, or (a date/time axis) two ISO 8601 times, UTC unless they say otherwise */
export type Limits = [number, number] & { iso?: boolean };

function limits(v: string): Limits {
  const parts = v.split(',').map((s) => s.trim());
  const p = parts.map(Number);
  if (parts.length === 2 && p.every(Number.isFinite)) {
    if (!(p[1]! > p[0]!)) throw new InvalidArgumentError('limits are two numbers LO,HI with LO < HI, e.g. 0,10.');
    return [p[0]!, p[1]!];
  }
  const utc = (s: string) => Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(s) || !/T|\d:\d/.test(s) ? s : s + 'Z');
  const t = parts.map(utc);
  if (parts.length !== 2 || !t.every(Number.isFinite) || !(t[1]! > t[0]!)) throw new InvalidArgumentError('limits are two numbers LO,HI with LO < HI (e.g. 0,10), or two times (e.g. 2024-01-01,2024-02-01).');
  return Object.assign([t[0]!, t[1]!] as [number, number], { iso: true });
}

/** limits in a column's stored units: times given as ISO are ms, turned into the column's unit */
function storedLimits(l: Limits | undefined, c: PlotColumnInfo, file: string): [number, number] | undefined {
  if (!l || !l.iso) return l;
  if (c.kind !== 'time') throw new Error(`${file}: limits given as times, but column "${c.name}" is not a date/time`);
  const ms = c.msPerUnit ?? 1;
  return [l[0] / ms, l[1] / ms];
}

function size(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 4096) throw new InvalidArgumentError('a size is a whole number from 1 to 4096.');
  return n;
}

export interface PlotCliOptions {
  /** density (default) or line */
  kind?: string;
  x: string;
  /** density: one column; line: one or more, comma-separated */
  y: string;
  /** line: a category column splitting the one y into a series per value */
  split?: string;
  /** line: fill under each line */
  area?: boolean;
  color?: string;
  xlim?: Limits;
  ylim?: Limits;
  width: number;
  height: number;
  how: string;
  cmap: string;
  where?: string;
  out: string;
  /** a query on a database connection (the dataset is URL::(QUERY)) */
  sql?: string;
}

/** Runs one `cdx plot` with an engine client; returns what was written. */
export async function runPlot(api: Client<EngineApi>, ov: DatasetOverview, o: PlotCliOptions, signal?: AbortSignal): Promise<{ file: string; width: number; height: number; binned: number }> {
  if (o.kind !== undefined && o.kind !== 'density' && o.kind !== 'line') throw new Error(`--kind ${o.kind}: one of density, line`);
  if (o.kind === 'line') return runLinePlot(api, ov, o, signal);
  if (o.split || o.area) throw new Error('--split and --area are for --kind line');
  if (!isTone(o.how)) throw new Error(`--how ${o.how}: one of ${TONES.join(', ')}`);
  if (!isColormap(o.cmap)) throw new Error(`--cmap ${o.cmap}: one of ${COLORMAPS.join(', ')}`);
  const ext = path.extname(o.out).toLowerCase();
  if (!['.png', '.svg', '.npy', '.csv'].includes(ext)) throw new Error(`${o.out}: the output must end in .png, .svg, .npy or .csv`);
  const dataset = ov.entry.id;
  const need = [!o.xlim ? o.x : null, !o.ylim ? o.y : null].filter((c): c is string => !!c);
  // (an axis with its limits given needs only its kind: no pass over the data for its range)
  const given = [o.xlim ? o.x : null, o.ylim ? o.y : null].filter((c): c is string => !!c && !need.includes(c));
  const ranges = await api.plotRanges({ dataset, columns: [o.x, o.y], ...(given.length ? { noRange: given } : {}) }, { signal });
  const rx = ranges[0]!, ry = ranges[1]!;
  for (const r of ranges) if (r.kind === 'category') throw new Error(`${ov.entry.path}: column "${r.name}" is not numeric or date/time`);
  for (const n of need) {
    const r = ranges.find((q) => q.name === n)!;
    if (!Number.isFinite(r.min)) throw new Error(`${ov.entry.path}: column "${n}" has no finite values; give the limits`);
  }
  const [x0, x1] = storedLimits(o.xlim, rx, ov.entry.path) ?? closedRange(rx.min, rx.max);
  const [y0, y1] = storedLimits(o.ylim, ry, ov.entry.path) ?? closedRange(ry.min, ry.max);
  const frame = plotFrame(o.width, o.height, true);
  const [gw, gh] = ext === '.svg' ? [frame.plotW, frame.plotH] : [o.width, o.height];
  const d = await api.density({ dataset, x: o.x, y: o.y, x0, x1, y0, y1, width: gw, height: gh, where: o.where, color: o.color }, { signal });
  let bytes: Uint8Array;
  if (ext === '.npy') bytes = encodeNPY(d.counts, [d.height, d.width]);
  else if (ext === '.csv') bytes = new TextEncoder().encode(gridCSV(d.counts, d.width, d.height, d));
  else {
    const how = o.how as ToneHow, cmap = o.cmap as ColormapName;
    const { rgba, legend } = densityImage(d, how, cmap, o.color);
    const png = encodePNG(rgba, d.width, d.height, (b) => deflateSync(b, { level: PNG_DEFLATE_LEVEL }), { Software: 'Continuum Data Explorer' });
    if (ext === '.png') bytes = png;
    else {
      const axis = (r: typeof rx): AxisKind => (r.kind === 'time' ? { kind: 'time', msPerUnit: r.msPerUnit } : { kind: 'number' });
      const svg = plotSVG({ frame, vp: d, xLabel: o.x, yLabel: o.y, xAxis: axis(rx), yAxis: axis(ry), legend, image: `data:image/png;base64,${base64(png)}`, title: `${ov.entry.name}: ${o.y} vs ${o.x}` });
      bytes = new TextEncoder().encode(svg);
    }
  }
  const tmp = `${o.out}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, bytes);
    renameSync(tmp, o.out);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new Error(`${o.out}: cannot write (${(e as Error).message})`);
  }
  if (d.note) console.error(`note: ${d.note}`);
  return { file: o.out, width: o.width, height: o.height, binned: d.binned };
}

function writeOut(out: string, bytes: Uint8Array): void {
  const tmp = `${out}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, bytes);
    renameSync(tmp, out);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new Error(`${out}: cannot write (${(e as Error).message})`);
  }
}

/**
 * `cdx plot --kind line`: the engine's `line` (M4 per pixel column, as the app draws it) of one or
 * more y columns, or one split by a category column, against an ordered x:
 *  - .png: the lines alone, W x H, one pixel column per M4 column (pixel for pixel the line of every row);
 *  - .svg: the whole plot, W x H: axes and labels as text, each series a vector path, a legend;
 *  - .csv: the decimated points (series, x, y; a time x as ISO 8601 UTC).
 * y limits default to the range of the lines drawn, padded.
 */
async function runLinePlot(api: Client<EngineApi>, ov: DatasetOverview, o: PlotCliOptions, signal?: AbortSignal): Promise<{ file: string; width: number; height: number; binned: number }> {
  const ext = path.extname(o.out).toLowerCase();
  if (!['.png', '.svg', '.csv'].includes(ext)) throw new Error(`${o.out}: a line plot's output must end in .png, .svg or .csv`);
  if (o.color) throw new Error('--color is for density plots; a line plot splits by a category with --split');
  const ys = o.y.split(',').map((s) => s.trim()).filter(Boolean);
  if (!ys.length) throw new Error('--y: name one or more columns, comma-separated');
  const dataset = ov.entry.id;
  const ranges = await api.plotRanges({ dataset, columns: [o.x, ...ys], ...(o.xlim ? { noRange: [o.x] } : {}) }, { signal });
  for (const r of ranges) if (r.kind === 'category') throw new Error(`${ov.entry.path}: column "${r.name}" is not numeric or date/time`);
  const rx = ranges[0]!;
  if (!o.xlim && !Number.isFinite(rx.min)) throw new Error(`${ov.entry.path}: column "${o.x}" has no finite values; give --xlim`);
  const [x0, x1] = storedLimits(o.xlim, rx, ov.entry.path) ?? closedRange(rx.min, rx.max);
  const frame = plotFrame(o.width, o.height, true);
  const width = ext === '.svg' ? Math.max(1, Math.round(frame.plotW)) : o.width;
  const r = await api.line({ dataset, x: o.x, y: ys, ...(o.split ? { split: o.split } : {}), x0, x1, width, ...(o.where ? { where: o.where } : {}) }, { signal });
  const yr = m4YRange(r.series);
  const [y0, y1] = storedLimits(o.ylim, ranges[1]!, ov.entry.path) ?? (Number.isFinite(yr.min) ? paddedRange(yr.min, yr.max, 0.04) : [0, 1]);
  const axis = (c: typeof rx): AxisKind => (c.kind === 'time' ? { kind: 'time', msPerUnit: c.msPerUnit } : { kind: 'number' });
  let bytes: Uint8Array;
  if (ext === '.csv') {
    const ms = rx.kind === 'time' ? rx.msPerUnit ?? 1 : 0;
    bytes = new TextEncoder().encode(lineCSV(r, ms ? (v) => new Date(v * ms).toISOString() : String));
  } else if (ext === '.png') {
    const rgba = lineRaster(r, o.width, o.height, y0, y1);
    bytes = encodePNG(rgba, o.width, o.height, (b) => deflateSync(b, { level: PNG_DEFLATE_LEVEL }), { Software: 'Continuum Data Explorer' });
  } else {
    const yLabel = ys.length === 1 ? ys[0]! : ys.join(', ');
    bytes = new TextEncoder().encode(lineSVG(r, { frame, vp: { x0, x1, y0, y1 }, xLabel: o.x, yLabel, xAxis: axis(rx), yAxis: axis(ranges[1]!), area: !!o.area, title: `${ov.entry.name}: ${yLabel} by ${o.x}` }));
  }
  writeOut(o.out, bytes);
  return { file: o.out, width: o.width, height: o.height, binned: r.used };
}

/** Without index.ts's helpers: the shared engine runner, no progress bar. */
const defaultHelpers: PlotCliHelpers = {
  withEngine,
  openDataset: (e, location, signal) => e.api.open({ location }, { signal }),
};

/** Adds `cdx plot` to the program: `registerPlot(program, { withEngine, openDataset })` in main/cli/index.ts. */
export function registerPlot(program: Command, h: PlotCliHelpers = defaultHelpers): void {
  if (program.commands.some((c) => c.name() === 'plot')) return;
  program
    .command('plot')
    .description('a density plot of two columns as PNG, SVG (with axes and legend), or the count grid as NPY / CSV; or (--kind line) a line plot of columns against an ordered x')
    .argument('<path>', 'a file, or PATH::INNER, or a database URL::TABLE')
    .option('--sql <query>', h.sqlHelp ?? 'on a database connection (URL without ::TABLE): plot the rows of this query')
    .option('--kind <kind>', 'density, or line (M4 per pixel column: exact at any number of rows)', 'density')
    .requiredOption('--x <column>', 'the x column (numeric or date/time; ordered, for a line)')
    .requiredOption('--y <column>', 'the y column (numeric or date/time); a line takes several: A,B')
    .option('--split <column>', 'line: a series per value of this category column (one --y)')
    .option('--area', 'line: fill under each line')
    .option('--color <column>', 'a categorical column: colours blended by category')
    .option('--xlim <lo,hi>', 'x limits (default: the data range); a date/time axis also takes two ISO times, e.g. 2024-01-01,2024-02-01', limits)
    .option('--ylim <lo,hi>', 'y limits (default: the data range; a line: the range of the lines drawn)', limits)
    .option('--width <n>', 'width in pixels (the grid width for .npy/.png/.csv)', size, 800)
    .option('--height <n>', 'height in pixels', size, 600)
    .option('--how <tone>', `tone mapping: ${TONES.join(', ')}`, 'eq_hist')
    .option('--cmap <name>', `colour map: ${COLORMAPS.join(', ')}`, 'fire')
    .option('--where <expr>', 'only rows where EXPR holds')
    .requiredOption('--out <file>', 'FILE.png, FILE.svg, FILE.npy or FILE.csv')
    .action(async (path: string, o: PlotCliOptions) => {
      const location = queryLocation(path, o.sql);
      try {
        await h.withEngine(async (e, signal) => {
          const ov = await h.openDataset(e, location, signal);
          const r = await runPlot(e.api, ov, o, signal);
          console.log(`wrote ${r.file} (${r.width}x${r.height}, ${grouped(r.binned)} ${o.kind === 'line' ? 'points drawn' : 'points binned'})`);
        }, { urls: [location] });
      } catch (e) {
        // a query's syntax error with a caret under the server's position
        throw sqlErrorWithCaret(e, querySqlOf(location));
      }
    });
}
