/**
 * Bounds-checked flatbuffer access (FbTable) and the verification of the Arrow IPC metadata that
 * apache-arrow will decode: apache-arrow trusts flatbuffer vector lengths and buffer regions, and a
 * corrupt length makes it build arrays of millions of objects (the process runs out of memory,
 * which cannot be caught). Used by both Arrow readers before they hand bytes to apache-arrow: the
 * source (sources/arrow.ts, every message of a file or stream) and the in-place column reader
 * (columns/arrow.ts, the footer and each block it reads).
 */

/** Minimal flatbuffer table access (bounds-checked) for the few header fields we need. */
export class FbTable {
  constructor(private dv: DataView, public pos: number) {
    if (pos < 0 || pos + 4 > dv.byteLength) throw new Error('flatbuffer table out of range');
  }
  static root(buf: Uint8Array): FbTable {
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    if (buf.length < 8) throw new Error('flatbuffer too short');
    return new FbTable(dv, dv.getUint32(0, true));
  }
  private fieldPos(i: number): number {
    const vt = this.pos - this.dv.getInt32(this.pos, true);
    if (vt < 0 || vt + 4 > this.dv.byteLength) throw new Error('flatbuffer vtable out of range');
    const vtLen = this.dv.getUint16(vt, true);
    if (4 + 2 * i >= vtLen) return 0;
    if (vt + 4 + 2 * i + 2 > this.dv.byteLength) throw new Error('flatbuffer vtable out of range');
    const off = this.dv.getUint16(vt + 4 + 2 * i, true);
    return off ? this.pos + off : 0;
  }
  u8(i: number, d = 0): number { const p = this.fieldPos(i); return p ? this.dv.getUint8(p) : d; }
  i16(i: number, d = 0): number { const p = this.fieldPos(i); return p ? this.dv.getInt16(p, true) : d; }
  i64(i: number, d = 0n): bigint { const p = this.fieldPos(i); return p ? this.dv.getBigInt64(p, true) : d; }
  table(i: number): FbTable | null {
    const p = this.fieldPos(i);
    return p ? new FbTable(this.dv, p + this.dv.getUint32(p, true)) : null;
  }
  /** A vector field: its first element's position and length, both checked against the buffer. */
  vector(i: number, elemSize: number): { start: number; n: number } | null {
    const p = this.fieldPos(i);
    if (!p) return null;
    const v = p + this.dv.getUint32(p, true);
    if (v + 4 > this.dv.byteLength) throw new Error('flatbuffer vector out of range');
    const n = this.dv.getUint32(v, true);
    if (v + 4 + n * elemSize > this.dv.byteLength) throw new Error(`flatbuffer vector of ${n} elements runs past its buffer`);
    return { start: v + 4, n };
  }
  /** A vector of tables. */
  tables(i: number): FbTable[] {
    const v = this.vector(i, 4);
    if (!v) return [];
    const out: FbTable[] = [];
    for (let k = 0; k < v.n; k++) {
      const e = v.start + 4 * k;
      out.push(new FbTable(this.dv, e + this.dv.getUint32(e, true)));
    }
    return out;
  }
  i64At(abs: number): bigint { return this.dv.getBigInt64(abs, true); }
  i32At(abs: number): number { return this.dv.getInt32(abs, true); }
}

/*
 * Verification of the metadata apache-arrow will read. apache-arrow trusts flatbuffer vector
 * lengths and buffer regions; a corrupt length makes it build arrays of millions of objects
 * (the process runs out of memory, which cannot be caught). These checks mirror the flatbuffer
 * verifier Arrow C++ runs before reading a message.
 */
const FB_TYPE_UNION = 14;

function verifyKeyValues(t: FbTable, i: number): void {
  for (const kv of t.tables(i)) { kv.vector(0, 1); kv.vector(1, 1); }
}

function verifyField(t: FbTable, depth: number, budget: { n: number }): void {
  if (depth > 64) throw new Error('schema nested too deeply');
  if (++budget.n > 100_000) throw new Error('schema has too many fields');
  t.vector(0, 1); // name
  const type = t.table(3);
  if (type && t.u8(2) === FB_TYPE_UNION) type.vector(1, 4); // union type ids
  const dict = t.table(4);
  if (dict) dict.table(1);
  for (const c of t.tables(5)) verifyField(c, depth + 1, budget);
  verifyKeyValues(t, 6);
}

/** A message's own key-values (custom_metadata, field 4): apache-arrow decodes every entry it declares. */
export function verifyMessageMetadata(msg: FbTable): void {
  verifyKeyValues(msg, 4);
}

export function verifySchema(schema: FbTable): void {
  const budget = { n: 0 };
  for (const f of schema.tables(1)) verifyField(f, 0, budget);
  verifyKeyValues(schema, 2);
  schema.vector(3, 8);
}

export function verifyRecordBatch(rb: FbTable, bodyLength: bigint): void {
  const nodes = rb.vector(1, 16);
  const bufs = rb.vector(2, 16);
  rb.table(3);
  rb.vector(4, 8);
  const maxLen = bodyLength * 8n + 65536n;
  if (nodes) {
    for (let k = 0; k < nodes.n; k++) {
      const len = rb.i64At(nodes.start + 16 * k);
      const nulls = rb.i64At(nodes.start + 16 * k + 8);
      if (len < 0n || len > maxLen || nulls < 0n || nulls > len) throw new Error(`field node ${k} declares ${len} values (${nulls} null) for a ${bodyLength}-byte body`);
    }
  }
  if (bufs) {
    for (let k = 0; k < bufs.n; k++) {
      const off = rb.i64At(bufs.start + 16 * k);
      const len = rb.i64At(bufs.start + 16 * k + 8);
      if (off < 0n || len < 0n || off + len > bodyLength) throw new Error(`buffer ${k} (${off}+${len}) lies outside the ${bodyLength}-byte body`);
    }
  }
}
