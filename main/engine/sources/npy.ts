/**
 * NPY reader (numpy's array file). The header is a Python dict literal, parsed here by a small
 * literal parser (never evaluated); object arrays (pickled Python objects) are refused, never
 * unpickled. Supported: bool, every integer and float width (float16 included), complex (as `re`
 * and `im` columns), datetime64/timedelta64, fixed-width bytes and unicode strings, void bytes,
 * and structured dtypes (one column per field, sub-arrays flattened to `name_0`, `name_1`…), in
 * C or Fortran order and either byte order.
 *
 * Columns: a 1-D array is one column `c0`; a 2-D array's columns are `c0`, `c1`, …; higher
 * dimensions keep the first axis as rows and flatten the rest into columns. A structured array is
 * a table (all axes are rows).
 *
 * The declared shape is checked against the file size before anything is allocated (E_TRUNCATED).
 * A 1-D or Fortran-ordered 2-D little-endian numeric array is reported as usable in place.
 */
import type { RecordBatch } from 'apache-arrow';
import type { Field, TimeUnit } from '../../../shared/datashape';
import { BoundedFile, DEFAULT_BATCH_ROWS, buildBatch, checkAbort, schemaOf, selectFields } from './common';
import { type IngestWarning, type ScanOptions, type Source, type SourceInfo, type SourceProvider } from './types';
import { CdxError } from '../../../shared/errors';

/** Random access to the bytes of one array (a file, or a member of an NPZ archive). */
export interface ByteSource {
  size: number;
  read(pos: number, len: number, what?: string): Promise<Uint8Array>;
  close(): Promise<void>;
}

export const NPY_MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const MAX_HEADER = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Python literal parser (dicts, lists, tuples, strings, ints, True/False/None)

type PyValue = string | number | boolean | null | PyValue[] | { [k: string]: PyValue };

export function parsePyLiteral(text: string): PyValue {
  let i = 0;
  const ws = () => { while (i < text.length && /\s/.test(text[i])) i++; };
  const fail = (msg: string): never => { throw new Error(`${msg} at character ${i} of the header`); };
  let depth = 0;
  const value = (): PyValue => {
    ws();
    const c = text[i];
    if (c === '{' || c === '[' || c === '(') {
      if (++depth > 32) fail('nesting too deep');
      const close = c === '{' ? '}' : c === '[' ? ']' : ')';
      i++;
      const items: PyValue[] = [];
      const obj: Record<string, PyValue> = {};
      for (;;) {
        ws();
        if (text[i] === close) { i++; break; }
        const v = value();
        if (c === '{') {
          ws();
          if (text[i++] !== ':') fail('expected ":"');
          if (typeof v !== 'string') fail('dict keys must be strings');
          obj[v as string] = value();
        } else {
          items.push(v);
        }
        ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === close) { i++; break; }
        fail(`expected "," or "${close}"`);
      }
      depth--;
      return c === '{' ? obj : items;
    }
    if (c === "'" || c === '"') {
      i++;
      let s = '';
      while (i < text.length && text[i] !== c) {
        if (text[i] === '\\') { i++; s += text[i] ?? ''; i++; continue; }
        s += text[i++];
      }
      if (text[i] !== c) fail('unterminated string');
      i++;
      return s;
    }
    const m = /^(-?\d+)L?|^(True|False|None)/.exec(text.slice(i, i + 32));
    if (!m) return fail('unexpected token');
    i += m[0].length;
    if (m[2]) return m[2] === 'True' ? true : m[2] === 'False' ? false : null;
    return Number(m[1]);
  };
  const v = value();
  ws();
  if (i < text.length) fail('trailing characters');
  return v;
}

// ---------------------------------------------------------------------------------------------
// dtypes

/** One leaf column of a (possibly structured) dtype. */
interface Leaf {
  name: string;
  offset: number; // within one item
  kind: string; // b i u f c M m S U V
  size: number; // bytes of one element
  little: boolean;
  unit?: string; // datetime unit
  field: Field[]; // one field, or two for complex
}

const DT_UNITS: Record<string, TimeUnit> = { s: 's', ms: 'ms', us: 'us', ns: 'ns' };

