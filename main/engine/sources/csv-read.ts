/**
 * Reading a CSV file: inspectCsv describes it (encoding, dialect, header row, column types from a
 * native typing pass) and readCsv streams it as Arrow RecordBatches over the native parser.
 *
 * - `typing: 'full'` (default) types the whole file first, so the data pass never has to widen a
 *   column after batches were emitted; `typing: 'sample'` types only the first `sampleBytes` (a
 *   later value that does not fit widens the column from that batch on: W_WIDENED).
 * - The data pass (mode "parse") returns Arrow-layout column buffers per chunk; they are wrapped
 *   into apache-arrow RecordBatches with makeData (no per-value JS work).
 * - Types: bool, int64 (exact, BigInt64Array; integers beyond int64 are float64), float64 (NaN is a
 *   value, not null), date (Int32 days), timestamp (microseconds UTC; offsets are applied),
 *   string. Integers with leading zeros ("01220") are strings. Dates and timestamps are ISO 8601
 *   (`2015-01-31`, `2015-01-31T01:00:00.5Z`, `2015-01-31 01:00+02:00`) or the other common
 *   spellings when a whole column agrees: `2015/01/31 01:00:00`, `01/31/2024` (month/day/year),
 *   `31/01/2024` (day/month/year, when some value needs it), `-` `/` `.` separators, with or
 *   without seconds and fractions, AM/PM; a date without a time is a `date` (see native/csv.ts
 *   CSV_ORDER for how the order is decided; an ambiguous column is month-first).
 * - `columnTypes` forces columns' types (the user's "Change type"): a value that does not convert
 *   is null, and W_UNCONVERTED says how many with the first few (row, line, text).
 *   Null tokens: empty, NA, N/A, null, NULL.
 * - Bad rows (wrong field count, unterminated quote at end of file) are skipped and reported as
 *   W_BAD_ROW warnings with 1-based line numbers (first 1000, plus a total); `strict` rejects with
 *   E_BAD_ROW naming the file and line.
 * - Feeds are pipelined: the next chunk is read while one is parsed, and the next parse starts
 *   before the caller consumes the current batch. Memory is bounded by a few chunks, whatever the
 *   file size.
 * Errors are CdxErrors (or the addon's coded errors) whose messages start with the file path:
 * ENOENT, E_IS_DIR, E_EMPTY, E_NOT_TEXT, E_GZIP, E_BAD_ROW, E_ROW_TOO_LARGE, E_CANCELLED, E_IO.
 */
import {
  Bool, DateDay, Field, Float64, Int64, RecordBatch, Schema, Struct, TimestampMicrosecond, Utf8, makeData,
  type Data, type DataType,
} from 'apache-arrow';
import { CSV_ORDER, CSV_ORDER_ALL, CsvParser, type CsvColumnOut, type CsvFeedResult, type CsvType, type CsvUnconverted } from '../../../native/csv';
import type { KernelOptions } from '../../../native/binding';
import { CdxError, throwIfCancelled } from '../../../shared/errors';
import { closeQuietly, openText, MiB, type CsvEncoding, type TextOptions } from './csv-text';
import { columnNames, decideHeader, joinTypes, sniffDialect, sniffDialectWith, terminatorOf, type CsvDialect } from './csv-dialect';

export type { CsvType } from '../../../native/csv';

export interface CsvColumn {
  name: string;
  type: CsvType;
  nullable: boolean;
  /** date / timestamp: the date orders its values are read in (CSV_ORDER bits) */
  orders?: number;
  /** the type was forced (columnTypes): values that do not convert are null, not a widening */
  forced?: boolean;
}

export interface CsvWarning {
  /** W_BAD_ROW (line), W_BAD_ROWS (total), W_WIDENED (column, line) */
  code: string;
  message: string;
  line?: number;
  column?: string;
  /** W_BAD_ROWS: the total number of rows skipped */
  count?: number;
  /** W_WIDENED: the column's new type */
  type?: CsvType;
  /** W_WIDENED: the column's date orders after it (CSV_ORDER bits) */
  orders?: number;
  /** W_UNCONVERTED: the first values that did not convert (1-based row and line) */
  samples?: { row: number; line: number; value: string }[];
}

