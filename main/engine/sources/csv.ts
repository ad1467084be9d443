/**
 * CSV / TSV / any-delimiter Source (optionally gzip-compressed), over the native parser (the
 * policy is in csv-text.ts, csv-dialect.ts, csv-read.ts and csv-ingest.ts). open() and info() sniff
 * the dialect, encoding and header and type the columns from the first few MiB (rows: null until
 * the whole file was read, unless the sample covered it); scan() first types the whole file (a
 * native classify-only pass) so its batches never change schema, then streams Arrow record batches
 * in bounded memory, collecting bad-row warnings (1-based line numbers). It declares the
 * `nativeIngest` capability, the columnar cache's fast path: one optimistic pass straight into an
 * Arrow IPC file (see ingestCsv), after which info() is exact.
 *
 * Registered once, in the registry's provider list (format 'csv'). Errors are CdxErrors naming the
 * file (`file` is set, the message starts with the path).
 */
import type { RecordBatch } from 'apache-arrow';
import type { Field } from '../../../shared/datashape';
import { CdxError, errorCode, toErrorInfo } from '../../../shared/errors';
import { inspectCsv, readCsv, type CsvColumn, type CsvInfo, type CsvOptions, type CsvType, type CsvWarning } from './csv-read';
import { ingestCsv, type IngestCsvResult } from './csv-ingest';
import type { IngestWarning, NativeIngestOptions, ScanOptions, Source, SourceCapabilities, SourceInfo, SourceProvider } from './types';

export interface CsvSourceOptions extends Pick<CsvOptions, 'delimiter' | 'quote' | 'header' | 'encoding' | 'strict' | 'chunkBytes' | 'typing' | 'sampleBytes' | 'maxRowBytes' | 'columnTypes'> {}

/** A user's column type as the CSV parser's: a category is text (its values are labels). */
export function csvTypeOf(choice: string): CsvType {
  switch (choice) {
    case 'int64': case 'float64': case 'bool': case 'date': case 'timestamp': case 'string': return choice;
    case 'category': return 'string';
    default: throw new CdxError('E_BAD_TYPE', `unknown column type "${choice}" (string, category, int64, float64, bool, date, timestamp)`);
  }
}

/** Warnings kept per source (the total count is always reported). */
const MAX_WARNINGS = 1000;

/** A reader warning as the engine keeps it (W_UNCONVERTED keeps its count and first values). */
function warningOf(w: CsvWarning): IngestWarning {
  return {
    code: w.code, message: w.message, line: w.line, column: w.column,
    ...(w.code === 'W_UNCONVERTED' ? { count: w.count, samples: w.samples } : {}),
  };
}

function fieldOf(c: CsvColumn): Field {
  return c.type === 'timestamp' ? { name: c.name, type: 'timestamp', unit: 'us', nullable: c.nullable } : { name: c.name, type: c.type, nullable: c.nullable };
}

/**
 * Any failure as a CdxError naming a file: one that already names its file (this one, or the
 * output of an ingest) stands; anything else becomes an error about this file, its code in the
 * vocabulary (a cancel stays E_CANCELLED; an error without a code is E_READ), its message starting
 * with the path (native messages mostly do already).
 */
function fileError(e: unknown, path: string): CdxError {
  if (e instanceof CdxError && e.file !== undefined) return e;
  const info = toErrorInfo(e);
  const code = info.code === 'E_INTERNAL' && errorCode(e) === undefined ? 'E_READ' : info.code;
  const message = info.message.startsWith(path + ': ') ? info.message : `${path}: ${info.message}`;
  return new CdxError(code, message, { file: path, column: info.column, cause: e });
}

export class CsvSource implements Source {
  private sampleP: Promise<CsvInfo> | undefined;
  private fullP: Promise<CsvInfo> | undefined;
  private warnings: IngestWarning[] = [];
  private badRows = 0;

  /** The native ingest, declared (the engine uses it instead of scan() + the generic cache writer). */
  readonly capabilities: SourceCapabilities = {
    nativeIngest: async (outPath, opts) => {
      const r = await this.ingestToArrow(outPath, opts);
      return { rows: r.info.rows ?? 0, columns: r.info.columns.map((c) => ({ name: c.name, nullable: c.nullable })) };
    },
    forceTypes: (types) => {
      const columnTypes: Record<string, CsvType> = {};
      for (const [name, t] of Object.entries(types)) columnTypes[name] = csvTypeOf(t);
      this.opts = { ...this.opts, columnTypes };
      this.sampleP = undefined;
      this.fullP = undefined;
    },
  };

  private opts: CsvSourceOptions;
  constructor(readonly path: string, opts: CsvSourceOptions = {}) {
    this.opts = opts;
  }

