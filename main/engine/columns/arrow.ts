/**
 * Uncompressed Arrow IPC *file* format → native column descriptors, used in place (no copy).
 * Reads only the footer and each batch's metadata (apache-arrow's flatbuffer decoders) and finds,
 * per column and record batch, the validity bitmap, offsets and data buffers; dictionary batches
 * (deltas concatenated) become the dictionary of a dictionary-encoded column. Every offset and
 * length is checked against the file's real size. Compressed bodies are refused (E_COMPRESSED:
 * such files go through the columnar cache).
 */
import { Type, type DataType, type Field, type Schema } from 'apache-arrow';
import { Footer } from 'apache-arrow/ipc/metadata/file';
import { Message } from 'apache-arrow/ipc/metadata/message';
import type { ChunkDesc, ColumnDesc, FileArg, LogicalType, NumericDType } from '../../../native/index';
import { FbTable, verifyMessageMetadata, verifyRecordBatch, verifySchema } from './flatbuf';
import { readAt, withFile } from './io';
import { CdxError, type ErrorCode } from '../../../shared/errors';

export interface UnsupportedColumn {
  name: string;
  kind: 'unsupported';
  /** the Arrow type, e.g. "List<Int32>" */
  type: string;
  reason: string;
}

export interface ArrowColumns {
  path: string;
  size: number;
  rows: number;
  schema: Schema;
  /** byte order of the file's buffers (Schema.endianness); the kernels read either */
  littleEndian: boolean;
  /** one entry per top-level field, in schema order */
  columns: (ColumnDesc | UnsupportedColumn)[];
  /** the readable column named `name` (throws E_NO_COLUMN / E_BAD_TYPE) */
  column(name: string): ColumnDesc;
}

export function isSupported(c: ColumnDesc | UnsupportedColumn): c is ColumnDesc {
  return c.kind !== 'unsupported';
}

interface Span { offset: number; length: number }
interface NodeBufs { length: number; nullCount: number; buffers: Span[] }

/** Buffers a field of this type owns in a record batch (children not counted), per the IPC spec. */
function bufferCount(t: DataType): number {
  switch (t.typeId) {
    case Type.Null: return 0;
    case Type.Utf8: case Type.Binary: case Type.LargeUtf8: case Type.LargeBinary: return 3;
    case Type.Struct: case Type.FixedSizeList: return 1;
    case Type.List: case Type.LargeList: case Type.Map: return 2;
    case Type.Union: return (t as unknown as { mode: number }).mode === 1 ? 2 : 1;
    default: return 2;
  }
}

function childrenOf(t: DataType): Field[] {
  return ((t as unknown as { children?: Field[] }).children ?? []) as Field[];
}

const TS_UNITS = ['s', 'ms', 'us', 'ns'] as const;

/**
 * Schema.endianness from the raw footer flatbuffer (apache-arrow's Schema does not expose it):
 * Footer field 1 = schema, Schema field 0 = endianness (0 little, 1 big). Returns true for little.
 */
export function footerLittleEndian(fb: Uint8Array): boolean {
  const dv = new DataView(fb.buffer, fb.byteOffset, fb.byteLength);
  const field = (table: number, i: number): number => {
    const vt = table - dv.getInt32(table, true);
    const vtSize = dv.getUint16(vt, true);
    const at = 4 + 2 * i;
    return at < vtSize ? dv.getUint16(vt + at, true) : 0;
  };
  try {
    const footer = dv.getUint32(0, true);
    const so = field(footer, 1);
    if (!so) return true;
    const schema = footer + so + dv.getUint32(footer + so, true);
    const eo = field(schema, 0);
    return eo ? dv.getInt16(schema + eo, true) === 0 : true;
  } catch {
    return true;
  }
}

interface Mapping {
  kind: 'numeric' | 'bool' | 'utf8' | 'large_utf8';
  dtype?: NumericDType;
  logical?: LogicalType;
}