export interface CsvInfo {
  path: string;
  size: number;
  gzip: boolean;
  encoding: CsvEncoding;
  dialect: CsvDialect;
  header: boolean;
  columns: CsvColumn[];
  /** data rows (good rows), when the typing pass read the whole file */
  rows: number | null;
  /** rows skipped as bad, when the typing pass read the whole file */
  badRows: number | null;
  typedBy: 'full' | 'sample';
}

export interface CsvOptions extends KernelOptions, TextOptions {
  /** override sniffing */
  delimiter?: string;
  quote?: string;
  header?: boolean;
  /** refuse the file at the first bad row (E_BAD_ROW) */
  strict?: boolean;
  /** 'full' (default): type the whole file; 'sample': only the first sampleBytes */
  typing?: 'full' | 'sample';
  /** default 4 MiB */
  sampleBytes?: number;
  /** a row longer than this is refused (E_ROW_TOO_LARGE); default 512 MiB */
  maxRowBytes?: number;
  /** columns' types forced by name: values that do not convert become null (W_UNCONVERTED) */
  columnTypes?: Record<string, CsvType>;
}

export interface ReadCsvOptions extends CsvOptions {
  /** the result of inspectCsv (skips the typing pass) */
  info?: CsvInfo;
  /** maximum rows per RecordBatch (default 1 << 20); larger chunks are sliced */
  batchRows?: number;
  /** called for every warning as it is found */
  onWarning?: (w: CsvWarning) => void;
}

/** W_BAD_ROW warnings for the (line, fields found or -1) pairs the parser reports. */
export function badRowWarnings(bad: Float64Array, ncols: number): CsvWarning[] {
  const out: CsvWarning[] = [];
  for (let i = 0; i < bad.length; i += 2) {
    const line = bad[i]!, nf = bad[i + 1]!;
    out.push({
      code: 'W_BAD_ROW', line,
      message: nf < 0 ? `line ${line}: unterminated quoted field (rest of the file skipped)` : `line ${line}: expected ${ncols} fields, found ${nf}; row skipped`,
    });
  }
  return out;
}

/** The W_WIDENED warning for a column whose type a later value widened (or whose date order a later value decided). */
export function widenedWarning(column: string, w: { from: string; to: string; line: number; orders?: number }): CsvWarning {
  const base = { code: 'W_WIDENED', column, line: w.line, type: w.to as CsvType, orders: w.orders };
  if (w.from === w.to) return { ...base, message: `column ${column} read as ${orderName(w.orders ?? CSV_ORDER.ymd)} from line ${w.line} on` };
  return { ...base, message: `column ${column} widened from ${w.from} to ${w.to} at line ${w.line}` };
}

/** How a date column's order reads in words ('month/day/year'). */
export function orderName(orders: number): string {
  return orders & CSV_ORDER.ymd ? 'year/month/day' : orders & CSV_ORDER.mdy ? 'month/day/year' : 'day/month/year';
}

/** The type a column is read as, for messages: `timestamp (month/day/year)`. */
function typeText(c: CsvColumn): string {
  return c.orders && !(c.orders & CSV_ORDER.ymd) && (c.type === 'date' || c.type === 'timestamp') ? `${c.type} (${orderName(c.orders)})` : c.type;
}

/**
 * Counts of values of forced columns that did not convert, accumulated over a read, and the
 * W_UNCONVERTED warnings they make (one per column: the count and the first five values with their
 * 1-based row and line numbers).
 */