function leafFor(name: string, descr: string, offset: number, path: string, warnings: IngestWarning[]): Leaf {
  const m = /^([<>|=!]?)([a-zA-Z?])(\d*)(?:\[(\w+)\])?$/.exec(descr);
  if (!m) throw CdxError.file('E_UNSUPPORTED', path, `unsupported NPY dtype ${JSON.stringify(descr)}`);
  const [, order, kindRaw, sizeStr, unit] = m;
  let kind = kindRaw;
  let size = sizeStr ? Number(sizeStr) : 0;
  if (kind === '?') { kind = 'b'; size = 1; }
  const little = order !== '>';
  const f = (type: Field['type'], extra: Partial<Field> = {}): Field => ({ name, type, nullable: false, ...extra });
  switch (kind) {
    case 'O':
      throw CdxError.file('E_UNSUPPORTED', path, 'object arrays hold pickled Python objects; CDX refuses them (never unpickled)');
    case 'b':
      return { name, offset, kind, size: 1, little, field: [f('bool')] };
    case 'i': case 'u':
      if (![1, 2, 4, 8].includes(size)) break;
      return { name, offset, kind, size, little, field: [f(`${kind === 'i' ? 'int' : 'uint'}${size * 8}` as Field['type'])] };
    case 'f':
      if (![2, 4, 8].includes(size)) break;
      return { name, offset, kind, size, little, field: [f(size === 2 ? 'float16' : size === 4 ? 'float32' : 'float64')] };
    case 'c':
      if (![8, 16].includes(size)) break;
      return {
        name, offset, kind, size, little,
        field: [f(size === 8 ? 'float32' : 'float64', { name: `${name}_re` }), f(size === 8 ? 'float32' : 'float64', { name: `${name}_im` })],
      };
    case 'M': case 'm': {
      if (size !== 8) break;
      if (kind === 'M' && unit === 'D') return { name, offset, kind, size, little, unit, field: [f('date', { nullable: true })] };
      const u = DT_UNITS[unit ?? ''];
      if (u) return { name, offset, kind, size, little, unit, field: [f(kind === 'M' ? 'timestamp' : 'duration', { unit: u, nullable: true })] };
      warnings.push({ code: 'W_UNSUPPORTED_TYPE', column: name, message: `${descr} has no matching unit; shown as int64 counts of ${unit}` });
      return { name, offset, kind: 'i', size, little, field: [f('int64', { original: descr })] };
    }
    case 'S': case 'a':
      return { name, offset, kind: 'S', size, little, field: [f('string', { original: descr })] };
    case 'U':
      return { name, offset, kind, size: size * 4, little, field: [f('string', { original: descr })] };
    case 'V':
      return { name, offset, kind, size, little, field: [f('binary', { original: descr })] };
    default:
      break;
  }
  throw CdxError.file('E_UNSUPPORTED', path, `unsupported NPY dtype ${JSON.stringify(descr)}`);
}

/** The most columns (leaves) a structured dtype may flatten to, and fields visited to find them. */
const MAX_LEAVES = 100_000;
const MAX_FIELD_VISITS = 1_000_000;

/**
 * Flatten a structured descr into leaves; returns the item size. Sub-array counts multiply at each
 * level (a 1e6-element sub-array of a 1e6-element sub-array is 1e12 fields in a header of a few
 * bytes), so the work is bounded: at most MAX_LEAVES columns and MAX_FIELD_VISITS fields visited.
 */
function structLeaves(descr: PyValue, prefix: string, base: number, path: string, out: Leaf[], warnings: IngestWarning[], depth = 0, budget = { visits: 0 }): number {
  if (depth > 8) throw CdxError.file('E_UNSUPPORTED', path, 'structured dtype nested too deeply');
  if (++budget.visits > MAX_FIELD_VISITS || out.length > MAX_LEAVES)
    throw CdxError.file('E_TOO_LARGE', path, `NPY header field 'descr': the structured dtype declares more than ${MAX_LEAVES} columns`);
  if (typeof descr === 'string') {
    const leaf = leafFor(prefix || 'c0', descr, base, path, warnings);
    out.push(leaf);
    return leaf.size;
  }
  if (!Array.isArray(descr)) throw CdxError.file('E_CORRUPT', path, 'NPY header: descr is neither a string nor a list');
  let off = 0;
  for (const item of descr) {
    if (!Array.isArray(item) || item.length < 2) throw CdxError.file('E_CORRUPT', path, 'NPY header: malformed structured field');
    let name = item[0];
    if (Array.isArray(name)) name = name[1]; // (title, name)
    if (typeof name !== 'string') throw CdxError.file('E_CORRUPT', path, 'NPY header: field name is not a string');
    const shape = (item[2] ?? []) as PyValue;
    const count = Array.isArray(shape) ? shape.reduce((a: number, b) => a * Number(b), 1) : Number(shape);
    if (!Number.isSafeInteger(count) || count < 0 || count > 1_000_000) throw CdxError.file('E_CORRUPT', path, 'NPY header: bad sub-array shape');
    const full = prefix ? `${prefix}.${name}` : name;
    const start = out.length;
    let size = 0;
    for (let k = 0; k < count; k++) {
      const leaves: Leaf[] = [];
      size = structLeaves(item[1], count > 1 || Array.isArray(shape) && shape.length ? `${full}_${k}` : full, base + off + k * size, path, leaves, warnings, depth + 1, budget);
      out.push(...leaves);
      if (out.length > MAX_LEAVES) throw CdxError.file('E_TOO_LARGE', path, `NPY header field 'descr': the structured dtype declares more than ${MAX_LEAVES} columns`);
    }
    if (name === '') out.splice(start); // unnamed padding bytes
    off += size * count;
  }
  return off;
}