  /**
   * The CSV-specific description (dialect, encoding, header, column types). 'sample' (cheap: the
   * first sampleBytes) is what open() and info() use; 'full' types the whole file (what scan()
   * needs so that no yielded batch must ever widen). When the sample covers the whole file the two
   * are the same.
   */
  async csvInfo(mode: 'sample' | 'full' = 'full', signal?: AbortSignal): Promise<CsvInfo> {
    const wrap = (p: Promise<CsvInfo>, reset: () => void) => p.catch((e) => { reset(); throw fileError(e, this.path); });
    if (this.fullP) return this.fullP;
    if (!this.sampleP) this.sampleP = wrap(inspectCsv(this.path, { ...this.opts, typing: 'sample', signal }), () => { this.sampleP = undefined; });
    if (mode === 'sample' || this.opts.typing === 'sample') return this.sampleP;
    const sample = await this.sampleP;
    if (sample.typedBy === 'full') return sample;
    if (!this.fullP) this.fullP = wrap(inspectCsv(this.path, { ...this.opts, typing: 'full', signal }), () => { this.fullP = undefined; });
    return this.fullP;
  }

  /** Rows and exact types are known once the whole file was read (rows: null before). */
  private bestInfo(): Promise<CsvInfo> {
    return this.fullP ?? this.csvInfo('sample');
  }

  async info(): Promise<SourceInfo> {
    const ci = await this.bestInfo();
    const warnings = [...this.warnings];
    if (!this.warnings.length && ci.badRows) {
      warnings.push({ code: 'W_BAD_ROWS', message: `${ci.badRows} bad row(s) will be skipped (line numbers are reported by a scan)` });
    }
    return {
      format: 'csv',
      path: this.path,
      rows: ci.rows,
      schema: { fields: ci.columns.map(fieldOf) },
      metadata: {
        delimiter: ci.dialect.delimiter,
        quote: ci.dialect.quote,
        lineEnding: ci.dialect.lineEnding,
        header: String(ci.header),
        encoding: ci.encoding,
        gzip: String(ci.gzip),
        ...(ci.badRows !== null ? { badRows: String(ci.badRows) } : {}),
      },
      warnings,
    };
  }

  async *scan(opts: ScanOptions = {}): AsyncIterable<RecordBatch> {
    const ci = await this.csvInfo('full', opts.signal);
    const names = ci.columns.map((c) => c.name);
    if (opts.columns) {
      for (const c of opts.columns) if (!names.includes(c)) throw CdxError.file('E_UNKNOWN_COLUMN', this.path, `no column named ${JSON.stringify(c)}`, { column: c });
    }
    const pick = opts.columns?.map((c) => names.indexOf(c));
    this.warnings = [];
    this.badRows = 0;
    const onWarning = (w: CsvWarning) => {
      if (w.code === 'W_BAD_ROWS') { this.badRows = w.count ?? this.badRows; return; }
      if (this.warnings.length < MAX_WARNINGS) this.warnings.push(warningOf(w));
    };
    try {
      for await (const b of readCsv(this.path, {
        ...this.opts,
        info: ci,
        signal: opts.signal,
        batchRows: opts.batchRows ? Math.max(opts.batchRows, 1024) : undefined,
        onProgress: opts.onProgress ? (p) => opts.onProgress!(p.fraction) : undefined,
        onWarning,
      })) {
        yield pick ? b.selectAt(pick) : b;
      }
    } catch (e) {
      throw fileError(e, this.path);
    }
    if (this.badRows > 0) this.warnings.push({ code: 'W_BAD_ROWS', message: `${this.badRows} bad row(s) skipped` });
  }

  /**
   * Fast path for the columnar cache: ingest straight into an uncompressed Arrow IPC file in one
   * optimistic pass (no separate typing pass; see ingestCsv). Afterwards info() describes what was
   * written (exact row count, nullability from the data) and carries the pass's warnings.
   */
  async ingestToArrow(outPath: string, opts: NativeIngestOptions = {}): Promise<IngestCsvResult> {
    const warnings: IngestWarning[] = [];
    try {
      const r = await ingestCsv(this.path, outPath, {
        ...this.opts,
        signal: opts.signal,
        onProgress: opts.onProgress ? (p) => opts.onProgress!(p.fraction) : undefined,
        onWarning: (w) => { if (warnings.length < MAX_WARNINGS && w.code !== 'W_BAD_ROWS') warnings.push(warningOf(w)); },
      });
      if (r.info.badRows) warnings.push({ code: 'W_BAD_ROWS', message: `${r.info.badRows} bad row(s) skipped` });
      this.warnings = warnings;
      this.fullP = Promise.resolve(r.info);
      return r;
    } catch (e) {
      throw fileError(e, this.path);
    }
  }

  async close(): Promise<void> {
    this.sampleP = undefined;
    this.fullP = undefined;
  }
}

export const csvProvider: SourceProvider = {
  format: 'csv',
  extensions: ['csv', 'tsv', 'txt', 'psv', 'tab', 'csv.gz', 'tsv.gz', 'txt.gz'],
  async open(path: string): Promise<Source> {
    const src = new CsvSource(path);
    await src.csvInfo('sample');  // errors (missing, directory, empty, binary) surface at open; cheap
    return src;
  },
};
