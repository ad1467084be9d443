/**
 * The one interface every format reader implements (one module per format, behind a registry).
 * A Source describes a dataset (schema, row count, metadata, warnings) and streams it as Arrow
 * record batches; the columnar cache ingests that stream into an uncompressed Arrow IPC file that
 * the native kernels map. Formats that are already mappable (uncompressed Arrow IPC, NPY) also
 * report `inPlace`, so no copy is made. What a source can compute itself, faster than the generic
 * path over scan() (the CSV reader's native ingest; later, a database's pushdowns), it declares in
 * `capabilities`.
 */
import type { RecordBatch } from 'apache-arrow';
import type { Schema } from '../../../shared/datashape';
import type { Expr } from '../../../shared/expr/index';

export interface IngestWarning {
  /** stable code, e.g. W_BAD_ROW, W_WIDENED, W_NESTED_AS_JSON, W_UNSUPPORTED_TYPE */
  code: string;
  message: string;
  column?: string;
  /** 1-based line number in the source file (CSV/NDJSON) */
  line?: number;
  /** W_UNCONVERTED: values that did not convert, and the first of them (1-based row) */
  count?: number;
  samples?: { row: number; line?: number; value: string }[];
}

export interface InnerDataset {
  /** the part after `::` in `PATH::INNER`, e.g. `/sensors/temp`, `orders`, `x` */
  inner: string;
  kind: string; // 'table' | 'view' | 'dataset' | 'array' | 'group' ...
  rows?: number;
  shape?: number[];
  dtype?: string;
}

export interface SourceInfo {
  format: string;        // 'csv' | 'parquet' | 'arrow' | 'hdf5' | 'npy' | 'npz' | 'sqlite' | 'json' | 'ndjson'
  path: string;
  inner?: string;
  rows: number | null;   // null when unknown before a full pass (CSV, NDJSON)
  schema: Schema;
  /** file / dataset level metadata (HDF5 attributes, Parquet key-value metadata, ...) */
  metadata: Record<string, string>;
  warnings: IngestWarning[];
  /** for mappable files: the file itself can be used by the native kernels with no copy */
  inPlace?: { kind: 'arrow' | 'npy'; path: string };
}

export interface ScanOptions {
  columns?: string[];
  /** target rows per batch (a hint) */
  batchRows?: number;
  signal?: AbortSignal;
  /** fraction done 0..1 (by bytes or rows) */
  onProgress?: (done: number) => void;
}

export interface NativeIngestOptions {
  signal?: AbortSignal;
  /** fraction done 0..1 */
  onProgress?: (done: number) => void;
}

export interface NativeIngestResult {
  /** rows written */
  rows: number;
  /**
   * Every column as written, with whether it really holds nulls (an ingest that writes the schema
   * before the data calls every column nullable; this says what the data showed).
   */
  columns: { name: string; nullable: boolean }[];
}

/**
 * What a source can compute itself, better than the engine's generic path over scan(). Each
 * capability is optional and declared by the source (never found by probing for a method): the
 * engine asks `source.capabilities?.X` and takes its generic path when it is absent, so the result
 * is the same either way, only faster. Later sources declare their pushdowns here the same way (a
 * database computing a column summary, a density grid or a filtered count itself).
 */
export interface SourceCapabilities {
  /**
   * Writes the whole dataset into an uncompressed Arrow IPC file at `outPath` (temporary file and
   * rename: a failure or cancel leaves nothing) in one pass of its own, instead of scan() batches
   * through the generic cache writer. Afterwards the source's info() is exact (row count, types as
   * written, the pass's warnings).
   */
  nativeIngest?: (outPath: string, opts?: NativeIngestOptions) => Promise<NativeIngestResult>;
  /**
   * Reads the named columns as the given types from now on (column -> 'string' | 'category' |
   * 'int64' | 'float64' | 'bool' | 'date' | 'timestamp'): values that do not convert are null and
   * counted in a W_UNCONVERTED warning (count and first values) among info()'s warnings.
   */
  forceTypes?: (types: Record<string, string>) => void;
  /**
   * A dataset made of many files (sources/multi.ts): leaves out, before reading anything of them,
   * the files that the filter's conditions on partition keys rule out. Call before info(); the
   * filter must still be applied to the rows read.
   */
  prune?: (filter: Expr) => void;
}

export interface Source {
  /** `signal` cancels a reader whose first look can take long (SQLite's type-counting pass) */
  info(opts?: { signal?: AbortSignal }): Promise<SourceInfo>;
  /** the whole dataset (chosen columns) as Arrow record batches, in order, in bounded memory */
  scan(opts?: ScanOptions): AsyncIterable<RecordBatch>;
  close(): Promise<void>;
  /** what it can compute itself (absent: nothing beyond info() and scan()) */
  readonly capabilities?: SourceCapabilities;
}

export interface SourceProvider {
  format: string;
  /** lower-case extensions without the dot, e.g. ['csv', 'tsv', 'csv.gz'] */
  extensions: string[];
  /** content sniffing from the first bytes (magic numbers) */
  sniff?(head: Uint8Array, path: string): boolean;
  /** container formats: list datasets inside (HDF5, SQLite, NPZ) */
  list?(path: string): Promise<InnerDataset[]>;
  open(path: string, inner?: string): Promise<Source>;
}