/** How a (non-dictionary) Arrow type maps onto a native column, or a reason it cannot. */
function mapType(t: DataType): Mapping | string {
  const a = t as unknown as Record<string, number | string | null>;
  switch (t.typeId) {
    case Type.Int:
      return { kind: 'numeric', dtype: `${a.isSigned ? 'int' : 'uint'}${a.bitWidth}` as NumericDType };
    case Type.Float:
      return a.precision === 1 ? { kind: 'numeric', dtype: 'float32' } : a.precision === 2 ? { kind: 'numeric', dtype: 'float64' } : 'float16 is not supported';
    case Type.Bool:
      return { kind: 'bool' };
    case Type.Utf8:
      return { kind: 'utf8' };
    case Type.LargeUtf8:
      return { kind: 'large_utf8' };
    case Type.Date:
      return a.unit === 0
        ? { kind: 'numeric', dtype: 'int32', logical: { type: 'date', unit: 'day' } }
        : { kind: 'numeric', dtype: 'int64', logical: { type: 'date', unit: 'ms' } };
    case Type.Timestamp:
      return { kind: 'numeric', dtype: 'int64', logical: { type: 'timestamp', unit: TS_UNITS[a.unit as number] ?? 'ms', timezone: (a.timezone as string | null) ?? null } };
    case Type.Time:
      return { kind: 'numeric', dtype: a.bitWidth === 32 ? 'int32' : 'int64' };
    case Type.Duration:
      return { kind: 'numeric', dtype: 'int64' };
    default:
      return `${String(t)} is not supported by the native kernels`;
  }
}

/** Checks a message's flatbuffer (record or dictionary batch) before apache-arrow decodes it. */
function verifyMessage(fb: Uint8Array, bodyLen: number): void {
  const m = FbTable.root(fb);
  verifyMessageMetadata(m);
  const header = m.table(2);
  const type = m.u8(1);
  if (type === 3 && header) verifyRecordBatch(header, BigInt(bodyLen));
  else if (type === 2 && header) {
    const data = header.table(1);
    if (data) verifyRecordBatch(data, BigInt(bodyLen));
  }
}

/**
 * Parses an uncompressed Arrow IPC file. `file` (a path or an open NativeFile) goes into the descriptors.
 * apache-arrow decodes the flatbuffers lazily (a record batch's nodes when its header is read) and
 * throws its own TypeError / RangeError on a corrupt value (a length past 2^53, an offset outside
 * the buffer): whatever it throws while this reads the metadata is E_BAD_FORMAT naming the file
 * (found by main/engine/columns/fuzz.test.ts; regressions in native/fuzz/regressions/arrow/).
 */
export function readArrowColumns(path: string, file: FileArg = path): ArrowColumns {
  try {
    return readArrowColumnsOf(path, file);
  } catch (e) {
    if (e instanceof CdxError) throw e;
    throw CdxError.file('E_BAD_FORMAT', path, `unreadable Arrow metadata (${e instanceof Error ? e.message : String(e)})`, { cause: e });
  }
}

