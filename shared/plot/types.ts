/**
 * The plot part of the engine contract (EngineApi in ../api.ts): density grids over a viewport,
 * the points themselves below a budget, and data ranges for default limits. Bulk data is typed
 * arrays (they cross the process line as raw bytes).
 */
import type { Viewport } from './viewport';

export interface PlotColumnInfo {
  name: string;
  /** number: plain numbers; time: date/timestamp (values in stored units); category: strings with a dictionary */
  kind: 'number' | 'time' | 'category';
  /** time: milliseconds per stored unit */
  msPerUnit?: number;
  /** finite min / max (NaN when none); stored units */
  min: number;
  max: number;
  /** category: the labels (dictionary order), when at most MAX_CATEGORIES */
  categories?: string[];
}

export interface PlotRangesParams {
  dataset: string;
  columns: string[];
  /** columns whose range the caller does not need (it has the limits): only their kind is looked up, min/max are NaN */
  noRange?: string[];
}

export interface DensityParams extends Viewport {
  dataset: string;
  x: string;
  y: string;
  /** grid size (device pixels), each 1..4096 */
  width: number;
  height: number;
  where?: string;
  /** a colour column: per-category counts for a categorical one, the mean per cell for a numeric or date/time one */
  color?: string;
  /**
   * A row budget for a quick first image: a dataset with more rows than this is binned over a
   * sample of about this many rows (evenly spaced blocks of consecutive rows over the whole file:
   * main/engine/plot.ts sampleRanges), and the result says so (`sample`). A dataset within the
   * budget, or one the engine cannot sample (a database, a bool column in the filter), gives
   * exact counts and no `sample`.
   */
  sample?: number;
}

export interface DensityResult extends Viewport {
  /** row-major, row 0 = lowest y: counts[j * width + i]; cell (i, j) covers [x0 + i*dx, x0 + (i+1)*dx) x [y0 + j*dy, ...) */
  counts: Uint32Array;
  width: number;
  height: number;
  /** per-category counts [(c * height + j) * width + i], with `categories` labels */
  categoryCounts?: Uint32Array;
  categories?: string[];
  /** a numeric colour column: its mean over each cell's rows (NaN where none has a value), same layout as counts */
  means?: Float64Array;
  /** the column `means` are of */
  meanOf?: string;
  /** rows read, binned (inside the viewport and passing the filter), outside, NaN/null, filtered out */
  rows: number;
  binned: number;
  outside: number;
  nan: number;
  filtered: number;
  /** rows the kernel actually read, when fewer than `rows`: blocks that cannot hold a point of the view were skipped (zone maps) */
  scanned?: number;
  /** engine time, ms */
  ms: number;
  /** why the colour column was not used, if it was not */
  note?: string;
  /**
   * Present when the grid was binned over a sample of the rows (DensityParams.sample): `rows` rows
   * of `of`. Counts (and rows, binned, outside, nan, filtered) are those of the sample, not scaled;
   * `of / rows` times a count estimates the whole dataset's.
   */
  sample?: { rows: number; of: number };
}

export interface PointsParams {
  dataset: string;
  x: string;
  y: string;
  color?: string;
  where?: string;
  viewport: Viewport;
  /** the point budget: no points are sent when more than this many are in the viewport */
  limit: number;
  /**
   * the number of points in this viewport with this filter when already known (the density pass's
   * `binned`): skips the counting pass. Only a capacity hint: at most this many points are sent.
   */
  count?: number;
}

export interface PointsResult {
  /** points in the viewport passing the filter */
  count: number;
  /** false when count > limit (then the arrays are empty) */
  sent: boolean;
  x: Float64Array;
  y: Float64Array;
  /** row numbers (for hover: `rows` at that offset); -1 where unknown (a database keeps no row numbers) */
  ids: Float64Array;
  /** numeric colour values, or category codes (with `categories`) */
  color?: Float64Array;
  categories?: string[];
  ms: number;
}

export const MAX_CATEGORIES = 32;

/** the sample budget (DensityParams.sample) of a plot's quick first image: the renderer asks for it, the bench times it */
export const DENSITY_SAMPLE_ROWS = 4_000_000;

export interface HistogramParams {
  dataset: string;
  column: string;
  /** bins over [lo, hi) */
  lo: number;
  hi: number;
  bins: number;
  where?: string;
}

export interface HistogramResult {
  /** counts[i] covers [lo + i*d, lo + (i+1)*d) */
  counts: Float64Array;
  lo: number;
  hi: number;
  bins: number;
  rows: number;
  binned: number;
  ms: number;
}

/** at most this many y columns in one line plot */
export const MAX_LINE_SERIES = 16;

/**
 * A line (or area) plot's data over an x range: per pixel column, M4 — the first and last point
 * (smallest and largest x), and the points of smallest and largest y — of each series, which is
 * all a line drawn at that width needs to be pixel-exact (Jugel et al., "M4", VLDB 2014).
 */
export interface LineParams {
  dataset: string;
  /** the ordered axis: a number or date/time column (stored units) */
  x: string;
  /** the y columns, a series each (1..MAX_LINE_SERIES) */
  y: string[];
  /** a category column splitting the one y column into a series per value (at most MAX_CATEGORIES) */
  split?: string;
  /** [x0, x1) in x's stored units, cut into `width` equal pixel columns (1..16384) */
  x0: number;
  x1: number;
  width: number;
  where?: string;
}

/**
 * One series' M4 per pixel column i (arrays of length `width`; pixel column i covers
 * [x0 + i*d, x0 + (i+1)*d)). Rows count only where x and y are both finite and the filter passes.
 * first/last: the row of smallest / largest x (ties: the earlier / later row); min/max: the row of
 * smallest / largest y (ties: the earlier row). NaN where count is 0.
 */
export interface LineSeries {
  /** the y column */
  y: string;
  /** the split value's label (split plots) */
  label?: string;
  count: Float64Array;
  firstX: Float64Array;
  firstY: Float64Array;
  lastX: Float64Array;
  lastY: Float64Array;
  minX: Float64Array;
  minY: Float64Array;
  maxX: Float64Array;
  maxY: Float64Array;
  /** the last point left of x0 and the first at or right of x1 among the rows read, so the line runs on to the edges; null when none */
  before: [number, number] | null;
  after: [number, number] | null;
}

export interface LineResult {
  x0: number;
  x1: number;
  width: number;
  series: LineSeries[];
  /**
   * the dataset's rows; (row, series) pairs drawn inside [x0, x1); pairs with a null or non-finite
   * x or y, and pairs filtered out (or without a split value) — these two are counted by the native
   * kernel only, not on a database
   */
  rows: number;
  used: number;
  nan?: number;
  filtered?: number;
  /** rows the kernel actually read, when fewer than `rows` (zone maps of x) */
  scanned?: number;
  ms: number;
}
