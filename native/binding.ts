/**
 * The one loader of the CDX native engine (native/build/Release/cdx_native.node), the typed
 * interface of everything the addon exports (`NativeAddon`: every function native/src/*.cc
 * registers, with its exact arguments and results, no `any`), the job runner that wires an
 * AbortSignal and a progress callback to one native call (`runJob`), and the one place where the
 * addon's errors enter the error vocabulary: like better-sqlite3, which installs its error
 * constructor once, the loader wraps every export once, so that whatever the addon throws or
 * rejects with is a `CdxError` whose code is an `ErrorCode` (the C++ says EEXIST, this says
 * E_EXISTS). No caller re-shapes native errors.
 *
 * Where the binary is looked for, in order: env CDX_NATIVE_PATH; `native/build/Release/` walking
 * up from this module's own folder (from source under vitest/tsx, and bundled into out/main/);
 * `prebuilds/<platform>-<arch>/` of the installed package (what `npm run prebuild` makes with
 * prebuildify and `npm pack` ships; the file is picked by node-gyp-build's tag matching, napi and
 * libc), in the folder above us whose package.json is ours; Electron's resourcesPath
 * (app.asar.unpacked, then the folder itself: the build, then the prebuilds). Never the working
 * folder: a `native/` folder in whatever directory the CLI was started from is not ours to load.
 * Every failed path is collected into one actionable error (E_NATIVE_MISSING).
 * CDX_NATIVE_DEBUG=1 prints the path loaded on stderr.
 */
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CdxError, errorCode, isErrorCode, toErrorInfo, type ErrorCode } from '../shared/errors';
import type { LineSeries } from '../shared/plot/types';

// ---------------------------------------------------------------------------------------------
// Handles: opaque values the addon makes (Napi Externals) and takes back

declare const handleKind: unique symbol;
/** A value made by the addon that only the addon can read. */
export type NativeHandle<K extends string> = { readonly [handleKind]: K };
export type JobHandle = NativeHandle<'job'>;
export type FileHandle = NativeHandle<'file'>;
export type CsvParserHandle = NativeHandle<'csv parser'>;
export type ParquetWriterHandle = NativeHandle<'parquet writer'>;

/** A file argument of the raw calls: a path (opened for that call) or a mapFile handle. */
export type RawFile = string | FileHandle;

// ---------------------------------------------------------------------------------------------
// Arguments and results of the raw calls

export type NumericDType =
  | 'int8' | 'int16' | 'int32' | 'int64'
  | 'uint8' | 'uint16' | 'uint32' | 'uint64'
  | 'float32' | 'float64';

export type ColumnKind = 'numeric' | 'bool' | 'utf8' | 'large_utf8' | 'dict';

/**
 * A column descriptor as the kernels parse it (columns.cc ParseColumn): 8 numbers per chunk —
 * rows, data offset, data length, validity offset (-1 = none), validity bit offset, offsets
 * offset, offsets length, null count (-1 = unknown).
 */
export interface RawColumn {
  name: string;
  file: RawFile;
  kind: ColumnKind;
  /** numeric: value type; dict: index type */
  dtype?: NumericDType;
  littleEndian: boolean;
  chunks: Float64Array;
  /** dict: the dictionary (a utf8 / large_utf8 column) */
  dictionary?: RawColumn;
  /** a computed column (native/src/expr.h ParseComputed) */
  computed?: { out: string; inputs: RawColumn[]; code: object[]; preds: RawFilter[]; lower?: Uint32Array; upper?: Uint32Array };
}

export type CompareOp = '=' | '!=' | '<' | '<=' | '>' | '>=';

/** A literal of a filter program (filter.cc ParseLit); `int` is decimal text (exact int64). */
export type FilterLiteral = { t: 'num'; v: number } | { t: 'int'; v: string } | { t: 'str'; v: string } | { t: 'null' };

/**
 * One op of a filter program, evaluated in postfix order over three-valued results (0 false,
 * 1 unknown, 2 true); `col`, `x`, `y` index the program's columns. `poly` holds a polygon's edges
 * as (ylo, yhi, xi, yi, k) quintuples (shared/expr/polygon.ts polygonEdges).
 */
