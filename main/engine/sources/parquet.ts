/**
 * Parquet reader through hyparquet (+ hyparquet-compressors for gzip/brotli/zstd/lz4), reading
 * one row group at a time through an AsyncBuffer over a file handle: only the byte ranges of the
 * row group being read are in memory, never the whole file.
 *
 * Types (DataShape ← Parquet):
 * - integers by their logical width and sign; int64 stays exact (BigInt64);
 * - INT96 → timestamp[us] (nanoseconds overflow int64 past the year 2262; Spark also reads us); TIMESTAMP(unit) → timestamp[unit] (tz 'UTC' when adjusted to UTC);
 *   DATE → date (days); TIME → time[unit];
 * - DECIMAL → decimal(precision, scale), delivered as an exact Arrow Decimal128 (the unscaled
 *   integer; never rounded through a double). hyparquet would convert decimals to doubles, so the
 *   decimal annotation is removed from the schema it reads with and the raw unscaled values
 *   (int32, int64 or big-endian bytes) are converted here.
 * - BYTE_ARRAY with STRING/UTF8/ENUM annotation → string. BYTE_ARRAY without annotation is how
 *   old writers (Impala, parquet-mr 1.x) stored strings and how everyone stores blobs: string when
 *   the column statistics' min/max are valid UTF-8 (or absent), else binary; invalid UTF-8 in a
 *   string column is decoded with U+FFFD. BSON and FIXED_LEN_BYTE_ARRAY without annotation → binary.
 * - FLOAT16 → float16; UUID → string; JSON, GEOMETRY/GEOGRAPHY, VARIANT and every nested
 *   list/struct/map column → 'json' (JSON text; bigint beyond 2^53 as strings, bytes as UTF-8).
 * - INTERVAL → binary (the 12 raw bytes), with a warning.
 *
 * Hostile files: the footer is checked against the file size, every column chunk's byte range is
 * checked before reading, and every decompressor refuses to allocate an output larger than a cap
 * relative to its input. Encrypted files (PARE magic or encrypted column metadata) are refused
 * with E_ENCRYPTED.
 */
import { open, stat, type FileHandle } from 'node:fs/promises';
import { parquetMetadataAsync, parquetRead, parquetSchema, snappyUncompress } from 'hyparquet';
// hyparquet's own page-header parser, used to check page headers before hyparquet decodes them
import { parquetHeader } from 'hyparquet/src/column.js';
// GeoParquet column marking, run here only after the schema has been checked (see checkSchema)
import { markGeoColumns } from 'hyparquet/src/geoparquet.js';
import { compressors as baseCompressors } from 'hyparquet-compressors';
import type { RecordBatch } from 'apache-arrow';
import type { Field, TimeUnit } from '../../../shared/datashape';
import {
  DEFAULT_BATCH_ROWS, limitError, bigIntFromBytesBE, buildBatch, checkAbort, lenientUtf8, schemaOf, selectFields, wrapError,
} from './common';
import { zstdDecode } from './codecs';
import { type IngestWarning, type ScanOptions, type Source, type SourceInfo, type SourceProvider } from './types';
import { CdxError } from '../../../shared/errors';

/**
 * Largest decompressed page accepted. Writers cut pages at about 1 MiB; a page header claiming more
 * than this is either corrupt or beyond what this reader holds in memory at once. No ratio limit:
 * a page of zeros legitimately compresses many thousand times.
 */
const MAX_PAGE = 256 * 1024 * 1024;

/**
 * Pages the page checker already decompressed, so hyparquet's own decompression of the same page
 * returns them instead of doing the work twice. Keyed by a hash of the compressed bytes and
 * confirmed by comparing them, so a hit is always the same page. Cleared after each row group.
 */
const decompressed = new Map<string, { input: Uint8Array; output: Uint8Array }[]>();

function pageKey(b: Uint8Array, len: number): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i], 0x01000193);
  return `${b.length}:${len}:${h >>> 0}`;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function guard(name: string, fn: (input: Uint8Array, len: number) => Uint8Array) {
  return (input: Uint8Array, len: number): Uint8Array => {
    const key = decompressed.size ? pageKey(input, len) : '';
    const hits = decompressed.get(key);
    const k = hits ? hits.findIndex((x) => sameBytes(x.input, input)) : -1;
    if (hits && k >= 0) {
      const out = hits[k].output;
      hits.splice(k, 1);
      if (!hits.length) decompressed.delete(key);
      return out;
    }
    if (!Number.isSafeInteger(len) || len < 0 || len > MAX_PAGE) {
      throw limitError(`a ${name} page declares ${len} uncompressed bytes for ${input.length} compressed bytes, `
        + `beyond this reader's per-page limit of ${MAX_PAGE} bytes`);
    }
    return fn(input, len);
  };
}

