/**
 * The kernels of the CDX native engine over column descriptors, as an idiomatic TypeScript API:
 * summary, 2-D binning, histograms, row windows, region statistics, and the Arrow assembly of the
 * rows they return. Every kernel is asynchronous (a Promise; the work runs off the JS thread),
 * accepts an AbortSignal (rejects with E_CANCELLED) and an onProgress callback (polled every
 * ~100 ms). Failures reject with a CdxError (shared/errors.ts) whose code is an ErrorCode
 * (ENOENT, E_OUT_OF_RANGE, E_TRUNCATED, E_BAD_TYPE, E_BAD_ARG, E_CANCELLED, ...).
 *
 * The addon itself (loading it, its typed interface, jobs, error normalisation) is native/binding.ts.
 */
import {
  Bool, DateDay, DateMillisecond, Float32, Float64, Int16, Int32, Int64, Int8, makeData, makeVector, Table,
  TimestampMicrosecond, TimestampMillisecond, TimestampNanosecond, TimestampSecond, Uint16, Uint32, Uint64, Uint8,
  Utf8, tableToIPC, type DataType, type Vector,
} from 'apache-arrow';
import { CdxError } from '../shared/errors';
import {
  loadNative, runJob, type Bin2dColumns, type Bin2dKernelOptions, type ColumnKind, type ColumnSummary, type FileHandle, type FilterOp,
  type Hist1dResult, type KernelOptions, type NumericDType, type RawBin2d, type RawColumn, type RawFilter, type RawRows,
  type Region, type RegionStats, type SummaryKernelOptions,
} from './binding';

// the kernels' argument and result types, declared with the addon's interface
export type {
  ColumnKind, ColumnSummary, Hist1dResult, KernelOptions, NumericDType, Progress, RawRows, Region, RegionStats,
} from './binding';

// ---------------------------------------------------------------------------------------------
// Files

/**
 * A file mapped by the native engine. While it is open, the mapping keeps the data readable even
 * if the file is deleted; kernels given this handle instead of a path use that mapping.
 */
export class NativeFile {
  readonly path: string;
  readonly size: number;
  /** @internal */ handle: FileHandle | undefined;
  private constructor(path: string, handle: FileHandle, size: number) {
    this.path = path;
    this.handle = handle;
    this.size = size;
  }
  /** Maps `path` (synchronous: open + mmap, no data read). Throws with code ENOENT etc. */
  static open(path: string): NativeFile {
    const r = loadNative().mapFile(path);
    return new NativeFile(path, r.handle, r.size);
  }
  /** Drops this handle's mapping (kernels already running keep theirs). */
  close(): void {
    if (this.handle !== undefined) loadNative().unmapFile(this.handle);
    this.handle = undefined;
  }
}

/** A file argument: a path (opened for the duration of one call) or an open NativeFile. */
export type FileArg = string | NativeFile;

export function fileHandle(f: FileArg): string | FileHandle {
  if (typeof f === 'string') return f;
  if (f.handle === undefined) throw CdxError.file('E_CLOSED', f.path, 'file handle is closed');
  return f.handle;
}

// ---------------------------------------------------------------------------------------------
// Kernels

export function nativeInfo(): { openmp: boolean; threads: number; version: string } {
  return loadNative().nativeInfo();
}

/**
 * Memory-maps `file` and computes count / min / max / sum / NaN count of `region.count` values of
 * `region.dtype` starting at byte `region.offset`, in parallel, off the JS thread.
 */
export function regionStats(file: FileArg, region: Region, opts?: KernelOptions): Promise<RegionStats> {
  return runJob(
    'regionStats',
    (a, job) =>
      a.regionStats(
        fileHandle(file),
        { offset: region.offset, count: region.count, dtype: region.dtype, littleEndian: region.littleEndian ?? true },
        job,
      ),
    opts,
  );
}