export class UnconvertedTally {
  private counts: number[];
  private samples: { row: number; line: number; value: string }[][];
  constructor(private readonly columns: CsvColumn[]) {
    this.counts = columns.map(() => 0);
    this.samples = columns.map(() => []);
  }
  add(u: CsvUnconverted | undefined): void {
    if (!u) return;
    u.counts.forEach((n, j) => { if (j < this.counts.length) this.counts[j]! += n; });
    for (const s of u.samples) {
      const list = this.samples[s.column];
      if (list && list.length < 5) list.push({ row: s.row + 1, line: s.line, value: s.value });
    }
  }
  warnings(): CsvWarning[] {
    const out: CsvWarning[] = [];
    this.columns.forEach((c, j) => {
      const n = this.counts[j]!;
      if (!c.forced || n === 0) return;
      const samples = this.samples[j]!;
      const shown = samples.map((s) => `row ${s.row}: ${JSON.stringify(s.value)}`).join(', ');
      out.push({
        code: 'W_UNCONVERTED', column: c.name, count: n, samples, line: samples[0]?.line,
        message: `column ${c.name}: ${n} value${n === 1 ? '' : 's'} did not convert to ${typeText(c)} and became null (${shown}${n > samples.length ? ', …' : ''})`,
      });
    });
    return out;
  }
}

/** Applies the forced types (columnTypes) to typed columns; an unknown name is refused. */
export function forceTypes(path: string, columns: CsvColumn[], forced: Record<string, CsvType> | undefined): CsvColumn[] {
  if (!forced) return columns;
  for (const name of Object.keys(forced)) {
    if (!columns.some((c) => c.name === name)) throw CdxError.file('E_UNKNOWN_COLUMN', path, `no column named ${JSON.stringify(name)}`, { column: name });
  }
  return columns.map((c) => {
    const t = forced[c.name];
    if (!t) return c;
    const dated = t === 'date' || t === 'timestamp';
    // a column already read as dates keeps its order; text gets every order (the values decide)
    const wasDated = c.type === 'date' || c.type === 'timestamp';
    return { ...c, type: t, forced: true, nullable: true, orders: dated ? (wasDated && c.orders ? c.orders : CSV_ORDER_ALL) : undefined };
  });
}

const EMPTY = new Uint8Array(0);

/**
 * Feeds every chunk to `parser` and yields each result, pipelined: the next chunk is read while the
 * current one is parsed, and the next feed starts before the caller consumes the current result
 * (so the caller's work on a batch overlaps native parsing). The last feed is an empty chunk with
 * last = true (the size of a gzip stream is unknown until it ends).
 */
async function* feedAll(parser: CsvParser, chunks: AsyncIterator<Uint8Array>, signal?: AbortSignal): AsyncGenerator<{ res: CsvFeedResult; fed: number; last: boolean }> {
  let nextChunk = chunks.next();
  let ended = false;
  let fed = 0;
  const start = async (): Promise<{ res: CsvFeedResult; fed: number; last: boolean } | null> => {
    if (ended) return null;
    throwIfCancelled(signal, 'reading the CSV file');
    const r = await nextChunk;
    if (r.done) {
      ended = true;
      return { res: await parser.feed(EMPTY, true, { signal }), fed, last: true };
    }
    nextChunk = chunks.next();
    fed += r.value.length;
    const n = fed;
    return { res: await parser.feed(r.value, false, { signal }), fed: n, last: false };
  };
  let pending = start();
  try {
    for (;;) {
      const x = await pending;
      if (x === null) return;
      pending = start();
      yield x;
    }
  } finally {
    // the consumer stopped early: let the in-flight work settle quietly
    pending.catch(() => undefined);
    Promise.resolve(nextChunk).catch(() => undefined);
  }
}

/**
 * Sniffs encoding and dialect, then runs the native typing pass (over the whole file by default)
 * to find the header row and each column's type.
 */