export type FilterOp =
  | { op: 'cmp'; col: number; cmp: CompareOp; lit: FilterLiteral }
  | { op: 'in'; col: number; lits: FilterLiteral[] }
  | { op: 'isnull'; col: number }
  | { op: 'poly'; x: number; y: number; pts: Float64Array }
  /**
   * A string predicate (shared/expr/strmatch.ts, filter.cc StrMatch): eq/contains/prefix/suffix
   * compare the UTF-8 bytes of `s`; with `fold` (a sorted (from, to) case table) the text is
   * folded per code point and compared with the code points `pat`. like: `pat` holds LIKE tokens
   * (code points, -1 for %, -2 for _). regex: `prog` is the NFA (op, a, b triples), `ranges` its
   * sets, `anchored` when it can only match at the start.
   */
  | {
      op: 'str'; col: number; fn: 'eq' | 'contains' | 'prefix' | 'suffix' | 'like' | 'regex';
      s?: string; pat?: Int32Array; prog?: Int32Array; ranges?: Uint32Array; fold?: Uint32Array; anchored?: boolean;
    }
  | { op: 'and' | 'or'; n: number }
  | { op: 'not' }
  | { op: 'const'; v: 0 | 1 | 2 };

/** A filter program with its columns, as every kernel that filters takes it. */
export interface RawFilter {
  program: FilterOp[];
  columns: RawColumn[];
}

export interface Region {
  /** byte offset of the first value */
  offset: number;
  /** number of values */
  count: number;
  dtype: NumericDType;
  /** default true */
  littleEndian?: boolean;
}

export interface RegionStats {
  /** values read (including NaN) */
  count: number;
  /** over non-NaN values; NaN when there are none */
  min: number;
  max: number;
  sum: number;
  nanCount: number;
}

export interface SummaryKernelOptions {
  bins?: number;
  topk?: number;
  lowCardinality?: number;
  /** columns of at most this many rows get exact quantiles; larger ones a sketch's (default 10M) */
  exactQuantileRows?: number;
  /** numbers are counted exactly up to this many distinct values (default 65536, as strings) */
  exactDistinct?: number;
}

export interface ColumnSummary {
  /** rows considered (after the filter) */
  rows: number;
  nulls: number;
  /** non-null values (NaN included) */
  count: number;
  /** exact for small cardinalities, approximate (HyperLogLog, ~0.4% std error) beyond */
  distinct: number;
  /** whether `distinct` was counted exactly */
  distinctExact?: boolean;
  topk?: { value: number | bigint | string; count: number }[];
  /** true when top-k counts come from the Misra-Gries fallback (very many distinct strings) */
  topkApproximate?: boolean;
  // numeric columns
  nanCount?: number;
  posInfCount?: number;
  negInfCount?: number;
  /** over non-NaN values (±Inf included); NaN when there are none */
  min?: number;
  max?: number;
  /** exact extremes of int64 / uint64 columns */
  minExact?: bigint;
  maxExact?: bigint;
  /** over finite values */
  mean?: number;
  /** sample standard deviation (n - 1) over finite values */
  std?: number;
  /** exact up to `exactQuantileRows` rows, else from a KLL-style sketch (rank error well under 1%) */
  quantiles?: { p1: number; p5: number; p25: number; p50: number; p75: number; p95: number; p99: number };
  /** whether `quantiles` are exact */
  quantilesExact?: boolean;
  /** counts[i] covers [lo + i*d, lo + (i+1)*d), the last bin closed; finite values only */
  histogram?: { lo: number; hi: number; counts: Float64Array };
  // string columns (length in Unicode code points)
  minLength?: number;
  maxLength?: number;
  /** byte-wise (= code point) smallest and largest string */
  minString?: string;
  maxString?: string;
}

export interface Bin2dColumns {
  x: RawColumn;
  y: RawColumn;
  value?: RawColumn;
  category?: RawColumn;
}

export interface Bin2dKernelOptions {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
  width: number;
  height: number;
  /** with a value column; default 'sum' */
  agg?: 'sum' | 'mean';
  /** with a category column: 1..256 */
  categories?: number;
}

