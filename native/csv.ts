/**
 * The CSV kernels: thin typed wrappers over the addon's two CSV entry points (their raw types are
 * declared in binding.ts).
 *
 * - `CsvParser` (csvOpen + csvFeed, native/src/csv.cc): a streaming parser fed decoded UTF-8 (or
 *   Windows-1252) chunks in order. Mode 'infer' only classifies values (a typing pass); mode 'parse'
 *   returns Arrow-layout column buffers per chunk. Bad rows come back with their 1-based lines.
 * - `csvIngestPass` (csvIngest, native/src/csv_ingest.cc): one native pass that maps a plain CSV
 *   file, parses it window by window on every core and lays each record batch out straight into
 *   the output file after a caller-supplied prefix; it returns the blocks for the footer, or
 *   `restart` when a value widened a column after the schema was written.
 *
 * Everything about what a CSV file *is* — encodings, gzip, dialect sniffing, the header row,
 * column typing, the Arrow file's Schema message and footer — is policy and lives in
 * main/engine/sources/csv-*.ts. Failures reject with CdxErrors (binding.ts normalises them):
 * E_BAD_ROW, E_ROW_TOO_LARGE, E_TRUNCATED, E_IO, E_CANCELLED…, messages starting with the path.
 */
import {
  loadNative, runJob, type CsvFeedResult, type CsvIngestOptions, type CsvIngestResult, type CsvOpenOptions, type CsvParserHandle,
  type CsvTypeName, type KernelOptions,
} from './binding';

export type { CsvColumnOut, CsvFeedResult, CsvIngestOptions, CsvIngestResult, CsvOpenOptions, CsvUnconverted, CsvWidening } from './binding';

/**
 * Date orders (bits of `orders`): 1 year/month/day (ISO `2015-01-31`, `2015/01/31 01:00`),
 * 2 month/day/year (`01/31/2024`), 4 day/month/year (`31/01/2024`). A typing pass keeps, per
 * column, the orders every value can be read in; a parse reads a column in its preferred order
 * (year first, else month first, else day first — an ambiguous column is month-first, the US
 * spelling and pandas' default; DuckDB 1.5's sniffer reads it day-first) and narrows it when a value needs another order of its mask. `forced` columns keep their
 * type: a value that does not convert is null and counted (`unconverted`).
 */
export const CSV_ORDER = { ymd: 1, mdy: 2, dmy: 4 } as const;
export const CSV_ORDER_ALL = 7;

/** A value class of the typing pass: a column type, or 'null' while only null tokens were seen. */
export type CsvClass = CsvTypeName;
/** A column's value type (the classes without 'null'). */
export type CsvType = Exclude<CsvTypeName, 'null'>;

/** One native parser: feed it chunks in order; the last feed (last = true) flushes the final row. */
export class CsvParser {
  private readonly handle: CsvParserHandle;
  constructor(readonly options: CsvOpenOptions) {
    this.handle = loadNative().csvOpen(options);
  }
  feed(chunk: Uint8Array, last: boolean, opts: KernelOptions = {}): Promise<CsvFeedResult> {
    return runJob('csvFeed', (a, job) => a.csvFeed(this.handle, chunk, last, job), opts);
  }
}

/** One native ingest pass (progress: bytes of input parsed). */
export function csvIngestPass(args: CsvIngestOptions, opts: KernelOptions = {}): Promise<CsvIngestResult> {
  return runJob('csvIngest', (a, job) => a.csvIngest(args, job), opts);
}
