/**
 * The frame codec: how one contract message crosses a process line as a single binary frame,
 * the same on every transport (WebSocket, Electron MessagePort, child-process IPC, in memory).
 *
 * A message is any JSON-like value in which Uint8Array / typed arrays / ArrayBuffer (bulk data:
 * Arrow IPC bytes, density grids) and bigint (exact int64) may appear anywhere. Bulk bytes are cut
 * out of the JSON and appended raw, so they are never turned into JSON text.
 *
 * Frame layout (little-endian):
 *   u32 magic 'CDX1' | u32 headerBytes | u32 bufferCount | header (UTF-8 JSON) |
 *   per buffer: u32 typeTag | f64 byteLength | pad to 8 | bytes | pad to 8
 * In the JSON, a buffer is {"$b": index} and a bigint is {"$n": "digits"}.
 */
import { CdxError } from './errors';

const MAGIC = 0x31584443; // 'CDX1'

const TYPED: Record<number, new (b: ArrayBuffer, o: number, n: number) => ArrayBufferView> = {
  0: Uint8Array as never,
  1: Int8Array as never,
  2: Uint16Array as never,
  3: Int16Array as never,
  4: Uint32Array as never,
  5: Int32Array as never,
  6: Float32Array as never,
  7: Float64Array as never,
  8: BigInt64Array as never,
  9: BigUint64Array as never,
  10: Uint8ClampedArray as never,
};

function tagOf(v: ArrayBufferView): number {
  if (v instanceof Uint8Array) return 0;
  if (v instanceof Int8Array) return 1;
  if (v instanceof Uint16Array) return 2;
  if (v instanceof Int16Array) return 3;
  if (v instanceof Uint32Array) return 4;
  if (v instanceof Int32Array) return 5;
  if (v instanceof Float32Array) return 6;
  if (v instanceof Float64Array) return 7;
  if (v instanceof BigInt64Array) return 8;
  if (v instanceof BigUint64Array) return 9;
  if (v instanceof Uint8ClampedArray) return 10;
  return 0; // DataView and others travel as bytes
}

const ELEMENT_SIZE = [1, 1, 2, 2, 4, 4, 4, 8, 8, 8, 1];

function wireError(problem: string): CdxError {
  return new CdxError('E_WIRE', `bad frame: ${problem}`);
}

export function encodeFrame(message: unknown): Uint8Array {
  const buffers: { tag: number; bytes: Uint8Array }[] = [];
  const json = JSON.stringify(message, function (this: unknown, _key, value) {
    if (typeof value === 'bigint') return { $n: value.toString() };
    if (value instanceof ArrayBuffer) {
      buffers.push({ tag: 0, bytes: new Uint8Array(value) });
      return { $b: buffers.length - 1 };
    }
    if (ArrayBuffer.isView(value)) {
      buffers.push({ tag: tagOf(value), bytes: new Uint8Array(value.buffer, value.byteOffset, value.byteLength) });
      return { $b: buffers.length - 1 };
    }
    return value;
  });
  const header = new TextEncoder().encode(json ?? 'null');
  const pad = (n: number) => (8 - (n % 8)) % 8;
  let size = 12 + header.length + pad(12 + header.length);
  for (const b of buffers) size += 16 + b.bytes.length + pad(b.bytes.length);
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, MAGIC, true);
  dv.setUint32(4, header.length, true);
  dv.setUint32(8, buffers.length, true);
  out.set(header, 12);
  let at = 12 + header.length;
  at += pad(at);
  for (const b of buffers) {
    dv.setUint32(at, b.tag, true);
    dv.setFloat64(at + 8, b.bytes.length, true);
    at += 16;
    out.set(b.bytes, at);
    at += b.bytes.length + pad(b.bytes.length);
  }
  return out;
}

export function decodeFrame(frame: Uint8Array): unknown {
  if (frame.byteLength < 12) throw wireError('frame too short');
  const dv = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  if (dv.getUint32(0, true) !== MAGIC) throw wireError('not a CDX frame');
  const headerLen = dv.getUint32(4, true);
  const count = dv.getUint32(8, true);
  if (12 + headerLen > frame.byteLength) throw wireError('frame header past the end');
  const json = new TextDecoder().decode(frame.subarray(12, 12 + headerLen));
  const views: ArrayBufferView[] = [];
  let at = 12 + headerLen;
  at += (8 - (at % 8)) % 8;
  for (let i = 0; i < count; i++) {
    if (at + 16 > frame.byteLength) throw wireError('buffer header past the end');
    const tag = dv.getUint32(at, true);
    const len = dv.getFloat64(at + 8, true);
    at += 16;
    if (!Number.isInteger(len) || len < 0 || at + len > frame.byteLength) throw wireError('buffer past the end');
    const Ctor = TYPED[tag];
    if (!Ctor) throw wireError(`unknown buffer type ${tag}`);
    // copy into a fresh, aligned ArrayBuffer so the receiver owns it and typed views are aligned
    const copy = frame.slice(at, at + len);
    views.push(new Ctor(copy.buffer, 0, len / ELEMENT_SIZE[tag]));
    at += len + ((8 - (len % 8)) % 8);
  }
  return JSON.parse(json, (_key, value) => {
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      const keys = Object.keys(value);
      if (keys.length === 1 && keys[0] === '$b') return views[value.$b];
      if (keys.length === 1 && keys[0] === '$n') return BigInt(value.$n);
    }
    return value;
  });
}
