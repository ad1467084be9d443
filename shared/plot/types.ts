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