export async function inspectCsv(path: string, opts: CsvOptions = {}): Promise<CsvInfo> {
  const typing = opts.typing ?? 'full';
  const sampleBytes = opts.sampleBytes ?? 4 * MiB;
  const { enc, bytes, chunks, headText, headComplete } = await openText(path, opts);
  let failed = false;
  try {
    const base = path.toLowerCase().replace(/\.gz$/, '');
    const prefer = base.endsWith('.tsv') || base.endsWith('.tab') ? '\t' : base.endsWith('.psv') ? '|' : undefined;
    const sniffed = sniffDialect(headText, headComplete, prefer);
    const dialect: CsvDialect & { ncols: number } = {
      ...sniffed,
      delimiter: opts.delimiter ?? sniffed.delimiter,
      quote: opts.quote ?? sniffed.quote,
    };
    if (opts.delimiter || opts.quote !== undefined) {
      dialect.ncols = Math.max(1, sniffDialectWith(headText, dialect.delimiter, dialect.quote, headComplete));
    }
    const parser = new CsvParser({
      path, delimiter: dialect.delimiter, quote: dialect.quote, terminator: terminatorOf(dialect), ncols: dialect.ncols,
      mode: 'infer', captureFirstRow: true, cp1252: enc === 'windows-1252', maxRowBytes: opts.maxRowBytes,
    });
    let res: CsvFeedResult | undefined;
    let reachedEnd = false;
    let rowsTotal = 0;
    let badTotal = 0;
    for await (const { res: r, fed, last } of feedAll(parser, chunks, opts.signal)) {
      if (last) reachedEnd = true;
      rowsTotal += r.rows;
      badTotal += r.badCount;
      if (r.firstRow) res = { ...r };
      else if (res) res = { ...r, firstRow: res.firstRow, firstClasses: res.firstClasses };
      else res = r;
      opts.onProgress?.({ done: bytes.bytesRead(), total: bytes.size, fraction: Math.min(1, bytes.bytesRead() / bytes.size) });
      if (typing === 'sample' && fed >= sampleBytes && !last) break;
    }
    if (!res) throw CdxError.file('E_EMPTY', path, 'the file holds no text');
    const complete = reachedEnd;
    const first = res.firstRow ?? [];
    const firstClasses = res.firstClasses ?? [];
    const types = res.types.map((t) => t as string);
    const header = opts.header ?? decideHeader(first, firstClasses, types);
    const names = columnNames(first, dialect.ncols, header);
    const columns: CsvColumn[] = names.map((name, j) => {
      let t = res!.types[j]!;
      let nullable = res!.nulls[j]! > 0;
      if (!header && first.length === dialect!.ncols) {
        t = joinTypes(t, firstClasses[j]!);
        if (firstClasses[j] === 'null') nullable = true;
      }
      if (t === 'null') { t = 'string'; nullable = true; }
      const orders = t === 'date' || t === 'timestamp' ? res!.orders?.[j] ?? CSV_ORDER.ymd : undefined;
      return { name, type: t as CsvType, nullable, ...(orders !== undefined ? { orders } : {}) };
    });
    const firstIsRow = !header && first.length === dialect.ncols;
    const firstBad = !opts.header && first.length !== dialect.ncols && first.length > 0 ? 1 : 0;
    return {
      path, size: bytes.size, gzip: bytes.gzip, encoding: enc,
      dialect: { delimiter: dialect.delimiter, quote: dialect.quote, lineEnding: dialect.lineEnding },
      header: header || firstBad === 1,
      columns: forceTypes(path, columns, opts.columnTypes),
      rows: complete ? rowsTotal + (firstIsRow ? 1 : 0) : null,
      badRows: complete ? badTotal + firstBad : null,
      typedBy: complete ? 'full' : 'sample',
    };
  } catch (e) {
    failed = true;
    throw e;
  } finally {
    await closeQuietly({ bytes, chunks }, failed);
  }
}

// ---------------------------------------------------------------------------------------------
// Arrow

/** The Arrow type a CSV column is read as. */
export function arrowTypeOf(t: CsvType): DataType {
  switch (t) {
    case 'bool': return new Bool();
    case 'int64': return new Int64();
    case 'float64': return new Float64();
    case 'date': return new DateDay();
    case 'timestamp': return new TimestampMicrosecond();
    default: return new Utf8();
  }
}

/** The Arrow schema of the columns. */
export function csvArrowSchema(columns: CsvColumn[]): Schema {
  return new Schema(columns.map((c) => new Field(c.name, arrowTypeOf(c.type), c.nullable)));
}