/** where the rows of a binning pass went */
export interface BinTallies {
  rows: number;
  binned: number;
  /** finite (or infinite) but outside the viewport */
  outside: number;
  /** x or y NaN or null */
  nan: number;
  filtered: number;
  /** category null or out of range */
  uncategorized: number;
}

export interface RawBin2d extends BinTallies {
  /** row-major, row 0 = lowest y; with categories: counts[(c * height + j) * width + i] */
  counts: Uint32Array;
  /** agg 'sum' */
  sums?: Float64Array;
  /** agg 'mean' (NaN in cells without values) */
  means?: Float64Array;
}

/** one series of m4.cc's result: shared/plot/types.ts LineSeries without the names, with each point's row */
export interface RawM4Series extends Omit<LineSeries, 'y' | 'label'> {
  /** the row of each point (rows of the columns as given: a cut column's own numbering); NaN where count is 0 */
  firstRow: Float64Array;
  lastRow: Float64Array;
  minRow: Float64Array;
  maxRow: Float64Array;
  beforeRow?: number;
  afterRow?: number;
}

export interface RawM4 {
  /** one per y column, or per category code 0..categories-1 of a split */
  series: RawM4Series[];
  /**
   * with options.blockRows: per y column, the M4 of each block of rows, 13 values per block —
   * count, first x y row, last x y row, min x y row, max x y row
   */
  blocks?: Float64Array[];
  blockRows?: number;
  rows: number;
  /** (row, series) pairs inside [x0, x1) */
  used: number;
  /** (row, series) pairs with a null or non-finite x or y */
  nan: number;
  /** (row, series) pairs filtered out */
  filtered: number;
  /** rows whose split value is null or out of range */
  uncategorized: number;
}

export interface Hist1dResult extends BinTallies {
  /** counts[i] covers [lo + i*d, lo + (i+1)*d) */
  counts: Float64Array;
}

/** What the row kernels (readRows, takeRows) return per column. */
export interface RawRows {
  /** numeric: host-endian values; bool: one byte 0/1 per row; strings: UTF-8 bytes */
  values: ArrayBuffer;
  /** strings: rows + 1 offsets into values */
  offsets?: Int32Array;
  /** one byte 0/1 per row; absent when every row is valid */
  valid?: Uint8Array;
}

export interface FilteredRowIdsKernelOptions {
  fromRow?: number;
  toRow?: number;
  skip?: number;
  limit?: number;
  rows?: number;
  blockRows?: number;
  blockCounts?: Uint32Array;
  blockFirst?: number;
}

/** The CSV parser's column types (csv_core.h CTypeName). */
export type CsvTypeName = 'null' | 'bool' | 'int64' | 'float64' | 'date' | 'timestamp' | 'string';

export interface CsvDialectOptions {
  /** one character ('' = none for quote); default ',' */
  delimiter?: string;
  /** default '"' */
  quote?: string;
  /** '\n' (default) or '\r' */
  terminator?: '\n' | '\r';
}

export interface CsvOpenOptions extends CsvDialectOptions {
  /** for messages */
  path?: string;
  /** 1..100000 */
  ncols: number;
  /** 'infer' types the values; 'parse' (default) assembles Arrow buffers of the given types */
  mode?: 'infer' | 'parse';
  /** per column (unknown names read as string) */
  types?: string[];
  /** per column: the date orders (CSV_ORDER bits of native/csv.ts) a date / timestamp column may be read in */
  orders?: number[];
  /** per column: keep the type; a value that does not convert is null and counted (`unconverted`) */
  forced?: boolean[];
  /** skip the first row */
  header?: boolean;
  /** infer: report the first row's values and classes */
  captureFirstRow?: boolean;
  strict?: boolean;
  cp1252?: boolean;
  maxRowBytes?: number;
}

export interface CsvWidening {
  column: number;
  from: CsvTypeName;
  to: CsvTypeName;
  line: number;
  /** date orders after the widening (a date column can also narrow its orders: from = to) */
  orders: number;
}

/** Values of forced columns that did not convert: counts per column and the first few. */
export interface CsvUnconverted {
  counts: Float64Array;
  /** 0-based data row, 1-based line, the text */
  samples: { column: number; row: number; line: number; value: string }[];
}

