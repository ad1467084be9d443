/**
 * Group-by over column descriptors (native/src/group.cc): keys, the value columns the measures
 * read, and the measures, under an optional filter; the raw per-group arrays main/engine/group.ts
 * turns into an Arrow table.
 */
import { runJob, type RawGroups, type RawMeasure } from './binding';
import { rawFilter, toRawColumn, type ColumnDesc, type FilterOption } from './index';
import type { KernelOptions } from './binding';

export type GroupMeasureSpec = RawMeasure;

export interface GroupOptions extends KernelOptions, FilterOption {
  /** more groups than this: E_TOO_LARGE naming it (default 50M) */
  maxGroups?: number;
  /** distinct counts and quantiles keep every value: more than this many in all is E_LIMIT (default 200M) */
  maxGatherRows?: number;
  /**
   * Sorted by measure `measure` (descending if `desc`) and cut to `limit`: past 4096 groups (the limit
   * under an eighth of them) only the groups whose measure is a number at or better than the
   * limit-th (ties included) come back, `rows` of them; `groups` still counts every group.
   */
  top?: { measure: number; desc: boolean; limit: number };
}

export function groupByColumns(keys: readonly ColumnDesc[], values: readonly ColumnDesc[], measures: readonly GroupMeasureSpec[], opts: GroupOptions = {}): Promise<RawGroups> {
  return runJob(
    'groupBy',
    (a, job) =>
      a.groupBy(
        keys.map(toRawColumn),
        values.map(toRawColumn),
        [...measures],
        { ...(opts.maxGroups !== undefined ? { maxGroups: opts.maxGroups } : {}), ...(opts.maxGatherRows !== undefined ? { maxGatherRows: opts.maxGatherRows } : {}), ...(opts.top ? { top: opts.top } : {}) },
        rawFilter(opts.filter),
        job,
      ),
    opts,
  );
}
