/**
 * Filtered views of a dataset for the table: which rows pass a filter, addressed by rank among the
 * passing rows. `filterBlockCounts` counts passing rows per block of rows in one parallel pass;
 * with their prefix sums, `filteredRowIds` finds the row numbers of passing rows k .. k+n by
 * scanning only from the block that holds row k; `takeRows` / `takeRowsIPC` read those rows (any
 * row ids, ascending fastest) as an Arrow table / IPC stream, like readRows / readRowsIPC.
 * Kernels live in native/src/select.cc.
 */
import { tableToIPC, type Table } from 'apache-arrow';
import { runJob, type KernelOptions, type RawRows } from './binding';
import { rawFilter, rowsToTable, toRawColumn, type ColumnDesc, type NativeFilter } from './index';

/** Default rows per block for filterBlockCounts (one count per 64Ki rows: 15k counts per billion rows). */
export const DEFAULT_BLOCK_ROWS = 65536;

export interface BlockCountsOptions extends KernelOptions {
  /** rows per block (default 65536; at most 2^32 - 1) */
  blockRows?: number;
  /** row count: required when the filter reads no column (e.g. `and()`), checked otherwise */
  rows?: number;
}

/**
 * counts[b] = rows of [b * blockRows, (b + 1) * blockRows) for which the filter is true (null /
 * unknown does not pass). One parallel pass over the filter's columns. A missing filter passes
 * every row (then `rows` is required).
 */
export function filterBlockCounts(filter: NativeFilter | undefined, opts: BlockCountsOptions = {}): Promise<Uint32Array> {
  const blockRows = opts.blockRows ?? DEFAULT_BLOCK_ROWS;
  return runJob('filterBlockCounts', (a, job) => a.filterBlockCounts(rawFilter(filter), { blockRows, rows: opts.rows }, job), opts);
}

export interface RowIdsOptions extends KernelOptions {
  /** first row considered (default 0) */
  fromRow?: number;
  /** end of the rows considered, exclusive (default: all; clamped to the row count) */
  toRow?: number;
  /** passing rows to drop first (default 0) */
  skip?: number;
  /** at most this many ids (at most 1e8) */
  limit: number;
  /** row count: required when the filter reads no column, checked otherwise */
  rows?: number;
  /**
   * The filter's block counts (from filterBlockCounts): lets the scan jump over blocks without
   * passing rows and whole blocks still inside `skip`. `counts` may be a slice (counts.subarray)
   * starting at block `first` (default 0) that covers [fromRow, toRow).
   */
  blocks?: { blockRows: number; counts: Uint32Array; first?: number };
}

/**
 * Global row numbers of the rows in [fromRow, toRow) that pass the filter, without the first
 * `skip` of them, at most `limit`. Time follows the rows scanned (it stops once it has `limit`).
 */
export function filteredRowIds(filter: NativeFilter | undefined, opts: RowIdsOptions): Promise<Float64Array> {
  const o = {
    fromRow: opts.fromRow ?? 0,
    toRow: opts.toRow,
    skip: opts.skip ?? 0,
    limit: opts.limit,
    rows: opts.rows,
    blockRows: opts.blocks?.blockRows,
    blockCounts: opts.blocks?.counts,
    blockFirst: opts.blocks?.first,
  };
  return runJob('filteredRowIds', (a, job) => a.filteredRowIds(rawFilter(filter), o, job), opts);
}

// ---------------------------------------------------------------------------------------------
// Rows by id (assembled like readRows)

/**
 * The rows `rowIds` (global row numbers; ascending is fastest, any order works) of `columns` as an
 * Arrow table of one record batch, in the order given — the same shape as readRows.
 */
export async function takeRows(columns: ColumnDesc[], rowIds: Float64Array, opts: KernelOptions = {}): Promise<Table> {
  const raws: RawRows[] = await runJob('takeRows', (a, job) => a.takeRows(columns.map(toRawColumn), rowIds, job), opts);
  return rowsToTable(columns, raws, rowIds.length);
}

/** takeRows as Arrow IPC stream bytes (what crosses process lines), like readRowsIPC. */
export async function takeRowsIPC(columns: ColumnDesc[], rowIds: Float64Array, opts: KernelOptions = {}): Promise<Uint8Array> {
  return tableToIPC(await takeRows(columns, rowIds, opts), 'stream');
}
