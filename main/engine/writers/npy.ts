/**
 * NumPy writers: NPY (one array: 1-D for one column, 2-D rows × columns for several, of one common
 * dtype) and NPZ (a zip of one .npy per column, as `np.savez` writes; numpy loads it lazily).
 * Numeric, bool, date, timestamp and duration columns are written (dates/timestamps as
 * datetime64, durations as timedelta64, both with NaT for null); text, bytes and nested columns are
 * left out and said so in the report (NumPy has no nullable strings).
 * Streaming: the header is written first with room for the row count, the data batch by batch, and
 * the count patched into the header at the end; NPZ members are written to temporary files beside
 * OUT and stored (uncompressed, ZIP64 when large) into the archive at the end, then removed.
 */
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import type { Data, RecordBatch } from 'apache-arrow';
import type { Field } from '../../../shared/datashape';
import {
  checkOptions, choiceOption,
  type ColumnFidelity, type FidelityReport, type Writer, type WriterProvider,
} from './types';
import { CdxError } from '../../../shared/errors';
import { cellReader, typeLabel } from './values';

const NAT = -(1n << 63n);

type Kind = 'int' | 'bigint' | 'float' | 'half' | 'bool' | 'datetime' | 'decimal';

interface ColPlan {
  field: Field;
  /** numpy descr of this column on its own (NPZ) */
  descr: string;
  kind: Kind;
}

const intDescr: Record<string, string> = {
  int8: '|i1', int16: '<i2', int32: '<i4', int64: '<i8', uint8: '|u1', uint16: '<u2', uint32: '<u4', uint64: '<u8',
};

function colPlan(f: Field): ColPlan | undefined {
  if (f.type in intDescr) return { field: f, descr: intDescr[f.type], kind: f.type.endsWith('64') ? 'bigint' : 'int' };
  switch (f.type) {
    case 'float16': return { field: f, descr: '<f2', kind: 'half' };
    case 'float32': return { field: f, descr: '<f4', kind: 'float' };
    case 'float64': return { field: f, descr: '<f8', kind: 'float' };
    case 'decimal': return { field: f, descr: '<f8', kind: 'decimal' };
    case 'bool': return { field: f, descr: '|b1', kind: 'bool' };
    case 'date': return { field: f, descr: '<M8[D]', kind: 'datetime' };
    case 'timestamp': return { field: f, descr: `<M8[${f.unit ?? 'us'}]`, kind: 'datetime' };
    case 'duration': return { field: f, descr: `<m8[${f.unit ?? 'us'}]`, kind: 'datetime' };
    default: return undefined;
  }
}

// `any`: one code path fills number- and bigint-element typed arrays alike (which one is decided
// by the dtype at run time); TypeScript cannot index a union of them for writing
const ctorOf: Record<string, any> = {
  '|i1': Int8Array, '<i2': Int16Array, '<i4': Int32Array, '<i8': BigInt64Array,
  '|u1': Uint8Array, '<u2': Uint16Array, '<u4': Uint32Array, '<u8': BigUint64Array,
  '<f2': Uint16Array, '<f4': Float32Array, '<f8': Float64Array, '|b1': Uint8Array,
};
function ctorFor(descr: string): any {
  return ctorOf[descr] ?? BigInt64Array; // datetime64 / timedelta64
}

/** The dtype a set of columns shares in one 2-D array. */
function commonDescr(plans: ColPlan[]): string {
  const ds = [...new Set(plans.map((p) => p.descr))];
  if (ds.length === 1) return ds[0];
  if (plans.every((p) => p.kind === 'int' || p.kind === 'bigint' || p.kind === 'bool') && !plans.some((p) => p.descr === '<u8')) return '<i8';
  return '<f8';
}

