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
}

export function groupByColumns(keys: readonly ColumnDesc[], values: readonly ColumnDesc[], measures: readonly GroupMeasureSpec[], opts: GroupOptions = {}): Promise<RawGroups> {
  return runJob(
    'groupBy',
    (a, job) =>
      a.groupBy(
        keys.map(toRawColumn),
        values.map(toRawColumn),
        [...measures],
        { ...(opts.maxGroups !== undefined ? { maxGroups: opts.maxGroups } : {}), ...(opts.maxGatherRows !== undefined ? { maxGatherRows: opts.maxGatherRows } : {}) },
        rawFilter(opts.filter),
        job,
      ),
    opts,
  );
}
