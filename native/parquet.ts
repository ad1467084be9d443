/**
 * The native Parquet encoder (native/src/parquet_write.cc): typed wrapper and Parquet schema.
 *
 * `parquetPlan(schema)` maps each Arrow field to its Parquet column (physical, converted and
 * logical type), recording exactly what the parquet-wasm (arrow-rs) path records so a file reads
 * the same whichever encoder wrote it — with one deliberate difference: date64 is written as
 * INT32 (DATE) (arrow-rs writes a bare INT64), so DuckDB and CDX's reader see dates, as the
 * writer's fidelity report says. Columns it cannot encode (decimal, float16, binary, time,
 * duration, nested, dictionary-typed, ...) make the plan unsupported: the caller then writes the
 * whole file with parquet-wasm.
 *
 * `NativeParquetWriter` takes record batches, cuts them at row-group boundaries (rowGroupRows, or
 * earlier once rowGroupBytes of compressed pages are buffered), and runs one native call at a time
 * while up to `maxInFlight` batches wait, so the caller (a CSV parse, say) keeps producing while a
 * batch is encoded on the libuv pool with OpenMP across columns and pages. The Arrow schema is
 * embedded (`ARROW:schema`, the IPC schema message in base64, as arrow-rs writes it) so
 * Arrow-aware readers restore zone names, unsigned and large types. Errors are CdxErrors
 * (E_CANCELLED, E_CORRUPT, E_BAD_VALUE, E_EXISTS, E_WRITE, E_IO, ...) that name the file.
 */
import {
  DataType, DateUnit, Precision, Table, TimeUnit, tableToIPC, type Data, type RecordBatch, type Schema,
} from 'apache-arrow';
import { CdxError } from '../shared/errors';
import { loadNative, nativeError, runJob, type ParquetColumnBuffers, type ParquetInput, type ParquetWriterHandle } from './binding';

export type { ParquetInput } from './binding';

export interface ParquetColumnSpec {
  name: string;
  /** how the Arrow buffers are read */
  input: ParquetInput;
  /** Parquet physical type (parquet.thrift numbering) */
  physical: number;
  /** ConvertedType, -1 for none */
  converted: number;
  logical: '' | 'string' | 'date' | 'int' | 'timestamp';
  bitWidth?: number;
  signed?: boolean;
  unit?: 'ms' | 'us' | 'ns';
  utc?: boolean;
  nullable: boolean;
}

const P = { BOOLEAN: 0, INT32: 1, INT64: 2, FLOAT: 4, DOUBLE: 5, BYTE_ARRAY: 6 } as const;
const CT = { UTF8: 0, DATE: 6, TIMESTAMP_MILLIS: 9, TIMESTAMP_MICROS: 10, UINT_8: 11, UINT_16: 12, UINT_32: 13, UINT_64: 14, INT_8: 15, INT_16: 16 } as const;

/** The Parquet column of one Arrow type, or a reason it is not encoded natively. */
export function parquetColumnOf(name: string, type: DataType, nullable: boolean): ParquetColumnSpec | string {
  const c = (input: ParquetInput, physical: number, converted = -1, logical: ParquetColumnSpec['logical'] = '', more: Partial<ParquetColumnSpec> = {}): ParquetColumnSpec =>
    ({ name, input, physical, converted, logical, nullable, ...more });
  if (DataType.isInt(type)) {
    const bits = type.bitWidth;
    const signed = type.isSigned;
    if (bits === 64) return signed ? c('int64', P.INT64) : c('uint64', P.INT64, CT.UINT_64, 'int', { bitWidth: 64, signed: false });
    if (bits === 32) return signed ? c('int32', P.INT32) : c('uint32', P.INT32, CT.UINT_32, 'int', { bitWidth: 32, signed: false });
    const input = `${signed ? '' : 'u'}int${bits}` as ParquetInput;
    const conv = signed ? (bits === 8 ? CT.INT_8 : CT.INT_16) : bits === 8 ? CT.UINT_8 : CT.UINT_16;
    return c(input, P.INT32, conv, 'int', { bitWidth: bits, signed });
  }
  if (DataType.isFloat(type)) {
    if (type.precision === Precision.SINGLE) return c('float32', P.FLOAT);
    if (type.precision === Precision.DOUBLE) return c('float64', P.DOUBLE);
    return `${type} (float16) is written by parquet-wasm`;
  }
  if (DataType.isBool(type)) return c('bool', P.BOOLEAN);
  if (DataType.isUtf8(type)) return c('utf8', P.BYTE_ARRAY, CT.UTF8, 'string');
  if (DataType.isLargeUtf8(type)) return c('large_utf8', P.BYTE_ARRAY, CT.UTF8, 'string');
  if (DataType.isDate(type)) return type.unit === DateUnit.DAY ? c('int32', P.INT32, CT.DATE, 'date') : c('date64', P.INT32, CT.DATE, 'date');
  if (DataType.isTimestamp(type)) {
    const utc = !!type.timezone;
    switch (type.unit) {
      case TimeUnit.SECOND: return c('int64', P.INT64); // a bare INT64, as arrow-rs writes (the Arrow schema says timestamp[s])
      case TimeUnit.MILLISECOND: return c('int64', P.INT64, CT.TIMESTAMP_MILLIS, 'timestamp', { unit: 'ms', utc });
      case TimeUnit.MICROSECOND: return c('int64', P.INT64, CT.TIMESTAMP_MICROS, 'timestamp', { unit: 'us', utc });
      default: return c('int64', P.INT64, -1, 'timestamp', { unit: 'ns', utc });
    }
  }
  return `${type} is written by parquet-wasm`;
}