/** Column values as `descr` (the column's own dtype or the common one) plus a null mask (1 = null) when any. */
function columnValues(p: ColPlan, data: Data, n: number, descr: string): { values: any; mask?: Uint8Array } {
  const C = ctorFor(descr);
  const out = new C(n);
  const r = cellReader(data.type);
  let mask: Uint8Array | undefined;
  const toFloat = descr === '<f8' || descr === '<f4';
  const toBig = out instanceof BigInt64Array || out instanceof BigUint64Array;
  const raw = data.values as any; // float16 columns: the raw uint16 bits, copied as they are
  for (let i = 0; i < n; i++) {
    if (!data.getValid(i)) {
      (mask ??= new Uint8Array(n))[i] = 1;
      if (toFloat) out[i] = NaN;
      else if (descr.startsWith('<M8') || descr.startsWith('<m8')) out[i] = NAT;
      else if (descr === '<f2') out[i] = 0x7e00; // half NaN
      else out[i] = toBig ? 0n : 0;
      continue;
    }
    if (descr === '<f2' && p.kind === 'half') {
      out[i] = raw[i];
      continue;
    }
    const v = r.get(data, i);
    if (toFloat) out[i] = typeof v === 'string' ? Number(v) : Number(v);
    else if (toBig) out[i] = typeof v === 'bigint' ? v : BigInt(typeof v === 'boolean' ? (v ? 1 : 0) : (v as number));
    else out[i] = typeof v === 'boolean' ? (v ? 1 : 0) : (v as number);
  }
  return { values: out, ...(mask ? { mask } : {}) };
}

function fidelity(f: Field, p: ColPlan | undefined, descr: string | undefined, npz: boolean): ColumnFidelity {
  const from = typeLabel(f);
  if (!p || !descr) return { column: f.name, from, to: '(not written)', status: 'lost', note: 'NumPy arrays here hold numbers, bools and dates; text, bytes and nested values are left out' };
  const notes: string[] = [];
  let status: ColumnFidelity['status'] = 'kept';
  if (descr !== p.descr) {
    status = descr === '<f8' && (p.kind === 'bigint' || f.type === 'uint64' || f.type === 'int64') ? 'lost' : 'converted';
    notes.push(`promoted to the array's common dtype ${descr}${status === 'lost' ? ' (integers beyond 2^53 are rounded)' : ''}`);
  }
  if (p.kind === 'decimal') {
    status = 'lost';
    notes.push('decimal as float64 (rounded to 15-17 significant digits)');
  }
  if (p.kind === 'datetime' && f.tz) {
    status = 'lost';
    notes.push(`datetime64 has no zone: UTC values, the zone "${f.tz}" is lost`);
  }
  if (f.type === 'bool' && descr === '|b1') notes.push('bool');
  if (f.nullable) {
    if (descr.startsWith('<M8') || descr.startsWith('<m8')) notes.push('nulls as NaT');
    else if (npz) notes.push(`nulls written as ${descr.startsWith('<f') ? 'NaN' : '0'} plus a bool array "${f.name}__null" (True = null), written only when a null occurs`);
    else if (descr.startsWith('<f')) {
      notes.push('nulls as NaN (indistinguishable from a NaN value)');
      if (status === 'kept') status = 'converted';
    } else {
      notes.push('nulls written as 0 (NPY has no missing values: write NPZ for a null mask, or filter with `is not null`)');
      status = 'lost';
    }
  }
  return { column: f.name, from, to: descr, status, ...(notes.length ? { note: notes.join('; ') } : {}) };
}

