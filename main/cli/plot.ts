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
import { closedRange } from '../../shared/plot/viewport';
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

function limits(v: string): [number, number] {
  const p = v.split(',').map((s) => Number(s.trim()));
  if (p.length !== 2 || !p.every(Number.isFinite) || !(p[1]! > p[0]!)) throw new InvalidArgumentError('limits are two numbers LO,HI with LO < HI, e.g. 0,10.');
  return [p[0]!, p[1]!];
}

function size(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 4096) throw new InvalidArgumentError('a size is a whole number from 1 to 4096.');
  return n;
}

export interface PlotCliOptions {
  x: string;
  y: string;
  color?: string;
  xlim?: [number, number];
  ylim?: [number, number];
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
  const [x0, x1] = o.xlim ?? closedRange(rx.min, rx.max);
  const [y0, y1] = o.ylim ?? closedRange(ry.min, ry.max);
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
    .description('a density plot of two columns as PNG, SVG (with axes and legend), or the count grid as NPY / CSV')
    .argument('<path>', 'a file, or PATH::INNER, or a database URL::TABLE')
    .option('--sql <query>', h.sqlHelp ?? 'on a database connection (URL without ::TABLE): plot the rows of this query')
    .requiredOption('--x <column>', 'the x column (numeric or date/time)')
    .requiredOption('--y <column>', 'the y column (numeric or date/time)')
    .option('--color <column>', 'a categorical column: colours blended by category')
    .option('--xlim <lo,hi>', 'x limits (default: the data range)', limits)
    .option('--ylim <lo,hi>', 'y limits (default: the data range)', limits)
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
          console.log(`wrote ${r.file} (${r.width}x${r.height}, ${grouped(r.binned)} points binned)`);
        }, { urls: [location] });
      } catch (e) {
        // a query's syntax error with a caret under the server's position
        throw sqlErrorWithCaret(e, querySqlOf(location));
      }
    });
}