const compressors = {
  SNAPPY: guard('snappy', (input, len) => { const out = new Uint8Array(len); snappyUncompress(input, out); return out; }),
  GZIP: guard('gzip', baseCompressors.GZIP as any),
  BROTLI: guard('brotli', baseCompressors.BROTLI as any),
  ZSTD: guard('zstd', (input, len) => zstdDecode(input, Math.max(len, 1))),
  LZ4: guard('lz4', baseCompressors.LZ4 as any),
  LZ4_RAW: guard('lz4', baseCompressors.LZ4_RAW as any),
};

/** Raw values in; conversion to Arrow happens in buildColumn with the field's unit. */
const parsers = {
  timestampFromMilliseconds: (v: any) => v,
  timestampFromMicroseconds: (v: any) => v,
  timestampFromNanoseconds: (v: any) => v,
  dateFromDays: (v: any) => v,
  stringFromBytes: (b: any) => b,
  jsonFromBytes: (b: any) => (b === undefined ? undefined : { __jsonText: lenientUtf8.decode(b) }),
};

interface AsyncBuffer {
  byteLength: number;
  slice(start: number, end?: number): Promise<ArrayBuffer>;
}

/** Bytes of the row group being read, already checked (see pageChecker). */
interface Window { start: number; bytes: Uint8Array }

/**
 * Where a Parquet file's bytes come from: a local file handle, or a remote file read by ranges
 * (main/engine/remote: http, S3). Reads are bounds-checked against `size` before they are asked for.
 */
export interface ParquetBytes {
  /** the file or URL, as messages name it */
  name: string;
  size: number;
  /** bytes [start, end): exactly that many, or an error */
  read(start: number, end: number): Promise<Uint8Array>;
  close(): Promise<void>;
  /**
   * the selected column chunks of a row group are read as one span when the bytes between them are
   * fewer than this (a local file: always one span); a remote file reads each chunk (or neighbours
   * closer than this) on its own, so unselected columns never travel
   */
  gap: number;
  /** bytes read from the end for the footer in the first request (hyparquet reads more when the footer is larger) */
  tailFetch: number;
}

function localBytes(fh: FileHandle, size: number, path: string): ParquetBytes {
  return {
    name: path, size, gap: Infinity, tailFetch: 1 << 19,
    read: (start, e) => readRange(fh, size, path, start, e),
    close: () => fh.close().catch(() => undefined),
  };
}

function fileBuffer(src: ParquetBytes, current?: () => Window[]): AsyncBuffer {
  const size = src.size;
  return {
    byteLength: size,
    slice(start: number, end?: number): Promise<ArrayBuffer> {
      const e = end === undefined ? size : end;
      for (const w of current?.() ?? []) {
        if (start >= w.start && e <= w.start + w.bytes.length && start <= e) {
          return Promise.resolve(w.bytes.slice(start - w.start, e - w.start).buffer);
        }
      }
      // hyparquet starts several reads at once and awaits them one by one: a failed read must not
      // also surface as an unhandled rejection, so each promise carries a no-op handler
      const p = checkedRead(src, start, e);
      p.catch(() => undefined);
      return p.then((b) => (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b.buffer : b.slice().buffer) as ArrayBuffer);
    },
  };
}

function checkedRead(src: ParquetBytes, start: number, e: number): Promise<Uint8Array> {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(e) || start < 0 || e > src.size || start > e) {
    return Promise.reject(CdxError.file('E_CORRUPT', src.name, `Parquet read of bytes ${start}..${e} lies outside the file (${src.size} bytes)`));
  }
  return src.read(start, e);
}

async function readRange(fh: FileHandle, size: number, path: string, start: number, e: number): Promise<Uint8Array> {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(e) || start < 0 || e > size || start > e) {
    throw CdxError.file('E_CORRUPT', path, `Parquet read of bytes ${start}..${e} lies outside the file (${size} bytes)`);
  }
  const buf = new Uint8Array(e - start);
  let done = 0;
  while (done < buf.length) {
    const { bytesRead } = await fh.read(buf, done, buf.length - done, start + done);
    if (bytesRead === 0) throw CdxError.file('E_TRUNCATED', path, 'file ended while reading');
    done += bytesRead;
  }
  return buf;
}

/** The byte spans to read for chosen column chunks: neighbours closer than `gap` read as one. */
export function spansOf(chunks: { start: number; end: number }[], gap: number): { start: number; end: number }[] {
  const sorted = [...chunks].sort((a, b) => a.start - b.start);
  const out: { start: number; end: number }[] = [];
  for (const c of sorted) {
    const last = out.at(-1);
    if (last && c.start - last.end <= gap) last.end = Math.max(last.end, c.end);
    else out.push({ ...c });
  }
  return out;
}

const unitOf = (u: string | undefined): TimeUnit => (u === 'MILLIS' ? 'ms' : u === 'NANOS' ? 'ns' : 'us');

interface ColumnMap {
  field: Field;
  /** how raw values are turned into buildColumn input */
  kind: 'plain' | 'string' | 'decimal' | 'json' | 'binary' | 'int96' | 'repeated';
}