/**
 * The plainest parallel read of `length` bytes at `offset` (a sum of 64-bit words): the machine's
 * read limit for the kernels, used as the benchmarks' baseline.
 */
export function readBandwidth(file: FileArg, range: { offset: number; length: number }, opts?: KernelOptions): Promise<{ bytes: number; checksum: number }> {
  return runJob('readBandwidth', (a, job) => a.readBandwidth(fileHandle(file), range, job), opts);
}

// ---------------------------------------------------------------------------------------------
// Column descriptors

/** A byte range of a file. */
export interface ByteRange {
  offset: number;
  length: number;
}

/** One chunk of a column (an Arrow record batch; the whole array for NPY / raw files). */
export interface ChunkDesc {
  rows: number;
  /** values (numeric / dictionary indices), bit-packed values (bool), or UTF-8 bytes (strings) */
  data: ByteRange;
  /** Arrow validity bitmap (LSB first, 1 = valid); absent = no nulls */
  validity?: { offset: number; bitOffset?: number } | null;
  /** utf8: int32 offsets, large_utf8: int64 offsets ((rows + 1) entries) */
  offsets?: ByteRange;
  /** when known; 0 lets kernels skip the bitmap */
  nullCount?: number;
}

/** How to interpret stored integers (dates, timestamps) or bytes (numpy bool). */
export type LogicalType =
  | { type: 'date'; unit: 'day' | 'ms' }
  | { type: 'timestamp'; unit: 's' | 'ms' | 'us' | 'ns'; timezone?: string | null }
  | { type: 'bool8' };

/** A column of a memory-mapped file, as the native kernels read it (no copy). */
/** A computed column's program (main/engine/expr-native.ts builds it). */
export interface ComputedDesc {
  out: 'f64' | 'i64' | 'i32' | 'bool' | 'str';
  inputs: ColumnDesc[];
  code: { op: number; a?: number; b?: number; f?: number; i?: string; s?: string }[];
  preds: NativeFilter[];
  lower?: Uint32Array;
  upper?: Uint32Array;
  /** the expression's canonical text */
  text: string;
}

export interface ColumnDesc {
  name: string;
  file: FileArg;
  kind: ColumnKind;
  /** numeric: value type; dict: index type */
  dtype?: NumericDType;
  /** byte order of numeric values and offsets; default true */
  littleEndian?: boolean;
  chunks: ChunkDesc[];
  /** dict: the dictionary values (a utf8 / large_utf8 column; chunks concatenated) */
  dictionary?: ColumnDesc;
  logical?: LogicalType;
  /**
   * a computed column (main/engine/expr-native.ts): its chunks are evaluated from `inputs` when a
   * kernel reads them (native/src/expr.h); `file` and the chunks' byte ranges mean nothing then
   */
  computed?: ComputedDesc;
}

/**
 * The largest chunk a computed column is evaluated in (rows): the kernels' morsel (1 << 16 rows),
 * so a scan evaluates each chunk once. Smaller chunks cost more than their buffer's place in cache
 * saves: a filter on `x * 2 - 0.5` over 1e8 rows took 1.6× the plain filter's time with 16,384-row
 * chunks, 1.35× with these (bench/expr.ts at 1e8 rows, 2 threads).
 */
export const COMPUTED_CHUNK_ROWS = 65_536;

/** A computed column's chunks: every input's chunk boundaries, cut at COMPUTED_CHUNK_ROWS rows. */
export function computedChunks(inputs: readonly ColumnDesc[], rows: number): ChunkDesc[] {
  const cuts = new Set<number>([0, rows]);
  for (const c of inputs) {
    let r = 0;
    for (const k of c.chunks) {
      cuts.add(r);
      r += k.rows;
    }
  }
  const sorted = [...cuts].filter((x) => x <= rows).sort((x, y) => x - y);
  const chunks: ChunkDesc[] = [];
  for (let i = 0; i + 1 < sorted.length; i++)
    for (let r = sorted[i]!; r < sorted[i + 1]!; r += COMPUTED_CHUNK_ROWS)
      chunks.push({ rows: Math.min(COMPUTED_CHUNK_ROWS, sorted[i + 1]! - r), data: { offset: 0, length: 0 } });
  return chunks;
}

