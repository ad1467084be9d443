/**
 * Stitching Parquet files written in parallel into one: the parallel Parquet writer encodes
 * alternate row groups in several WebAssembly encoders (one worker each), every worker producing a
 * complete file; this module copies their row groups' bytes, in the original row order, into one
 * file and writes one footer whose row groups point at the new offsets. The footer is Thrift
 * (compact protocol): read into a generic tree, offsets rewritten, written back — fields it does not
 * touch are kept as they are. Page indexes and bloom filters (which live outside the row groups)
 * are dropped: they are optional and readers do without them.
 */
import { open, type FileHandle } from 'node:fs/promises';

// ------------------------------------------------------------------- Thrift compact, generic tree

type TValue = bigint | number | boolean | Uint8Array | TStruct | TList | TMap;
interface TField { id: number; type: number; value: TValue }
interface TStruct { kind: 'struct'; fields: TField[] }
interface TList { kind: 'list'; etype: number; set: boolean; items: TValue[] }
interface TMap { kind: 'map'; ktype: number; vtype: number; entries: [TValue, TValue][] }

const T_TRUE = 1, T_FALSE = 2, T_BYTE = 3, T_I16 = 4, T_I32 = 5, T_I64 = 6, T_DOUBLE = 7, T_BINARY = 8, T_LIST = 9, T_SET = 10, T_MAP = 11, T_STRUCT = 12;

class Reader {
  pos = 0;
  constructor(private b: Uint8Array) {}
  byte(): number {
    if (this.pos >= this.b.length) throw new Error('parquet footer: truncated');
    return this.b[this.pos++];
  }
  varint(): bigint {
    let r = 0n;
    let shift = 0n;
    for (;;) {
      const x = this.byte();
      r |= BigInt(x & 0x7f) << shift;
      if (!(x & 0x80)) return r;
      shift += 7n;
      if (shift > 70n) throw new Error('parquet footer: bad varint');
    }
  }
  zigzag(): bigint {
    const v = this.varint();
    return (v >> 1n) ^ -(v & 1n);
  }
  value(type: number): TValue {
    switch (type) {
      case T_TRUE: return true;
      case T_FALSE: return false;
      case T_BYTE: return this.byte();
      case T_I16: case T_I32: return Number(this.zigzag());
      case T_I64: return this.zigzag();
      case T_DOUBLE: {
        const v = this.b.slice(this.pos, this.pos + 8);
        this.pos += 8;
        return v;
      }
      case T_BINARY: {
        const n = Number(this.varint());
        const v = this.b.subarray(this.pos, this.pos + n);
        this.pos += n;
        return v;
      }
      case T_LIST: case T_SET: {
        const h = this.byte();
        let size = h >> 4;
        const etype = h & 0x0f;
        if (size === 15) size = Number(this.varint());
        const items: TValue[] = [];
        for (let i = 0; i < size; i++) items.push(etype === T_TRUE || etype === T_FALSE ? this.byte() === 1 : this.value(etype));
        return { kind: 'list', etype, set: type === T_SET, items };
      }
      case T_MAP: {
        const size = Number(this.varint());
        const entries: [TValue, TValue][] = [];
        let ktype = 0, vtype = 0;
        if (size) {
          const kv = this.byte();
          ktype = kv >> 4;
          vtype = kv & 0x0f;
        }
        for (let i = 0; i < size; i++) entries.push([this.value(ktype), this.value(vtype)]);
        return { kind: 'map', ktype, vtype, entries };
      }
      case T_STRUCT: return this.struct();
      default: throw new Error(`parquet footer: unknown thrift type ${type}`);
    }
  }
  struct(): TStruct {
    const fields: TField[] = [];
    let last = 0;
    for (;;) {
      const h = this.byte();
      if (h === 0) return { kind: 'struct', fields };
      const type = h & 0x0f;
      const delta = h >> 4;
      const id = delta ? last + delta : Number(this.zigzag());
      last = id;
      fields.push({ id, type, value: type === T_TRUE || type === T_FALSE ? type === T_TRUE : this.value(type) });
    }
  }
}

