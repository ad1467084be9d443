/**
 * EngineApi: everything the UI and the CLI can ask of the engine process, declared once.
 * Both transports derive their plumbing from this interface (see rpc.ts). Every method takes one
 * params object and returns a structured-cloneable value; bulk data is Uint8Array (Arrow IPC) or a
 * typed array, never rows as JSON.
 */
import type { Field, Schema } from './datashape';
import type { ErrorCode } from './errors';
import type { Workspace } from './workspace';
import type { DensityParams, DensityResult, HistogramParams, HistogramResult, LineParams, LineResult, PlotColumnInfo, PlotRangesParams, PointsParams, PointsResult } from './plot/types';

export interface NativeInfo {
  loaded: boolean;
  openmp?: boolean;
  threads?: number;
  version?: string;
  /** why the native addon could not be loaded */
  error?: string;
}

export interface EngineInfo {
  pid: number;
  version: string;
  startedAt: number;
  node: string;
  native: NativeInfo;
}

export interface DatasetEntry {
  id: string;
  name: string;
  path: string;
  format: string;
  size: number;
  rows?: number | null;
  /** true for the bundled sample */
  sample?: boolean;
  /** a dataset of many files (a folder, a glob, a Hive tree, an S3 prefix): how many */
  files?: number;
  tags?: string[];
  addedAt?: number;
  openedAt?: number | null;
}

export interface ColumnStats {
  dataset: string;
  column: string;
  count: number;
  nanCount: number;
  min: number;
  max: number;
  sum: number;
  mean: number;
  /** how the numbers were computed, e.g. "native kernel, 2 threads (OpenMP)" */
  computedBy: string;
}

export interface IngestWarningInfo {
  code: string;
  message: string;
  column?: string;
  line?: number;
  /** W_UNCONVERTED: how many values did not convert */
  count?: number;
  /** W_UNCONVERTED: the first values that did not convert (1-based row; line in a text file) */
  samples?: { row: number; line?: number; value: string }[];
}

/**
 * A type the user can give a column ("Change type…", `cdx … --type col=T`). 'category' is text
 * whose values are labels (a number column read as categories); the others are the types of the
 * same name. Values that do not convert become null and are counted (W_UNCONVERTED).
 */
export type ColumnTypeChoice = 'string' | 'category' | 'int64' | 'float64' | 'bool' | 'date' | 'timestamp';
export const COLUMN_TYPE_CHOICES: readonly ColumnTypeChoice[] = ['string', 'category', 'int64', 'float64', 'bool', 'date', 'timestamp'];

export interface SetColumnTypeResult {
  overview: DatasetOverview;
  column: string;
  /** the column's type now (the schema's: 'timestamp', 'string', …) */
  type: string;
  /** values that did not convert and are null now */
  unconverted: number;
  /** the W_UNCONVERTED warning (count and first values), when some did not convert */
  warning?: IngestWarningInfo;
  /** 'reingest': the CSV file read again with the column's type forced */
  via: 'reingest';
  /** how long the change took */
  ms: number;
}

/** A warning as one line of text: its line and column in front unless the message already names them. */
export function warningText(w: { message: string; line?: number; column?: string }): string {
  const line = w.line && !w.message.startsWith(`line ${w.line}`) ? `line ${w.line}: ` : '';
  const column = w.column && !w.message.includes(w.column) ? `${w.column}: ` : '';
  return line + column + w.message;
}

export interface DatasetOverview {
  entry: DatasetEntry;
  rows: number;
  schema: Schema;
  dataShape: string;
  metadata: Record<string, string>;
  warnings: IngestWarningInfo[];
  /**
   * the file the engine maps: the source itself, or its copy in the columnar cache; 'remote': a
   * database table or query, computed by the database (`path` is the connection, without secret)
   */
  storage: { kind: 'in-place' | 'cache' | 'remote'; path: string };
  /** a database table or query: what the database computes and how the table pages */
  remote?: RemoteInfo;
  /** columns the kernels skip (nested values, unsupported types), with the reason */
  unsupported: { name: string; reason: string }[];
  /** columns whose type the user chose (setColumnType), kept in the catalog */
  typeOverrides?: Record<string, ColumnTypeChoice>;
}

/** A database dataset (PostgreSQL, ClickHouse): everything is computed by the database, only results travel. */
export interface RemoteInfo {
  kind: 'postgresql' | 'clickhouse';
  /** the connection, without secret: `postgresql://user@host:5432/db` */
  connection: string;
  serverVersion: string;
  /** 'table' | 'view' | 'query' | 'distributed' */
  relation: string;
  /** the primary / sorting key the table's windows page by (keyset); empty: LIMIT/OFFSET */
  key: string[];
  /** true when windows use LIMIT/OFFSET: scrolling far down is slow (the database reads every row before the window) */
  offsetPaging: boolean;
}