/** Total rows of a column. */
export function columnRows(c: ColumnDesc): number {
  let n = 0;
  for (const k of c.chunks) n += k.rows;
  return n;
}

const rawCache = new WeakMap<ColumnDesc, RawColumn>();

/** The plain, native-facing form of a descriptor (chunks packed in a Float64Array). */
export function toRawColumn(c: ColumnDesc): RawColumn {
  const hit = rawCache.get(c);
  if (hit && (typeof c.file === 'string' || hit.file === c.file.handle)) return hit;
  if ((c.kind === 'numeric' || c.kind === 'dict') && !c.dtype) throw new CdxError('E_BAD_TYPE', `column ${c.name}: dtype is required`, { column: c.name });
  const f = new Float64Array(c.chunks.length * 8);
  c.chunks.forEach((k, i) => {
    const o = i * 8;
    f[o] = k.rows;
    f[o + 1] = k.data.offset;
    f[o + 2] = k.data.length;
    f[o + 3] = k.validity ? k.validity.offset : -1;
    f[o + 4] = k.validity?.bitOffset ?? 0;
    f[o + 5] = k.offsets?.offset ?? 0;
    f[o + 6] = k.offsets?.length ?? 0;
    f[o + 7] = k.nullCount ?? -1;
  });
  if (c.computed) {
    const k = c.computed;
    const raw: RawColumn = {
      name: c.name, file: '', kind: c.kind, dtype: c.dtype, littleEndian: true, chunks: f,
      computed: { out: k.out, inputs: k.inputs.map(toRawColumn), code: k.code, preds: k.preds.map((p) => rawFilter(p)!), ...(k.lower ? { lower: k.lower } : {}), ...(k.upper ? { upper: k.upper } : {}) },
    };
    rawCache.set(c, raw);
    return raw;
  }
  const raw: RawColumn = {
    name: c.name,
    file: fileHandle(c.file),
    kind: c.kind,
    dtype: c.dtype,
    littleEndian: c.littleEndian ?? true,
    chunks: f,
  };
  if (c.kind === 'dict') {
    if (!c.dictionary) throw new CdxError('E_BAD_TYPE', `column ${c.name}: dictionary is required`, { column: c.name });
    raw.dictionary = toRawColumn(c.dictionary);
  }
  rawCache.set(c, raw);
  return raw;
}

/** Descriptor of a plain array of `count` values at byte `offset` (raw binary / NPY data). */
export function rawColumn(
  file: FileArg,
  name: string,
  dtype: NumericDType,
  offset: number,
  count: number,
  littleEndian = true,
): ColumnDesc {
  const width = DTYPE_BYTES[dtype];
  return { name, file, kind: 'numeric', dtype, littleEndian, chunks: [{ rows: count, data: { offset, length: count * width }, nullCount: 0 }] };
}

export const DTYPE_BYTES: Record<NumericDType, number> = {
  int8: 1, uint8: 1, int16: 2, uint16: 2, int32: 4, uint32: 4, float32: 4, int64: 8, uint64: 8, float64: 8,
};

// ---------------------------------------------------------------------------------------------
// Filters: a sealed native filter program

let rawOf: (f: NativeFilter) => RawFilter;

/**
 * A filter ready for the kernels: a postfix program of FilterOps (native/binding.ts) over the
 * columns its ops index, sealed. Nothing outside this module can read the program or the columns
 * back, so no caller splices programs or depends on an op's layout: filters are combined as
 * expressions and compiled once (main/engine/filter.ts compiles them).
 */