function readArrowColumnsOf(path: string, file: FileArg): ArrowColumns {
  return withFile(path, (fd, size) => {
    const fail = (code: ErrorCode, msg: string): never => {
      throw CdxError.file(code, path, msg);
    };
    if (size < 18) fail('E_TRUNCATED', `only ${size} bytes: too short to be an Arrow IPC file`);
    const td = new TextDecoder();
    const head = td.decode(readAt(fd, 0, 6));
    const tail = readAt(fd, size - 10, 10);
    if (head !== 'ARROW1' || td.decode(tail.subarray(4)) !== 'ARROW1')
      fail('E_BAD_FORMAT', 'not an Arrow IPC file (magic ARROW1 missing at the start or end)');
    const footerLen = new DataView(tail.buffer, tail.byteOffset).getInt32(0, true);
    if (footerLen <= 0 || footerLen > size - 18) fail('E_TRUNCATED', `footer length ${footerLen} does not fit in ${size} bytes`);
    let footer!: Footer;
    let le = true;
    try {
      const fbBytes = readAt(fd, size - 10 - footerLen, footerLen);
      // verified before apache-arrow decodes it (a corrupt vector length would exhaust memory)
      const ft = FbTable.root(fbBytes);
      const fs = ft.table(1);
      if (!fs) throw new Error('footer without a schema');
      verifySchema(fs);
      ft.vector(2, 24);
      ft.vector(3, 24);
      le = footerLittleEndian(fbBytes);
      footer = Footer.decode(fbBytes);
    } catch (e) {
      fail('E_BAD_FORMAT', `unreadable Arrow footer (${(e as Error).message})`);
    }
    const schema = footer.schema;

    /** Reads one block's message; returns its header and the absolute body start. */
    const readBlock = (what: string, offset: number, metaLen: number, bodyLen: number) => {
      if (!(offset >= 8) || !(metaLen >= 8) || !(bodyLen >= 0) || offset + metaLen + bodyLen > size)
        fail('E_TRUNCATED', `${what} (bytes ${offset}..${offset + metaLen + bodyLen}) lies past the end of the ${size}-byte file`);
      const meta = readAt(fd, offset, metaLen);
      const dv = new DataView(meta.buffer, meta.byteOffset, meta.byteLength);
      const cont = dv.getInt32(0, true) === -1;
      const fbLen = dv.getInt32(cont ? 4 : 0, true); // the IPC framing is little-endian in every file
      const fbStart = cont ? 8 : 4;
      if (fbLen <= 0 || fbStart + fbLen > metaLen) fail('E_BAD_FORMAT', `${what}: bad metadata length`);
      let msg!: Message;
      try {
        verifyMessage(meta.subarray(fbStart, fbStart + fbLen), bodyLen);
        msg = Message.decode(meta.subarray(fbStart, fbStart + fbLen));
      } catch (e) {
        fail('E_BAD_FORMAT', `${what}: unreadable metadata (${(e as Error).message})`);
      }
      return { msg, bodyStart: offset + metaLen, bodyLen };
    };

    /** Walks the nodes/buffers of a batch for the given fields. */
    const walk = (
      what: string,
      rb: { nodes: { length: number | bigint; nullCount: number | bigint }[]; buffers: { offset: number | bigint; length: number | bigint }[]; compression: unknown },
      types: DataType[],
      bodyStart: number,
      bodyLen: number,
    ): NodeBufs[] => {
      if (rb.compression) fail('E_COMPRESSED', 'the record batches are compressed; this file must be read through the cache');
      let node = 0, buf = 0;
      const take = (t: DataType): NodeBufs => {
        const n = rb.nodes[node++];
        if (!n) fail('E_BAD_FORMAT', `${what}: fewer field nodes than the schema needs`);
        const spans: Span[] = [];
        for (let i = 0; i < bufferCount(t); i++) {
          const r = rb.buffers[buf++];
          if (!r) fail('E_BAD_FORMAT', `${what}: fewer buffers than the schema needs`);
          const o = Number(r!.offset), l = Number(r!.length);
          if (!(o >= 0) || !(l >= 0) || o + l > bodyLen) fail('E_TRUNCATED', `${what}: a buffer lies outside the batch body`);
          spans.push({ offset: bodyStart + o, length: l });
        }
        for (const c of childrenOf(t)) take(c.type);
        return { length: Number(n!.length), nullCount: Number(n!.nullCount), buffers: spans };
      };
      return types.map(take);
    };

    const chunkOf = (m: Mapping | 'dict', nb: NodeBufs, what: string): ChunkDesc => {
      const [validity, b1, b2] = nb.buffers;
      const rows = nb.length;
      if (!(rows >= 0)) fail('E_BAD_FORMAT', `${what}: negative length`);
      const c: ChunkDesc = { rows, nullCount: nb.nullCount, data: b1!, validity: nb.nullCount > 0 && validity && validity.length > 0 ? { offset: validity.offset } : null };
      if (nb.nullCount > 0 && (!validity || validity.length * 8 < rows)) fail('E_BAD_FORMAT', `${what}: validity bitmap shorter than its rows`);
      if (m !== 'dict' && (m.kind === 'utf8' || m.kind === 'large_utf8')) {
        c.offsets = b1!;
        c.data = b2!;
        const w = m.kind === 'utf8' ? 4 : 8;
        if (rows > 0 && b1!.length < (rows + 1) * w) fail('E_BAD_FORMAT', `${what}: offsets buffer shorter than its rows`);
      }
      return c;
    };

    // Dictionaries: id -> chunks of the value column
    const dictChunks = new Map<number, ChunkDesc[]>();
    for (let d = 0; d < footer.numDictionaries; d++) {
      const block = footer.getDictionaryBatch(d)!;
      const what = `dictionary batch ${d}`;
      const { msg, bodyStart, bodyLen } = readBlock(what, Number(block.offset), block.metaDataLength, Number(block.bodyLength));
      if (!msg.isDictionaryBatch()) fail('E_BAD_FORMAT', `${what} is not a dictionary batch`);
      const db = msg.header() as unknown as { id: number; isDelta: boolean; data: Parameters<typeof walk>[1] };
      const vt = schema.dictionaries.get(Number(db.id));
      if (!vt) fail('E_BAD_FORMAT', `${what}: unknown dictionary id ${db.id}`);
      const [nb] = walk(what, db.data, [vt!], bodyStart, bodyLen);
      const m = mapType(vt!);
      if (typeof m === 'string') continue; // the column using it is reported unsupported below
      const list = db.isDelta ? dictChunks.get(Number(db.id)) ?? [] : [];
      list.push(chunkOf(m, nb!, what));
      dictChunks.set(Number(db.id), list);
    }

    const fields = schema.fields;
    const perField: ChunkDesc[][] = fields.map(() => []);
    let rows = 0;
    const types = fields.map((f) => (f.type.typeId === Type.Dictionary ? (f.type as unknown as { indices: DataType }).indices : f.type));
    for (let b = 0; b < footer.numRecordBatches; b++) {
      const block = footer.getRecordBatch(b)!;
      const what = `record batch ${b}`;
      const { msg, bodyStart, bodyLen } = readBlock(what, Number(block.offset), block.metaDataLength, Number(block.bodyLength));
      if (!msg.isRecordBatch()) fail('E_BAD_FORMAT', `block ${b} is not a record batch`);
      const rb = msg.header() as unknown as Parameters<typeof walk>[1] & { length: number | bigint };
      const nbs = walk(what, rb, types, bodyStart, bodyLen);
      fields.forEach((f, i) => {
        const t = f.type;
        const m: Mapping | 'dict' | string = t.typeId === Type.Dictionary ? 'dict' : mapType(t);
        if (typeof m === 'string' && m !== 'dict') return;
        const nb = nbs[i]!;
        if (nb.length !== Number(rb.length)) fail('E_BAD_FORMAT', `${what}: column ${f.name} has ${nb.length} rows, the batch ${rb.length}`);
        perField[i]!.push(chunkOf(m as Mapping | 'dict', nb, `${what}, column ${f.name}`));
      });
      rows += Number(rb.length);
    }

    const columns = fields.map((f, i): ColumnDesc | UnsupportedColumn => {
      const t = f.type;
      if (t.typeId === Type.Dictionary) {
        const dt = t as unknown as { id: number; indices: DataType; dictionary: DataType };
        const im = mapType(dt.indices);
        const vm = mapType(dt.dictionary);
        if (typeof im === 'string' || !im.dtype || im.dtype.startsWith('float')) return { name: f.name, kind: 'unsupported', type: String(t), reason: 'dictionary index is not an integer' };
        if (typeof vm === 'string' || (vm.kind !== 'utf8' && vm.kind !== 'large_utf8'))
          return { name: f.name, kind: 'unsupported', type: String(t), reason: 'only string dictionaries are supported' };
        const dchunks = dictChunks.get(Number(dt.id)) ?? [];
        return {
          name: f.name, file, kind: 'dict', dtype: im.dtype, littleEndian: le, chunks: perField[i]!,
          dictionary: { name: `${f.name}.dictionary`, file, kind: vm.kind, littleEndian: le, chunks: dchunks },
        };
      }
      const m = mapType(t);
      if (typeof m === 'string') return { name: f.name, kind: 'unsupported', type: String(t), reason: m };
      return { name: f.name, file, kind: m.kind, dtype: m.dtype, littleEndian: le, chunks: perField[i]!, ...(m.logical ? { logical: m.logical } : {}) };
    });
    return {
      path,
      size,
      rows,
      schema,
      littleEndian: le,
      columns,
      column(name: string): ColumnDesc {
        const c = columns.find((x) => x.name === name);
        if (!c) throw CdxError.file('E_UNKNOWN_COLUMN', path, `no column "${name}"`, { column: name });
        if (!isSupported(c)) throw CdxError.file('E_BAD_TYPE', path, `column "${name}" (${c.type}): ${c.reason}`, { column: name });
        return c;
      },
    };
  });
}
