/**
 * Shared helpers for the format readers: mapping DataShape fields to Arrow types, building Arrow
 * record batches from plain column arrays (exact int64 as BigInt64, decimals as Decimal128, nested
 * values as JSON text), turning nested values into JSON text, and bounded file reads that treat
 * every declared size as hostile.
 */
import { open, stat, type FileHandle } from 'node:fs/promises';
import {
  Binary, Bool, DataType, Data, DateDay, Decimal, Duration, Field as ArrowField, Float16,
  type Float64, type Int32, RecordBatch, Schema as ArrowSchema,
  Struct, Time, TimeUnit as ArrowTimeUnit, Timestamp, Type, Utf8, makeData, util,
} from 'apache-arrow';
import type { Field, Schema, TimeUnit } from '../../../shared/datashape';
import { arrowNumericType } from '../../../native/index';
import { CdxError, type ErrorCode } from '../../../shared/errors';

export const MiB = 1024 * 1024;
/** Default rows per batch when the caller gives no hint. */
export const DEFAULT_BATCH_ROWS = 65536;

const arrowUnit: Record<TimeUnit, ArrowTimeUnit> = {
  s: ArrowTimeUnit.SECOND, ms: ArrowTimeUnit.MILLISECOND, us: ArrowTimeUnit.MICROSECOND, ns: ArrowTimeUnit.NANOSECOND,
};
const unitFromArrow: Record<number, TimeUnit> = {
  [ArrowTimeUnit.SECOND]: 's', [ArrowTimeUnit.MILLISECOND]: 'ms', [ArrowTimeUnit.MICROSECOND]: 'us', [ArrowTimeUnit.NANOSECOND]: 'ns',
};

/** The Arrow type a DataShape field is materialised as when a reader builds batches itself. */
export function arrowTypeOf(f: Field): DataType {
  switch (f.type) {
    case 'bool': return new Bool();
    case 'int8': case 'int16': case 'int32': case 'int64':
    case 'uint8': case 'uint16': case 'uint32': case 'uint64':
    case 'float32': case 'float64':
      return arrowNumericType(f.type);
    case 'float16': return new Float16();
    case 'binary': return new Binary();
    case 'date': return new DateDay();
    case 'time': {
      const u = f.unit ?? 'us';
      return new Time(arrowUnit[u], (u === 's' || u === 'ms' ? 32 : 64) as 32 | 64);
    }
    case 'timestamp': return new Timestamp(arrowUnit[f.unit ?? 'us'], f.tz ?? null);
    case 'duration': return new Duration(arrowUnit[f.unit ?? 'us']);
    case 'decimal': return new Decimal(f.scale ?? 0, f.precision ?? 38, 128);
    case 'string':
    case 'json':
    case 'interval':
    default:
      return new Utf8();
  }
}

export function arrowSchemaOf(fields: Field[]): ArrowSchema {
  return new ArrowSchema(fields.map((f) => new ArrowField(f.name, arrowTypeOf(f), true)));
}

/** String(type) can throw on a malformed type (a list without a child, say). */
function typeName(t: DataType): string {
  try {
    return String(t);
  } catch {
    return Type[t.typeId] ?? 'unknown';
  }
}

/** DataShape field for an Arrow field (nested, union, map and null types become 'json'). */
export function fieldFromArrow(af: ArrowField): Field {
  const t = af.type as DataType;
  const base = { name: af.name, nullable: af.nullable };
  switch (t.typeId) {
    case Type.Bool: return { ...base, type: 'bool' };
    case Type.Int: {
      const it = t as Int32;
      return { ...base, type: `${it.isSigned ? 'int' : 'uint'}${it.bitWidth}` as Field['type'] };
    }
    case Type.Float: {
      const p = (t as Float64).precision;
      return { ...base, type: p === 0 ? 'float16' : p === 1 ? 'float32' : 'float64' };
    }
    case Type.Utf8: case Type.LargeUtf8: case Type.Utf8View: return { ...base, type: 'string' };
    case Type.Binary: case Type.LargeBinary: case Type.BinaryView: return { ...base, type: 'binary' };
    case Type.FixedSizeBinary: return { ...base, type: 'binary', original: typeName(t) };
    case Type.Date: return { ...base, type: 'date', original: typeName(t) };
    case Type.Time: return { ...base, type: 'time', unit: unitFromArrow[(t as Time).unit] };
    case Type.Timestamp: {
      const ts = t as Timestamp;
      return { ...base, type: 'timestamp', unit: unitFromArrow[ts.unit], ...(ts.timezone ? { tz: ts.timezone } : {}) };
    }
    case Type.Duration: return { ...base, type: 'duration', unit: unitFromArrow[(t as Duration).unit] };
    case Type.Interval: return { ...base, type: 'interval', original: typeName(t) };
    case Type.Decimal: {
      const d = t as Decimal;
      return { ...base, type: 'decimal', precision: d.precision, scale: d.scale, original: `decimal${d.bitWidth}` };
    }
    case Type.Dictionary: {
      const inner = fieldFromArrow(new ArrowField(af.name, (t as any).dictionary, af.nullable));
      return inner.type === 'json' ? inner : { ...inner, dictionary: true };
    }
    default:
      return { ...base, type: 'json', nullable: true, original: typeName(t) };
  }
}