export interface NpyHeader {
  dataOffset: number;
  shape: number[];
  fortran: boolean;
  itemSize: number;
  structured: boolean;
  leaves: Leaf[];
  rows: number;
  /** elements per row (columns per leaf group) for plain arrays */
  perRow: number;
  descr: string;
  warnings: IngestWarning[];
}

/** Parse and validate the header of an NPY byte source (`path` names the file in errors). */
export async function readNpyHeader(src: ByteSource, path: string): Promise<NpyHeader> {
  if (src.size < 10) throw CdxError.file('E_TRUNCATED', path, 'too short to be an NPY file');
  const pre = await src.read(0, Math.min(src.size, 12), 'NPY preamble');
  if (!NPY_MAGIC.every((b, i) => pre[i] === b)) throw CdxError.file('E_CORRUPT', path, 'not an NPY file (no \\x93NUMPY magic)');
  const major = pre[6];
  const dv = new DataView(pre.buffer, pre.byteOffset, pre.byteLength);
  let hlen: number;
  let hstart: number;
  if (major === 1) { hlen = dv.getUint16(8, true); hstart = 10; }
  else if (major === 2 || major === 3) {
    if (pre.length < 12) throw CdxError.file('E_TRUNCATED', path, 'NPY header truncated');
    hlen = dv.getUint32(8, true); hstart = 12;
  } else throw CdxError.file('E_UNSUPPORTED', path, `NPY format version ${major} is not supported`);
  if (hlen > MAX_HEADER) throw CdxError.file('E_CORRUPT', path, `NPY header declares ${hlen} bytes`);
  if (hstart + hlen > src.size) throw CdxError.file('E_TRUNCATED', path, 'NPY header runs past the end of the file');
  const htext = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(await src.read(hstart, hlen, 'NPY header'));
  let h: any;
  try {
    h = parsePyLiteral(htext.trim());
  } catch (e) {
    throw CdxError.file('E_CORRUPT', path, `NPY header is not a valid literal: ${(e as Error).message}`);
  }
  if (!h || typeof h !== 'object' || Array.isArray(h) || !('descr' in h) || !('shape' in h)) {
    throw CdxError.file('E_CORRUPT', path, 'NPY header lacks descr or shape');
  }
  const shape = h.shape;
  if (!Array.isArray(shape) || shape.some((d: any) => typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0)) {
    throw CdxError.file('E_CORRUPT', path, `NPY header: invalid shape ${JSON.stringify(shape)}`);
  }
  const warnings: IngestWarning[] = [];
  const leaves: Leaf[] = [];
  const structured = typeof h.descr !== 'string';
  const itemSize = structLeaves(h.descr, '', 0, path, leaves, warnings);
  if (itemSize <= 0 && leaves.length) throw CdxError.file('E_CORRUPT', path, 'NPY dtype has zero size');
  const dataOffset = hstart + hlen;
  let count = 1;
  for (const d of shape) {
    count *= d;
    if (!Number.isSafeInteger(count)) throw CdxError.file('E_TRUNCATED', path, `declared shape ${JSON.stringify(shape)} is impossibly large`);
  }
  const need = count * itemSize;
  if (!Number.isSafeInteger(need) || dataOffset + need > src.size) {
    throw CdxError.file('E_TRUNCATED', path,
      `declared shape (${shape.join(', ')}) of ${h.descr && typeof h.descr === 'string' ? h.descr : 'records'} needs ${need} bytes but only ${Math.max(0, src.size - dataOffset)} follow the header`);
  }
  let rows: number;
  let perRow: number;
  if (structured || shape.length === 0) { rows = count; perRow = 1; }
  else { rows = shape[0]; perRow = shape.length === 1 ? 1 : count / Math.max(1, shape[0]); if (shape[0] === 0) perRow = shape.slice(1).reduce((a: number, b: number) => a * b, 1); }
  if (!structured && perRow > 100_000) throw CdxError.file('E_UNSUPPORTED', path, `an array with ${perRow} columns is too wide to show as a table`);
  if (!structured && shape.length > 2) warnings.push({ code: 'W_RESHAPED', message: `a ${shape.length}-D array is shown as ${rows} rows of ${perRow} columns` });
  return { dataOffset, shape, fortran: h.fortran_order === true, itemSize, structured, leaves, rows, perRow, descr: typeof h.descr === 'string' ? h.descr : 'structured', warnings };
}

