/**
 * Row selection for filtered exports: the rows of a record batch at given indices as one new
 * batch, copied buffer by buffer (fixed-width values, validity bits, UTF-8/binary offsets and
 * bytes, dictionary keys with the dictionary shared), so a filter keeps every bit of every value
 * (no round trip through JS values that would round int64 or nanoseconds). Types it cannot copy
 * (nested, unions, views) fall back to zero-copy slices of the runs of selected rows.
 */
import { Data, RecordBatch, Struct, Type, makeData, type DataType } from 'apache-arrow';

function bitGet(bits: Uint8Array, i: number): boolean {
  return (bits[i >> 3] & (1 << (i & 7))) !== 0;
}

function canTake(t: DataType): boolean {
  switch (t.typeId) {
    case Type.Int: case Type.Float: case Type.Date: case Type.Time: case Type.Timestamp: case Type.Duration:
    case Type.Decimal: case Type.Bool: case Type.Utf8: case Type.Binary: case Type.FixedSizeBinary: case Type.Null:
      return true;
    case Type.Dictionary:
      return true;
    default:
      return false;
  }
}

/** Elements per row in the values buffer (decimal: 4 words; 64-bit types in BigInt64 arrays: 1). */
function strideOf(d: Data): number {
  return d.stride || 1;
}

function takeValidity(d: Data, idx: Uint32Array): { bitmap: Uint8Array | undefined; nulls: number } {
  if (!d.nullCount) return { bitmap: undefined, nulls: 0 };
  const out = new Uint8Array((idx.length + 7) >> 3);
  let nulls = 0;
  for (let k = 0; k < idx.length; k++) {
    if (d.getValid(idx[k])) out[k >> 3] |= 1 << (k & 7);
    else nulls++;
  }
  return { bitmap: out, nulls };
}

/* eslint-disable @typescript-eslint/no-explicit-any -- makeData's props are typed per Arrow type and
   `values` per array type; here one function copies every type, each case building exactly the
   buffers its type declares, so the type and the buffers match by construction */
function takeData(d: Data, idx: Uint32Array): Data {
  const t = d.type as DataType;
  const n = idx.length;
  const { bitmap, nulls } = takeValidity(d, idx);
  switch (t.typeId) {
    case Type.Null:
      return makeData({ type: t as any, length: n, nullCount: n } as any);
    case Type.Bool: {
      const src = d.values as Uint8Array;
      const out = new Uint8Array((n + 7) >> 3);
      for (let k = 0; k < n; k++) if (bitGet(src, d.offset + idx[k])) out[k >> 3] |= 1 << (k & 7);
      return makeData({ type: t as any, length: n, nullCount: nulls, nullBitmap: bitmap, data: out });
    }
    case Type.Utf8: case Type.Binary: {
      const offs = d.valueOffsets as Int32Array;
      const bytes = d.values as Uint8Array;
      const outOffs = new Int32Array(n + 1);
      let total = 0;
      for (let k = 0; k < n; k++) {
        total += offs[idx[k] + 1] - offs[idx[k]];
        outOffs[k + 1] = total;
      }
      const out = new Uint8Array(total);
      for (let k = 0; k < n; k++) out.set(bytes.subarray(offs[idx[k]], offs[idx[k] + 1]), outOffs[k]);
      return makeData({ type: t as any, length: n, nullCount: nulls, nullBitmap: bitmap, valueOffsets: outOffs, data: out });
    }
    case Type.Dictionary: {
      const src = d.values as any;
      const out = new src.constructor(n);
      for (let k = 0; k < n; k++) out[k] = src[idx[k]];
      return makeData({ type: t as any, length: n, nullCount: nulls, nullBitmap: bitmap, data: out, dictionary: d.dictionary } as any);
    }
    default: {
      const src = d.values as any;
      const s = strideOf(d);
      const out = new src.constructor(n * s);
      if (s === 1) for (let k = 0; k < n; k++) out[k] = src[idx[k]];
      else for (let k = 0; k < n; k++) for (let w = 0; w < s; w++) out[k * s + w] = src[idx[k] * s + w];
      return makeData({ type: t as any, length: n, nullCount: nulls, nullBitmap: bitmap, data: out });
    }
  }
}

/* eslint-enable @typescript-eslint/no-explicit-any */

/** The selected rows (ascending indices) of `batch`, as batches (one when every column type can be copied). */
export function takeRows(batch: RecordBatch, idx: Uint32Array): RecordBatch[] {
  if (idx.length === batch.numRows) return [batch];
  if (idx.length === 0) return [];
  const children = batch.data.children;
  if (children.every((c) => canTake(c.type))) {
    const cols = children.map((c) => takeData(c, idx));
    const struct = makeData({ type: new Struct(batch.schema.fields), length: idx.length, nullCount: 0, children: cols });
    return [new RecordBatch(batch.schema, struct)];
  }
  // runs of consecutive rows as zero-copy slices
  const out: RecordBatch[] = [];
  let start = idx[0];
  let prev = idx[0];
  for (let k = 1; k <= idx.length; k++) {
    const i = k < idx.length ? idx[k] : -1;
    if (i !== prev + 1) {
      out.push(batch.slice(start, prev + 1));
      start = i;
    }
    prev = i;
  }
  return out;
}

/** The rows of a batch in the order of `idx` (any order, a permutation included), copied; every column's type must be one takeRows copies. */
export function gatherRows(batch: RecordBatch, idx: Uint32Array): RecordBatch {
  const children = batch.data.children;
  if (!children.every((c) => canTake(c.type))) throw new Error('gatherRows: a column of a type that is not copied');
  const cols = children.map((c) => takeData(c, idx));
  return new RecordBatch(batch.schema, makeData({ type: new Struct(batch.schema.fields), length: idx.length, nullCount: 0, children: cols }));
}
