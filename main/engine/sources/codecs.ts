/**
 * Decompressors for compressed Arrow IPC bodies (LZ4 frame and Zstandard), registered with
 * apache-arrow's compressionRegistry, which decompresses buffers but ships no codecs.
 * Zstandard comes from fzstd (pure JS). The LZ4 *frame* decoder is written here because the pure-JS
 * LZ4 packages either lack frame support or are unmaintained; it is short, bounds-checked, and
 * refuses output beyond a cap so a hostile header cannot make it allocate without limit.
 */
import { decompress as zstdDecompress } from 'fzstd';
import { compressionRegistry, CompressionType } from 'apache-arrow';

/** No single decompressed buffer may exceed this (a corrupt header cannot allocate more). */
export const MAX_DECOMPRESSED = 1024 * 1024 * 1024;

/** Decode one raw LZ4 block into `out` starting at `o`; returns the new output position. */
export function lz4Block(src: Uint8Array, out: Uint8Array, o: number): number {
  let i = 0;
  const n = src.length;
  while (i < n) {
    const token = src[i++];
    let lit = token >> 4;
    if (lit === 15) {
      let b: number;
      do {
        if (i >= n) throw new Error('lz4: truncated literal length');
        b = src[i++];
        lit += b;
      } while (b === 255);
    }
    if (i + lit > n) throw new Error('lz4: literals run past the input');
    if (o + lit > out.length) throw new Error('lz4: output larger than declared');
    out.set(src.subarray(i, i + lit), o);
    i += lit;
    o += lit;
    if (i >= n) break; // last sequence has literals only
    if (i + 2 > n) throw new Error('lz4: truncated match offset');
    const off = src[i] | (src[i + 1] << 8);
    i += 2;
    if (off === 0 || off > o) throw new Error('lz4: match offset out of range');
    let mlen = token & 15;
    if (mlen === 15) {
      let b: number;
      do {
        if (i >= n) throw new Error('lz4: truncated match length');
        b = src[i++];
        mlen += b;
      } while (b === 255);
    }
    mlen += 4;
    if (o + mlen > out.length) throw new Error('lz4: output larger than declared');
    let p = o - off;
    for (const end = o + mlen; o < end;) out[o++] = out[p++];
  }
  return o;
}

const BLOCK_MAX = [0, 0, 0, 0, 64 * 1024, 256 * 1024, 1024 * 1024, 4 * 1024 * 1024];

/** Decode an LZ4 frame (magic 04 22 4D 18), possibly several concatenated frames. */
export function lz4FrameDecode(src: Uint8Array, maxOut = MAX_DECOMPRESSED): Uint8Array {
  const chunks: Uint8Array[] = [];
  let total = 0;
  let i = 0;
  const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
  while (i < src.length) {
    if (i + 7 > src.length) throw new Error('lz4: truncated frame header');
    const magic = dv.getUint32(i, true);
    if (magic >= 0x184d2a50 && magic <= 0x184d2a5f) { // skippable frame
      const len = dv.getUint32(i + 4, true);
      i += 8 + len;
      continue;
    }
    if (magic !== 0x184d2204) throw new Error('lz4: bad frame magic');
    i += 4;
    const flg = src[i++];
    const bd = src[i++];
    if (flg >> 6 !== 1) throw new Error('lz4: unsupported frame version');
    const blockChecksum = (flg >> 4) & 1;
    const hasContentSize = (flg >> 3) & 1;
    const contentChecksum = (flg >> 2) & 1;
    const hasDictId = flg & 1;
    const blockMax = BLOCK_MAX[(bd >> 4) & 7];
    if (!blockMax) throw new Error('lz4: bad block size');
    if (hasContentSize) i += 8;
    if (hasDictId) throw new Error('lz4: dictionaries are not supported');
    i += 1; // header checksum
    for (;;) {
      if (i + 4 > src.length) throw new Error('lz4: truncated block');
      const word = dv.getUint32(i, true);
      i += 4;
      if (word === 0) break; // end mark
      const size = word & 0x7fffffff;
      if (i + size > src.length) throw new Error('lz4: block runs past the input');
      let chunk: Uint8Array;
      if (word & 0x80000000) {
        chunk = src.slice(i, i + size);
      } else {
        const out = new Uint8Array(blockMax);
        const n = lz4Block(src.subarray(i, i + size), out, 0);
        chunk = out.subarray(0, n);
      }
      i += size + (blockChecksum ? 4 : 0);
      total += chunk.length;
      if (total > maxOut) throw new Error('lz4: decompressed size exceeds the limit');
      chunks.push(chunk);
    }
    if (contentChecksum) i += 4;
  }
  if (chunks.length === 1) return aligned(chunks[0]);
  const out = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) { out.set(c, o); o += c.length; }
  return out;
}

/** Zstandard with a check of the declared content size against the cap before allocating. */
export function zstdDecode(src: Uint8Array, maxOut = MAX_DECOMPRESSED): Uint8Array {
  if (src.length >= 6 && src[0] === 0x28 && src[1] === 0xb5 && src[2] === 0x2f && src[3] === 0xfd) {
    const fhd = src[4];
    const fcsFlag = fhd >> 6;
    const single = (fhd >> 5) & 1;
    const didFlag = fhd & 3;
    let p = 5 + (single ? 0 : 1) + [0, 1, 2, 4][didFlag];
    const fcsLen = [single ? 1 : 0, 2, 4, 8][fcsFlag];
    if (fcsLen && p + fcsLen <= src.length) {
      let size = 0;
      for (let k = fcsLen - 1; k >= 0; k--) size = size * 256 + src[p + k];
      if (fcsLen === 2) size += 256;
      if (size > maxOut) throw new Error(`zstd: declared size ${size} exceeds the limit`);
    }
    p += fcsLen;
  }
  return aligned(zstdDecompress(src));
}

/** apache-arrow views decompressed buffers as typed arrays in place: they must start 8-aligned. */
function aligned(b: Uint8Array): Uint8Array {
  return b.byteOffset % 8 === 0 ? b : b.slice();
}

let registered = false;
/** Register the codecs with apache-arrow (idempotent). */
export function registerArrowCodecs(): void {
  if (registered) return;
  registered = true;
  compressionRegistry.set(CompressionType.LZ4_FRAME, { decode: (b: Uint8Array) => lz4FrameDecode(b) } as any);
  compressionRegistry.set(CompressionType.ZSTD, { decode: (b: Uint8Array) => zstdDecode(b) } as any);
}