/** One column of a parsed chunk, as Arrow buffers. */
export interface CsvColumnOut {
  type: CsvTypeName;
  nullCount: number;
  /** values (fixed width), bit-packed bools, or UTF-8 bytes */
  data: ArrayBuffer;
  /** LSB-first bitmap, absent when no value is null */
  validity?: Uint8Array;
  /** strings: rows + 1 offsets */
  offsets?: Int32Array;
}

export interface CsvFeedResult {
  rows: number;
  /** the line number after the last complete row */
  line: number;
  /** bytes of this chunk consumed */
  consumed: number;
  /** bytes carried into the next feed (an incomplete row) */
  carry: number;
  types: CsvTypeName[];
  /** date orders per column (CSV_ORDER bits of native/csv.ts) */
  orders: number[];
  nulls: Float64Array;
  /** (line, fields) pairs of bad rows */
  bad: Float64Array;
  badCount: number;
  widened: CsvWidening[];
  /** mode 'parse': values of forced columns that did not convert */
  unconverted?: CsvUnconverted;
  firstRow?: string[];
  firstClasses?: CsvTypeName[];
  /** mode 'parse' */
  columns?: CsvColumnOut[];
}

export interface CsvIngestOptions extends CsvDialectOptions {
  path: string;
  /** the Arrow IPC file created (removed again on failure or cancel) */
  out: string;
  /** magic + Schema message, a multiple of 8 bytes */
  prefix: Uint8Array;
  /** bytes to skip at the start (a BOM) */
  offset?: number;
  ncols: number;
  types?: string[];
  /** as CsvOpenOptions */
  orders?: number[];
  forced?: boolean[];
  header?: boolean;
  strict?: boolean;
  cp1252?: boolean;
  maxRowBytes?: number;
  chunkBytes?: number;
  batchRows?: number;
}

export interface CsvIngestResult {
  rows: number;
  badCount: number;
  bad: Float64Array;
  /** a column widened: run again with `types` (the file is not kept) */
  restart: boolean;
  batchesBeforeRestart: number;
  /** bytes written (prefix and record batches; the caller appends the footer) */
  size: number;
  /** (offset, metadata length, body length) per record batch */
  blocks: Float64Array;
  nulls: Float64Array;
  types: CsvTypeName[];
  orders: number[];
  widened: CsvWidening[];
  unconverted: CsvUnconverted;
}

/** parquet_write.cc ParseIn */
export type ParquetInput =
  | 'int8' | 'int16' | 'int32' | 'int64' | 'uint8' | 'uint16' | 'uint32' | 'uint64'
  | 'float32' | 'float64' | 'bool' | 'utf8' | 'large_utf8' | 'date64';

/** One column of parquetOpen's spec (what ParquetOpen reads; unknown inputs are refused with E_BAD_TYPE). */
export interface RawParquetColumn {
  name: string;
  input: ParquetInput | string;
  /** Parquet physical type (parquet.thrift numbering) */
  physical: number;
  /** ConvertedType, -1 (default) for none */
  converted?: number;
  logical?: '' | 'string' | 'date' | 'int' | 'timestamp';
  bitWidth?: number;
  /** default true */
  signed?: boolean;
  unit?: 'ms' | 'us' | 'ns';
  utc?: boolean;
  /** default true */
  nullable?: boolean;
}

export interface ParquetOpenSpec {
  columns: RawParquetColumn[];
  /** default 'zstd'; others are refused with E_UNSUPPORTED */
  codec?: 'zstd' | 'none' | string;
  level?: number;
  createdBy?: string;
  /** key-value metadata pairs */
  metadata?: [string, string][];
}

/** One column of a batch for parquetWrite: the Arrow buffers as they are. */
export interface ParquetColumnBuffers {
  values: ArrayBufferView;
  /** strings: int32 (utf8) or int64 (large_utf8) offsets */
  offsets?: ArrayBufferView;
  validity?: Uint8Array;
  /** bit offset of the first row in `validity` */
  bitOffset?: number;
}

// ---------------------------------------------------------------------------------------------
// The addon

