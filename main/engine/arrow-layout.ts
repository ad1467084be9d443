/**
 * Where each column's bytes are inside an uncompressed Arrow IPC *file*, so that native kernels can
 * read them in place from the mapping (no copy, no decode in JavaScript). Reads only the footer and
 * the record-batch metadata (apache-arrow's own flatbuffer decoders); every offset and length is
 * checked against the file's real size before use.
 */
import { openSync, readSync, closeSync, fstatSync } from 'node:fs';
import { Type, type DataType, type Field as ArrowField } from 'apache-arrow';
import { Footer } from 'apache-arrow/ipc/metadata/file';
import { Message } from 'apache-arrow/ipc/metadata/message';
import type { Field, Schema } from '../../shared/datashape';
import type { NumericDType, Region } from '../../native/index';

export class LayoutError extends Error {
  constructor(
    public code: string,
    public path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
  }
}

export interface BufferSpan {
  offset: number;
  length: number;
}

export interface ColumnChunk {
  length: number;
  nullCount: number;
  buffers: BufferSpan[];
}

export interface ArrowFileLayout {
  path: string;
  size: number;
  rows: number;
  schema: Schema;
  /** per top-level column, per batch: its node and buffers (absolute file offsets) */
  chunks: Map<string, ColumnChunk[]>;
  /** the data regions of a fixed-width numeric column, one per batch */
  numericRegions(column: string): Region[];
}

const MAGIC = 'ARROW1';

function readAt(fd: number, offset: number, length: number): Uint8Array {
  const buf = new Uint8Array(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, offset + got);
    if (n === 0) break;
    got += n;
  }
  return got === length ? buf : buf.subarray(0, got);
}

/** The number of buffers a field of this type owns in a record batch (children not counted). */
function bufferCount(t: DataType): number {
  switch (t.typeId) {
    case Type.Null:
      return 0;
    case Type.Utf8:
    case Type.Binary:
    case Type.LargeUtf8:
    case Type.LargeBinary:
      return 3;
    case Type.Struct:
    case Type.FixedSizeList:
      return 1;
    case Type.List:
    case Type.Map:
      return 2;
    case Type.Union:
      return (t as unknown as { mode: number }).mode === 1 ? 2 : 1; // dense: type ids + offsets
    default:
      return 2; // validity + data (ints, floats, bool, dates, times, decimals, dictionary indices, ...)
  }
}

function childrenOf(t: DataType): ArrowField[] {
  return ((t as unknown as { children?: ArrowField[] }).children ?? []) as ArrowField[];
}

const NUMERIC: Partial<Record<number, (t: DataType) => NumericDType | null>> = {
  [Type.Int]: (t) => {
    const { bitWidth, isSigned } = t as unknown as { bitWidth: number; isSigned: boolean };
    return `${isSigned ? 'int' : 'uint'}${bitWidth}` as NumericDType;
  },
  [Type.Float]: (t) => {
    const p = (t as unknown as { precision: number }).precision;
    return p === 1 ? 'float32' : p === 2 ? 'float64' : null;
  },
};

/** Arrow type → the DataShape vocabulary. */
export function fieldFromArrow(f: ArrowField): Field {
  const t = f.type as DataType & Record<string, unknown>;
  const base = { name: f.name, nullable: f.nullable };
  const units = ['s', 'ms', 'us', 'ns'] as const;
  switch (t.typeId) {
    case Type.Bool:
      return { ...base, type: 'bool' };
    case Type.Int:
    case Type.Float: {
      const d = NUMERIC[t.typeId]!(t);
      return { ...base, type: d ?? 'float16' };
    }
    case Type.Utf8:
    case Type.LargeUtf8:
      return { ...base, type: 'string' };
    case Type.Binary:
    case Type.LargeBinary:
    case Type.FixedSizeBinary:
      return { ...base, type: 'binary' };
    case Type.Date:
      return { ...base, type: 'date' };
    case Type.Time:
      return { ...base, type: 'time', unit: units[t.unit as number] };
    case Type.Timestamp:
      return { ...base, type: 'timestamp', unit: units[t.unit as number], ...(t.timezone ? { tz: String(t.timezone) } : {}) };
    case Type.Duration:
      return { ...base, type: 'duration', unit: units[t.unit as number] };
    case Type.Interval:
      return { ...base, type: 'interval' };
    case Type.Decimal:
      return { ...base, type: 'decimal', precision: t.precision as number, scale: t.scale as number };
    case Type.Dictionary: {
      const inner = fieldFromArrow({ name: f.name, nullable: f.nullable, type: (t as unknown as { dictionary: DataType }).dictionary } as ArrowField);
      return { ...inner, dictionary: true };
    }
    default:
      return { ...base, type: 'json', original: String(t) };
  }
}

