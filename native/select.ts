/**
 * Filtered views of a dataset for the table: which rows pass a filter, addressed by rank among the
 * passing rows. `filterBlockCounts` counts passing rows per block of rows in one parallel pass;
 * with their prefix sums, `filteredRowIds` finds the row numbers of passing rows k .. k+n by
 * scanning only from the block that holds row k; `takeRows` / `takeRowsIPC` read those rows (any
 * row ids, ascending fastest) as an Arrow table / IPC stream, like readRows / readRowsIPC.
 * Kernels live in native/src/select.cc.
 */
import {
  Bool, DateDay, DateMillisecond, Float32, Float64, Int16, Int32, Int64, Int8, makeData, makeVector, Table,
  TimestampMicrosecond, TimestampMillisecond, TimestampNanosecond, TimestampSecond, Uint16, Uint32, Uint64, Uint8,
  Utf8, tableToIPC, type DataType, type Vector,
} from 'apache-arrow';
import { compileFilter, runJob, toRawColumn, type ColumnDesc, type FilterArg, type KernelOptions, type NumericDType } from './index';

/** Default rows per block for filterBlockCounts (one count per 64Ki rows: 15k counts per billion rows). */
export const DEFAULT_BLOCK_ROWS = 65536;

// Same as index.ts's (unexported) rawFilter: the native-facing form of a filter.
function rawFilter(f: FilterArg | undefined): { program: unknown[]; columns: unknown[] } | undefined {
  if (!f) return undefined;
  const c = 'program' in f ? f : compileFilter(f.expr, f.columns);
  return { program: c.program, columns: c.columns.map(toRawColumn) };
}

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
export function filterBlockCounts(filter: FilterArg | undefined, opts: BlockCountsOptions = {}): Promise<Uint32Array> {
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
export function filteredRowIds(filter: FilterArg | undefined, opts: RowIdsOptions): Promise<Float64Array> {
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
// Rows by id. Assembly into Arrow duplicates index.ts's readRows (its helpers are not exported).

interface RawRows {
  values: ArrayBuffer;
  offsets?: Int32Array;
  valid?: Uint8Array;
}

function packBits(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array((bytes.length + 7) >> 3);
  for (let i = 0; i < bytes.length; i++) if (bytes[i]) out[i >> 3]! |= 1 << (i & 7);
  return out;
}

function arrowType(c: ColumnDesc): DataType {
  if (c.kind === 'utf8' || c.kind === 'large_utf8' || c.kind === 'dict') return new Utf8();
  if (c.kind === 'bool' || c.logical?.type === 'bool8') return new Bool();
  const lg = c.logical;
  if (lg?.type === 'date') return lg.unit === 'day' ? new DateDay() : new DateMillisecond();
  if (lg?.type === 'timestamp') {
    const tz = lg.timezone ?? undefined;
    return lg.unit === 's' ? new TimestampSecond(tz) : lg.unit === 'ms' ? new TimestampMillisecond(tz) : lg.unit === 'us' ? new TimestampMicrosecond(tz) : new TimestampNanosecond(tz);
  }
  switch (c.dtype) {
    case 'int8': return new Int8();
    case 'int16': return new Int16();
    case 'int32': return new Int32();
    case 'int64': return new Int64();
    case 'uint8': return new Uint8();
    case 'uint16': return new Uint16();
    case 'uint32': return new Uint32();
    case 'uint64': return new Uint64();
    case 'float32': return new Float32();
    default: return new Float64();
  }
}

const TYPED: Record<NumericDType, new (b: ArrayBuffer) => ArrayLike<number | bigint>> = {
  int8: Int8Array, int16: Int16Array, int32: Int32Array, int64: BigInt64Array,
  uint8: Uint8Array, uint16: Uint16Array, uint32: Uint32Array, uint64: BigUint64Array,
  float32: Float32Array, float64: Float64Array,
};

function assemble(columns: ColumnDesc[], raws: RawRows[], count: number): Table {
  const vecs: Record<string, Vector> = {};
  columns.forEach((c, i) => {
    const r = raws[i]!;
    const type = arrowType(c);
    const nullBitmap = r.valid ? packBits(r.valid) : undefined;
    const nullCount = r.valid ? r.valid.reduce((s, v) => s + (v ? 0 : 1), 0) : 0;
    let data;
    if (r.offsets) {
      data = makeData({ type: type as Utf8, length: count, nullCount, nullBitmap, valueOffsets: r.offsets, data: new Uint8Array(r.values) });
    } else if (type instanceof Bool) {
      data = makeData({ type, length: count, nullCount, nullBitmap, data: packBits(new Uint8Array(r.values)) });
    } else {
      const T = TYPED[c.dtype ?? 'float64'];
      let values: ArrayLike<number | bigint> = new T(r.values);
      // int64 day counts (numpy datetime64[D]) -> Arrow DateDay's int32
      if (type instanceof DateDay && values instanceof BigInt64Array) values = Int32Array.from(values, (v) => Number(v));
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- typed array matches `type` by construction
      data = makeData({ type: type as any, length: count, nullCount, nullBitmap, data: values as any });
    }
    let name = c.name;
    while (name in vecs) name += '_';
    vecs[name] = makeVector(data);
  });
  return new Table(vecs);
}

/**
 * The rows `rowIds` (global row numbers; ascending is fastest, any order works) of `columns` as an
 * Arrow table of one record batch, in the order given — the same shape as readRows.
 */
export async function takeRows(columns: ColumnDesc[], rowIds: Float64Array, opts: KernelOptions = {}): Promise<Table> {
  const raws: RawRows[] = await runJob('takeRows', (a, job) => a.takeRows(columns.map(toRawColumn), rowIds, job), opts);
  return assemble(columns, raws, rowIds.length);
}

/** takeRows as Arrow IPC stream bytes (what crosses process lines), like readRowsIPC. */
export async function takeRowsIPC(columns: ColumnDesc[], rowIds: Float64Array, opts: KernelOptions = {}): Promise<Uint8Array> {
  return tableToIPC(await takeRows(columns, rowIds, opts), 'stream');
}
