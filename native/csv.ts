/**
 * CSV ingest over the native parser (native/src/csv.cc): typed TypeScript API.
 *
 * - Bytes are streamed in chunks (default 8 MiB: input, pieces and output of a chunk stay near the L3 cache; `chunkBytes` makes them tiny in tests) from the
 *   file or through node:zlib when it is gzip (detected by magic bytes), so memory stays bounded.
 * - Encoding: UTF-8 (a BOM is dropped), UTF-16 LE/BE with a BOM (transcoded to UTF-8 per chunk with
 *   a streaming TextDecoder), and Windows-1252 when the sample is not valid UTF-8 (transcoded in
 *   native code; a stray invalid field later in a UTF-8 file is transcoded field by field too).
 * - Dialect (delimiter , ; TAB |, quote " or ', line ending LF / CRLF / CR) is sniffed from the
 *   first 64 KiB; the header row and column types come from a native typing pass (mode "infer").
 *   `typing: 'full'` (default) types the whole file first, so the data pass never has to widen a
 *   column after batches were emitted; `typing: 'sample'` types only the first `sampleBytes`
 *   (a later value that does not fit widens the column from that batch on: W_WIDENED).
 * - The data pass (mode "parse") returns Arrow-layout column buffers per chunk; they are wrapped
 *   into apache-arrow RecordBatches with makeData (no per-value JS work).
 * - Types: bool, int64 (exact, BigInt64Array; integers beyond int64 are float64), float64 (NaN is a
 *   value, not null), date (YYYY-MM-DD, Int32 days), timestamp (ISO 8601, microseconds UTC;
 *   offsets are applied), string. Integers with leading zeros ("01220") are strings.
 *   Null tokens: empty, NA, N/A, null, NULL.
 * - Bad rows (wrong field count, unterminated quote at end of file) are skipped and reported as
 *   W_BAD_ROW warnings with 1-based line numbers (first 1000, plus a total); `strict` rejects with
 *   E_BAD_ROW naming the file and line.
 * - Feeds are pipelined: the next chunk is read while one is parsed, and the next parse starts
 *   before the caller consumes the current batch. Memory is bounded by a few chunks, whatever the
 *   file size (about 300 MB RSS ingesting 1 GB).
 * - ingestCsv writes straight into an Arrow IPC file in one optimistic pass (sample typing; a late
 *   widening restarts into a fresh temporary file). For plain / BOM UTF-8 and Windows-1252 files
 *   the whole pass is native (csvIngest in native/src/csv_ingest.cc: the file is mapped, parsed in
 *   16 MiB windows on every core and each record batch laid out straight into a mapping of the
 *   output file); JS encodes only the Schema message and the footer. gzip and UTF-16 input take the
 *   streamed path (readCsv + apache-arrow's RecordBatchFileWriter). readCsv after inspectCsv (full
 *   typing pass) never changes schema between batches.
 * Errors carry a `code`: ENOENT, E_IS_DIR, E_EMPTY, E_NOT_TEXT, E_GZIP, E_BAD_ROW, E_ROW_TOO_LARGE,
 * E_CANCELLED, E_IO; messages start with the file path.
 */
import { createReadStream } from 'node:fs';
import { appendFile, open, rename, rm, stat } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { isUtf8 } from 'node:buffer';
import {
  Bool, DateDay, Field, Float64, Int64, MetadataVersion, RecordBatch, Schema, Struct, TimestampMicrosecond, Utf8, makeData,
  type Data, type DataType,
} from 'apache-arrow';
import { FileBlock, Footer } from 'apache-arrow/ipc/metadata/file';
import { Message } from 'apache-arrow/ipc/metadata/message';
import { cancelledError, loadNative, runJob, type KernelOptions, type NativeError } from './index';

export type CsvType = 'bool' | 'int64' | 'float64' | 'date' | 'timestamp' | 'string';
export type CsvEncoding = 'utf-8' | 'utf-8-bom' | 'utf-16le' | 'utf-16be' | 'windows-1252';
export type LineEnding = 'lf' | 'crlf' | 'cr';

export interface CsvDialect {
  delimiter: string;
  /** '' = no quoting */
  quote: string;
  lineEnding: LineEnding;
}