/** Per zone of rows (zones.cc): first row, rows, min, max (infinities in, NaN out), the finite min and max, nulls, NaN count. */
export interface RawZoneMaps {
  start: Float64Array;
  rows: Float64Array;
  min: Float64Array;
  max: Float64Array;
  finiteMin: Float64Array;
  finiteMax: Float64Array;
  nulls: Float64Array;
  nans: Float64Array;
}

/** One measure of groupBy: its function and the index of its column in the values list (not for 'rows'). */
export interface RawMeasure {
  fn: 'rows' | 'count' | 'sum' | 'mean' | 'min' | 'max' | 'var' | 'std' | 'distinct' | 'quantile';
  value?: number;
  /** quantile: 0..1 */
  q?: number;
}

/** A key or measure column of groupBy's result: one of float / int (int64 bits) / bytes+offsets (text), with validity. */
export interface RawGroupColumn {
  valid: Uint8Array;
  float?: Float64Array;
  int?: ArrayBuffer;
  bytes?: Uint8Array;
  offsets?: Float64Array;
}

export interface RawGroups {
  groups: number;
  /** with options.top, the groups returned (the candidates for the top; `groups` is every group) */
  rows?: number;
  keys: RawGroupColumn[];
  measures: RawGroupColumn[];
}

/** What one key pair of hashJoin compares as, and the scale (value * mul / div, floored) bringing each side's stored integers to one unit. */
export interface RawJoinKey {
  cls: 'int' | 'float' | 'text';
  lmul?: number;
  ldiv?: number;
  rmul?: number;
  rdiv?: number;
}

export interface RawJoinOptions {
  how: 'inner' | 'left';
  keys: RawJoinKey[];
  /** more result rows than this: E_TOO_LARGE (default: from the machine's memory) */
  maxPairs?: number;
}

/** hashJoin's result: pairs in left-row order (then right-row order); counts of the rows passing each side's filter and of the left rows matched. */
export interface RawJoin {
  left: Float64Array;
  right: Float64Array;
  leftRows: number;
  rightRows: number;
  matched: number;
}