/**
 * A saved connection (the Connections panel; `cdx` reads the same list): a database, an http(s)
 * base URL or an S3 bucket. Never holds its secret.
 */
export interface ConnectionInfo {
  /**
   * `postgresql://user@host:5432/db`, `clickhouse://user@host:8123/db`, `https://host/data/` (a
   * folder: ends in `/`), or `s3://KEYID@bucket/prefix/?endpoint=<urlencoded endpoint>&region=<region>`
   * (key id, prefix, endpoint and region optional)
   */
  url: string;
  name: string;
  kind: 'postgresql' | 'clickhouse' | 'http' | 's3';
  /**
   * where its password (an S3 secret access key) is kept: 'keychain' (the OS keychain), 'app'
   * (Electron safeStorage, held by the app), 'session' (this engine's memory until it exits),
   * 'convention' (PGPASSWORD, ~/.pgpass, CLICKHOUSE_PASSWORD; S3 without a key id: the AWS chain),
   * 'none' (an http(s) connection has none)
   */
  secret: 'keychain' | 'app' | 'session' | 'convention' | 'none';
  addedAt: number;
}

export interface ConnectionTest {
  url: string;
  /** a database's version; http(s): the Server header; s3: the endpoint that answered */
  serverVersion: string;
  /** databases: tables and views the user can see; http(s): entries the base's index lists; s3: objects under the prefix */
  tables: number;
  ms: number;
  /** http(s): the base's HTTP status */
  status?: number;
  /** http(s): whether the base lists its files (a directory index); false: files are opened by their path */
  listed?: boolean;
}

export interface BrowseEntry {
  name: string;
  /** a path on the engine's host, or a remote entry's full URL (never with credentials), or a database's `URL::TABLE` */
  path: string;
  kind: 'dir' | 'file';
  size?: number;
  mtimeMs?: number;
  /** the format CDX would read it as, judged by its name */
  format?: string;
  /** a database relation: 'table', 'view', … */
  relation?: string;
  /** a database relation's row count (an estimate where the database keeps one) */
  rows?: number;
}

export interface BrowseResult {
  dir: string;
  parent: string | null;
  entries: BrowseEntry[];
  truncated: boolean;
}

export interface InnerDatasetInfo {
  inner: string;
  kind: string;
  rows?: number;
  shape?: number[];
  dtype?: string;
}

/** A scalar as it crosses the wire: numbers, exact int64 as bigint, dates/timestamps as ISO text. */
export type SummaryValue = number | bigint | string | boolean | null;

export interface ColumnSummaryInfo {
  name: string;
  type: string;
  nullable: boolean;
  /** rows considered (after the filter) */
  rows: number;
  /** non-null values */
  count: number;
  nulls: number;
  nanCount?: number;
  /** distinct non-null values: exact for small cardinalities, else an estimate (HyperLogLog, ~0.4 % error) */
  distinct?: number;
  /** true when `distinct` is an exact count; otherwise it is an estimate and shown as one (`~`) */
  distinctExact?: boolean;
  /** how an estimated `distinct` was made, when not by the native HyperLogLog (a database's own estimate) */
  distinctHow?: string;
  /** smallest and largest value; for strings the first and last in code-point (byte-wise UTF-8) order */
  min?: SummaryValue;
  max?: SummaryValue;
  mean?: number | string;
  /** standard deviation; for dates and timestamps a duration in milliseconds (whatever the stored unit) */
  std?: number;
  /** dates and timestamps: milliseconds per stored unit (of `histogram`'s lo/hi; days: 86,400,000) */
  msPerUnit?: number;
  quantiles?: Record<'p1' | 'p5' | 'p25' | 'p50' | 'p75' | 'p95' | 'p99', SummaryValue>;
  /** true when the quantiles are exact (the k-th smallest value, k = ceil(q·n)); false when they come from a sketch (rank error well under 1 %) */
  quantilesExact?: boolean;
  /** equal-width bins over [lo, hi] of finite values (numbers; dates in their storage unit) */
  histogram?: { lo: number; hi: number; counts: number[] };
  top?: [SummaryValue, number][];
  minLength?: number;
  maxLength?: number;
  /** why this column has no statistics (nested values, unsupported type) */
  skipped?: string;
}