export interface CsvColumn {
  name: string;
  type: CsvType;
  nullable: boolean;
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

export interface CsvOptions extends KernelOptions {
  /** override sniffing */
  delimiter?: string;
  quote?: string;
  header?: boolean;
  encoding?: CsvEncoding;
  /** refuse the file at the first bad row (E_BAD_ROW) */
  strict?: boolean;
  /** bytes per chunk handed to the native parser (default 8 MiB) */
  chunkBytes?: number;
  /** 'full' (default): type the whole file; 'sample': only the first sampleBytes */
  typing?: 'full' | 'sample';
  /** default 4 MiB */
  sampleBytes?: number;
  /** a row longer than this is refused (E_ROW_TOO_LARGE); default 512 MiB */
  maxRowBytes?: number;
}

export interface ReadCsvOptions extends CsvOptions {
  /** the result of inspectCsv (skips the typing pass) */
  info?: CsvInfo;
  /** maximum rows per RecordBatch (default 1 << 20); larger chunks are sliced */
  batchRows?: number;
  /** called for every warning as it is found */
  onWarning?: (w: CsvWarning) => void;
}

const MiB = 1024 * 1024;
const DEFAULT_CHUNK = 8 * MiB;

function csvError(code: string, path: string, message: string): NativeError {
  const e = new Error(`${path}: ${message}`) as NativeError;
  e.code = code;
  return e;
}

// ---------------------------------------------------------------------------------------------
// Bytes: file or gzip stream -> chunks -> decoded UTF-8 (BOM dropped)

interface ByteStream {
  size: number;
  gzip: boolean;
  /** raw (compressed) bytes read so far */
  readonly bytesRead: () => number;
  chunks: AsyncGenerator<Uint8Array>;
  close: () => Promise<void>;
}

async function checkPath(path: string): Promise<number> {
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    const c = (e as NodeJS.ErrnoException).code;
    if (c === 'ENOENT' || c === 'ENOTDIR') throw csvError('ENOENT', path, 'no such file');
    if (c === 'EACCES' || c === 'EPERM') throw csvError('EACCES', path, 'permission denied');
    throw csvError('E_IO', path, (e as Error).message);
  }
  if (st.isDirectory()) throw csvError('E_IS_DIR', path, 'is a directory, not a CSV file');
  if (!st.isFile()) throw csvError('E_NOT_FILE', path, 'is not a regular file');
  if (st.size === 0) throw csvError('E_EMPTY', path, 'the file is empty (0 bytes)');
  return st.size;
}

async function openBytes(path: string, chunkBytes: number): Promise<ByteStream> {
  const size = await checkPath(path);
  const fh = await open(path, 'r');
  const magic = new Uint8Array(2);
  await fh.read(magic, 0, 2, 0);
  const gzip = magic[0] === 0x1f && magic[1] === 0x8b;
  let read = 0;
  let closed = false;
  const close = async () => {
    if (!closed) { closed = true; await fh.close().catch(() => undefined); }
  };
  let chunks: AsyncGenerator<Uint8Array>;
  if (!gzip) {
    chunks = (async function* () {
      try {
        // Three buffers in rotation: the native parser copies a chunk synchronously when it is fed,
        // so by the time a buffer comes round again it is free (fresh multi-MiB buffers per chunk
        // cost page faults). Tiny chunks (tests) are small enough to allocate each time.
        const ring = chunkBytes >= 65536 ? [Buffer.allocUnsafeSlow(chunkBytes), Buffer.allocUnsafeSlow(chunkBytes), Buffer.allocUnsafeSlow(chunkBytes)] : undefined;
        let k = 0;
        for (;;) {
          const buf = ring ? ring[k++ % 3]! : Buffer.allocUnsafe(chunkBytes);
          let n = 0;
          while (n < chunkBytes) {
            const { bytesRead } = await fh.read(buf, n, chunkBytes - n, read + n);
            if (bytesRead === 0) break;
            n += bytesRead;
          }
          read += n;
          if (n === 0) return;
          yield n === chunkBytes ? buf : buf.subarray(0, n);
          if (n < chunkBytes) return;
        }
      } finally {
        await close();
      }
    })();
  } else {
    await close();
    chunks = (async function* () {
      const raw = createReadStream(path, { highWaterMark: 1 * MiB });
      raw.on('data', (b) => { read += (b as Buffer).length; });
      const gun = createGunzip();
      raw.on('error', (e) => gun.destroy(e));
      raw.pipe(gun);
      let parts: Buffer[] = [];
      let have = 0;
      try {
        for await (const piece of gun as AsyncIterable<Buffer>) {
          let p = piece;
          while (have + p.length >= chunkBytes) {
            const take = chunkBytes - have;
            parts.push(p.subarray(0, take));
            yield Buffer.concat(parts, chunkBytes);
            parts = [];
            have = 0;
            p = p.subarray(take);
          }
          if (p.length) { parts.push(p); have += p.length; }
        }
        if (have) yield Buffer.concat(parts, have);
      } catch (e) {
        throw csvError('E_GZIP', path, `cannot decompress: ${(e as Error).message}`);
      } finally {
        raw.destroy();
        gun.destroy();
      }
    })();
  }
  const gen = chunks;
  const closeAll = async () => {
    await gen.return(undefined).catch(() => undefined);
    await close();
  };
  return { size, gzip, bytesRead: () => read, chunks, close: closeAll };
}