// ---------------------------------------------------------------------------------------------
// JSON text for nested values

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const lenientUtf8 = new TextDecoder('utf-8');

function bytesToText(b: Uint8Array): string {
  try {
    return strictUtf8.decode(b);
  } catch {
    return 'base64:' + Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
  }
}

/** Plain JSON-able value: bigint beyond 2^53 as a string, bytes as UTF-8 (or base64:), dates as ISO. */
export function toPlain(v: unknown, depth = 0): unknown {
  if (v === null || v === undefined) return null;
  if (depth > 64) return '…';
  if (depth === 0) cellBudget = MAX_CELL_ELEMENTS;
  if (--cellBudget < 0) throw limitError(`a nested value holds more than ${MAX_CELL_ELEMENTS} elements`);
  switch (typeof v) {
    case 'bigint':
      return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v.toString();
    case 'number':
      return Number.isFinite(v) ? v : String(v);
    case 'string': case 'boolean':
      return v;
    case 'object': {
      if (v instanceof Uint8Array) return bytesToText(v);
      if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.toISOString();
      if (ArrayBuffer.isView(v)) return Array.from(v as unknown as ArrayLike<unknown>, (x) => toPlain(x, depth + 1));
      if (v instanceof Map) {
        const o: Record<string, unknown> = {};
        for (const [k, x] of v) o[String(toPlain(k, depth + 1))] = toPlain(x, depth + 1);
        return o;
      }
      const anyV = v as any;
      if (Array.isArray(v)) return v.map((x) => toPlain(x, depth + 1));
      // Arrow vectors, StructRow and MapRow
      if (typeof anyV.toArray === 'function' && typeof anyV.get === 'function' && 'length' in anyV) {
        return Array.from({ length: anyV.length }, (_, i) => toPlain(anyV.get(i), depth + 1));
      }
      if (typeof anyV.toJSON === 'function' && anyV.constructor !== Object) return toPlain(anyV.toJSON(), depth + 1);
      const o: Record<string, unknown> = {};
      for (const k of Object.keys(anyV)) o[k] = toPlain(anyV[k], depth + 1);
      return o;
    }
    default:
      return String(v);
  }
}

/** Most elements one cell's JSON may hold (corrupt list offsets can claim billions). */
const MAX_CELL_ELEMENTS = 1_000_000;
let cellBudget = 0;

export function toJsonText(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  return JSON.stringify(toPlain(v));
}

// ---------------------------------------------------------------------------------------------
// Building Arrow data from plain arrays

function validity(values: ArrayLike<unknown>, n: number): { bitmap: Uint8Array | undefined; nulls: number } {
  let nulls = 0;
  for (let i = 0; i < n; i++) if (values[i] === null || values[i] === undefined) nulls++;
  if (nulls === 0) return { bitmap: undefined, nulls };
  const bitmap = new Uint8Array((n + 7) >> 3);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v !== null && v !== undefined) bitmap[i >> 3] |= 1 << (i & 7);
  }
  return { bitmap, nulls };
}

function toBig(v: unknown): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? BigInt(Math.trunc(v)) : 0n;
  if (typeof v === 'boolean') return v ? 1n : 0n;
  if (typeof v === 'string') { try { return BigInt(v); } catch { return 0n; } }
  if (v instanceof Date) return BigInt(v.getTime());
  return 0n;
}

function toNum(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v instanceof Date) return v.getTime();
  return Number(v);
}

/** Big-endian two's complement bytes (Parquet decimals) to bigint. */
export function bigIntFromBytesBE(b: Uint8Array): bigint {
  const n = b.length;
  if (n === 0) return 0n;
  if (n <= 6) {
    // fits a double exactly: no BigInt arithmetic per byte
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 256 + b[i];
    if (b[0] & 0x80) v -= 2 ** (8 * n);
    return BigInt(v);
  }
  let v = 0n;
  let i = 0;
  const head = n % 4;
  if (head) {
    let h = 0;
    for (; i < head; i++) h = h * 256 + b[i];
    v = BigInt(h);
  }
  for (; i < n; i += 4) v = (v << 32n) | BigInt(b[i] * 0x1000000 + ((b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]));
  if (b[0] & 0x80) v -= 1n << BigInt(n * 8);
  return v;
}

