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

export type { CsvColumnOut, CsvFeedResult, CsvIngestOptions, CsvIngestResult, CsvOpenOptions, CsvWidening } from './binding';

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