function detectEncoding(first: Uint8Array): CsvEncoding {
  if (first[0] === 0xef && first[1] === 0xbb && first[2] === 0xbf) return 'utf-8-bom';
  if (first[0] === 0xff && first[1] === 0xfe) return 'utf-16le';
  if (first[0] === 0xfe && first[1] === 0xff) return 'utf-16be';
  // cut at the last newline so a multi-byte character split by the chunk edge is not "invalid"
  let end = first.length;
  const nl = first.lastIndexOf(0x0a);
  if (nl > 0 && first.length > 4096) end = nl + 1;
  else if (end > 3) {
    // drop a possibly truncated sequence at the very end
    let k = end - 1;
    while (k > end - 4 && k > 0 && (first[k]! & 0xc0) === 0x80) k--;
    if (first[k]! >= 0xc0) end = k;
  }
  return isUtf8(first.subarray(0, end)) ? 'utf-8' : 'windows-1252';
}

function looksBinary(b: Uint8Array): boolean {
  const n = Math.min(b.length, 65536);
  let ctl = 0;
  for (let i = 0; i < n; i++) {
    const c = b[i]!;
    if (c === 0) return true;
    if (c < 9 || (c > 13 && c < 32 && c !== 27)) ctl++;
  }
  return n > 0 && ctl / n > 0.05;
}

/** Decoded UTF-8 chunks (BOM dropped, UTF-16 transcoded) plus the detected encoding. */
async function openText(path: string, opts: CsvOptions): Promise<{ enc: CsvEncoding; bytes: ByteStream; chunks: AsyncGenerator<Uint8Array>; headText: string; headComplete: boolean }> {
  const chunkBytes = Math.max(1, Math.floor(opts.chunkBytes ?? DEFAULT_CHUNK));
  // the first chunk is at least 64 KiB so that sniffing sees a useful sample
  const bytes = await openBytes(path, chunkBytes);
  const it = bytes.chunks;
  let first: Uint8Array = new Uint8Array(0);
  const pending: Uint8Array[] = [];
  let have = 0;
  let headComplete = false;
  try {
    while (have < 65536) {
      const r = await it.next();
      if (r.done) { headComplete = true; break; }
      pending.push(r.value);
      have += r.value.length;
    }
    first = pending.length === 1 ? pending[0]! : Buffer.concat(pending);
  } catch (e) {
    await bytes.close();
    throw e;
  }
  if (first.length === 0) { await bytes.close(); throw csvError('E_EMPTY', path, 'the file is empty (no data after decompression)'); }
  const enc = opts.encoding ?? detectEncoding(first);
  if (enc !== 'utf-16le' && enc !== 'utf-16be' && looksBinary(first)) {
    await bytes.close();
    throw csvError('E_NOT_TEXT', path, 'holds binary data (NUL or control bytes), not CSV text');
  }
  const chunks = (async function* () {
    let skip = enc === 'utf-8-bom' ? 3 : 0;
    const dec = enc === 'utf-16le' || enc === 'utf-16be' ? new TextDecoder(enc) : undefined;
    const src = (async function* () {
      for (const p of pending) yield p;
      pending.length = 0;
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        yield r.value;
      }
    })();
    for await (let c of src) {
      if (skip) {
        const k = Math.min(skip, c.length);
        c = c.subarray(k);
        skip -= k;
        if (!c.length) continue;
      }
      if (dec) {
        const s = dec.decode(c, { stream: true });
        yield Buffer.from(s, 'utf8');
      } else {
        yield c;
      }
    }
    if (dec) {
      const tail = dec.decode();
      if (tail) yield Buffer.from(tail, 'utf8');
    }
  })();
  let headText: string;
  if (enc === 'utf-16le' || enc === 'utf-16be') headText = new TextDecoder(enc).decode(first);
  else headText = Buffer.from(first.buffer, first.byteOffset, first.length).toString('latin1').replace(/^\xef\xbb\xbf/, '');
  return { enc, bytes, chunks, headText, headComplete };
}