function utf8Data(type: DataType, values: ArrayLike<unknown>, n: number, asJson: boolean): Data {
  const { bitmap, nulls } = validity(values, n);
  // first pass: the text (or bytes) of each value and the total size, so one buffer is allocated
  const items: (string | Uint8Array | null)[] = new Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    let item: string | Uint8Array | null;
    if (v === null || v === undefined) item = null;
    else if (asJson) item = toJsonText(v) ?? 'null';
    else if (typeof v === 'string') item = v;
    else if (v instanceof Uint8Array) item = v;
    else item = String(toPlain(v));
    items[i] = item;
    if (item !== null) total += typeof item === 'string' ? Buffer.byteLength(item, 'utf8') : item.length;
  }
  if (total > 0x7fffffff) throw new Error('batch string data exceeds 2 GiB; use a smaller batch');
  const data = Buffer.allocUnsafe(total);
  const offsets = new Int32Array(n + 1);
  let o = 0;
  for (let i = 0; i < n; i++) {
    const item = items[i];
    if (item !== null) {
      if (typeof item === 'string') o += data.write(item, o, 'utf8');
      else { data.set(item, o); o += item.length; }
    }
    offsets[i + 1] = o;
  }
  const bytes = new Uint8Array(data.buffer, data.byteOffset, total);
  return makeData({ type: type as Utf8, length: n, nullCount: nulls, nullBitmap: bitmap, valueOffsets: offsets, data: bytes });
}

/**
 * One column of `n` values as Arrow Data of the field's type. Values: numbers/bigints for numeric
 * and temporal types (in the field's unit; dates as days), bigint unscaled for decimals (numbers are
 * taken as already-scaled values), strings or bytes for text/binary, anything for json.
 */
export function buildColumn(f: Field, values: ArrayLike<unknown>, n = values.length): Data {
  const type = arrowTypeOf(f);
  if (f.type === 'json' || f.type === 'interval') return utf8Data(type, values, n, true);
  if (f.type === 'string' || f.type === 'binary') return utf8Data(type, values, n, false);
  const { bitmap, nulls } = validity(values, n);
  const base = { type, length: n, nullCount: nulls, nullBitmap: bitmap } as any;
  switch (f.type) {
    case 'bool': {
      const bits = new Uint8Array((n + 7) >> 3);
      for (let i = 0; i < n; i++) if (values[i]) bits[i >> 3] |= 1 << (i & 7);
      return makeData({ ...base, data: bits });
    }
    case 'int64': case 'uint64': case 'timestamp': case 'duration': {
      const arr = f.type === 'uint64' ? new BigUint64Array(n) : new BigInt64Array(n);
      const isBig = values instanceof BigInt64Array || values instanceof BigUint64Array;
      if (isBig && values.constructor === arr.constructor) arr.set(values as any);
      else for (let i = 0; i < n; i++) { const v = values[i]; if (v !== null && v !== undefined) arr[i] = f.type === 'uint64' ? BigInt.asUintN(64, toBig(v)) : BigInt.asIntN(64, toBig(v)); }
      return makeData({ ...base, data: arr });
    }
    case 'time': {
      const u = f.unit ?? 'us';
      if (u === 's' || u === 'ms') {
        const arr = new Int32Array(n);
        for (let i = 0; i < n; i++) { const v = values[i]; if (v != null) arr[i] = toNum(v); }
        return makeData({ ...base, data: arr });
      }
      const arr = new BigInt64Array(n);
      for (let i = 0; i < n; i++) { const v = values[i]; if (v != null) arr[i] = toBig(v); }
      return makeData({ ...base, data: arr });
    }
    case 'decimal': {
      const words = new Uint32Array(n * 4);
      const dv = new DataView(words.buffer);
      const scale = f.scale ?? 0;
      const I64_MIN = -(2n ** 63n);
      const I64_MAX = 2n ** 63n - 1n;
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (v === null || v === undefined) continue;
        let big: bigint;
        if (typeof v === 'bigint') big = v;
        else if (v instanceof Uint8Array) big = bigIntFromBytesBE(v);
        else big = BigInt(Math.round(toNum(v) * 10 ** scale));
        if (big >= I64_MIN && big <= I64_MAX) {
          // the common case: low 64 bits, high 64 bits are the sign extension
          dv.setBigInt64(i * 16, big, true);
          const hi = big < 0n ? -1 : 0;
          dv.setInt32(i * 16 + 8, hi, true);
          dv.setInt32(i * 16 + 12, hi, true);
        } else {
          const u = BigInt.asUintN(128, big);
          dv.setBigUint64(i * 16, u & 0xffffffffffffffffn, true);
          dv.setBigUint64(i * 16 + 8, u >> 64n, true);
        }
      }
      return makeData({ ...base, data: words });
    }
    case 'float16': {
      // a Uint16Array holds raw half-float bits already
      if (values instanceof Uint16Array && values.length === n && nulls === 0) return makeData({ ...base, data: values });
      const arr = new Uint16Array(n);
      for (let i = 0; i < n; i++) { const v = values[i]; if (v != null) arr[i] = util.float64ToUint16(toNum(v)); }
      return makeData({ ...base, data: arr });
    }
    default: {
      const Ctor = ({
        int8: Int8Array, int16: Int16Array, int32: Int32Array, uint8: Uint8Array, uint16: Uint16Array,
        uint32: Uint32Array, float32: Float32Array, float64: Float64Array, date: Int32Array,
      } as Record<string, any>)[f.type] ?? Float64Array;
      if (values instanceof Ctor && values.length === n) return makeData({ ...base, data: values });
      const arr = new Ctor(n);
      for (let i = 0; i < n; i++) { const v = values[i]; if (v !== null && v !== undefined) arr[i] = toNum(v); }
      return makeData({ ...base, data: arr });
    }
  }
}