/** DataShape field for a top-level schema node. */
function mapColumn(node: any, warnings: IngestWarning[], textual = true): ColumnMap {
  const el = node.element;
  const name: string = el.name;
  const nullable = el.repetition_type !== 'REQUIRED';
  const lt = el.logical_type;
  const ct: string | undefined = el.converted_type;
  if (node.children.length > 0 || el.repetition_type === 'REPEATED' || lt?.type === 'VARIANT') {
    const original = lt?.type === 'MAP' || ct === 'MAP' || ct === 'MAP_KEY_VALUE' ? 'map' : lt?.type === 'LIST' || ct === 'LIST' || el.repetition_type === 'REPEATED' ? 'list' : lt?.type === 'VARIANT' ? 'variant' : 'struct';
    warnings.push({ code: 'W_NESTED_AS_JSON', column: name, message: `${original} column shown as JSON text` });
    // a bare repeated field is a list that cannot be null: no elements is an empty list
    return { field: { name, type: 'json', nullable: true, original }, kind: el.repetition_type === 'REPEATED' ? 'repeated' : 'json' };
  }
  const f = (type: Field['type'], extra: Partial<Field> = {}): Field => ({ name, type, nullable, ...extra });
  const phys: string = el.type;
  if (ct === 'DECIMAL' || lt?.type === 'DECIMAL') {
    const precision = lt?.precision ?? el.precision ?? 38;
    const scale = lt?.scale ?? el.scale ?? 0;
    if (precision > 38) {
      warnings.push({ code: 'W_DECIMAL_PRECISION', column: name, message: `decimal precision ${precision} exceeds 38; values beyond 128 bits wrap` });
    }
    return { field: f('decimal', { precision, scale, original: phys }), kind: 'decimal' };
  }
  if (lt?.type === 'GEOMETRY' || lt?.type === 'GEOGRAPHY' || ct === 'JSON' || lt?.type === 'JSON') {
    return { field: f('json', { original: lt?.type ?? ct }), kind: 'json' };
  }
  switch (phys) {
    case 'BOOLEAN': return { field: f('bool'), kind: 'plain' };
    case 'INT32': {
      if (ct === 'DATE' || lt?.type === 'DATE') return { field: f('date'), kind: 'plain' };
      if (ct === 'TIME_MILLIS' || (lt?.type === 'TIME' && lt.unit === 'MILLIS')) return { field: f('time', { unit: 'ms' }), kind: 'plain' };
      const bits = lt?.type === 'INTEGER' ? lt.bitWidth : /^U?INT_(8|16|32)$/.test(ct ?? '') ? Number(/\d+/.exec(ct!)![0]) : 32;
      const signed = lt?.type === 'INTEGER' ? lt.isSigned : !(ct ?? '').startsWith('UINT');
      return { field: f(`${signed ? 'int' : 'uint'}${bits}` as Field['type']), kind: 'plain' };
    }
    case 'INT64': {
      if (ct === 'TIMESTAMP_MILLIS') return { field: f('timestamp', { unit: 'ms', tz: 'UTC' }), kind: 'plain' };
      if (ct === 'TIMESTAMP_MICROS') return { field: f('timestamp', { unit: 'us', tz: 'UTC' }), kind: 'plain' };
      if (lt?.type === 'TIMESTAMP') return { field: f('timestamp', { unit: unitOf(lt.unit), ...(lt.isAdjustedToUTC ? { tz: 'UTC' } : {}) }), kind: 'plain' };
      if (ct === 'TIME_MICROS') return { field: f('time', { unit: 'us' }), kind: 'plain' };
      if (lt?.type === 'TIME') return { field: f('time', { unit: unitOf(lt.unit) }), kind: 'plain' };
      const unsigned = ct === 'UINT_64' || (lt?.type === 'INTEGER' && !lt.isSigned);
      return { field: f(unsigned ? 'uint64' : 'int64'), kind: 'plain' };
    }
    // microseconds, as Spark reads them: nanoseconds overflow int64 beyond the year 2262
    case 'INT96': return { field: f('timestamp', { unit: 'us', original: 'int96' }), kind: 'int96' };
    case 'FLOAT': return { field: f('float32'), kind: 'plain' };
    case 'DOUBLE': return { field: f('float64'), kind: 'plain' };
    case 'BYTE_ARRAY':
      if (ct === 'BSON' || lt?.type === 'BSON') return { field: f('binary', { original: 'BSON' }), kind: 'binary' };
      if (!ct && !lt && !textual) return { field: f('binary', { original: 'BYTE_ARRAY' }), kind: 'binary' };
      return { field: f('string', ct || lt ? {} : { original: 'BYTE_ARRAY' }), kind: 'string' };
    case 'FIXED_LEN_BYTE_ARRAY':
      if (lt?.type === 'FLOAT16') return { field: f('float16'), kind: 'plain' };
      if (lt?.type === 'UUID') return { field: f('string', { original: 'UUID' }), kind: 'plain' };
      if (ct === 'INTERVAL') {
        warnings.push({ code: 'W_UNSUPPORTED_TYPE', column: name, message: 'INTERVAL shown as its 12 raw bytes' });
        return { field: f('binary', { original: 'INTERVAL' }), kind: 'binary' };
      }
      return { field: f('binary', { original: `FIXED_LEN_BYTE_ARRAY(${el.type_length})` }), kind: 'binary' };
    default:
      return { field: f('binary', { original: phys }), kind: 'binary' };
  }
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Whether an unannotated BYTE_ARRAY column holds text. Old writers (Impala, parquet-mr 1.x,
 * Spark without binaryAsString) stored strings without the STRING annotation, while blobs are
 * stored the same way: the column statistics decide — text when every min/max is valid UTF-8
 * (or there are none), bytes otherwise.
 */
function statsLookTextual(md: any, name: string): boolean {
  for (const rg of md.row_groups ?? []) {
    for (const cc of rg.columns ?? []) {
      const m = cc.meta_data;
      if (m?.path_in_schema?.length !== 1 || m.path_in_schema[0] !== name) continue;
      const st = m.statistics;
      for (const v of [st?.min_value, st?.max_value, st?.min, st?.max]) {
        if (!(v instanceof Uint8Array)) continue;
        try { strictUtf8.decode(v); } catch { return false; }
      }
    }
  }
  return true;
}

/** Convert a column's raw values from hyparquet into buildColumn input. */
function convertValues(cm: ColumnMap, vals: any[]): ArrayLike<unknown> {
  switch (cm.kind) {
    case 'string':
      return vals.map((v) => (v instanceof Uint8Array ? lenientUtf8.decode(v) : v));
    case 'decimal':
      return vals.map((v) => (v === null || v === undefined ? v : v instanceof Uint8Array ? bigIntFromBytesBE(v) : BigInt(v)));
    case 'json':
      return vals.map((v) => (v === null || v === undefined ? v : unwrapJsonText(v)));
    case 'repeated':
      return vals.map((v) => (v === null || v === undefined ? [] : unwrapJsonText(v)));
    case 'int96':
      // hyparquet hands nanoseconds since the epoch as an unbounded bigint; floor to microseconds
      return vals.map((v) => (typeof v === 'bigint' ? (v >= 0n ? v / 1000n : -((-v + 999n) / 1000n)) : v));
    default:
      return vals;
  }
}

/** JSON-annotated byte arrays arrive as {__jsonText}; nested values may contain them too. */
function unwrapJsonText(v: any): any {
  if (v && typeof v === 'object' && '__jsonText' in v) {
    try { return JSON.parse(v.__jsonText); } catch { return v.__jsonText; }
  }
  if (Array.isArray(v)) return v.map(unwrapJsonText);
  if (v && typeof v === 'object' && v.constructor === Object) {
    const o: Record<string, unknown> = {};
    for (const k of Object.keys(v)) o[k] = unwrapJsonText(v[k]);
    return o;
  }
  return v;
}

/** A copy of the metadata with annotations removed that hyparquet would convert lossily. */
function readMetadata(md: any): any {
  const schema = md.schema.map((el: any) => {
    // hyparquet rounds decimals to doubles and throws on INTERVAL and BSON: read their raw bytes
    if (el.converted_type === 'DECIMAL' || el.logical_type?.type === 'DECIMAL' || el.converted_type === 'INTERVAL'
      || el.converted_type === 'BSON' || el.logical_type?.type === 'BSON') {
      return { ...el, converted_type: undefined, logical_type: undefined };
    }
    return el;
  });
  return { ...md, schema };
}

class ParquetSource implements Source {
  private windows: Window[] = [];
  private file: AsyncBuffer;
  private check: (start: number, bytes: Uint8Array) => void;
  private path: string;

  private constructor(
    private src: ParquetBytes,
    private md: any,
    root: any,
    private cols: ColumnMap[],
    private warnings: IngestWarning[],
    private metadata: Record<string, string>,
  ) {
    this.path = src.name;
    this.file = fileBuffer(src, () => this.windows);
    this.check = pageChecker(md, root, src.name);
  }

  static async open(path: string): Promise<ParquetSource> {
    const size = (await stat(path)).size;
    const fh = await open(path, 'r');
    return ParquetSource.from(localBytes(fh, size, path));
  }

  /** A Parquet file read through `src` (local, or remote by ranges); `src` is closed with the source, or here on failure. */
  static async from(src: ParquetBytes): Promise<ParquetSource> {
    const { name: path, size } = src;
    try {
      if (size < 12) throw CdxError.file('E_CORRUPT', path, 'not a Parquet file (shorter than its magic numbers and footer)');
      const head = await src.read(0, 4);
      const tail8 = await src.read(size - 8, size);
      const tail = tail8.subarray(4);
      // the footer's length is in the last 8 bytes: a remote file reads exactly the footer next
      const footerLen = new DataView(tail8.buffer, tail8.byteOffset, 8).getUint32(0, true);
      const txt = (b: Uint8Array) => String.fromCharCode(...b);
      if (txt(head) === 'PARE' || txt(tail) === 'PARE') {
        throw CdxError.file('E_ENCRYPTED', path, 'the Parquet file is encrypted (encrypted footer); encrypted Parquet is not supported');
      }
      if (size < 12 || txt(head) !== 'PAR1') throw CdxError.file('E_CORRUPT', path, 'not a Parquet file (no PAR1 magic at the start)');
      if (txt(tail) !== 'PAR1') throw CdxError.file('E_TRUNCATED', path, 'no PAR1 magic at the end: the file is truncated or incomplete');
      const probe = fileBuffer(src);
      let md: any;
      try {
        // geoparquet: false: hyparquet's GeoParquet pass loops forever on a negative child count
        md = await parquetMetadataAsync(probe as any, { parsers, geoparquet: false, initialFetchSize: Math.min(size, Math.max(src.tailFetch, footerLen + 8)) } as any);
      } catch (e) {
        if (e instanceof CdxError && e.code !== 'E_CORRUPT') throw e; // a transport's error (E_STALE, E_READ, ...) as it is
        throw wrapError(e, path, 'E_CORRUPT', 'cannot read the Parquet footer: ');
      }
      checkSchema(md.schema, path);
      try {
        markGeoColumns(md.schema, md.key_value_metadata);
      } catch {
        // malformed 'geo' metadata: the columns stay plain bytes
      }
      const warnings: IngestWarning[] = [];
      validateMetadata(md, size, path, warnings);
      let root: any;
      try {
        root = parquetSchema(md);
      } catch (e) {
        throw wrapError(e, path, 'E_CORRUPT', 'invalid Parquet schema: ');
      }
      checkColumnPaths(md, root, path);
      const cols: ColumnMap[] = root.children.map((n: any) => mapColumn(n, warnings, statsLookTextual(md, n.element.name)));
      const metadata: Record<string, string> = {};
      for (const kv of md.key_value_metadata ?? []) if (kv.key) metadata[kv.key] = kv.value ?? '';
      if (md.created_by) metadata['parquet.created_by'] = md.created_by;
      return new ParquetSource(src, md, root, cols, warnings, metadata);
    } catch (e) {
      await src.close().catch(() => undefined);
      throw e;
    }
  }

  async info(): Promise<SourceInfo> {
    return {
      format: 'parquet',
      path: this.path,
      rows: Number(this.md.num_rows),
      schema: schemaOf(this.cols.map((c) => c.field), this.metadata),
      metadata: this.metadata,
      warnings: [...this.warnings],
    };
  }

  async *scan(opts: ScanOptions = {}): AsyncIterable<RecordBatch> {
    const fields = selectFields(this.cols.map((c) => c.field), opts.columns, this.path);
    const maps = fields.map((f) => this.cols.find((c) => c.field === f)!);
    const names = fields.map((f) => f.name);
    const md = readMetadata(this.md);
    const total = Number(this.md.num_rows) || 1;
    const batchRows = opts.batchRows ?? DEFAULT_BATCH_ROWS;
    let groupStart = 0;
    for (const rg of this.md.row_groups) {
      checkAbort(opts.signal, this.path);
      const n = Number(rg.num_rows);
      if (n === 0) continue;
      const columns: any[][] = names.map(() => new Array(n));
      if (names.length > 0) {
        // read the selected column chunks of this row group once, check every page header and
        // level stream here (errors surface in this code, not inside hyparquet), then let
        // hyparquet decode from these checked bytes
        const chunks: { start: number; end: number }[] = [];
        for (const cc of rg.columns) {
          if (!names.includes(cc.meta_data.path_in_schema[0])) continue;
          const m = cc.meta_data;
          const dict = m.dictionary_page_offset !== undefined ? Number(m.dictionary_page_offset) : undefined;
          const s0 = dict !== undefined && dict > 0 ? Math.min(dict, Number(m.data_page_offset)) : Number(m.data_page_offset);
          chunks.push({ start: s0, end: s0 + Number(m.total_compressed_size) });
        }
        decompressed.clear();
        const spans = spansOf(chunks, this.src.gap).filter((x) => x.end > x.start);
        const read = await Promise.all(spans.map((x) => checkedRead(this.src, x.start, x.end)));
        this.windows = spans.map((x, i) => ({ start: x.start, bytes: read[i]! }));
        for (const w of this.windows) this.check(w.start, w.bytes);
        try {
          await parquetRead({
            file: this.file as any,
            metadata: md,
            columns: names,
            rowStart: groupStart,
            rowEnd: groupStart + n,
            compressors: compressors as any,
            parsers: parsers as any,
            onChunk: ({ columnName, columnData, rowStart }: any) => {
              const ci = names.indexOf(columnName);
              if (ci < 0) return;
              const dst = columns[ci];
              for (let i = 0; i < columnData.length; i++) {
                const r = rowStart - groupStart + i;
                if (r >= 0 && r < n) dst[r] = columnData[i];
              }
            },
          } as any);
        } catch (e) {
          throw wrapError(e, this.path, 'E_CORRUPT', `cannot read row group at row ${groupStart}: `);
        } finally {
          this.windows = [];
          decompressed.clear();
        }
      }
      for (let s = 0; s < n; s += batchRows) {
        checkAbort(opts.signal, this.path);
        const e = Math.min(n, s + batchRows);
        const cols = maps.map((m, i) => convertValues(m, s === 0 && e === n ? columns[i] : columns[i].slice(s, e)));
        try {
          yield buildBatch(fields, cols, e - s);
        } catch (err) {
          throw wrapError(err, this.path, 'E_CORRUPT', 'cannot convert Parquet values: ');
        }
      }
      groupStart += n;
      opts.onProgress?.(groupStart / total);
    }
  }

  async close(): Promise<void> {
    await this.src.close().catch(() => undefined);
  }
}

/** Most values one page may declare (hyparquet materialises a page as one JS array). */
const MAX_PAGE_VALUES = 32 * 1024 * 1024;

function readVarInt(view: DataView, pos: { o: number }): number {
  let result = 0;
  let shift = 0;
  for (;;) {
    if (pos.o >= view.byteLength) throw new Error('level data ends inside a run header');
    const b = view.getUint8(pos.o++);
    result += (b & 0x7f) * 2 ** shift;
    if (!(b & 0x80)) return result;
    shift += 7;
    if (shift > 35) throw new Error('run header too long');
  }
}

/**
 * Walk an RLE/bit-packed hybrid stream the way hyparquet decodes it and make sure no RLE run
 * writes past the `n` values the page declares: hyparquet writes RLE runs into a plain JS array
 * without a bound, and a corrupt run count makes V8 abort the whole process (a fatal error, not an
 * exception) when that array outgrows its limit.
 */
function checkRle(view: DataView, start: number, width: number, n: number): void {
  const pos = { o: start };
  let seen = 0;
  const valueBytes = (width + 7) >> 3;
  while (seen < n) {
    if (pos.o >= view.byteLength) return; // hyparquet fails with a RangeError here: safe
    const header = readVarInt(view, pos);
    if (header % 2 === 1) {
      const groups = Math.floor(header / 2);
      pos.o += groups * width;
      seen += groups * 8;
    } else {
      const count = header / 2;
      if (seen + count > n + 64) throw new Error(`a run of ${count} values overruns the ${n} values of the page`);
      pos.o += valueBytes;
      seen += count;
    }
  }
}

const bitWidthOf = (max: number) => (max === 0 ? 0 : 32 - Math.clz32(max));

interface ChunkCheck {
  start: number; len: number; rows: number; flat: boolean; name: string; numValues: number;
  codec: string; type: string; maxRep: number; maxDef: number;
}

/**
 * Check the page headers and level streams of every column chunk that lies inside a range
 * hyparquet has just read, before hyparquet decodes it: value counts must fit the row group (flat
 * columns) and a fixed cap, sizes must fit the chunk, and no RLE run may overrun its page.
 * hyparquet trusts these to size and fill JS arrays; a corrupt count can make V8 abort the process,
 * which no try/catch intercepts. Pages decompressed here are handed to hyparquet (see `decompressed`).
 */
function pageChecker(md: any, root: any, path: string) {
  const chunks: ChunkCheck[] = [];
  for (const rg of md.row_groups) {
    for (const cc of rg.columns) {
      const m = cc.meta_data;
      const dataStart = Number(m.data_page_offset);
      const dict = m.dictionary_page_offset !== undefined ? Number(m.dictionary_page_offset) : undefined;
      const s0 = dict !== undefined && dict > 0 ? Math.min(dict, dataStart) : dataStart;
      let node = root;
      let maxRep = 0;
      let maxDef = 0;
      for (const part of m.path_in_schema as string[]) {
        node = node?.children.find((c: any) => c.element.name === part);
        if (!node) break;
        if (node.element.repetition_type === 'REPEATED') maxRep++;
        if (node.element.repetition_type !== 'REQUIRED') maxDef++;
      }
      const flat = m.path_in_schema.length === 1 && node?.element.repetition_type !== 'REPEATED';
      chunks.push({
        start: s0, len: Number(m.total_compressed_size), rows: Number(rg.num_rows), flat, name: m.path_in_schema.join('.'),
        numValues: Number(m.num_values), codec: m.codec, type: m.type, maxRep, maxDef,
      });
    }
  }
  const bad = (c: { name: string }, msg: string) => CdxError.file('E_CORRUPT', path, `column ${c.name}: ${msg}`);
  const decompress = (c: ChunkCheck, bytes: Uint8Array, len: number): Uint8Array => {
    if (c.codec === 'UNCOMPRESSED') return bytes;
    const fn = (compressors as Record<string, (i: Uint8Array, l: number) => Uint8Array>)[c.codec];
    if (!fn) throw CdxError.file('E_UNSUPPORTED', path, `column ${c.name}: compression ${c.codec} is not supported`);
    let out: Uint8Array;
    try {
      out = fn(bytes, len);
    } catch (e) {
      throw wrapError(e, path, 'E_CORRUPT', `column ${c.name}: cannot decompress a page: `);
    }
    const key = pageKey(bytes, len);
    const list = decompressed.get(key) ?? [];
    list.push({ input: bytes, output: out });
    decompressed.set(key, list);
    return out;
  };
  return (start: number, bytes: Uint8Array) => {
    const end = start + bytes.length;
    for (const c of chunks) {
      if (c.start < start || c.start + c.len > end || c.len === 0) continue;
      if (!(c.numValues >= 0) || (c.flat && c.numValues > c.rows)) {
        throw bad(c, `column chunk declares ${c.numValues} values for ${c.rows} rows`);
      }
      const base = c.start - start;
      const view = new DataView(bytes.buffer, bytes.byteOffset + base, c.len);
      const reader = { view, offset: 0 };
      let values = 0;
      while (reader.offset < c.len - 1 && (c.flat ? values < c.rows : true)) {
        let h: any;
        try {
          h = parquetHeader(reader as any);
        } catch (e) {
          throw bad(c, `unreadable page header at byte ${c.start + reader.offset} (${(e as Error).message})`);
        }
        const comp = Number(h.compressed_page_size);
        const unc = Number(h.uncompressed_page_size);
        if (!(comp >= 0) || reader.offset + comp > c.len) throw bad(c, `a page of ${comp} bytes runs past the column chunk`);
        if (!(unc >= 0) || unc > MAX_PAGE) {
          throw CdxError.file('E_TOO_LARGE', path, `column ${c.name}: a page declares ${unc} uncompressed bytes, beyond this reader's per-page limit of ${MAX_PAGE} bytes`);
        }
        const pageBytes = new Uint8Array(bytes.buffer, bytes.byteOffset + base + reader.offset, comp);
        const dp = h.data_page_header ?? h.data_page_header_v2;
        if (dp) {
          const n = Number(dp.num_values);
          const limit = c.flat ? c.rows : MAX_PAGE_VALUES;
          if (!(n >= 0) || n > limit) throw bad(c, `a data page declares ${n} values (at most ${limit} possible)`);
          try {
            if (h.data_page_header_v2) {
              const v2 = h.data_page_header_v2;
              const rl = Number(v2.repetition_levels_byte_length ?? 0);
              const dl = Number(v2.definition_levels_byte_length ?? 0);
              if (!(v2.num_nulls >= 0 && v2.num_nulls <= n) || !(v2.num_rows >= 0 && v2.num_rows <= c.rows)) throw new Error('impossible null or row counts');
              if (!(rl >= 0 && dl >= 0) || rl + dl > comp) throw new Error('level bytes beyond the page');
              const pv = new DataView(pageBytes.buffer, pageBytes.byteOffset, comp);
              if (c.maxRep) checkRle(new DataView(pv.buffer, pv.byteOffset, rl), 0, bitWidthOf(c.maxRep), n);
              if (c.maxDef) checkRle(new DataView(pv.buffer, pv.byteOffset + rl, dl), 0, bitWidthOf(c.maxDef), n);
              const rest = pageBytes.subarray(rl + dl);
              const vals = v2.is_compressed === false ? rest : decompress(c, rest, unc - rl - dl);
              checkValues(vals, 0, v2.encoding, c.type, n, false);
            } else {
              const page = decompress(c, pageBytes, unc);
              const pv = new DataView(page.buffer, page.byteOffset, page.byteLength);
              let o = 0;
              for (const max of [c.maxRep, c.maxDef]) {
                if (!max) continue;
                if (o + 4 > page.length) throw new Error('level data beyond the page');
                const len = pv.getUint32(o, true);
                checkRle(pv, o + 4, bitWidthOf(max), n);
                o += 4 + len;
              }
              checkValues(page, o, dp.encoding, c.type, n, true);
            }
          } catch (e) {
            if (e instanceof CdxError) throw e;
            throw bad(c, `a data page at byte ${c.start + reader.offset} is malformed (${(e as Error).message})`);
          }
          values += n;
        } else if (h.dictionary_page_header) {
          const n = Number(h.dictionary_page_header.num_values);
          if (!(n >= 0) || n > unc * 8 + 8 || n > MAX_PAGE_VALUES) throw bad(c, `a dictionary page declares ${n} values in ${unc} bytes`);
          decompress(c, pageBytes, unc);
        }
        reader.offset += comp;
      }
    }
  };
}

/** The RLE-encoded values of a page (dictionary indices, RLE booleans). */
function checkValues(page: Uint8Array, o: number, encoding: string, type: string, n: number, v1: boolean): void {
  const pv = new DataView(page.buffer, page.byteOffset, page.byteLength);
  if (encoding === 'RLE' && type === 'BOOLEAN') {
    if (o + 4 <= page.length) checkRle(pv, o + 4, 1, n);
  } else if (encoding === 'PLAIN_DICTIONARY' || encoding === 'RLE_DICTIONARY' || (v1 && encoding === 'RLE')) {
    if (o >= page.length) return;
    const width = pv.getUint8(o);
    if (width > 32) throw new Error(`dictionary index width ${width}`);
    if (width) checkRle(pv, o + 1, width, n);
  }
}

/**
 * Every column chunk must name a leaf of the schema, one chunk per leaf. hyparquet resolves these
 * paths while it is already reading other chunks; a bad one throws there and leaves the other
 * reads' rejections unhandled, which ends the process.
 */
function checkColumnPaths(md: any, root: any, path: string): void {
  const leaves = new Set<string>();
  const collect = (node: any, prefix: string[]) => {
    for (const c of node.children) {
      const p = [...prefix, c.element.name];
      if (c.children.length) collect(c, p);
      else leaves.add(p.join('\u0000'));
    }
  };
  collect(root, []);
  for (const rg of md.row_groups ?? []) {
    if ((rg.columns ?? []).length !== leaves.size) {
      throw CdxError.file('E_CORRUPT', path, `a row group has ${rg.columns?.length ?? 0} column chunks for ${leaves.size} schema columns`);
    }
    for (const cc of rg.columns) {
      const p = cc.meta_data?.path_in_schema;
      if (!Array.isArray(p) || !leaves.has(p.join('\u0000'))) {
        throw CdxError.file('E_CORRUPT', path, `column chunk ${JSON.stringify(p)} is not a column of the schema`);
      }
    }
  }
}

/** The flattened schema must form one tree: counts non-negative, every element used once. */
function checkSchema(schema: any[], path: string): void {
  if (!Array.isArray(schema) || schema.length === 0) throw CdxError.file('E_CORRUPT', path, 'the Parquet footer has no schema');
  let i = 0;
  const walk = (depth: number): void => {
    if (depth > 100) throw CdxError.file('E_CORRUPT', path, 'the Parquet schema is nested too deeply');
    const el = schema[i++];
    if (!el) throw CdxError.file('E_CORRUPT', path, 'the Parquet schema declares more elements than it holds');
    const n = el.num_children ?? 0;
    if (!Number.isSafeInteger(n) || n < 0 || n > schema.length) throw CdxError.file('E_CORRUPT', path, `schema element ${JSON.stringify(el.name)} declares ${n} children`);
    if (n === 0 && i > 1 && !el.type) throw CdxError.file('E_CORRUPT', path, `schema element ${JSON.stringify(el.name)} has neither a type nor children`);
    for (let k = 0; k < n; k++) walk(depth + 1);
  };
  walk(0);
  if (i !== schema.length) throw CdxError.file('E_CORRUPT', path, `the Parquet schema tree uses ${i} of its ${schema.length} elements`);
}

function validateMetadata(md: any, size: number, path: string, warnings: IngestWarning[]): void {
  for (const rg of md.row_groups ?? []) {
    for (const cc of rg.columns ?? []) {
      if (cc.crypto_metadata || cc.encrypted_column_metadata) {
        throw CdxError.file('E_ENCRYPTED', path, 'the Parquet file has encrypted columns; encrypted Parquet is not supported');
      }
    }
  }
  const rows = Number(md.num_rows);
  if (!Number.isSafeInteger(rows) || rows < 0) throw CdxError.file('E_CORRUPT', path, `invalid row count ${md.num_rows}`);
  let sum = 0;
  for (const rg of md.row_groups ?? []) {
    const n = Number(rg.num_rows);
    if (!Number.isSafeInteger(n) || n < 0 || n > 2 ** 40) throw CdxError.file('E_CORRUPT', path, `row group declares an invalid row count ${rg.num_rows}`);
    sum += n;
    for (const cc of rg.columns ?? []) {
      if (cc.file_path) throw CdxError.file('E_UNSUPPORTED', path, `column chunk stored in another file (${cc.file_path}) is not supported`);
      const m = cc.meta_data;
      if (!m) throw CdxError.file('E_CORRUPT', path, 'column chunk without metadata');
      const start = Number(m.dictionary_page_offset ?? m.data_page_offset);
      const len = Number(m.total_compressed_size);
      const dataStart = Number(m.data_page_offset);
      if (!(start >= 0) || !(len >= 0) || !(dataStart >= 0) || dataStart >= size || Math.min(start, dataStart) + len > size) {
        throw CdxError.file('E_CORRUPT', path,
          `column ${m.path_in_schema?.join('.')} declares bytes ${start}..${start + len} outside the file (${size} bytes)`);
      }
    }
  }
  if (sum !== rows) {
    // some old writers left num_rows at 0: trust the row groups, which is what is actually read
    warnings.push({ code: 'W_ROW_COUNT', message: `the footer declares ${rows} rows but the row groups hold ${sum}; using ${sum}` });
    md.num_rows = BigInt(sum);
  }
}

export const parquetProvider: SourceProvider = {
  format: 'parquet',
  extensions: ['parquet', 'parq', 'pq', 'parquet.encrypted'],
  sniff(head: Uint8Array): boolean {
    return head.length >= 4 && head[0] === 0x50 && head[1] === 0x41 && head[2] === 0x52 && (head[3] === 0x31 || head[3] === 0x45);
  },
  open: (path: string) => ParquetSource.open(path),
};

/** A Parquet file whose bytes come from `src` (a remote file read by ranges). */
export function openParquetBytes(src: ParquetBytes): Promise<Source> {
  return ParquetSource.from(src);
}