/** Every function the addon exports (native/src: addon.cc, common.cc, and each kernel's file). */
export interface NativeAddon {
  // addon.cc
  nativeInfo(): { openmp: boolean; threads: number; version: string };
  // common.cc: jobs and mappings
  createJob(): JobHandle;
  cancelJob(job: JobHandle): void;
  /** [done, total] */
  jobProgress(job: JobHandle): Float64Array;
  /** synchronous open + mmap (no data read) */
  mapFile(path: string): { handle: FileHandle; size: number };
  unmapFile(handle: FileHandle): void;
  // region_stats.cc
  regionStats(file: RawFile, region: Region, job?: JobHandle): Promise<RegionStats>;
  // zones.cc (wrapped in native/zones.ts)
  zoneMaps(column: RawColumn, opts: { zoneRows: number }, job?: JobHandle): Promise<RawZoneMaps>;
  // spatial.cc (wrapped in native/spatial.ts)
  spatialCopy(
    columns: { x: RawColumn; y: RawColumn },
    opts: { x0: number; x1: number; y0: number; y1: number; bits: number; out: string; float32: boolean },
    job?: JobHandle,
  ): Promise<{ rows: number; cells: number; nan: number }>;
  readBandwidth(file: RawFile, range: { offset: number; length: number }, job?: JobHandle): Promise<{ bytes: number; checksum: number }>;
  // summary.cc
  summary(column: RawColumn, options: SummaryKernelOptions, filter?: RawFilter, job?: JobHandle): Promise<ColumnSummary>;
  /** several columns in one scan (one more for all their histograms); summaries in the same order */
  summary(columns: RawColumn[], options: SummaryKernelOptions, filter?: RawFilter, job?: JobHandle): Promise<ColumnSummary[]>;
  // bin.cc
  bin2d(columns: Bin2dColumns, options: Bin2dKernelOptions, filter?: RawFilter, job?: JobHandle): Promise<RawBin2d>;
  hist1d(column: RawColumn, range: { lo: number; hi: number; bins: number }, filter?: RawFilter, job?: JobHandle): Promise<Hist1dResult>;
  // m4.cc (wrapped in native/m4.ts): line decimation per pixel column and series
  m4(columns: { x: RawColumn; ys: RawColumn[]; category?: RawColumn }, options: { x0: number; x1: number; width: number; categories?: number; blockRows?: number }, filter?: RawFilter, job?: JobHandle): Promise<RawM4>;
  // group.cc (wrapped in native/group.ts)
  groupBy(keys: RawColumn[], values: RawColumn[], measures: RawMeasure[], options: { maxGroups?: number; maxGatherRows?: number; top?: { measure: number; desc: boolean; limit: number } }, filter?: RawFilter, job?: JobHandle): Promise<RawGroups>;
  // sort.cc (wrapped in native/sort.ts): row ids of the passing rows in sort order (the first `limit`), and how many pass
  sortRows(columns: RawColumn[], options: { desc: boolean[]; limit?: number }, filter?: RawFilter, job?: JobHandle): Promise<{ rowIds: Float64Array; total: number }>;
  // join.cc (wrapped in native/join.ts): the row-id pairs of an equi-join (right -1: a left join's unmatched row), and a gather through them
  hashJoin(leftKeys: RawColumn[], rightKeys: RawColumn[], options: RawJoinOptions, leftFilter?: RawFilter, rightFilter?: RawFilter, job?: JobHandle): Promise<RawJoin>;
  joinTake(columns: RawColumn[], rowIds: Float64Array, job?: JobHandle): Promise<RawRows[]>;
  // rows.cc
  readRows(columns: RawColumn[], offset: number, count: number, job?: JobHandle): Promise<RawRows[]>;
  // select.cc
  filterBlockCounts(filter: RawFilter | undefined, options: { blockRows?: number; rows?: number }, job?: JobHandle): Promise<Uint32Array>;
  filteredRowIds(filter: RawFilter | undefined, options: FilteredRowIdsKernelOptions, job?: JobHandle): Promise<Float64Array>;
  takeRows(columns: RawColumn[], rowIds: Float64Array, job?: JobHandle): Promise<RawRows[]>;
  // csv.cc, csv_ingest.cc
  csvOpen(options: CsvOpenOptions): CsvParserHandle;
  csvFeed(parser: CsvParserHandle, chunk: Uint8Array, last: boolean, job?: JobHandle): Promise<CsvFeedResult>;
  csvIngest(options: CsvIngestOptions, job?: JobHandle): Promise<CsvIngestResult>;
  // parquet_write.cc
  parquetInfo(): { zstd: boolean; zstdVersion?: string };
  /** synchronous: creates `path` (which must not exist) and writes the leading magic */
  parquetOpen(path: string, spec: ParquetOpenSpec): ParquetWriterHandle;
  parquetWrite(writer: ParquetWriterHandle, columns: ParquetColumnBuffers[], rows: number, flush: boolean, job?: JobHandle): Promise<{ rows: number; buffered: number }>;
  parquetFinish(writer: ParquetWriterHandle): Promise<{ rows: number; bytes: number; rowGroups: number }>;
  parquetClose(writer: ParquetWriterHandle): void;
  // test_hooks.cc: rejects with the engine's error for a C++ exception of `kind` thrown in a
  // worker ('worker') or by one thread of a parallel scan ('parallel'); for tests only
  testThrow(kind: string, where: 'worker' | 'parallel'): Promise<never>;
}

/** The exports the loader wraps; the check below keeps this list and NativeAddon in step. */
const EXPORTS = [
  'nativeInfo', 'createJob', 'cancelJob', 'jobProgress', 'mapFile', 'unmapFile',
  'regionStats', 'zoneMaps', 'spatialCopy', 'readBandwidth', 'summary', 'bin2d', 'hist1d', 'm4', 'readRows',
  'filterBlockCounts', 'filteredRowIds', 'takeRows', 'groupBy', 'sortRows', 'hashJoin', 'joinTake',
  'csvOpen', 'csvFeed', 'csvIngest',
  'parquetInfo', 'parquetOpen', 'parquetWrite', 'parquetFinish', 'parquetClose',
  'testThrow',
] as const satisfies readonly (keyof NativeAddon)[];
type Unlisted = Exclude<keyof NativeAddon, (typeof EXPORTS)[number]>;
const everyExportListed: [Unlisted] extends [never] ? true : Unlisted = true;
void everyExportListed;