/** Reads the layout of an Arrow IPC file. Refuses compressed bodies (those go through the cache). */
export function readArrowLayout(path: string): ArrowFileLayout {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new LayoutError(err.code ?? 'EIO', path, err.code === 'ENOENT' ? 'no such file' : err.message);
  }
  try {
    const size = fstatSync(fd).size;
    if (size < 18) throw new LayoutError('E_TRUNCATED', path, `only ${size} bytes: too short to be an Arrow IPC file`);
    const head = new TextDecoder().decode(readAt(fd, 0, 6));
    const tail = readAt(fd, size - 10, 10);
    if (head !== MAGIC || new TextDecoder().decode(tail.subarray(4)) !== MAGIC) {
      throw new LayoutError('E_BAD_FORMAT', path, 'not an Arrow IPC file (magic ARROW1 missing at the start or end)');
    }
    const footerLen = new DataView(tail.buffer, tail.byteOffset).getInt32(0, true);
    if (footerLen <= 0 || footerLen > size - 18) throw new LayoutError('E_TRUNCATED', path, `footer length ${footerLen} does not fit in ${size} bytes`);
    let footer: Footer;
    try {
      footer = Footer.decode(readAt(fd, size - 10 - footerLen, footerLen));
    } catch (e) {
      throw new LayoutError('E_BAD_FORMAT', path, `unreadable Arrow footer (${(e as Error).message})`);
    }
    const fields = footer.schema.fields;
    const chunks = new Map<string, ColumnChunk[]>(fields.map((f) => [f.name, []]));
    let rows = 0;
    for (let b = 0; b < footer.numRecordBatches; b++) {
      const block = footer.getRecordBatch(b)!;
      const offset = Number(block.offset);
      const metaLen = block.metaDataLength;
      const bodyLen = Number(block.bodyLength);
      if (offset < 8 || offset + metaLen + bodyLen > size) {
        throw new LayoutError('E_TRUNCATED', path, `record batch ${b} (bytes ${offset}..${offset + metaLen + bodyLen}) lies past the end of the ${size}-byte file`);
      }
      const meta = readAt(fd, offset, metaLen);
      const dv = new DataView(meta.buffer, meta.byteOffset, meta.byteLength);
      const cont = dv.getInt32(0, true) === -1;
      const fbLen = dv.getInt32(cont ? 4 : 0, true);
      const fbStart = cont ? 8 : 4;
      if (fbLen <= 0 || fbStart + fbLen > metaLen) throw new LayoutError('E_BAD_FORMAT', path, `record batch ${b}: bad metadata length`);
      let msg: Message;
      try {
        msg = Message.decode(meta.subarray(fbStart, fbStart + fbLen));
      } catch (e) {
        throw new LayoutError('E_BAD_FORMAT', path, `record batch ${b}: unreadable metadata (${(e as Error).message})`);
      }
      if (!msg.isRecordBatch()) throw new LayoutError('E_BAD_FORMAT', path, `block ${b} is not a record batch`);
      const rb = msg.header();
      if (rb.compression) throw new LayoutError('E_COMPRESSED', path, 'the record batches are compressed; this file must be read through the cache');
      const bodyStart = offset + metaLen;
      let node = 0;
      let buf = 0;
      const take = (t: DataType): { node: { length: number; nullCount: number }; buffers: BufferSpan[] } => {
        const n = rb.nodes[node++];
        if (!n) throw new LayoutError('E_BAD_FORMAT', path, `record batch ${b}: fewer field nodes than the schema needs`);
        const spans: BufferSpan[] = [];
        for (let i = 0; i < bufferCount(t); i++) {
          const r = rb.buffers[buf++];
          if (!r) throw new LayoutError('E_BAD_FORMAT', path, `record batch ${b}: fewer buffers than the schema needs`);
          const o = Number(r.offset), l = Number(r.length);
          if (o < 0 || l < 0 || o + l > bodyLen) throw new LayoutError('E_TRUNCATED', path, `record batch ${b}: a buffer lies outside the batch body`);
          spans.push({ offset: bodyStart + o, length: l });
        }
        for (const c of childrenOf(t)) take(c.type);
        return { node: { length: Number(n.length), nullCount: Number(n.nullCount) }, buffers: spans };
      };
      for (const f of fields) {
        const { node: n, buffers } = take(f.type);
        chunks.get(f.name)!.push({ length: n.length, nullCount: n.nullCount, buffers });
      }
      rows += Number(rb.length);
    }
    const schema: Schema = { fields: fields.map(fieldFromArrow) };
    return {
      path,
      size,
      rows,
      schema,
      chunks,
      numericRegions(column: string): Region[] {
        const f = fields.find((x) => x.name === column);
        if (!f) throw new LayoutError('E_NO_COLUMN', path, `no column "${column}"`);
        const dtype = NUMERIC[f.type.typeId]?.(f.type) ?? null;
        if (!dtype) throw new LayoutError('E_BAD_TYPE', path, `column "${column}" is ${String(f.type)}, not a fixed-width number`);
        const width = Number(dtype.replace(/\D/g, '')) / 8;
        return chunks.get(column)!.map((c) => {
          const data = c.buffers[1]!;
          if (c.length * width > data.length) throw new LayoutError('E_TRUNCATED', path, `column "${column}": data buffer shorter than its length`);
          return { offset: data.offset, count: c.length, dtype };
        });
      },
    };
  } finally {
    closeSync(fd);
  }
}
