/**
 * Arrow IPC reader: the file format (and Feather v2, which is the same thing) and the stream
 * format, through apache-arrow's RecordBatchReader over a file handle (file format: random access
 * by footer; stream format: a read stream), so batches are read one at a time.
 *
 * Before handing the file to apache-arrow, the message headers are walked here (cheap: metadata
 * only, bodies are skipped) to count rows, to see compression and endianness, and to check every
 * declared body length against the real file size, so a truncated or corrupt file is refused with
 * a clear message instead of an allocation sized by a corrupt header.
 *
 * - Compressed bodies (LZ4 frame, ZSTD) are decompressed by codecs registered in ./codecs.
 * - Big-endian files are read and their buffers byte-swapped in place, type by type (apache-arrow
 *   reads buffers in platform order and ignores the schema's endianness).
 * - Nested, union, map and null columns are delivered as JSON text (DataShape 'json'); dictionary
 *   columns whose values are strings stay dictionary-encoded, other dictionaries are decoded.
 * - Only an uncompressed little-endian IPC *file* is reported as usable in place.
 */
import { createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import {
  Data, Field as ArrowField, RecordBatch, RecordBatchReader, Schema as ArrowSchema, Type, Utf8,
  type DataType,
} from 'apache-arrow';
import type { Field } from '../../../shared/datashape';
import {
  BoundedFile, DEFAULT_BATCH_ROWS, batchFromData, buildColumn, checkAbort, fieldFromArrow, schemaOf, wrapError,
} from './common';
import { registerArrowCodecs } from './codecs';
import { type IngestWarning, type ScanOptions, type Source, type SourceInfo, type SourceProvider } from './types';
import { FbTable, verifyMessageMetadata, verifyRecordBatch, verifySchema } from '../columns/flatbuf';
import { CdxError } from '../../../shared/errors';

registerArrowCodecs();

const MAGIC = [0x41, 0x52, 0x52, 0x4f, 0x57, 0x31]; // ARROW1

function startsWithMagic(b: Uint8Array): boolean {
  return b.length >= 6 && MAGIC.every((x, i) => b[i] === x);
}

/** The file footer: schema, and blocks that must point at the messages the stream holds. */
async function verifyFooter(f: BoundedFile, messages: Map<number, { type: number; meta: number; body: bigint }>): Promise<{ bigEndian: boolean; version: number }> {
  const lenBytes = await f.read(f.size - 10, 4, 'footer length');
  const footerLen = new DataView(lenBytes.buffer, lenBytes.byteOffset, 4).getInt32(0, true);
  if (footerLen <= 0 || footerLen > f.size - 18) throw CdxError.file('E_CORRUPT', f.path, `Arrow footer declares ${footerLen} bytes`);
  const buf = await f.read(f.size - 10 - footerLen, footerLen, 'footer');
  try {
    const footer = FbTable.root(buf);
    const schema = footer.table(1);
    if (!schema) throw new Error('footer without a schema');
    verifySchema(schema);
    const found = { bigEndian: schema.i16(0) === 1, version: footer.i16(0) };
    for (const field of [2, 3]) {
      const v = footer.vector(field, 24);
      if (!v) continue;
      for (let k = 0; k < v.n; k++) {
        const off = footer.i64At(v.start + 24 * k);
        const meta = footer.i32At(v.start + 24 * k + 8);
        const body = footer.i64At(v.start + 24 * k + 16);
        if (off < 0n || meta < 0 || body < 0n || off + BigInt(meta) + body > BigInt(f.size)) {
          throw new Error(`block ${k} (${off}, ${meta}, ${body}) lies outside the file`);
        }
        // apache-arrow seeks to these blocks; one that does not start the right kind of message
        // makes its reader retry the same block forever
        const m = messages.get(Number(off));
        const want = field === 2 ? HEADER_DICTIONARY : HEADER_RECORD_BATCH;
        if (!m || m.type !== want || m.body !== body) {
          throw new Error(`footer block ${k} at byte ${off} does not point at a ${field === 2 ? 'dictionary' : 'record'} batch of the stream`);
        }
      }
    }
    return found;
  } catch (e) {
    throw CdxError.file('E_CORRUPT', f.path, `invalid Arrow file footer: ${(e as Error).message}`);
  }
}

const HEADER_SCHEMA = 1;
const HEADER_DICTIONARY = 2;
const HEADER_RECORD_BATCH = 3;

interface IpcScan {
  /** metadata version of the schema message (4 = V5, Arrow >= 1.0) */
  version: number;
  isFile: boolean;
  bigEndian: boolean;
  compressed: boolean;
  rows: number;
  batches: number;
}

/** Walk the IPC messages (headers only), checking declared sizes against the file size. */
async function walkIpc(f: BoundedFile): Promise<IpcScan> {
  const head = await f.read(0, Math.min(f.size, 8), 'header');
  const isFile = startsWithMagic(head);
  if (isFile) {
    if (f.size < 18) throw CdxError.file('E_TRUNCATED', f.path, 'Arrow file too short');
    const tail = await f.read(f.size - 6, 6, 'trailing magic');
    if (!startsWithMagic(tail)) {
      throw CdxError.file('E_TRUNCATED', f.path, 'Arrow file has no trailing ARROW1 magic (truncated or not finished)');
    }
  }
  let pos = isFile ? 8 : 0;
  const end = isFile ? f.size - 10 : f.size;
  const r: IpcScan = { version: 4, isFile, bigEndian: false, compressed: false, rows: 0, batches: 0 };
  let sawSchema = false;
  const messages = new Map<number, { type: number; meta: number; body: bigint }>();
  for (let guard = 0; pos < end; guard++) {
    if (pos + 4 > end) break; // stream without end-of-stream marker
    const p = await f.read(pos, Math.min(8, end - pos), 'message prefix');
    const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
    let len = dv.getInt32(0, true);
    let skip = 4;
    if (len === -1) {
      if (p.length < 8) break;
      len = dv.getInt32(4, true);
      skip = 8;
    }
    if (len === 0) break; // end of stream
    if (len < 0 || pos + skip + len > end) {
      throw CdxError.file('E_TRUNCATED', f.path, `IPC message at byte ${pos} declares ${len} bytes of metadata beyond the end of the data`);
    }
    const meta = await f.read(pos + skip, len, 'message metadata');
    let msg: FbTable, headerType: number, bodyLength: bigint;
    try {
      msg = FbTable.root(meta);
      verifyMessageMetadata(msg);
      headerType = msg.u8(1);
      bodyLength = msg.i64(3);
    } catch (e) {
      throw CdxError.file('E_CORRUPT', f.path, `IPC message at byte ${pos} is not valid: ${(e as Error).message}`);
    }
    if (bodyLength < 0n || BigInt(pos + skip + len) + bodyLength > BigInt(end)) {
      throw CdxError.file('E_TRUNCATED', f.path, `IPC message at byte ${pos} declares a ${bodyLength}-byte body beyond the end of the data`);
    }
    try {
      if (headerType === HEADER_SCHEMA) {
        sawSchema = true;
        const schema = msg.table(2);
        if (!schema) throw new Error('schema message without a schema');
        verifySchema(schema);
        r.bigEndian = schema.i16(0) === 1;
        r.version = msg.i16(0);
      } else if (headerType === HEADER_RECORD_BATCH) {
        const rb = msg.table(2);
        if (!rb) throw new Error('record batch message without a header');
        verifyRecordBatch(rb, bodyLength);
        const n = rb ? rb.i64(0) : 0n;
        // a row takes at least one bit in some buffer unless every column is of the null type:
        // a count far beyond the body is corrupt (and would size arrays by a corrupt header)
        if (n < 0n || n > 2n ** 40n || n > bodyLength * 8n + 65536n) throw new Error(`implausible row count ${n} for a ${bodyLength}-byte body`);
        r.rows += Number(n);
        r.batches++;
        if (rb?.table(3)) r.compressed = true;
      } else if (headerType === HEADER_DICTIONARY) {
        const db = msg.table(2);
        const data = db?.table(1);
        if (!data) throw new Error('dictionary message without data');
        verifyRecordBatch(data, bodyLength);
        if (db?.table(1)?.table(3)) r.compressed = true;
      } else {
        throw new Error(`unknown message type ${headerType}`);
      }
    } catch (e) {
      if (e instanceof CdxError) throw e;
      throw CdxError.file('E_CORRUPT', f.path, `IPC message at byte ${pos}: ${(e as Error).message}`);
    }
    messages.set(pos, { type: headerType, meta: skip + len, body: bodyLength });
    pos += skip + len + Number(bodyLength);
    if (guard > 50_000_000) break;
  }
  // A file's schema lives in its footer; some writers (apache-arrow JS's RecordBatchFileWriter)
  // leave the schema message out of the stream part, so only a stream must carry one.
  if (!sawSchema && !isFile) throw CdxError.file('E_CORRUPT', f.path, 'no Arrow schema message found');
  if (isFile) {
    const fromFooter = await verifyFooter(f, messages);
    if (!sawSchema) {
      r.bigEndian = fromFooter.bigEndian;
      r.version = fromFooter.version;
    }
  }
  return r;
}

/** Reverse each `width`-byte group of `b` in place. */
function swapBytes(b: Uint8Array, width: number): void {
  if (width <= 1) return;
  for (let i = 0; i + width <= b.length; i += width) {
    for (let x = i, y = i + width - 1; x < y; x++, y--) {
      const t = b[x];
      b[x] = b[y];
      b[y] = t;
    }
  }
}

const asBytes = (a: ArrayBufferView | undefined | null): Uint8Array | undefined =>
  a ? new Uint8Array(a.buffer, a.byteOffset, a.byteLength) : undefined;

/**
 * Convert one Data (and its children and dictionary) from big-endian to little-endian in place.
 * `done` remembers what was swapped: dictionaries are shared by every batch that uses them.
 */
function byteswapData(d: any, done: WeakSet<object>): void {
  if (!d || done.has(d)) return;
  done.add(d);
  const t = d.type as DataType & Record<string, any>;
  const values = asBytes(d.values);
  switch (t.typeId) {
    case Type.Int: case Type.Float: case Type.Date: case Type.Time: case Type.Timestamp: case Type.Duration:
      if (values) swapBytes(values, d.values.BYTES_PER_ELEMENT);
      break;
    case Type.Decimal:
      if (values) swapBytes(values, t.bitWidth / 8);
      break;
    case Type.Interval: {
      if (!values) break;
      if (t.unit === 2) { // MONTH_DAY_NANO: int32, int32, int64
        for (let i = 0; i + 16 <= values.length; i += 16) {
          swapBytes(values.subarray(i, i + 8), 4);
          swapBytes(values.subarray(i + 8, i + 16), 8);
        }
      } else {
        swapBytes(values, 4);
      }
      break;
    }
    default:
      break;
  }
  // offsets of variable-size and list types, dense union offsets
  const offsets = asBytes(d.valueOffsets);
  if (offsets) swapBytes(offsets, d.valueOffsets.BYTES_PER_ELEMENT);
  for (const c of d.children ?? []) byteswapData(c, done);
  if (d.dictionary) for (const c of d.dictionary.data ?? []) byteswapData(c, done);
}

/**
 * Check the offsets of every variable-size column (strings, binaries, lists, maps, dense unions)
 * against the data they index: corrupt offsets would make readers walk far past the data.
 */
function validateData(d: any, depth = 0): void {
  if (!d || depth > 64) return;
  const offs = d.valueOffsets as Int32Array | BigInt64Array | undefined;
  const t = d.type as DataType;
  if (offs && t.typeId !== Type.Union) {
    const child = d.children?.[0];
    const limit = t.typeId === Type.List || t.typeId === Type.LargeList || t.typeId === Type.Map
      ? (child?.length ?? 0) + (child?.offset ?? 0)
      : (d.values?.length ?? 0);
    const n = Math.min(offs.length - 1, d.length);
    let prev = Number(offs[0]);
    if (n >= 0 && (prev < 0 || prev > limit)) throw new Error(`offset ${prev} is outside the column's data`);
    for (let i = 1; i <= n; i++) {
      const o = Number(offs[i]);
      if (o < prev || o > limit) throw new Error(`offsets are not increasing within the data (row ${i - 1}: ${prev} -> ${o}, limit ${limit})`);
      prev = o;
    }
  } else if (offs && t.typeId === Type.Union) {
    const ids = d.typeIds as Int8Array;
    const map = (t as any).typeIdToChildIndex ?? {};
    for (let i = 0; i < Math.min(offs.length, d.length); i++) {
      const c = d.children?.[map[ids[i]] ?? ids[i]];
      if (c && (offs[i] < 0 || offs[i] >= c.length)) throw new Error('union offset outside its child');
    }
  }
  for (const c of d.children ?? []) validateData(c, depth + 1);
  if (d.dictionary) for (const c of d.dictionary.data ?? []) validateData(c, depth + 1);
}

/** How one output column is produced from an input batch column. */
interface ColumnPlan {
  index: number;
  field: Field;
  arrowField: ArrowField;
  convert: boolean; // rebuild (JSON text, decoded dictionary, view types) instead of passing through
}

function planColumns(schema: ArrowSchema): ColumnPlan[] {
  return schema.fields.map((af, index) => {
    const field = fieldFromArrow(af);
    const t = af.type as DataType;
    let convert = field.type === 'json' || t.typeId === Type.Utf8View || t.typeId === Type.BinaryView;
    if (t.typeId === Type.Dictionary) {
      const vt = (t as any).dictionary as DataType;
      convert = vt.typeId !== Type.Utf8 && vt.typeId !== Type.LargeUtf8;
    }
    if (t.typeId === Type.Null) {
      return { index, field: { name: af.name, type: 'string', nullable: true, original: 'null' } as Field, arrowField: new ArrowField(af.name, new Utf8(), true), convert: true };
    }
    const arrowField = convert ? new ArrowField(af.name, buildColumn(field, [], 0).type, true) : af;
    return { index, field, arrowField, convert };
  });
}

function convertBatch(batch: RecordBatch, plans: ColumnPlan[], outSchema: ArrowSchema): RecordBatch {
  const n = batch.numRows;
  const cols: Data[] = plans.map((p) => {
    const child = batch.data.children[p.index];
    if (!p.convert) return child;
    const vec = batch.getChildAt(p.index)!;
    const vals = new Array(n);
    for (let i = 0; i < n; i++) vals[i] = vec.get(i);
    return buildColumn(p.field, vals, n);
  });
  return batchFromData(outSchema, cols, n);
}

class ArrowSource implements Source {
  private constructor(private path: string, private ipc: IpcScan, private schema: ArrowSchema, private metadata: Record<string, string>) {}

  static async open(path: string): Promise<ArrowSource> {
    const f = await BoundedFile.open(path);
    let ipc: IpcScan;
    try {
      const head = await f.read(0, Math.min(f.size, 4), 'header');
      if (head[0] === 0x46 && head[1] === 0x45 && head[2] === 0x41 && head[3] === 0x31) {
        throw CdxError.file('E_UNSUPPORTED', path, 'Feather v1 files are not supported (re-save as Feather v2 / Arrow IPC)');
      }
      ipc = await walkIpc(f);
    } finally {
      await f.close();
    }
    const { reader, close } = await openReader(path, ipc.isFile);
    try {
      const schema = reader.schema;
      try {
        planColumns(schema);
      } catch (e) {
        throw wrapError(e, path, 'E_CORRUPT', 'invalid Arrow schema: ');
      }
      const hasUnion = (fs: readonly ArrowField[]): boolean =>
        fs.some((f) => f.type.typeId === Type.Union || hasUnion((f.type as any).children ?? []));
      if (ipc.version < 4 && hasUnion(schema.fields)) {
        // before format 1.0 unions carried a validity buffer; apache-arrow JS reads only the new layout
        throw CdxError.file('E_UNSUPPORTED', path, 'pre-1.0 union layout (with a validity buffer) is not supported by apache-arrow JS');
      }
      const metadata: Record<string, string> = {};
      for (const [k, v] of schema.metadata ?? []) metadata[k] = v;
      return new ArrowSource(path, ipc, schema, metadata);
    } finally {
      await close();
    }
  }

  async info(): Promise<SourceInfo> {
    const plans = planColumns(this.schema);
    const warnings: IngestWarning[] = plans.filter((p) => p.field.type === 'json').map((p) => ({
      code: 'W_NESTED_AS_JSON', column: p.field.name, message: `${p.field.original ?? 'nested'} column shown as JSON text`,
    }));
    if (this.ipc.bigEndian) warnings.push({ code: 'W_BYTESWAPPED', message: 'big-endian data, converted to little-endian while reading' });
    return {
      format: 'arrow',
      path: this.path,
      rows: this.ipc.rows,
      schema: schemaOf(plans.map((p) => p.field), this.metadata),
      metadata: this.metadata,
      warnings,
      ...(this.ipc.isFile && !this.ipc.compressed && !this.ipc.bigEndian ? { inPlace: { kind: 'arrow' as const, path: this.path } } : {}),
    };
  }

  async *scan(opts: ScanOptions = {}): AsyncIterable<RecordBatch> {
    let plans = planColumns(this.schema);
    if (opts.columns) {
      plans = opts.columns.map((c) => {
        const p = plans.find((x) => x.field.name === c);
        if (!p) throw CdxError.file('E_UNKNOWN_COLUMN', this.path, `no column named ${JSON.stringify(c)}`, { column: c });
        return p;
      });
    }
    const outSchema = new ArrowSchema(plans.map((p) => p.arrowField), this.schema.metadata);
    const passThrough = !opts.columns && plans.every((p) => !p.convert);
    const { reader, close } = await openReader(this.path, this.ipc.isFile);
    const swapped = new WeakSet<object>();
    let done = 0;
    try {
      for (;;) {
        checkAbort(opts.signal, this.path);
        let r: IteratorResult<RecordBatch>;
        try {
          r = await reader.next();
        } catch (e) {
          throw wrapError(e, this.path, 'E_CORRUPT', 'cannot read Arrow record batch: ');
        }
        if (r.done) break;
        const batch = r.value;
        if (this.ipc.bigEndian) for (const c of batch.data.children) byteswapData(c, swapped);
        try {
          for (const c of batch.data.children) validateData(c);
        } catch (e) {
          throw CdxError.file('E_CORRUPT', this.path, `corrupt record batch: ${(e as Error).message}`);
        }
        if (batch.numRows === 0 && this.ipc.rows > 0) continue;
        let out: RecordBatch;
        try {
          out = passThrough ? batch : convertBatch(batch, plans, outSchema);
        } catch (e) {
          const union = plans.find((p) => p.convert && /^(Dense|Sparse)?Union/.test(p.field.original ?? ''));
          if (union && /getValid/.test(String((e as Error)?.message))) {
            throw CdxError.file('E_UNSUPPORTED', this.path,
              `column ${union.field.name}: pre-1.0 union layout (with a validity buffer) is not supported by apache-arrow JS`);
          }
          throw wrapError(e, this.path, 'E_CORRUPT', 'cannot decode Arrow record batch: ');
        }
        const max = opts.batchRows ?? DEFAULT_BATCH_ROWS * 16;
        if (out.numRows > max) {
          for (let s = 0; s < out.numRows; s += max) yield out.slice(s, Math.min(out.numRows, s + max));
        } else {
          yield out;
        }
        done += batch.numRows;
        opts.onProgress?.(this.ipc.rows ? done / this.ipc.rows : 1);
      }
    } finally {
      await close();
    }
  }

  async close(): Promise<void> {}
}

async function openReader(path: string, isFile: boolean): Promise<{ reader: any; close: () => Promise<void> }> {
  let fh: FileHandle | undefined;
  let stream: ReturnType<typeof createReadStream> | undefined;
  try {
    let reader: any;
    if (isFile) {
      fh = await open(path, 'r');
      reader = await RecordBatchReader.from(fh as any);
    } else {
      stream = createReadStream(path);
      reader = await RecordBatchReader.from(stream as any);
    }
    await reader.open();
    if (!reader.schema) throw new Error('no schema');
    return {
      reader,
      close: async () => {
        try { await reader.cancel?.(); } catch { /* already closed */ }
        stream?.destroy();
        await fh?.close().catch(() => undefined);
      },
    };
  } catch (e) {
    stream?.destroy();
    await fh?.close().catch(() => undefined);
    const m = /Unrecognized type: "(\w+)"/.exec((e as Error)?.message ?? '');
    if (m) throw CdxError.file('E_UNSUPPORTED', path, `Arrow type ${m[1]} is not supported by apache-arrow JS`);
    throw wrapError(e, path, 'E_CORRUPT', 'cannot read Arrow IPC: ');
  }
}

export const arrowProvider: SourceProvider = {
  format: 'arrow',
  extensions: ['arrow', 'feather', 'ipc', 'arrows', 'stream', 'arrow_file', 'ft'],
  sniff(head: Uint8Array): boolean {
    if (startsWithMagic(head)) return true;
    // stream format: continuation marker then a schema message
    if (head.length >= 16 && head[0] === 0xff && head[1] === 0xff && head[2] === 0xff && head[3] === 0xff) {
      const len = new DataView(head.buffer, head.byteOffset).getInt32(4, true);
      if (len > 0 && 8 + len <= head.length) {
        try {
          return FbTable.root(head.subarray(8, 8 + len)).u8(1) === HEADER_SCHEMA;
        } catch {
          return false;
        }
      }
      return len > 0;
    }
    return false;
  },
  open: (path: string) => ArrowSource.open(path),
};
