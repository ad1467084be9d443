/**
 * Hash join over column descriptors (native/src/join.cc): the row-id pairs of an equi-join of two
 * mapped tables (inner or left), each side under its own optional filter, in left-row order then
 * right-row order (right -1: a left join's unmatched row); and `joinTakeRows`, which gathers a
 * side's columns through such ids (-1 gives nulls) as an Arrow table, like takeRows.
 */
import type { Table } from 'apache-arrow';
import { runJob, type KernelOptions, type RawJoin, type RawJoinKey, type RawRows } from './binding';
import { rawFilter, rowsToTable, toRawColumn, type ColumnDesc, type NativeFilter } from './index';

export type JoinKeySpec = RawJoinKey;
export type JoinPairs = RawJoin;

export interface HashJoinOptions extends KernelOptions {
  how?: 'inner' | 'left';
  leftFilter?: NativeFilter;
  rightFilter?: NativeFilter;
  /** more result rows than this: E_TOO_LARGE (default: from the machine's memory) */
  maxPairs?: number;
}

export function hashJoin(leftKeys: readonly ColumnDesc[], rightKeys: readonly ColumnDesc[], keys: readonly JoinKeySpec[], opts: HashJoinOptions = {}): Promise<JoinPairs> {
  return runJob(
    'hashJoin',
    (a, job) =>
      a.hashJoin(
        leftKeys.map(toRawColumn),
        rightKeys.map(toRawColumn),
        { how: opts.how ?? 'inner', keys: [...keys], ...(opts.maxPairs !== undefined ? { maxPairs: opts.maxPairs } : {}) },
        rawFilter(opts.leftFilter),
        rawFilter(opts.rightFilter),
        job,
      ),
    opts,
  );
}

/** The rows `rowIds` (any order; -1 a row of nulls) of `columns` as an Arrow table of one record batch. */
export async function joinTakeRows(columns: ColumnDesc[], rowIds: Float64Array, opts: KernelOptions = {}): Promise<Table> {
  const raws: RawRows[] = await runJob('joinTake', (a, job) => a.joinTake(columns.map(toRawColumn), rowIds, job), opts);
  return rowsToTable(columns, raws, rowIds.length);
}