/** Output fields in order. */
function fieldsOf(h: NpyHeader): Field[] {
  if (h.structured) return h.leaves.flatMap((l) => l.field);
  const leaf = h.leaves[0];
  const out: Field[] = [];
  for (let j = 0; j < h.perRow; j++) {
    for (const f of leaf.field) out.push({ ...f, name: leaf.field.length > 1 ? `c${j}_${f.name.endsWith('_re') ? 're' : 'im'}` : `c${j}` });
  }
  return out;
}

const NAT = -(2n ** 63n);
const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8');

/** Decode `n` elements of one leaf from `buf`, element k at byte `start + k*stride`. */
function decodeLeaf(leaf: Leaf, buf: Uint8Array, start: number, stride: number, n: number): ArrayLike<unknown>[] {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const le = leaf.little;
  const at = (k: number) => start + k * stride;
  switch (leaf.kind) {
    case 'b': { const a = new Uint8Array(n); for (let k = 0; k < n; k++) a[k] = buf[at(k)] ? 1 : 0; return [Array.from(a, (x) => x === 1)]; }
    case 'i': case 'u': {
      const s = leaf.size;
      if (s === 8) {
        const a = leaf.kind === 'i' ? new BigInt64Array(n) : new BigUint64Array(n);
        for (let k = 0; k < n; k++) a[k] = leaf.kind === 'i' ? dv.getBigInt64(at(k), le) : dv.getBigUint64(at(k), le) as any;
        return [a];
      }
      const C = leaf.kind === 'i' ? (s === 1 ? Int8Array : s === 2 ? Int16Array : Int32Array) : (s === 1 ? Uint8Array : s === 2 ? Uint16Array : Uint32Array);
      const a = new C(n);
      const get = leaf.kind === 'i'
        ? (s === 1 ? (o: number) => dv.getInt8(o) : s === 2 ? (o: number) => dv.getInt16(o, le) : (o: number) => dv.getInt32(o, le))
        : (s === 1 ? (o: number) => dv.getUint8(o) : s === 2 ? (o: number) => dv.getUint16(o, le) : (o: number) => dv.getUint32(o, le));
      for (let k = 0; k < n; k++) a[k] = get(at(k));
      return [a];
    }
    case 'f': {
      if (leaf.size === 2) { const a = new Uint16Array(n); for (let k = 0; k < n; k++) a[k] = dv.getUint16(at(k), le); return [a]; }
      if (leaf.size === 4) { const a = new Float32Array(n); for (let k = 0; k < n; k++) a[k] = dv.getFloat32(at(k), le); return [a]; }
      const a = new Float64Array(n); for (let k = 0; k < n; k++) a[k] = dv.getFloat64(at(k), le); return [a];
    }
    case 'c': {
      const h = leaf.size / 2;
      const C = h === 4 ? Float32Array : Float64Array;
      const re = new C(n); const im = new C(n);
      for (let k = 0; k < n; k++) {
        re[k] = h === 4 ? dv.getFloat32(at(k), le) : dv.getFloat64(at(k), le);
        im[k] = h === 4 ? dv.getFloat32(at(k) + h, le) : dv.getFloat64(at(k) + h, le);
      }
      return [re, im];
    }
    case 'M': case 'm': {
      const a: (bigint | number | null)[] = new Array(n);
      for (let k = 0; k < n; k++) {
        const v = dv.getBigInt64(at(k), le);
        a[k] = v === NAT ? null : leaf.unit === 'D' ? Number(v) : v;
      }
      return [a];
    }
    case 'S': {
      const a: string[] = new Array(n);
      for (let k = 0; k < n; k++) {
        let e = at(k) + leaf.size;
        while (e > at(k) && buf[e - 1] === 0) e--;
        const b = buf.subarray(at(k), e);
        try { a[k] = new TextDecoder('utf-8', { fatal: true }).decode(b); } catch { a[k] = latin1.decode(b); }
      }
      return [a];
    }
    case 'U': {
      const a: string[] = new Array(n);
      const chars = leaf.size / 4;
      for (let k = 0; k < n; k++) {
        let s = '';
        for (let c = 0; c < chars; c++) {
          const cp = dv.getUint32(at(k) + c * 4, le);
          if (cp === 0) break;
          s += cp <= 0x10ffff ? String.fromCodePoint(cp) : '\ufffd';
        }
        a[k] = s;
      }
      return [a];
    }
    case 'V': {
      const a: Uint8Array[] = new Array(n);
      for (let k = 0; k < n; k++) a[k] = buf.slice(at(k), at(k) + leaf.size);
      return [a];
    }
    default:
      return [new Array(n).fill(null)];
  }
}
void utf8;