class Writer {
  parts: number[] = [];
  chunks: Uint8Array[] = [];
  private flushParts() {
    if (this.parts.length) {
      this.chunks.push(Uint8Array.from(this.parts));
      this.parts = [];
    }
  }
  varint(v: bigint): void {
    let x = BigInt.asUintN(64, v);
    while (x >= 0x80n) {
      this.parts.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.parts.push(Number(x));
  }
  zigzag(v: bigint): void {
    this.varint((v << 1n) ^ (v >> 63n));
  }
  bytes(b: Uint8Array): void {
    this.flushParts();
    this.chunks.push(b);
  }
  value(type: number, v: TValue): void {
    switch (type) {
      case T_TRUE: case T_FALSE: return;
      case T_BYTE: this.parts.push((v as number) & 0xff); return;
      case T_I16: case T_I32: this.zigzag(BigInt(v as number)); return;
      case T_I64: this.zigzag(v as bigint); return;
      case T_DOUBLE: this.bytes(v as Uint8Array); return;
      case T_BINARY: {
        const b = v as Uint8Array;
        this.varint(BigInt(b.length));
        this.bytes(b);
        return;
      }
      case T_LIST: case T_SET: {
        const l = v as TList;
        if (l.items.length < 15) this.parts.push((l.items.length << 4) | l.etype);
        else {
          this.parts.push(0xf0 | l.etype);
          this.varint(BigInt(l.items.length));
        }
        for (const it of l.items) {
          if (l.etype === T_TRUE || l.etype === T_FALSE) this.parts.push(it ? 1 : 2);
          else this.value(l.etype, it);
        }
        return;
      }
      case T_MAP: {
        const m = v as TMap;
        this.varint(BigInt(m.entries.length));
        if (m.entries.length) this.parts.push((m.ktype << 4) | m.vtype);
        for (const [k, x] of m.entries) {
          this.value(m.ktype, k);
          this.value(m.vtype, x);
        }
        return;
      }
      case T_STRUCT: this.struct(v as TStruct); return;
      default: throw new Error(`thrift type ${type}`);
    }
  }
  struct(s: TStruct): void {
    let last = 0;
    for (const f of [...s.fields].sort((a, b) => a.id - b.id)) {
      const type = f.type === T_TRUE || f.type === T_FALSE ? (f.value ? T_TRUE : T_FALSE) : f.type;
      const delta = f.id - last;
      if (delta > 0 && delta <= 15) this.parts.push((delta << 4) | type);
      else {
        this.parts.push(type);
        this.zigzag(BigInt(f.id));
      }
      last = f.id;
      this.value(type, f.value);
    }
    this.parts.push(0);
  }
  finish(): Uint8Array {
    this.flushParts();
    let n = 0;
    for (const c of this.chunks) n += c.length;
    const out = new Uint8Array(n);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}

const field = (s: TStruct, id: number) => s.fields.find((f) => f.id === id);
const setField = (s: TStruct, id: number, type: number, value: TValue) => {
  const f = field(s, id);
  if (f) {
    f.type = type;
    f.value = value;
  } else s.fields.push({ id, type, value });
};
const dropFields = (s: TStruct, ids: number[]) => {
  s.fields = s.fields.filter((f) => !ids.includes(f.id));
};

// ------------------------------------------------------------------------------------------ merge

interface PartFile {
  path: string;
  fh: FileHandle;
  meta: TStruct;
  groups: TStruct[];
}

async function readFooter(path: string): Promise<PartFile> {
  const fh = await open(path, 'r');
  const { size } = await fh.stat();
  const tail = Buffer.alloc(8);
  await fh.read(tail, 0, 8, size - 8);
  if (tail.toString('latin1', 4) !== 'PAR1') throw new Error(`${path}: not a Parquet file`);
  const len = tail.readUInt32LE(0);
  const buf = Buffer.alloc(len);
  await fh.read(buf, 0, len, size - 8 - len);
  const meta = new Reader(buf).struct();
  const rg = field(meta, 4)?.value as TList | undefined;
  return { path, fh, meta, groups: (rg?.items ?? []) as TStruct[] };
}

/** Byte range of one row group's column chunks (arrow-rs writes them contiguously). */
function groupRange(g: TStruct): { start: bigint; end: bigint } {
  let start = -1n;
  let end = 0n;
  for (const cc of (field(g, 1)!.value as TList).items as TStruct[]) {
    const md = field(cc, 3)!.value as TStruct;
    const dataOff = field(md, 9)!.value as bigint;
    const dictOff = field(md, 11)?.value as bigint | undefined;
    const s = dictOff !== undefined && dictOff > 0n && dictOff < dataOff ? dictOff : dataOff;
    const e = s + (field(md, 7)!.value as bigint);
    if (start < 0n || s < start) start = s;
    if (e > end) end = e;
  }
  return { start, end };
}

/**
 * Writes `out` from `parts` (complete Parquet files of the same schema): row group `i` of the result
 * is `order[i] = [part, group]`. Returns the row count.
 */
export async function mergeParquet(out: string, partPaths: string[], order: [number, number][]): Promise<number> {
  const parts: PartFile[] = [];
  const dst = await open(out, 'wx');
  try {
    for (const p of partPaths) parts.push(await readFooter(p));
    let pos = 0n;
    const put = async (b: Uint8Array) => {
      let done = 0;
      while (done < b.length) done += (await dst.write(b, done, b.length - done, Number(pos) + done)).bytesWritten;
      pos += BigInt(b.length);
    };
    await put(Buffer.from('PAR1', 'latin1'));
    const groups: TStruct[] = [];
    let rows = 0n;
    const buf = Buffer.alloc(8 << 20);
    for (const [pi, gi] of order) {
      const part = parts[pi];
      const g = part.groups[gi];
      if (!g) throw new Error(`${part.path}: row group ${gi} missing`);
      const { start, end } = groupRange(g);
      const shift = pos - start;
      for (let at = start; at < end;) {
        const n = Number(end - at < BigInt(buf.length) ? end - at : BigInt(buf.length));
        const { bytesRead } = await part.fh.read(buf, 0, n, Number(at));
        if (!bytesRead) throw new Error(`${part.path}: truncated`);
        await put(buf.subarray(0, bytesRead));
        at += BigInt(bytesRead);
      }
      for (const cc of (field(g, 1)!.value as TList).items as TStruct[]) {
        const md = field(cc, 3)!.value as TStruct;
        for (const id of [9, 10, 11]) {
          const f = field(md, id);
          if (f && typeof f.value === 'bigint' && f.value > 0n) f.value += shift;
        }
        dropFields(md, [14, 15]); // bloom filter: outside the row group
        const fo = field(cc, 2);
        if (fo && typeof fo.value === 'bigint' && fo.value > 0n) fo.value += shift;
        dropFields(cc, [4, 5, 6, 7]); // page indexes: outside the row group
      }
      const go = field(g, 5);
      if (go && typeof go.value === 'bigint') go.value += shift;
      setField(g, 7, T_I16, groups.length);
      rows += field(g, 3)!.value as bigint;
      groups.push(g);
    }
    const meta = parts[0].meta;
    setField(meta, 3, T_I64, rows);
    setField(meta, 4, T_LIST, { kind: 'list', etype: T_STRUCT, set: false, items: groups });
    const w = new Writer();
    w.struct(meta);
    const footer = w.finish();
    await put(footer);
    const tail = Buffer.alloc(8);
    tail.writeUInt32LE(footer.length, 0);
    tail.write('PAR1', 4, 'latin1');
    await put(tail);
    await dst.sync();
    return Number(rows);
  } finally {
    await dst.close();
    for (const p of parts) await p.fh.close().catch(() => undefined);
  }
}

/** Row counts of each row group of a Parquet file (for checks). */
export async function rowGroupRows(path: string): Promise<number[]> {
  const p = await readFooter(path);
  try {
    return p.groups.map((g) => Number(field(g, 3)!.value as bigint));
  } finally {
    await p.fh.close();
  }
}