export interface GroupByResult {
  dataset: string;
  /** groups found (before `limit`) */
  groups: number;
  /** rows sent */
  rows: number;
  /** the result's columns: the keys, then the measures */
  schema: Field[];
  ipc: Uint8Array;
  where?: string;
  /** with `save`: the dataset made of all the groups (not only `limit`), in the catalog */
  saved?: { id: string; name: string; rows: number };
}

/** What a join made: the new dataset (in the catalog) and what went into it. */
export interface JoinResult {
  /** the joined dataset, catalogued (named `join(a, b)` unless named) */
  overview: DatasetOverview;
  /** rows of each side passing its filter */
  leftRows: number;
  rightRows: number;
  /** rows of the result */
  rows: number;
  /** left rows with at least one match (not counted for a join pushed down to a database) */
  matched?: number;
  /** 'native': the hash join over mapped files; 'pushdown': one query on the database holding both; 'cross-source': the database side fetched, then the native join */
  via: 'native' | 'pushdown' | 'cross-source';
  ms: number;
}

export interface DatasetSummary {
  dataset: string;
  rows: number;
  /** rows passing the filter, when one was given */
  filteredRows?: number;
  where?: string;
  columns: ColumnSummaryInfo[];
}

/** What happens to one column in an export's target format. */
export interface ColumnFidelity {
  column: string;
  /** DataShape type of the source column, e.g. `timestamp[us, tz='UTC']` */
  from: string;
  /** what is written, in the target's own vocabulary, e.g. `INTEGER`, `<i8`, `TEXT (ISO 8601)` */
  to: string;
  /** kept: read back as the same values and type; converted: same values, other type/representation; lost: information dropped */
  status: 'kept' | 'converted' | 'lost';
  /** how it is converted or what is lost */
  note?: string;
}

/** The fidelity report: said before writing, per column. */
export interface FidelityReport {
  format: string;
  columns: ColumnFidelity[];
  /** format-level notes (memory use, what the format cannot hold at all, where the data goes) */
  notes: string[];
}

export interface ExportFormat {
  format: string;
  extensions: string[];
  /** option name -> what it does */
  options: Record<string, string>;
  /** OUT may be an existing file that gains a table / group (SQLite, HDF5) */
  container: boolean;
}

export interface ExportParams {
  /** catalog id of the dataset to export (give this or `location`) */
  dataset?: string;
  /**
   * or a file / `PATH::INNER` (`cdx convert IN`): never added to the catalog; read through its
   * catalogued copy when it has an up-to-date one, streamed from the file otherwise
   */
  location?: string;
  /** output file (OUT::TABLE / OUT::/GROUP for containers) */
  output: string;
  format?: string;
  /** the active filters / the selection, in the expression text form */
  where?: string;
  /**
   * the rows in this order (the table's sort: `['-fare', 'borough']`, as `rows` takes it — nulls
   * last, NaN the greatest number, text by code point, ties by row number); a database's rows by
   * its ORDER BY
   */
  sort?: string[];
  columns?: string[];
  options?: Record<string, string>;
  /** the user confirmed replacing an existing output */
  force?: boolean;
  dryRun?: boolean;
  /** add the written file to the catalog (opening it: ingest or map) */
  addToCatalog?: boolean;
}

/** Progress detail of exportDataset: the fidelity report, sent once before anything is written. */
export interface ExportReportDetail {
  report: FidelityReport;
}

export interface ExportResult {
  /** the dataset's location (file or PATH::INNER) */
  input: string;
  /** the output file (the container when `inner` is set) */
  output: string;
  /** the table / group inside a container output */
  inner?: string;
  format: string;
  rows: number;
  /** rows considered (before the filter) */
  rowsRead: number;
  report: FidelityReport;
  dryRun: boolean;
  /**
   * how the rows were read: 'mapped' — the native filter and gather kernels over the dataset's
   * mapped columns (its columnar cache or the file in place); 'source' — streamed from the file
   * (not catalogued, or a column type the kernels do not read)
   */
  via: 'mapped' | 'source';
  /** the reader's warnings (bad rows skipped, widened columns) */
  warnings: IngestWarningInfo[];
  /** catalog id of the result when addToCatalog was asked */
  added?: string;
}