// ---------------------------------------------------------------------------------------------
// Errors: normalised once, here

/**
 * Anything the addon threw or rejected with, as a CdxError in the vocabulary: its own codes pass
 * through, system codes map (EEXIST -> E_EXISTS, EISDIR -> E_IS_DIR, ENOSPC -> E_WRITE), an
 * argument TypeError from Node-API is E_BAD_ARG, anything else without a code is E_INTERNAL.
 */
export function nativeError(e: unknown): CdxError {
  if (e instanceof CdxError) return e;
  const raw = errorCode(e);
  let code: ErrorCode;
  if (isErrorCode(raw)) code = raw;
  else if (raw === undefined && e instanceof TypeError) code = 'E_BAD_ARG';
  else code = toErrorInfo(e).code;
  const message = e instanceof Error ? e.message : String(e);
  const out = new CdxError(code, message, { cause: e });
  if (e instanceof Error && e.stack) out.stack = e.stack;
  return out;
}

type AnyFunction = (...args: never[]) => unknown;

/** `fn` with every throw and rejection passed through nativeError. */
function guarded(fn: AnyFunction, self: object): AnyFunction {
  return (...args) => {
    let r: unknown;
    try {
      r = Reflect.apply(fn, self, args);
    } catch (e) {
      throw nativeError(e);
    }
    return r instanceof Promise ? r.catch((e: unknown) => { throw nativeError(e); }) : r;
  };
}

// ---------------------------------------------------------------------------------------------
// Loader

const BINARY = join('native', 'build', 'Release', 'cdx_native.node');

declare const __dirname: string | undefined;
function moduleDir(): string | undefined {
  try {
    // import.meta.url exists in ESM (source, tsx, vitest) and is shimmed by bundlers for CJS.
    return dirname(fileURLToPath(import.meta.url));
  } catch {
    return typeof __dirname === 'string' ? __dirname : undefined;
  }
}

interface Candidate {
  path: string;
  /** why it cannot be loaded, found before trying (a prebuilds folder without a matching build) */
  problem?: string;
}

const PACKAGE_NAME = 'continuum-data-explorer';

function isOurPackageRoot(dir: string): boolean {
  try {
    return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).name === PACKAGE_NAME;
  } catch {
    return false;
  }
}

/**
 * The prebuilt binary in `dir/prebuilds/` matching this platform, arch, libc and runtime, chosen by
 * node-gyp-build (the resolver prebuildify's layout is made for). Only a file inside
 * `dir/prebuilds/` counts: node-gyp-build also looks in build/ and beside the node executable.
 */
function prebuildIn(dir: string): Candidate | undefined {
  const folder = join(dir, 'prebuilds');
  if (!existsSync(folder)) return undefined;
  const want = join(folder, `${process.platform}-${process.arch}`);
  let found: string;
  try {
    const ngb = createRequire(import.meta.url)('node-gyp-build') as { path(dir: string): string };
    found = resolve(ngb.path(dir));
  } catch (e) {
    return { path: want, problem: `no prebuilt binary for this machine (${String((e as Error).message).split('\n')[0]})` };
  }
  if (!found.startsWith(folder + sep)) return { path: want, problem: `no prebuilt binary for this machine in ${folder}` };
  return { path: found };
}

function candidateList(): Candidate[] {
  const out: Candidate[] = [];
  const env = process.env.CDX_NATIVE_PATH;
  if (env) out.push({ path: resolve(env) });
  const md = moduleDir();
  const prebuilt: Candidate[] = [];
  if (md) {
    // this module sits in native/ (source) or out/main[/chunks]/ (bundled): walk up to the project
    for (let dir = resolve(md); ; ) {
      if (basename(dir) === 'native') out.push({ path: join(dir, 'build', 'Release', 'cdx_native.node') });
      out.push({ path: join(dir, BINARY) });
      if (isOurPackageRoot(dir)) {
        const c = prebuildIn(dir);
        if (c) prebuilt.push(c);
      }
      const up = dirname(dir);
      if (up === dir) break;
      dir = up;
    }
  }
  // a fresh native/build (a developer's) wins over the prebuilds shipped beside it
  out.push(...prebuilt);
  const rp = (process as { resourcesPath?: string }).resourcesPath;
  if (rp) {
    for (const base of [join(rp, 'app.asar.unpacked'), rp]) {
      out.push({ path: join(base, BINARY) });
      const c = prebuildIn(base);
      if (c) out.push(c);
    }
  }
  const seen = new Set<string>();
  return out.filter((c) => !seen.has(c.path) && seen.add(c.path));
}