/** An .npy file written incrementally with its row count patched in at the end. */
class NpyFile {
  rows = 0;
  private pos = 0;
  private constructor(private fh: FileHandle, private descr: string, private cols: number | null, private headerLen: number) {}
  static header(descr: string, rows: number, cols: number | null): Uint8Array {
    const shape = cols === null ? `(${String(rows).padEnd(20)},)` : `(${String(rows).padEnd(20)}, ${cols})`;
    let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
    const total = 10 + dict.length + 1;
    dict += ' '.repeat((64 - (total % 64)) % 64) + '\n';
    const h = Buffer.alloc(10 + dict.length);
    h.write('\x93NUMPY', 0, 'latin1');
    h[6] = 1;
    h[7] = 0;
    h.writeUInt16LE(dict.length, 8);
    h.write(dict, 10, 'latin1');
    return h;
  }
  static async create(path: string, descr: string, cols: number | null): Promise<NpyFile> {
    const fh = await open(path, 'wx');
    const h = NpyFile.header(descr, 0, cols);
    await fh.write(h, 0, h.length, 0);
    const f = new NpyFile(fh, descr, cols, h.length);
    f.pos = h.length;
    return f;
  }
  async append(values: ArrayBufferView, rows: number): Promise<void> {
    const b = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    let done = 0;
    while (done < b.length) {
      const { bytesWritten } = await this.fh.write(b, done, b.length - done, this.pos + done);
      done += bytesWritten;
    }
    this.pos += b.length;
    this.rows += rows;
  }
  async close(): Promise<number> {
    const h = NpyFile.header(this.descr, this.rows, this.cols);
    if (h.length !== this.headerLen) throw new CdxError('E_INTERNAL', 'npy header grew while writing');
    await this.fh.write(h, 0, h.length, 0);
    await this.fh.close();
    return this.pos;
  }
  async abort(): Promise<void> {
    await this.fh.close().catch(() => undefined);
  }
}

// ------------------------------------------------------------------------------ minimal zip (store)

async function fileCrc(path: string): Promise<{ crc: number; size: number }> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(8 << 20);
    let crc = 0;
    let size = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, size);
      if (!bytesRead) break;
      crc = crc32(buf.subarray(0, bytesRead), crc);
      size += bytesRead;
    }
    return { crc, size };
  } finally {
    await fh.close();
  }
}

/**
 * Writes a stored (uncompressed) zip of `members` into `out` (ZIP64 records when sizes or offsets
 * need them, or always with `forceZip64`, so tests can check the records big arrays get without
 * writing 4 GiB). Stored, so readers (CDX's among them) read each array in place.
 *
 * Written here rather than by a zip library, by measurement: two 256 MB members, best of three on
 * the 2-core dev machine, this writer 869 ms and yazl 1876 ms (1450 vs 1918 in a noisier run). The
 * zip libraries for Node (yazl, fflate, archiver/zip-stream) compute CRC-32 in JavaScript, about
 * 620 ms per 256 MB against 125 ms for node:zlib's native crc32 used here; fflate also writes no
 * ZIP64, which arrays over 4 GiB need. Reading NPZ uses yauzl (sources/npz.ts).
 */