export class NativeFilter {
  readonly #program: readonly FilterOp[];
  readonly #columns: readonly ColumnDesc[];
  private constructor(program: readonly FilterOp[], columns: readonly ColumnDesc[]) {
    this.#program = program;
    this.#columns = columns;
    Object.freeze(this);
  }
  /** Seals `program` over `columns` (the ops' column indices refer to it); the kernels check it. */
  static seal(program: readonly FilterOp[], columns: readonly ColumnDesc[]): NativeFilter {
    return new NativeFilter([...program], [...columns]);
  }
  static {
    rawOf = (f) => ({ program: [...f.#program], columns: f.#columns.map(toRawColumn) });
  }
}

/** The native-facing form of a filter (used by every kernel that takes one). */
export function rawFilter(f: NativeFilter | undefined): RawFilter | undefined {
  return f ? rawOf(f) : undefined;
}

export interface FilterOption {
  filter?: NativeFilter;
}

// ---------------------------------------------------------------------------------------------
// Summary

export interface SummaryOptions extends KernelOptions, FilterOption {
  /** equal-width histogram bins over [min, max] (finite values); 0 = none; default 20 */
  bins?: number;
  /** top-k entries for strings and low-cardinality integers; default 10 */
  topk?: number;
  /** integers with more distinct values than this get no top-k; default 1000 */
  lowCardinality?: number;
  /** columns of at most this many rows get exact quantiles (8 bytes a value held during the pass); default 10M */
  exactQuantileRows?: number;
  /** distinct counts are exact up to this many distinct values (65536 for strings, default 65536 for numbers), then estimates */
  exactDistinct?: number;
}

/** The kernel's options with their defaults, for one column or several. */
function summaryKernelOptions(opts: SummaryOptions): SummaryKernelOptions {
  return {
    bins: opts.bins ?? 20,
    topk: opts.topk ?? 10,
    lowCardinality: opts.lowCardinality ?? 1000,
    ...(opts.exactQuantileRows !== undefined ? { exactQuantileRows: opts.exactQuantileRows } : {}),
    ...(opts.exactDistinct !== undefined ? { exactDistinct: opts.exactDistinct } : {}),
  };
}

/** One-pass column summary (a second pass only for the histogram). */
export function summary(column: ColumnDesc, opts: SummaryOptions = {}): Promise<ColumnSummary> {
  return runJob(
    'summary',
    (a, job) =>
      a.summary(
        toRawColumn(column),
        summaryKernelOptions(opts),
        rawFilter(opts.filter),
        job,
      ),
    opts,
  );
}

/** At most this many columns share one scan: bounds the per-thread sketches held at once. */
export const SUMMARY_GROUP_COLUMNS = 16;
/** Exact quantiles keep 8 bytes a value for the scan: the columns of one scan hold at most this much. */
export const SUMMARY_GROUP_EXACT_BYTES = 256 * 2 ** 20;

/**
 * Summaries of several columns of one dataset (equal lengths): each scan reads every column of a
 * group together (the filter evaluated once a row), one more scan makes all their histograms.
 * Groups of at most SUMMARY_GROUP_COLUMNS columns and SUMMARY_GROUP_EXACT_BYTES of kept values
 * (numeric columns at or under `exactQuantileRows` rows keep theirs); the results are those of
 * summary() column by column.
 */
export async function summaryColumns(columns: readonly ColumnDesc[], opts: SummaryOptions = {}): Promise<ColumnSummary[]> {
  if (!columns.length) return [];
  const rows = Math.max(...columns.map((c) => c.chunks.reduce((n, k) => n + k.rows, 0)));
  const keeps = (c: ColumnDesc) => (c.kind === 'numeric' || c.kind === 'bool') && rows <= (opts.exactQuantileRows ?? 10_000_000);
  const groups: ColumnDesc[][] = [];
  let cur: ColumnDesc[] = [];
  let bytes = 0;
  for (const c of columns) {
    const b = keeps(c) ? rows * 8 : 0;
    if (cur.length && (cur.length >= SUMMARY_GROUP_COLUMNS || bytes + b > SUMMARY_GROUP_EXACT_BYTES)) {
      groups.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(c);
    bytes += b;
  }
  groups.push(cur);
  const out: ColumnSummary[] = [];
  let before = 0;
  for (const g of groups) {
    const done = before;
    const r = await runJob(
      'summary',
      (a, job) =>
        a.summary(
          g.map(toRawColumn),
          summaryKernelOptions(opts),
          rawFilter(opts.filter),
          job,
        ),
      {
        ...opts,
        onProgress: opts.onProgress
          ? (p) => opts.onProgress!({ done: p.done, total: p.total, fraction: (done + p.fraction * g.length) / columns.length })
          : undefined,
      },
    );
    out.push(...r);
    before += g.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Binning

/** the kernel's viewport [x0, x1) x [y0, y1), grid (each side 1..4096), aggregation and category count, over column descriptors */
export interface Bin2dSpec extends Bin2dKernelOptions {
  x: ColumnDesc;
  y: ColumnDesc;
  /** optional third column aggregated per cell */
  value?: ColumnDesc;
  /** optional categorical column (integer codes 0..categories-1, or dictionary indices) */
  category?: ColumnDesc;
}

export interface Bin2dResult extends RawBin2d {
  width: number;
  height: number;
  categories?: number;
}

/** 2-D binning for density plots. Cell (i, j) covers [x0 + i*dx, x0 + (i+1)*dx) x [y0 + j*dy, ...). */
export async function bin2d(spec: Bin2dSpec, opts: KernelOptions & FilterOption = {}): Promise<Bin2dResult> {
  const cols: Bin2dColumns = { x: toRawColumn(spec.x), y: toRawColumn(spec.y) };
  if (spec.value) cols.value = toRawColumn(spec.value);
  if (spec.category) cols.category = toRawColumn(spec.category);
  const r = await runJob(
    'bin2d',
    (a, job) =>
      a.bin2d(
        cols,
        { x0: spec.x0, x1: spec.x1, y0: spec.y0, y1: spec.y1, width: spec.width, height: spec.height, agg: spec.agg, categories: spec.categories },
        rawFilter(opts.filter),
        job,
      ),
    opts,
  );
  return { ...r, width: spec.width, height: spec.height, categories: spec.category ? spec.categories : undefined };
}

/** 1-D histogram over [lo, hi) with `bins` equal bins (also used for brushing). */
export function hist1d(
  column: ColumnDesc,
  range: { lo: number; hi: number; bins: number },
  opts: KernelOptions & FilterOption = {},
): Promise<Hist1dResult> {
  return runJob('hist1d', (a, job) => a.hist1d(toRawColumn(column), range, rawFilter(opts.filter), job), opts);
}

// ---------------------------------------------------------------------------------------------
// Row windows

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
  return arrowNumericType(c.dtype ?? 'float64');
}

/** The Arrow type of a numeric storage type. */
export function arrowNumericType(dtype: NumericDType): DataType {
  switch (dtype) {
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

/**
 * Rows [offset, offset + count) of `columns` as an Arrow table of one record batch (strings
 * decoded from dictionaries; values in host byte order). Time is proportional to count.
 */
export async function readRows(columns: ColumnDesc[], offset: number, count: number, opts: KernelOptions = {}): Promise<Table> {
  const raws: RawRows[] = await runJob('readRows', (a, job) => a.readRows(columns.map(toRawColumn), offset, count, job), opts);
  return rowsToTable(columns, raws, count);
}

/** The row kernels' per-column output as an Arrow table of one record batch. */
export function rowsToTable(columns: ColumnDesc[], raws: RawRows[], count: number): Table {
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

/** readRows as Arrow IPC stream bytes (what crosses process lines). */
export async function readRowsIPC(columns: ColumnDesc[], offset: number, count: number, opts: KernelOptions = {}): Promise<Uint8Array> {
  return tableToIPC(await readRows(columns, offset, count, opts), 'stream');
}
