/**
 * A spatially ordered copy of two numeric columns (native/src/spatial.cc): the rows in Z-order of
 * their (x, y) cell on a 2^bits x 2^bits grid over the given extent, written as a plain file (all x
 * values, then all y values; null or NaN rows last, as NaN). Zoomed views of the copy skip most of
 * its row blocks by their zone maps (native/zones.ts).
 */
import { runJob, type KernelOptions } from './binding';
import { toRawColumn, type ColumnDesc } from './index';

export interface SpatialCopyOptions extends KernelOptions {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
  /** grid of 2^bits cells per side (1..12) */
  bits: number;
  /** the file written (created; removed again on failure) */
  out: string;
  /** float32 values (only when both columns are float32: exact); float64 otherwise */
  float32: boolean;
}

export function spatialCopy(x: ColumnDesc, y: ColumnDesc, o: SpatialCopyOptions): Promise<{ rows: number; cells: number; nan: number }> {
  return runJob(
    'spatialCopy',
    (a, job) => a.spatialCopy({ x: toRawColumn(x), y: toRawColumn(y) }, { x0: o.x0, x1: o.x1, y0: o.y0, y1: o.y1, bits: o.bits, out: o.out, float32: o.float32 }, job),
    o,
  );
}