export interface EngineApi {
  /** the writers the Export dialog offers, with their options */
  exportFormats(params: Record<string, never>): ExportFormat[];
  /**
   * export a dataset (whole, filtered, some columns) to a file; with dryRun, the fidelity report
   * only; progress + cancel (the report comes first as progress detail `ExportReportDetail`)
   */
  exportDataset(params: ExportParams): ExportResult;
  /** process id, versions, native addon status */
  info(params: Record<string, never>): EngineInfo;
  /** waits `ms` (a cancellable no-op: health checks and tests of cancellation and crashes) */
  ping(params: { ms?: number }): { pid: number; waited: number };
  /** the catalog, recent first; `search` matches name, path, format or tag */
  listDatasets(params: { search?: string }): DatasetEntry[];
  /** schema, row count and DataShape line of a dataset */
  overview(params: { dataset: string }): DatasetOverview;
  /** count / min / max / sum / NaN count of a numeric column, by the native kernel over the mapped file */
  columnStats(params: { dataset: string; column: string }): ColumnStats;
  /** open a file or `PATH::INNER` (ingesting it into the cache if needed; progress) and add it to the catalog */
  open(params: { location: string }): DatasetOverview;
  /** a folder of the engine host's disk (web mode's file browser); the home folder when none is given */
  browse(params: { dir?: string; showHidden?: boolean }): BrowseResult;
  /** the formats the readers open and their extensions without the dot (the desktop Open dialog's filters) */
  readerFormats(params: Record<string, never>): { format: string; extensions: string[] }[];
  /** the datasets inside a container file (HDF5, SQLite, NPZ); [] for single-dataset files */
  listInner(params: { path: string }): InnerDatasetInfo[];
  /** a workspace file (.cdx) on the engine's host, checked (shared/workspace.ts), its relative locations made full */
  readWorkspace(params: { path: string }): { path: string; workspace: Workspace };
  /** writes a workspace file (.cdx; the extension added when none): locations inside its folder kept relative; an existing file replaced only with `force` */
  saveWorkspace(params: { path: string; workspace: Workspace; force?: boolean }): { path: string; bytes: number };
  /**
   * give a column another type (null: back to the one the reader found), kept in the catalog so
   * that it holds when the dataset is opened again; values that do not convert become null and are
   * counted (the result's warning, also among the overview's warnings); progress + cancel
   */
  setColumnType(params: { dataset: string; column: string; type: ColumnTypeChoice | null }): SetColumnTypeResult;
  /** forget a dataset (and its cache file) */
  removeDataset(params: { dataset: string }): { removed: boolean };
  /**
   * computed columns: define `name` as the value expression `expr` (`fare / distance`,
   * `date_trunc('month', pickup)`, `upper(borough) || '-' || zone`) over the dataset's columns and
   * the computed ones defined before it, or remove it (`expr` null). Kept in the catalog; the
   * column is then in the overview's schema (its field's `expr`) and everywhere — summary, table,
   * plots, filters, group-by, sort, export — evaluated as it is read, never stored (an export
   * writes its values). A mistake is refused with its position, the dataset unchanged
   */
  defineColumn(params: { dataset: string; name: string; expr: string | null }): DatasetOverview;
  /**
   * group-by: the groups of the key columns `by` with the measures of `agg` (SQL-like text:
   * `count(), sum(x), mean(x), min(x), max(x), std(x), var(x), distinct(x), median(x), p99(x),
   * quantile(x, 0.9)`, each optionally `as NAME`) over the rows where `where` holds; the result
   * (keys with the dataset's types, then the measures) as Arrow IPC stream bytes, sorted by `sort`
   * (result columns, `-name` descending; default the keys ascending; nulls last) and cut to
   * `limit` rows; `groups` counts them all. With `save`, every group (in that order, whatever
   * the limit) is also written as an Arrow file in the engine's cache and catalogued, named
   * `save.name` or `trips by borough`: `saved` is the new dataset. With `pivot` (a column not
   * among `by`), that key's values become columns: one row per combination of `by`, and for each
   * value v (ascending, nulls last: `null`) and measure m a column `v_m` (`v` with one measure) —
   * a cell without rows null, a count 0; at most 100 values (E_TOO_LARGE names the key and its
   * count); `sort` and `limit` then apply to those rows. Progress + cancel
   */
  groupBy(params: { dataset: string; by: string[]; agg: string; where?: string; sort?: string[]; limit?: number; save?: { name?: string }; pivot?: string }): GroupByResult;
  /**
   * join two catalogued datasets on key pairs `on` ([left column, right column]), inner (default)
   * or left, each side under its own filter; the result is a new catalogued dataset (its columns:
   * the left's, then the right's, a key pair of one name once, a clashing right name `x_1`; or
   * `columns` of those). Local files: the native hash join, written to the cache; both on one
   * database: a query dataset joining there; a database table with a local file: the database side
   * fetched (if it fits) and joined natively. Progress + cancel
   */
  join(params: { left: string; right: string; on: [string, string][]; how?: 'inner' | 'left'; whereLeft?: string; whereRight?: string; columns?: string[]; name?: string }): JoinResult;
  /** per-column statistics; each finished column is streamed as progress detail `{ column }` */
  summary(params: { dataset: string; columns?: string[]; where?: string; bins?: number; topk?: number }): DatasetSummary;
  /**
   * rows [offset, offset + limit) of the chosen columns as Arrow IPC stream bytes; with `where`,
   * of the filtered view (the rows that pass it): `total` is then the filtered row count and
   * `rowIds` the global row numbers of the rows sent. The first call for a filter counts its rows
   * (progress is reported); later windows of the same filter cost about the same at any offset.
   * With `sort` (`['-fare', 'borough']`: a leading `-` is descending; nulls last, NaN the greatest
   * number, text by code point, ties by row number) the rows of the view in that order: the first
   * call computes the permutation (progress reported), later windows read through it; `rowIds` are
   * then sent too (a database numbers them by rank in the view, as with `where`).
   */
  rows(params: { dataset: string; offset: number; limit: number; columns?: string[]; where?: string; sort?: string[] }): {
    offset: number;
    rows: number;
    /** rows of the (filtered) view */
    total: number;
    /** global row numbers of the rows sent (only with `where` or `sort`) */
    rowIds?: Float64Array;
    ipc: Uint8Array;
  };
  /** saved connections: databases, http(s) bases, S3 buckets (no secrets) */
  listConnections(params: Record<string, never>): ConnectionInfo[];
  /**
   * add or edit a connection; a password given is kept in the OS keychain when `remember` and one
   * answers, otherwise in this engine's memory only ('session'); `keep: 'app'` says the app keeps it
   * (Electron safeStorage) and hands it over with setSecret
   */
  saveConnection(params: { url: string; name?: string; password?: string; remember?: boolean; keep?: 'app' }): ConnectionInfo;
  /**
   * the dialog's Test button: a database's version and tables; an http(s) base's status, server
   * and listed entries; an S3 prefix's objects (signed with the key given or kept)
   */
  testConnection(params: { url: string; password?: string }): ConnectionTest;
  /** forget a connection and its kept secret */
  removeConnection(params: { url: string }): { removed: boolean };
  /** a password for this engine's session (the CLI's prompt, the app's safeStorage), never written anywhere */
  setSecret(params: { url: string; password: string }): { kept: 'session' };
  /**
   * one level of what a connection holds, like a folder: an S3 prefix's objects and prefixes below
   * it, an http(s) folder's directory index (E_UNSUPPORTED / EACCES where the server lists nothing:
   * open a file by its URL then), a database's tables and views (`URL::TABLE`). Each entry's path
   * is what `open` takes (a folder or prefix opens as one dataset of many files where the source
   * reads it), or, for a folder, what `browseRemote` takes next
   */
  browseRemote(params: { url: string }): BrowseEntry[];
  /** plots: each column's kind and finite range (default limits), category labels */
  plotRanges(params: PlotRangesParams): PlotColumnInfo[];
  /** plots: counts over the viewport at grid resolution (native 2-D binning; per-category for a categorical colour) */
  density(params: DensityParams): DensityResult;
  /** plots: the points in the viewport (x, y, colour, row ids) when they are at most `limit` */
  points(params: PointsParams): PointsResult;
  /** plots: a column's histogram over [lo, hi) (native 1-D binning) */
  histogram(params: HistogramParams): HistogramResult;
  /** plots: line data over an x range, M4 per pixel column and series (native; SQL on databases) */
  line(params: LineParams): LineResult;
}

/**
 * The engine's state, pushed by its host (main/engine/supervisor.ts) to every client as the event
 * ENGINE_STATE_EVENT on the client's own connection. `hung`: the engine stopped answering the
 * host's pings and was killed; a new one is starting.
 */
export interface EngineStateEvent {
  state: 'starting' | 'ready' | 'crashed' | 'hung' | 'restarting' | 'failed';
  pid?: number;
  /** what happened, in words for the status bar (crashed, hung, failed) */
  reason?: string;
  restarts?: number;
  /** set when the engine that held the client's calls is gone: its calls in flight fail with this code */
  failCalls?: Extract<ErrorCode, 'E_ENGINE_DIED' | 'E_ENGINE_HUNG'>;
}

export const ENGINE_STATE_EVENT = 'engine-state';