export async function writeZip(out: string, members: { name: string; path: string }[], opts: { forceZip64?: boolean } = {}): Promise<void> {
  const fh = await open(out, 'wx');
  try {
    let pos = 0;
    const put = async (b: Uint8Array) => {
      let done = 0;
      while (done < b.length) done += (await fh.write(b, done, b.length - done, pos + done)).bytesWritten;
      pos += b.length;
    };
    const central: Buffer[] = [];
    const LIM = 0xffffffff;
    for (const m of members) {
      const { crc, size } = await fileCrc(m.path);
      const name = Buffer.from(m.name, 'utf8');
      const offset = pos;
      const big = opts.forceZip64 === true || size >= LIM || offset >= LIM;
      const local = Buffer.alloc(30);
      local.writeUInt32LE(0x04034b50, 0);
      local.writeUInt16LE(big ? 45 : 20, 4);
      local.writeUInt16LE(0x0800, 6); // UTF-8 names
      local.writeUInt16LE(0, 8); // stored
      local.writeUInt32LE(0x00210000, 10); // 1980-01-01 00:00
      local.writeUInt32LE(crc >>> 0, 14);
      local.writeUInt32LE(big ? LIM : size, 18);
      local.writeUInt32LE(big ? LIM : size, 22);
      local.writeUInt16LE(name.length, 26);
      const lx = big ? Buffer.alloc(20) : Buffer.alloc(0);
      if (big) {
        lx.writeUInt16LE(1, 0);
        lx.writeUInt16LE(16, 2);
        lx.writeBigUInt64LE(BigInt(size), 4);
        lx.writeBigUInt64LE(BigInt(size), 12);
      }
      local.writeUInt16LE(lx.length, 28);
      await put(local);
      await put(name);
      await put(lx);
      const src = await open(m.path, 'r');
      try {
        const buf = Buffer.alloc(8 << 20);
        let at = 0;
        for (;;) {
          const { bytesRead } = await src.read(buf, 0, buf.length, at);
          if (!bytesRead) break;
          await put(buf.subarray(0, bytesRead));
          at += bytesRead;
        }
      } finally {
        await src.close();
      }
      const cx = big ? Buffer.alloc(28) : Buffer.alloc(0);
      if (big) {
        cx.writeUInt16LE(1, 0);
        cx.writeUInt16LE(24, 2);
        cx.writeBigUInt64LE(BigInt(size), 4);
        cx.writeBigUInt64LE(BigInt(size), 12);
        cx.writeBigUInt64LE(BigInt(offset), 20);
      }
      const c = Buffer.alloc(46);
      c.writeUInt32LE(0x02014b50, 0);
      c.writeUInt16LE(big ? 45 : 20, 4);
      c.writeUInt16LE(big ? 45 : 20, 6);
      c.writeUInt16LE(0x0800, 8);
      c.writeUInt16LE(0, 10);
      c.writeUInt32LE(0x00210000, 12);
      c.writeUInt32LE(crc >>> 0, 16);
      c.writeUInt32LE(big ? LIM : size, 20);
      c.writeUInt32LE(big ? LIM : size, 24);
      c.writeUInt16LE(name.length, 28);
      c.writeUInt16LE(cx.length, 30);
      c.writeUInt32LE(big ? LIM : offset, 42);
      central.push(c, name, cx);
    }
    const cdStart = pos;
    for (const b of central) await put(b);
    const cdSize = pos - cdStart;
    const n = members.length;
    if (opts.forceZip64 === true || cdStart >= LIM || n >= 0xffff) {
      const z64 = Buffer.alloc(56);
      const z64pos = pos;
      z64.writeUInt32LE(0x06064b50, 0);
      z64.writeBigUInt64LE(44n, 4);
      z64.writeUInt16LE(45, 12);
      z64.writeUInt16LE(45, 14);
      z64.writeBigUInt64LE(BigInt(n), 24);
      z64.writeBigUInt64LE(BigInt(n), 32);
      z64.writeBigUInt64LE(BigInt(cdSize), 40);
      z64.writeBigUInt64LE(BigInt(cdStart), 48);
      await put(z64);
      const loc = Buffer.alloc(20);
      loc.writeUInt32LE(0x07064b50, 0);
      loc.writeBigUInt64LE(BigInt(z64pos), 8);
      loc.writeUInt32LE(1, 16);
      await put(loc);
    }
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(Math.min(n, 0xffff), 8);
    end.writeUInt16LE(Math.min(n, 0xffff), 10);
    end.writeUInt32LE(Math.min(cdSize, LIM), 12);
    end.writeUInt32LE(Math.min(cdStart, LIM), 16);
    await put(end);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

// ----------------------------------------------------------------------------------------- writers

function plansOf(fields: Field[], out: string): (ColPlan | undefined)[] {
  const plans = fields.map(colPlan);
  if (!plans.some(Boolean)) throw CdxError.file('E_UNSUPPORTED', out, 'none of the columns is numeric, bool or a date: NumPy output needs at least one (choose columns with --columns)');
  return plans;
}

/** NPY single-array dtype: the columns' own dtype when they share one, else the common one. */
function npyDescrs(plans: (ColPlan | undefined)[]): { descr: string; cols: number | null } {
  // nullable integer columns keep their dtype (a schema often says nullable when no value is null):
  // a null is written as 0 and the report says so; NPZ adds a null mask
  const ps = plans.filter((p): p is ColPlan => !!p);
  return { descr: commonDescr(ps), cols: ps.length === 1 ? null : ps.length };
}

export const npyWriter: WriterProvider = {
  format: 'npy',
  extensions: ['npy'],
  options: {},
  plan(fields, opts, ctx): FidelityReport {
    checkOptions(this, opts, ctx.out);
    const plans = plansOf(fields, ctx.out);
    const { descr, cols } = npyDescrs(plans);
    return {
      format: 'npy',
      columns: fields.map((f, j) => fidelity(f, plans[j], plans[j] ? descr : undefined, false)),
      notes: [cols === null ? `one 1-D array of dtype ${descr}` : `one 2-D array (rows × ${cols} columns, C order) of dtype ${descr}; column names are not stored (use NPZ to keep them)`, 'streamed'],
    };
  },
  async open(fields, schema, opts, ctx): Promise<Writer> {
    const plans = plansOf(fields, ctx.out);
    const { descr, cols } = npyDescrs(plans);
    const idx = plans.map((p, j) => (p ? j : -1)).filter((j) => j >= 0);
    const f = await NpyFile.create(ctx.tmp, descr, cols);
    const C = ctorFor(descr);
    return {
      async write(batch: RecordBatch) {
        const n = batch.numRows;
        const parts = idx.map((j) => columnValues(plans[j]!, batch.data.children[j], n, descr).values);
        if (parts.length === 1) return f.append(parts[0], n);
        const k = parts.length;
        const out = new C(n * k);
        for (let c = 0; c < k; c++) {
          const src = parts[c];
          for (let i = 0; i < n; i++) out[i * k + c] = src[i];
        }
        await f.append(out, n);
      },
      async finish() {
        await f.close();
        return 'rename';
      },
      abort: () => f.abort(),
    };
    void schema;
    void opts;
  },
};

export const npzWriter: WriterProvider = {
  format: 'npz',
  extensions: ['npz'],
  options: {},
  plan(fields, opts, ctx): FidelityReport {
    checkOptions(this, opts, ctx.out);
    const plans = plansOf(fields, ctx.out);
    return {
      format: 'npz',
      columns: fields.map((f, j) => fidelity(f, plans[j], plans[j]?.descr, true)),
      notes: ['one .npy array per column, named after the column (np.load(...)["name"]); stored uncompressed; columns are streamed to temporary files beside OUT and zipped at the end'],
    };
  },
  async open(fields, _schema, _opts, ctx): Promise<Writer> {
    const plans = plansOf(fields, ctx.out);
    const files: { name: string; path: string; npy: NpyFile }[] = [];
    const masks = new Map<number, { name: string; path: string; npy: NpyFile }>();
    let rows = 0;
    let k = 0;
    const abortAll = async () => {
      for (const m of [...files, ...masks.values()]) {
        await m.npy.abort();
        await unlink(m.path).catch(() => undefined);
      }
    };
    try {
      for (const p of plans) {
        if (!p) continue;
        const path = `${ctx.tmp}.${k++}.npy`;
        files.push({ name: `${p.field.name}.npy`, path, npy: await NpyFile.create(path, p.descr, null) });
      }
    } catch (e) {
      await abortAll();
      throw e;
    }
    const cols = plans.map((p, j) => (p ? j : -1)).filter((j) => j >= 0);
    return {
      async write(batch) {
        const n = batch.numRows;
        for (let c = 0; c < cols.length; c++) {
          const j = cols[c];
          const p = plans[j]!;
          const { values, mask } = columnValues(p, batch.data.children[j], n, p.descr);
          await files[c].npy.append(values, n);
          const isDt = p.descr.startsWith('<M8') || p.descr.startsWith('<m8');
          if ((mask || masks.has(j)) && !isDt) {
            let m = masks.get(j);
            if (!m) {
              const path = `${ctx.tmp}.${k++}.npy`;
              m = { name: `${p.field.name}__null.npy`, path, npy: await NpyFile.create(path, '|b1', null) };
              masks.set(j, m);
              if (rows) await m.npy.append(new Uint8Array(rows), rows);
            }
            await m.npy.append(mask ?? new Uint8Array(n), n);
          }
        }
        rows += n;
      },
      async finish() {
        const members = [...files];
        for (const j of cols) if (masks.has(j)) members.push(masks.get(j)!);
        try {
          for (const m of members) await m.npy.close();
          await writeZip(ctx.tmp, members);
        } finally {
          for (const m of members) await unlink(m.path).catch(() => undefined);
        }
        return 'rename';
      },
      abort: abortAll,
    };
  },
};