/** The Source for one NPY array held in a ByteSource. */
export class NpySource implements Source {
  constructor(private src: ByteSource, private path: string, private h: NpyHeader, private format: 'npy' | 'npz' = 'npy', private inner?: string, private inPlaceOk = false) {}

  static async open(path: string): Promise<NpySource> {
    const f = await BoundedFile.open(path);
    const src: ByteSource = { size: f.size, read: (p, l, w) => f.read(p, l, w), close: () => f.close() };
    try {
      return new NpySource(src, path, await readNpyHeader(src, path), 'npy', undefined, true);
    } catch (e) {
      await f.close();
      throw e;
    }
  }

  async info(): Promise<SourceInfo> {
    const h = this.h;
    const leaf = h.leaves[0];
    const mappable = this.inPlaceOk && !h.structured && leaf && leaf.little && 'biuf'.includes(leaf.kind)
      && (h.shape.length <= 1 || (h.shape.length === 2 && (h.fortran || h.shape[1] === 1)));
    return {
      format: this.format,
      path: this.path,
      ...(this.inner !== undefined ? { inner: this.inner } : {}),
      rows: h.rows,
      schema: schemaOf(fieldsOf(h)),
      metadata: { 'npy.descr': h.descr, 'npy.shape': `(${h.shape.join(', ')})`, 'npy.fortran_order': String(h.fortran) },
      warnings: [...h.warnings],
      ...(mappable ? { inPlace: { kind: 'npy' as const, path: this.path } } : {}),
    };
  }

  async *scan(opts: ScanOptions = {}): AsyncIterable<RecordBatch> {
    const h = this.h;
    const all = fieldsOf(h);
    const fields = selectFields(all, opts.columns, this.path);
    const idx = fields.map((f) => all.indexOf(f));
    const rowBytes = h.itemSize * (h.structured ? 1 : h.perRow);
    // aim for about 16 MiB of input per batch
    const batchRows = Math.max(1, Math.min(opts.batchRows ?? DEFAULT_BATCH_ROWS * 4, Math.floor((16 << 20) / Math.max(1, rowBytes))));
    for (let s = 0; s < h.rows; s += batchRows) {
      checkAbort(opts.signal, this.path);
      const n = Math.min(batchRows, h.rows - s);
      const cols: ArrayLike<unknown>[] = [];
      if (h.structured || h.perRow === 1 || !h.fortran) {
        const buf = await this.src.read(h.dataOffset + s * rowBytes, n * rowBytes, 'array data');
        if (h.structured) {
          for (const leaf of h.leaves) cols.push(...decodeLeaf(leaf, buf, leaf.offset, rowBytes, n));
        } else {
          for (let j = 0; j < h.perRow; j++) cols.push(...decodeLeaf(h.leaves[0], buf, j * h.itemSize, rowBytes, n));
        }
      } else {
        // Fortran order: column j is contiguous
        const wanted = new Set(idx.map((i) => Math.floor(i / h.leaves[0].field.length)));
        for (let j = 0; j < h.perRow; j++) {
          if (!wanted.has(j)) { for (let k = 0; k < h.leaves[0].field.length; k++) cols.push([]); continue; }
          const buf = await this.src.read(h.dataOffset + (j * h.rows + s) * h.itemSize, n * h.itemSize, 'array data');
          cols.push(...decodeLeaf(h.leaves[0], buf, 0, h.itemSize, n));
        }
      }
      yield buildBatch(fields, idx.map((i) => cols[i]), n);
      opts.onProgress?.((s + n) / Math.max(1, h.rows));
    }
  }

  async close(): Promise<void> {
    await this.src.close();
  }
}

export const npyProvider: SourceProvider = {
  format: 'npy',
  extensions: ['npy'],
  sniff: (head: Uint8Array) => NPY_MAGIC.every((b, i) => head[i] === b),
  open: (path: string) => NpySource.open(path),
};
