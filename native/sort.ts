/**
 * Sort over column descriptors (native/src/sort.cc): the global row numbers of the rows passing an
 * optional filter, ordered by the columns (each ascending or descending; nulls last, NaN the
 * greatest number, text by bytes, ties by row number), all of them or the first `limit` (top-N
 * without a full sort); `total` counts the passing rows.
 */
import { runJob, type KernelOptions } from './binding';
import { rawFilter, toRawColumn, type ColumnDesc, type FilterOption } from './index';

export interface SortOptions extends KernelOptions, FilterOption {
  /** one per column: true sorts it descending (default all ascending) */
  desc?: readonly boolean[];
  /** only the first `limit` rows of the order */
  limit?: number;
}

export interface SortedRows {
  rowIds: Float64Array;
  total: number;
}

export function sortRows(columns: readonly ColumnDesc[], opts: SortOptions = {}): Promise<SortedRows> {
  const desc = opts.desc ? [...opts.desc] : columns.map(() => false);
  return runJob(
    'sortRows',
    (a, job) => a.sortRows(columns.map(toRawColumn), { desc, ...(opts.limit !== undefined ? { limit: opts.limit } : {}) }, rawFilter(opts.filter), job),
    opts,
  );
}
