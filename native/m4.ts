/**
 * M4 line decimation over column descriptors (native/src/m4.cc): per pixel column of [x0, x1) and
 * per series — each y column, or each value of a split column — the first, last, smallest and
 * largest point, plus the nearest point on each side of the range. shared/plot/types.ts LineSeries
 * says what each array holds; shared/plot/m4.ts draws from it.
 */
import { runJob, type KernelOptions, type RawM4 } from './binding';
import { rawFilter, toRawColumn, type ColumnDesc, type FilterOption } from './index';

export interface M4Spec {
  x: ColumnDesc;
  ys: readonly ColumnDesc[];
  /** integer codes 0..categories-1 or dictionary indices; then exactly one y */
  category?: ColumnDesc;
  categories?: number;
  x0: number;
  x1: number;
  /** pixel columns, 1..16384 */
  width: number;
  /** keep each y column's M4 per block of this many rows too (unfiltered, uncut columns only) */
  blockRows?: number;
}

export function m4(spec: M4Spec, opts: KernelOptions & FilterOption = {}): Promise<RawM4> {
  const cols = { x: toRawColumn(spec.x), ys: spec.ys.map(toRawColumn), ...(spec.category ? { category: toRawColumn(spec.category) } : {}) };
  const o = { x0: spec.x0, x1: spec.x1, width: spec.width, ...(spec.category ? { categories: spec.categories ?? 1 } : {}), ...(spec.blockRows ? { blockRows: spec.blockRows } : {}) };
  return runJob('m4', (a, job) => a.m4(cols, o, rawFilter(opts.filter), job), opts);
}