/** Candidate paths for the binary, in the order they are tried (never under process.cwd()). */
export function nativeCandidates(): string[] {
  return candidateList().map((c) => c.path);
}

let cached: NativeAddon | undefined;
let loadedFrom: string | undefined;

/** Loads (once) and returns the addon; throws one actionable E_NATIVE_MISSING listing every path tried. */
export function loadNative(): NativeAddon {
  if (cached) return cached;
  const req = createRequire(import.meta.url);
  const failures: string[] = [];
  for (const { path: p, problem } of candidateList()) {
    if (problem) {
      failures.push(`${p}: ${problem}`);
      continue;
    }
    if (!existsSync(p)) {
      failures.push(`${p}: not found`);
      continue;
    }
    let raw: Record<string, unknown>;
    try {
      raw = req(p) as Record<string, unknown>;
    } catch (e) {
      failures.push(`${p}: ${(e as Error).message}`);
      continue;
    }
    const missing = EXPORTS.filter((name) => typeof raw[name] !== 'function');
    if (missing.length) {
      failures.push(`${p}: out of date (it lacks ${missing.join(', ')})`);
      continue;
    }
    const addon: Record<string, AnyFunction> = {};
    for (const name of EXPORTS) addon[name] = guarded(raw[name] as AnyFunction, raw);
    cached = addon as unknown as NativeAddon;
    loadedFrom = p;
    if (process.env.CDX_NATIVE_DEBUG) process.stderr.write(`cdx native: loaded ${p}\n`);
    return cached;
  }
  throw new CdxError(
    'E_NATIVE_MISSING',
    'The CDX native engine (cdx_native.node) could not be loaded. ' +
      'Run `npm run build:native` in the project root (needs a C++ compiler and python3), ' +
      'or, in an installed package, reinstall one whose prebuilds/ hold this platform (`npm run prebuild` makes them), ' +
      'or set CDX_NATIVE_PATH to the built file. Tried:\n  ' +
      failures.join('\n  '),
  );
}

/** The path the addon was loaded from (undefined before the first load). */
export function nativePath(): string | undefined {
  return loadedFrom;
}

// ---------------------------------------------------------------------------------------------
// Jobs: cancellation + progress around one native call

export interface Progress {
  done: number;
  total: number;
  /** done / total in [0, 1] (0 while total is unknown) */
  fraction: number;
}

export interface KernelOptions {
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  /** polling interval for onProgress, ms (default 100) */
  progressIntervalMs?: number;
}

/**
 * Runs `start(addon, job)` with the signal wired to cancelJob and the job's progress polled into
 * onProgress. A cancel rejects with E_CANCELLED naming `name`; other failures are the addon's
 * (already CdxErrors).
 */
export async function runJob<T>(
  name: string,
  start: (addon: NativeAddon, job: JobHandle) => Promise<T>,
  opts: KernelOptions = {},
): Promise<T> {
  const addon = loadNative();
  const { signal, onProgress } = opts;
  if (signal?.aborted) throw CdxError.cancelled(name);
  const job = addon.createJob();
  const onAbort = () => addon.cancelJob(job);
  signal?.addEventListener('abort', onAbort, { once: true });
  let timer: ReturnType<typeof setInterval> | undefined;
  const report = () => {
    const p = addon.jobProgress(job);
    const done = p[0]!, total = p[1]!;
    onProgress?.({ done, total, fraction: total > 0 ? Math.min(1, done / total) : 0 });
  };
  if (onProgress) timer = setInterval(report, opts.progressIntervalMs ?? 100);
  try {
    const r = await start(addon, job);
    if (onProgress) report();
    return r;
  } catch (e) {
    const err = nativeError(e);
    if (err.code === 'E_CANCELLED') throw CdxError.cancelled(name);
    throw err;
  } finally {
    if (timer) clearInterval(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}