/** A record batch from per-column Data (all of the same length). */
export function batchFromData(schema: ArrowSchema, cols: Data[], n: number): RecordBatch {
  const data = makeData({ type: new Struct(schema.fields), length: n, nullCount: 0, children: cols });
  return new RecordBatch(schema, data);
}

/** A record batch from plain arrays, one per field. */
export function buildBatch(fields: Field[], columns: ArrayLike<unknown>[], n: number): RecordBatch {
  const schema = arrowSchemaOf(fields);
  return batchFromData(schema, fields.map((f, i) => buildColumn(f, columns[i], n)), n);
}

export function selectFields(all: Field[], columns: string[] | undefined, path: string): Field[] {
  if (!columns) return all;
  return columns.map((c) => {
    const f = all.find((x) => x.name === c);
    if (!f) throw CdxError.file('E_UNKNOWN_COLUMN', path, `no column named ${JSON.stringify(c)}`, { column: c });
    return f;
  });
}

export function checkAbort(signal: AbortSignal | undefined, path: string): void {
  if (signal?.aborted) throw CdxError.file('E_CANCELLED', path, 'cancelled');
}

// ---------------------------------------------------------------------------------------------
// Bounded file access

/** Random-access reads that refuse to go past the real end of the file. */
export class BoundedFile {
  private constructor(public readonly path: string, public readonly fh: FileHandle, public readonly size: number) {}

  static async open(path: string): Promise<BoundedFile> {
    const st = await stat(path);
    const fh = await open(path, 'r');
    return new BoundedFile(path, fh, st.size);
  }

  /** Exactly `len` bytes at `pos`, or a CdxError E_TRUNCATED when the file is shorter. */
  async read(pos: number, len: number, what = 'data'): Promise<Uint8Array> {
    if (!Number.isSafeInteger(pos) || !Number.isSafeInteger(len) || pos < 0 || len < 0 || pos + len > this.size) {
      throw CdxError.file('E_TRUNCATED', this.path,
        `${what} at byte ${pos} (${len} bytes) lies beyond the end of the file (${this.size} bytes)`);
    }
    const buf = new Uint8Array(len);
    let done = 0;
    while (done < len) {
      const { bytesRead } = await this.fh.read(buf, done, len - done, pos + done);
      if (bytesRead === 0) throw CdxError.file('E_TRUNCATED', this.path, `file ended while reading ${what}`);
      done += bytesRead;
    }
    return buf;
  }

  async close(): Promise<void> {
    await this.fh.close().catch(() => undefined);
  }
}

/** Thrown (without a file) from deep inside a decoder when a declared size passes a limit; wrapError names the file. */
export function limitError(message: string): CdxError {
  return new CdxError('E_TOO_LARGE', message);
}

/** Wrap a library error as a CdxError naming the file (one of ours that names a file already is kept). */
export function wrapError(e: unknown, path: string, code: ErrorCode = 'E_READ', prefix = ''): CdxError {
  if (e instanceof CdxError && e.file) return e;
  if (e instanceof CdxError) return CdxError.file(e.code, path, `${prefix}${e.message}`, { cause: e });
  let msg = e instanceof Error ? e.message : String(e);
  // a TypeError or RangeError from inside a decoder means the bytes are not what they claim to be
  if (e instanceof TypeError || e instanceof RangeError) msg = `malformed data (${msg})`;
  return CdxError.file(code, path, `${prefix}${msg || 'unreadable data'}`, { cause: e });
}

export function schemaOf(fields: Field[], metadata?: Record<string, string>): Schema {
  return metadata && Object.keys(metadata).length ? { fields, metadata } : { fields };
}

export { lenientUtf8 };