// ---------------------------------------------------------------------------------------------
// Dialect sniffing

function splitRows(text: string, delim: string, quote: string, maxRows: number, complete: boolean): number[] {
  const counts: number[] = [];
  let fields = 1, inq = false, rowHasData = false;
  for (let i = 0; i < text.length && counts.length < maxRows; i++) {
    const c = text[i];
    if (quote && c === quote) { inq = !inq; rowHasData = true; continue; }
    if (inq) continue;
    if (c === delim) { fields++; rowHasData = true; continue; }
    if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      if (rowHasData) counts.push(fields);
      fields = 1;
      rowHasData = false;
      continue;
    }
    rowHasData = true;
  }
  if (complete && rowHasData && counts.length < maxRows) counts.push(fields);
  return counts;
}

/** Sniffs delimiter, quote and line ending from the start of a file (decoded text). */
export function sniffDialect(text: string, complete = false, prefer?: string): CsvDialect & { ncols: number } {
  let lineEnding: LineEnding = 'lf';
  const lf = text.indexOf('\n');
  const cr = text.indexOf('\r');
  if (cr >= 0 && (lf < 0 || cr < lf)) lineEnding = text[cr + 1] === '\n' ? 'crlf' : 'cr';
  let best = { score: -1, delimiter: ',', quote: '"', ncols: 1 };
  for (const quote of ['"', "'"]) {
    for (const delimiter of [',', ';', '\t', '|']) {
      const counts = splitRows(text, delimiter, quote, 100, complete);
      if (!counts.length) continue;
      const freq = new Map<number, number>();
      for (const c of counts) freq.set(c, (freq.get(c) ?? 0) + 1);
      let mode = 1, mf = 0;
      for (const [c, f] of freq) if (f > mf || (f === mf && c > mode)) { mode = c; mf = f; }
      // consistency first, then more columns; the single quote must be strictly better
      const score = (mode > 1 ? 1 : 0) * 1e6 + Math.round((mf / counts.length) * 1000) * 100 + Math.min(mode, 99) - (quote === "'" ? 0.5 : 0) +
        (delimiter === prefer && mode > 1 ? 150 : 0); // the extension (.tsv, .psv) wins near-ties
      if (score > best.score) best = { score, delimiter, quote, ncols: mode };
    }
  }
  if (!text.includes(best.quote) && best.quote === "'") best.quote = '"';
  return { delimiter: best.delimiter, quote: best.quote, lineEnding, ncols: best.ncols };
}

// ---------------------------------------------------------------------------------------------
// Native parser wrapper

interface RawColumnOut {
  type: CsvType;
  nullCount: number;
  data: ArrayBuffer;
  validity?: Uint8Array;
  offsets?: Int32Array;
}

interface FeedResult {
  rows: number;
  line: number;
  types: (CsvType | 'null')[];
  nulls: Float64Array;
  bad: Float64Array;
  badCount: number;
  widened: { column: number; from: string; to: string; line: number }[];
  firstRow?: string[];
  firstClasses?: (CsvType | 'null')[];
  columns?: RawColumnOut[];
}

interface ParserOptions {
  path: string;
  delimiter: string;
  quote: string;
  terminator: '\n' | '\r';
  ncols: number;
  mode: 'infer' | 'parse';
  types?: string[];
  header?: boolean;
  captureFirstRow?: boolean;
  strict?: boolean;
  cp1252?: boolean;
  maxRowBytes?: number;
}

/** One native parser: feed it chunks in order; the last feed flushes the final row. */
export class CsvParser {
  private handle: unknown;
  constructor(readonly options: ParserOptions) {
    this.handle = loadNative().csvOpen(options);
  }
  feed(chunk: Uint8Array, last: boolean, opts: KernelOptions = {}): Promise<FeedResult> {
    return runJob('csvFeed', (a, job) => a.csvFeed(this.handle, chunk, last, job) as Promise<FeedResult>, opts);
  }
}