/** Column specs for every field, or the first reason the schema is not encoded natively. */
export function parquetPlan(schema: Schema): { columns: ParquetColumnSpec[] } | { unsupported: string } {
  const columns: ParquetColumnSpec[] = [];
  for (const f of schema.fields) {
    const c = parquetColumnOf(f.name, f.type, f.nullable);
    if (typeof c === 'string') return { unsupported: `column "${f.name}": ${c}` };
    columns.push(c);
  }
  return { columns };
}

/** The `ARROW:schema` key-value metadata arrow-rs writes: the IPC schema message, base64. */
export function arrowSchemaMetadata(schema: Schema): string {
  const ipc = tableToIPC(new Table(schema), 'stream');
  const view = new DataView(ipc.buffer, ipc.byteOffset, ipc.byteLength);
  const cont = view.getUint32(0, true) === 0xffffffff;
  const len = view.getInt32(cont ? 4 : 0, true);
  return Buffer.from(ipc.subarray(0, (cont ? 8 : 4) + len)).toString('base64');
}

export interface NativeParquetInfo {
  available: boolean;
  zstd: boolean;
  zstdVersion?: string;
  /** why it is not available */
  reason?: string;
}

let infoCache: NativeParquetInfo | undefined;
/** Whether the addon has the encoder (and zstd); never throws. */
export function nativeParquetInfo(): NativeParquetInfo {
  if (infoCache) return infoCache;
  try {
    // the loader refuses a binary that predates the encoder, saying to rebuild it: that is the reason then
    infoCache = { available: true, ...loadNative().parquetInfo() };
  } catch (e) {
    infoCache = { available: false, zstd: false, reason: (e as Error).message };
  }
  return infoCache;
}

export type NativeParquetCodec = 'zstd' | 'none';

export interface NativeParquetOptions {
  codec: NativeParquetCodec;
  /** zstd level (default 1, as arrow-rs) */
  level?: number;
  /** most rows in one row group (default 1048576) */
  rowGroupRows?: number;
  /** a row group is closed once this many compressed bytes are buffered (default 128 MiB) */
  rowGroupBytes?: number;
  createdBy?: string;
  /** extra key-value metadata (ARROW:schema is added) */
  metadata?: [string, string][];
  /** batches waiting for the encoder (default 2) */
  maxInFlight?: number;
  signal?: AbortSignal;
}

/** A failure of the encoder, naming the file. */
function withPath(e: unknown, path: string): CdxError {
  const err = nativeError(e);
  return err.message.includes(path) ? err : new CdxError(err.code, `${path}: ${err.message}`, { file: path, cause: err });
}

/** The raw buffers of one column of a batch, as parquetWrite reads them. */
function columnBuffers(d: Data, spec: ParquetColumnSpec): ParquetColumnBuffers {
  const validity = d.nullCount > 0 ? d.nullBitmap : undefined;
  if (spec.input === 'utf8' || spec.input === 'large_utf8') return { values: d.values, offsets: d.valueOffsets, validity, bitOffset: d.offset };
  return { values: d.values, validity, bitOffset: d.offset };
}

export class NativeParquetWriter {
  private chain: Promise<void> = Promise.resolve();
  private inFlight: Promise<void>[] = [];
  private failure: Error | undefined;
  private inGroup = 0;
  private rows = 0;
  private closed = false;
  private readonly internal = new AbortController();
  private readonly signal: AbortSignal;
  private readonly rowGroupRows: number;
  private readonly rowGroupBytes: number;
  private readonly maxInFlight: number;