function columnData(c: CsvColumnOut, n: number): Data {
  const base = { length: n, nullCount: c.nullCount, nullBitmap: c.validity };
  switch (c.type) {
    case 'bool': return makeData({ ...base, type: new Bool(), data: new Uint8Array(c.data) });
    case 'int64': return makeData({ ...base, type: new Int64(), data: new BigInt64Array(c.data) });
    case 'float64': return makeData({ ...base, type: new Float64(), data: new Float64Array(c.data) });
    case 'date': return makeData({ ...base, type: new DateDay(), data: new Int32Array(c.data) });
    case 'timestamp': return makeData({ ...base, type: new TimestampMicrosecond(), data: new BigInt64Array(c.data) });
    default: return makeData({ ...base, type: new Utf8(), valueOffsets: c.offsets!, data: new Uint8Array(c.data) });
  }
}

// ---------------------------------------------------------------------------------------------
// Reading

/**
 * Streams a CSV file as Arrow RecordBatches (one per parsed chunk, sliced to at most batchRows).
 * Bad rows become W_BAD_ROW warnings (onWarning) or, with `strict`, an E_BAD_ROW rejection.
 */
export async function* readCsv(path: string, opts: ReadCsvOptions = {}): AsyncGenerator<RecordBatch> {
  const info = opts.info ?? (await inspectCsv(path, { ...opts, onProgress: undefined }));
  const { enc, bytes, chunks } = await openText(path, opts);
  const batchRows = Math.max(1, opts.batchRows ?? 1 << 20);
  let columns = info.columns.map((c) => ({ ...c }));
  let schema = csvArrowSchema(columns);
  const parser = new CsvParser({
    path, delimiter: info.dialect.delimiter, quote: info.dialect.quote, terminator: terminatorOf(info.dialect),
    ncols: columns.length, mode: 'parse', types: columns.map((c) => c.type), header: info.header,
    orders: columns.map((c) => c.orders ?? CSV_ORDER.ymd), forced: columns.map((c) => c.forced === true),
    strict: opts.strict, cp1252: (opts.encoding ?? enc) === 'windows-1252' || info.encoding === 'windows-1252',
    maxRowBytes: opts.maxRowBytes,
  });
  let badTotal = 0;
  let failed = false;
  const tally = new UnconvertedTally(columns);
  try {
    for await (const { res: r } of feedAll(parser, chunks, opts.signal)) {
      tally.add(r.unconverted);
      throwIfCancelled(opts.signal, `reading ${path}`);
      opts.onProgress?.({ done: bytes.bytesRead(), total: bytes.size, fraction: Math.min(1, bytes.bytesRead() / bytes.size) });
      if (opts.onWarning) for (const w of badRowWarnings(r.bad, columns.length)) opts.onWarning(w);
      badTotal += r.badCount;
      if (r.widened.length) {
        for (const w of r.widened) {
          const col = columns[w.column]!;
          // a forced column deciding its date order is said by W_UNCONVERTED, if at all
          if (!(col.forced && w.from === w.to)) opts.onWarning?.(widenedWarning(col.name, w));
          col.type = w.to as CsvType;
          col.orders = w.to === 'date' || w.to === 'timestamp' ? w.orders : undefined;
        }
        schema = csvArrowSchema(columns);
      }
      if (!r.columns || r.rows === 0) continue;
      const n = r.rows;
      const cols = r.columns;
      // nullable may be understated by a sampled typing pass: derive it from the data
      let fixed = false;
      cols.forEach((c, j) => { if (c.nullCount > 0 && !columns[j]!.nullable) { columns[j]!.nullable = true; fixed = true; } });
      if (fixed) schema = csvArrowSchema(columns);
      const children = cols.map((c) => columnData(c, n));
      const batch = new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: n, nullCount: 0, children }));
      if (n <= batchRows) yield batch;
      else for (let o = 0; o < n; o += batchRows) yield batch.slice(o, Math.min(n, o + batchRows));
    }
    if (badTotal > 0) opts.onWarning?.({ code: 'W_BAD_ROWS', count: badTotal, message: `${badTotal} bad row(s) skipped` });
    for (const w of tally.warnings()) opts.onWarning?.(w);
  } catch (e) {
    failed = true;
    throw e;
  } finally {
    await closeQuietly({ bytes, chunks }, failed);
  }
}