/** The widening lattice (same as the native Join). */
export function joinTypes(a: CsvType | 'null', b: CsvType | 'null'): CsvType | 'null' {
  if (a === b) return a;
  if (a === 'null') return b;
  if (b === 'null') return a;
  const s = new Set([a, b]);
  if (s.has('int64') && s.has('float64')) return 'float64';
  if (s.has('date') && s.has('timestamp')) return 'timestamp';
  return 'string';
}

function columnNames(first: string[] | undefined, n: number, header: boolean): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (let j = 0; j < n; j++) {
    let name = header ? (first?.[j] ?? '').trim() : '';
    if (!name) name = `c${j}`;
    let k = 1;
    const base = name;
    while (seen.has(name)) name = `${base}_${k++}`;
    seen.add(name);
    out.push(name);
  }
  return out;
}

function decideHeader(first: string[], firstClasses: string[], types: string[]): boolean {
  if (first.length !== types.length) return true;  // a malformed first row is skipped like a header
  let anyTyped = false;
  for (let j = 0; j < types.length; j++) {
    const t = types[j]!;
    const fc = firstClasses[j]!;
    if (t !== 'string' && t !== 'null') {
      anyTyped = true;
      if (fc === 'string') return true;  // text above a typed column: a name
    }
  }
  if (anyTyped) return false;
  // all-text columns: a header when every first cell is non-empty text and names are unique
  const names = first.map((s) => s.trim());
  return firstClasses.every((c) => c === 'string') && new Set(names).size === names.length && names.every((s) => s.length > 0);
}

function terminatorOf(d: CsvDialect): '\n' | '\r' {
  return d.lineEnding === 'cr' ? '\r' : '\n';
}

const EMPTY = new Uint8Array(0);

/**
 * Closes the byte stream. After a failure or cancellation it does not wait for a read still in
 * flight (the error reaches the caller at once; the handle closes when that read returns).
 */
async function closeQuietly(bytes: ByteStream, chunks: AsyncGenerator<Uint8Array>, failed: boolean): Promise<void> {
  const done = (async () => {
    await bytes.close();
    await chunks.return(undefined).catch(() => undefined);
  })().catch(() => undefined);
  if (!failed) await done;
}

/**
 * Feeds every chunk to `parser` and yields each result, pipelined: the next chunk is read while the
 * current one is parsed, and the next feed starts before the caller consumes the current result
 * (so the caller's work on a batch overlaps native parsing). The last feed is an empty chunk with
 * last = true (the size of a gzip stream is unknown until it ends).
 */
async function* feedAll(parser: CsvParser, chunks: AsyncIterator<Uint8Array>, signal?: AbortSignal): AsyncGenerator<{ res: FeedResult; fed: number; last: boolean }> {
  let nextChunk = chunks.next();
  let ended = false;
  let fed = 0;
  const start = async (): Promise<{ res: FeedResult; fed: number; last: boolean } | null> => {
    if (ended) return null;
    if (signal?.aborted) throw cancelledError('csvFeed');
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
    let res: FeedResult | undefined;
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
    if (!res) throw csvError('E_EMPTY', path, 'the file holds no text');
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
      return { name, type: t as CsvType, nullable };
    });
    const firstIsRow = !header && first.length === dialect.ncols;
    const firstBad = !opts.header && first.length !== dialect.ncols && first.length > 0 ? 1 : 0;
    return {
      path, size: bytes.size, gzip: bytes.gzip, encoding: enc,
      dialect: { delimiter: dialect.delimiter, quote: dialect.quote, lineEnding: dialect.lineEnding },
      header: header || firstBad === 1,
      columns,
      rows: complete ? rowsTotal + (firstIsRow ? 1 : 0) : null,
      badRows: complete ? badTotal + firstBad : null,
      typedBy: complete ? 'full' : 'sample',
    };
  } catch (e) {
    failed = true;
    throw e;
  } finally {
    await closeQuietly(bytes, chunks, failed);
  }
}