  private constructor(readonly path: string, private handle: ParquetWriterHandle, readonly columns: ParquetColumnSpec[], o: NativeParquetOptions) {
    this.rowGroupRows = o.rowGroupRows ?? 1 << 20;
    this.rowGroupBytes = o.rowGroupBytes ?? 128 << 20;
    this.maxInFlight = Math.max(1, o.maxInFlight ?? 2);
    this.signal = o.signal ? AbortSignal.any([o.signal, this.internal.signal]) : this.internal.signal;
  }

  /** Creates `path` (which must not exist) for `schema`; throws E_UNSUPPORTED when a column is not covered. */
  static open(path: string, schema: Schema, o: NativeParquetOptions): NativeParquetWriter {
    const plan = parquetPlan(schema);
    if ('unsupported' in plan) throw CdxError.file('E_UNSUPPORTED', path, plan.unsupported);
    const addon = loadNative();
    const handle = addon.parquetOpen(path, {
      columns: plan.columns,
      codec: o.codec,
      level: o.level ?? 1,
      createdBy: o.createdBy ?? 'Continuum Data Explorer (native)',
      metadata: [['ARROW:schema', arrowSchemaMetadata(schema)], ...(o.metadata ?? [])],
    });
    return new NativeParquetWriter(path, handle, plan.columns, o);
  }

  /** Queues one batch; resolves once fewer than maxInFlight batches wait (rejects on an earlier failure). */
  async write(batch: RecordBatch): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.closed) throw CdxError.file('E_CLOSED', this.path, 'the Parquet writer is closed');
    if (batch.numCols !== this.columns.length) {
      throw CdxError.file('E_BAD_ARG', this.path, `a batch of ${batch.numCols} columns for a file of ${this.columns.length}`);
    }
    const p = (this.chain = this.chain.then(() => (this.failure ? undefined : this.encode(batch))));
    p.catch((e) => {
      this.failure ??= e;
    });
    this.inFlight.push(p);
    while (this.inFlight.length >= this.maxInFlight) await this.inFlight.shift();
    if (this.failure) throw this.failure;
  }

  private async encode(batch: RecordBatch): Promise<void> {
    const call = (cols: ParquetColumnBuffers[], rows: number, flush: boolean) =>
      runJob('Parquet write', (a, job) => a.parquetWrite(this.handle, cols, rows, flush, job), { signal: this.signal })
        .catch((e: unknown) => { throw withPath(e, this.path); });
    const datas = this.columns.map((_, j) => batch.getChildAt(j)!.data);
    for (const ds of datas) if (ds.length !== 1) throw CdxError.file('E_INTERNAL', this.path, `a column arrived in ${ds.length} chunks`);
    const n = batch.numRows;
    let off = 0;
    while (off < n) {
      const take = Math.min(this.rowGroupRows - this.inGroup, n - off);
      const cols = this.columns.map((s, j) => {
        const d = datas[j][0] as Data;
        return columnBuffers(off === 0 && take === d.length ? d : d.slice(off, take), s);
      });
      const full = this.inGroup + take === this.rowGroupRows;
      const r = await call(cols, take, full);
      this.inGroup = full ? 0 : this.inGroup + take;
      this.rows += take;
      off += take;
      if (!full && r.buffered >= this.rowGroupBytes) {
        await call(this.columns.map(() => ({ values: new Uint8Array(0), offsets: new BigInt64Array(1) })), 0, true);
        this.inGroup = 0;
      }
    }
  }

  /** Waits for the queued batches, writes the last row group and the footer, closes the file. */
  async finish(): Promise<{ rows: number; bytes: number; rowGroups: number }> {
    await this.chain.catch(() => undefined);
    if (this.failure) throw this.failure;
    this.closed = true;
    try {
      return await loadNative().parquetFinish(this.handle);
    } catch (e) {
      throw withPath(e, this.path);
    }
  }

  /** Stops (cancelling the batch being encoded), waits for it, closes the file. The caller removes it. */
  async abort(): Promise<void> {
    this.closed = true;
    this.internal.abort();
    await this.chain.catch(() => undefined);
    try {
      loadNative().parquetClose(this.handle);
    } catch {
      // closed already
    }
  }

  /** rows handed to the encoder so far */
  get rowsWritten(): number {
    return this.rows;
  }
}