function sniffDialectWith(head: string, delimiter: string, quote: string, complete: boolean): number {
  const counts = splitRows(head, delimiter, quote, 100, complete);
  const freq = new Map<number, number>();
  for (const c of counts) freq.set(c, (freq.get(c) ?? 0) + 1);
  let mode = 1, mf = 0;
  for (const [c, f] of freq) if (f > mf) { mode = c; mf = f; }
  return mode;
}

// ---------------------------------------------------------------------------------------------
// Arrow

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

export function csvArrowSchema(columns: CsvColumn[]): Schema {
  return new Schema(columns.map((c) => new Field(c.name, arrowTypeOf(c.type), c.nullable)));
}

function columnData(c: RawColumnOut, n: number): Data {
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
    strict: opts.strict, cp1252: (opts.encoding ?? enc) === 'windows-1252' || info.encoding === 'windows-1252',
    maxRowBytes: opts.maxRowBytes,
  });
  let badTotal = 0;
  let failed = false;
  try {
    for await (const { res: r } of feedAll(parser, chunks, opts.signal)) {
      if (opts.signal?.aborted) throw cancelledError('readCsv');
      opts.onProgress?.({ done: bytes.bytesRead(), total: bytes.size, fraction: Math.min(1, bytes.bytesRead() / bytes.size) });
      for (let i = 0; i < r.bad.length; i += 2) {
        const line = r.bad[i]!, nf = r.bad[i + 1]!;
        opts.onWarning?.({
          code: 'W_BAD_ROW', line,
          message: nf < 0 ? `line ${line}: unterminated quoted field (rest of the file skipped)` : `line ${line}: expected ${columns.length} fields, found ${nf}; row skipped`,
        });
      }
      badTotal += r.badCount;
      if (r.widened.length) {
        for (const w of r.widened) {
          const col = columns[w.column]!;
          opts.onWarning?.({ code: 'W_WIDENED', column: col.name, line: w.line, type: w.to as CsvType, message: `column ${col.name} widened from ${w.from} to ${w.to} at line ${w.line}` });
          col.type = w.to as CsvType;
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
  } catch (e) {
    failed = true;
    throw e;
  } finally {
    await closeQuietly(bytes, chunks, failed);
  }
}

// ---------------------------------------------------------------------------------------------
// Ingest into an Arrow IPC file

export interface IngestCsvOptions extends CsvOptions {
  /** called for every warning of the pass that completes */
  onWarning?: (w: CsvWarning) => void;
  /** maximum rows per record batch (default 1 << 20) */
  batchRows?: number;
}

export interface IngestCsvResult {
  /** the final description: types as written, exact row / bad-row counts, nullability from the data */
  info: CsvInfo;
  warnings: CsvWarning[];
  /** data passes made (1 unless a value past the sample widened a column after batches were written) */
  passes: number;
  batches: number;
}

/**
 * Ingests a CSV file into an uncompressed Arrow IPC file at `outPath` (written to a temporary file
 * beside it and renamed when complete; a failure or cancel leaves neither), in one optimistic pass:
 * types come from the first `sampleBytes`; a value further on that does not fit widens the column
 * (before any batch was written the pass simply starts again with the wider type and W_WIDENED says
 * where; after, the ingest restarts with the widened types: `passes` counts those, each widens at
 * least one column, so there are at most a few). Every column is written as nullable (the returned
 * info says which really hold nulls). Plain / BOM UTF-8 and Windows-1252 files take the native path
 * (ingestCsvNative), gzip and UTF-16 the streamed one (ingestCsvStreamed); both keep memory bounded.
 */
export async function ingestCsv(path: string, outPath: string, opts: IngestCsvOptions = {}): Promise<IngestCsvResult> {
  // the sample is read in pieces no larger than itself (a default chunk would type 8 MiB)
  const sampleChunk = Math.min(opts.chunkBytes ?? DEFAULT_CHUNK, opts.sampleBytes ?? 4 * MiB);
  const info = await inspectCsv(path, { ...opts, chunkBytes: sampleChunk, typing: 'sample', onProgress: undefined });
  if (info.gzip || info.encoding === 'utf-16le' || info.encoding === 'utf-16be') {
    return ingestCsvStreamed(path, outPath, opts, info);
  }
  return ingestCsvNative(path, outPath, opts, info);
}

/** The raw result of the native csvIngest (native/src/csv_ingest.cc). */
interface RawIngest {
  rows: number;
  badCount: number;
  bad: Float64Array;
  restart: boolean;
  batchesBeforeRestart: number;
  /** bytes written (prefix and record batches; the footer is appended here) */
  size: number;
  /** (offset, metadata length, body length) per record batch */
  blocks: Float64Array;
  nulls: Float64Array;
  types: string[];
  widened: { column: number; from: string; to: string; line: number }[];
}

const ARROW_MAGIC = Buffer.from('ARROW1');

/** Magic, padding and the Schema message: the start of an Arrow IPC file (apache-arrow's encoder). */
function ipcPrefix(schema: Schema): Uint8Array {
  const fb = Message.encode(Message.from(schema));
  const metaLen = (fb.byteLength + 8 + 7) & ~7;
  const out = new Uint8Array(8 + metaLen);
  out.set(ARROW_MAGIC, 0);
  const dv = new DataView(out.buffer);
  dv.setInt32(8, -1, true);
  dv.setInt32(12, metaLen - 8, true);
  out.set(fb, 16);
  return out;
}

/** End-of-stream marker, footer (schema + record batch blocks), its length and the magic. */
function ipcSuffix(schema: Schema, blocks: Float64Array): Uint8Array {
  const fileBlocks: FileBlock[] = [];
  for (let i = 0; i < blocks.length; i += 3) fileBlocks.push(new FileBlock(blocks[i + 1]!, blocks[i + 2]!, blocks[i]!));
  const footer = Footer.encode(new Footer(schema, MetadataVersion.V5, fileBlocks, []));
  const out = new Uint8Array(8 + footer.byteLength + 4 + 6);
  const dv = new DataView(out.buffer);
  dv.setInt32(0, -1, true);
  dv.setInt32(4, 0, true);
  out.set(footer, 8);
  dv.setInt32(8 + footer.byteLength, footer.byteLength, true);
  out.set(ARROW_MAGIC, 12 + footer.byteLength);
  return out;
}

function badRowWarnings(bad: Float64Array, ncols: number): CsvWarning[] {
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

/**
 * The direct path (plain or BOM-prefixed UTF-8 and Windows-1252 files): the native side maps the
 * file, parses it window by window and writes the record batches itself (csvIngest); here only the
 * Schema message at the start and the footer at the end are encoded (apache-arrow). A widening
 * restarts the native pass with the widened types (before any batch was written it costs one
 * window and is not counted as a pass).
 */
async function ingestCsvNative(path: string, outPath: string, opts: IngestCsvOptions, sampled: CsvInfo): Promise<IngestCsvResult> {
  let info = sampled;
  const tmp = `${outPath}.tmp-${process.pid}-${Date.now()}`;
  const widenings: CsvWarning[] = [];
  const total = info.size;
  for (let pass = 1, attempt = 0; ; attempt++) {
    const columns = info.columns.map((c) => ({ ...c, nullable: true }));
    const schema = csvArrowSchema(columns);
    let r: RawIngest;
    // progress is polled while the native pass runs; say at once that it started (a caller may cancel)
    opts.onProgress?.({ done: 0, total, fraction: 0 });
    try {
      r = await runJob('csvIngest', (a, job) => a.csvIngest({
        path, out: tmp, prefix: ipcPrefix(schema), offset: info.encoding === 'utf-8-bom' ? 3 : 0,
        delimiter: info.dialect.delimiter, quote: info.dialect.quote, terminator: terminatorOf(info.dialect),
        ncols: columns.length, types: columns.map((c) => c.type), header: info.header, strict: opts.strict,
        cp1252: info.encoding === 'windows-1252', maxRowBytes: opts.maxRowBytes,
        chunkBytes: opts.chunkBytes ?? 16 * MiB, batchRows: opts.batchRows ?? 1 << 20,
      }, job) as Promise<RawIngest>, {
        signal: opts.signal,
        progressIntervalMs: opts.progressIntervalMs,
        onProgress: opts.onProgress ? (p) => opts.onProgress!({ done: p.done, total, fraction: p.fraction }) : undefined,
      });
      if (!r.restart) {
        await appendFile(tmp, ipcSuffix(schema, r.blocks));
        await rename(tmp, outPath);
      }
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
    if (r.restart) {
      if (attempt > 8) throw csvError('E_INTERNAL', path, 'column types did not settle after 8 widenings');
      if (r.batchesBeforeRestart > 0) pass++;
      const to = new Map<number, CsvType>();
      for (const w of r.widened) {
        const col = info.columns[w.column]!;
        to.set(w.column, w.to as CsvType);
        widenings.push({ code: 'W_WIDENED', column: col.name, line: w.line, type: w.to as CsvType, message: `column ${col.name} widened from ${w.from} to ${w.to} at line ${w.line}` });
      }
      info = { ...info, columns: info.columns.map((c, j) => ({ ...c, type: to.get(j) ?? c.type })) };
      continue;
    }
    const warnings = [...widenings, ...badRowWarnings(r.bad, columns.length)];
    if (r.badCount > 0) warnings.push({ code: 'W_BAD_ROWS', count: r.badCount, message: `${r.badCount} bad row(s) skipped` });
    for (const w of warnings) opts.onWarning?.(w);
    const final: CsvInfo = {
      ...info,
      columns: columns.map((c, j) => ({ ...c, nullable: r.nulls[j]! > 0 })),
      rows: r.rows, badRows: r.badCount, typedBy: 'full',
    };
    return { info: final, warnings, passes: pass, batches: r.blocks.length / 3 };
  }
}

/**
 * The streamed path (gzip, UTF-16): readCsv's record batches through apache-arrow's
 * RecordBatchFileWriter, with back-pressure on the file stream.
 */
async function ingestCsvStreamed(path: string, outPath: string, opts: IngestCsvOptions, sampled: CsvInfo): Promise<IngestCsvResult> {
  const { RecordBatchFileWriter } = await import('apache-arrow');
  const { createWriteStream: cws } = await import('node:fs');
  let info = sampled;
  const tmp = `${outPath}.tmp-${process.pid}-${Date.now()}`;
  for (let pass = 1; ; pass++) {
    const columns = info.columns.map((c) => ({ ...c, nullable: true }));
    const warnings: CsvWarning[] = [];
    const widened = new Map<string, CsvType>();
    let written = 0;
    let restart = false;
    let rows = 0;
    const nulls = new Array<number>(columns.length).fill(0);
    const writer = new RecordBatchFileWriter();
    const sink = cws(tmp);
    const src = writer.toNodeStream();
    src.pipe(sink);
    const sinkDone = new Promise<void>((res, rej) => { sink.on('close', res); sink.on('error', rej); });
    sinkDone.catch(() => undefined);
    try {
      // fail early (before parsing) when the output cannot be created
      await new Promise<void>((res, rej) => { sink.once('open', () => res()); sink.once('error', rej); });
      for await (const b of readCsv(path, {
        ...opts, info: { ...info, columns },
        onWarning: (w) => {
          warnings.push(w);
          if (w.code === 'W_WIDENED' && w.column) widened.set(w.column, w.type ?? 'string');
        },
      })) {
        if (widened.size && written > 0) { restart = true; break; }
        writer.write(b);
        written++;
        rows += b.numRows;
        for (let j = 0; j < columns.length; j++) nulls[j]! += b.getChildAt(j)!.nullCount;
        // back-pressure: let the file stream catch up before parsing more
        while (src.readableLength + sink.writableLength > 64 * MiB) await new Promise((r) => setTimeout(r, 2));
      }
      writer.finish();
      await sinkDone;
    } catch (e) {
      // (writer.abort() would reject the stream's pending read with an iterator result)
      try { writer.finish(); } catch { /* already failed */ }
      src.unpipe(sink);
      src.destroy();
      sink.destroy();
      await rm(tmp, { force: true });
      const err = e as NodeJS.ErrnoException;
      if (err?.syscall) throw csvError('E_IO', outPath, `cannot write the Arrow file: ${err.message}`);
      throw e;
    }
    if (restart) {
      await rm(tmp, { force: true });
      info = { ...info, columns: info.columns.map((c) => ({ ...c, type: widened.get(c.name) ?? c.type })) };
      continue;
    }
    await rename(tmp, outPath);
    for (const w of warnings) opts.onWarning?.(w);
    const bad = warnings.find((w) => w.code === 'W_BAD_ROWS')?.count ?? 0;
    const final: CsvInfo = {
      ...info,
      columns: columns.map((c, j) => ({ ...c, nullable: nulls[j]! > 0 })),
      rows, badRows: bad, typedBy: 'full',
    };
    return { info: final, warnings, passes: pass, batches: written };
  }
}
