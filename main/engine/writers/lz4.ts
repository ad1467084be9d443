/**
 * LZ4 frame *encoder* for compressed Arrow IPC bodies (apache-arrow JS ships no encoder; the pure-JS
 * LZ4 packages lack frame support or are unmaintained). Greedy single-probe hash matcher over
 * independent 4 MiB blocks (a block that does not shrink is stored raw), frame header checksum by
 * xxHash32 as the frame format requires, no content checksum. Fast rather than tight: Arrow's own
 * writers use LZ4's fast mode too. Decoded by sources/codecs.ts (lz4FrameDecode) and any LZ4 library.
 */

const PRIME1 = 0x9e3779b1, PRIME2 = 0x85ebca77, PRIME3 = 0xc2b2ae3d, PRIME4 = 0x27d4eb2f, PRIME5 = 0x165667b1;

function rotl(x: number, r: number): number {
  return ((x << r) | (x >>> (32 - r))) >>> 0;
}

/** xxHash32 (seed 0 by default). */
export function xxh32(b: Uint8Array, seed = 0): number {
  const n = b.length;
  let i = 0;
  let h: number;
  const r32 = (p: number) => (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
  if (n >= 16) {
    let v1 = (seed + PRIME1 + PRIME2) >>> 0, v2 = (seed + PRIME2) >>> 0, v3 = seed >>> 0, v4 = (seed - PRIME1) >>> 0;
    const round = (v: number, x: number) => Math.imul(rotl((v + Math.imul(x, PRIME2)) >>> 0, 13), PRIME1) >>> 0;
    for (; i + 16 <= n; i += 16) {
      v1 = round(v1, r32(i));
      v2 = round(v2, r32(i + 4));
      v3 = round(v3, r32(i + 8));
      v4 = round(v4, r32(i + 12));
    }
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) >>> 0;
  } else {
    h = (seed + PRIME5) >>> 0;
  }
  h = (h + n) >>> 0;
  for (; i + 4 <= n; i += 4) h = Math.imul(rotl((h + Math.imul(r32(i), PRIME3)) >>> 0, 17), PRIME4) >>> 0;
  for (; i < n; i++) h = Math.imul(rotl((h + Math.imul(b[i], PRIME5)) >>> 0, 11), PRIME1) >>> 0;
  h ^= h >>> 15;
  h = Math.imul(h, PRIME2) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, PRIME3) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

const MINMATCH = 4;
const LASTLITERALS = 5;
const MFLIMIT = 12;
const HASH_LOG = 16;

/** Compress `src` as one raw LZ4 block into `out` (at least lz4Bound bytes); returns the length. */
export function lz4CompressBlock(src: Uint8Array, out: Uint8Array, table = new Int32Array(1 << HASH_LOG)): number {
  const n = src.length;
  table.fill(-1);
  let o = 0;
  let anchor = 0;
  const read32 = (p: number) => src[p] | (src[p + 1] << 8) | (src[p + 2] << 16) | (src[p + 3] << 24);
  const writeLen = (len: number) => {
    while (len >= 255) {
      out[o++] = 255;
      len -= 255;
    }
    out[o++] = len;
  };
  const emit = (litEnd: number, offset: number, mlen: number) => {
    const lit = litEnd - anchor;
    const ml = mlen - MINMATCH;
    out[o++] = (Math.min(lit, 15) << 4) | Math.min(ml, 15);
    if (lit >= 15) writeLen(lit - 15);
    out.set(src.subarray(anchor, litEnd), o);
    o += lit;
    out[o++] = offset & 0xff;
    out[o++] = offset >> 8;
    if (ml >= 15) writeLen(ml - 15);
  };
  if (n > MFLIMIT) {
    const limit = n - MFLIMIT;
    const matchLimit = n - LASTLITERALS;
    let ip = 0;
    while (ip < limit) {
      const seq = read32(ip);
      const h = Math.imul(seq, 2654435761) >>> (32 - HASH_LOG);
      const ref = table[h];
      table[h] = ip;
      if (ref >= 0 && ip - ref <= 65535 && read32(ref) === seq) {
        let mlen = MINMATCH;
        while (ip + mlen < matchLimit && src[ref + mlen] === src[ip + mlen]) mlen++;
        emit(ip, ip - ref, mlen);
        ip += mlen;
        anchor = ip;
      } else {
        ip++;
      }
    }
  }
  // last literals
  const lit = n - anchor;
  out[o++] = Math.min(lit, 15) << 4;
  if (lit >= 15) writeLen(lit - 15);
  out.set(src.subarray(anchor, n), o);
  return o + lit;
}

export function lz4Bound(n: number): number {
  return n + Math.ceil(n / 255) + 16;
}

const BLOCK = 4 << 20;

/** An LZ4 frame (magic 04 22 4D 18, independent 4 MiB blocks, no checksums but the header's). */
export function lz4FrameEncode(src: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  const flg = 0x60; // version 01, independent blocks
  const bd = 0x70; // 4 MiB blocks
  const hc = (xxh32(new Uint8Array([flg, bd])) >>> 8) & 0xff;
  parts.push(new Uint8Array([0x04, 0x22, 0x4d, 0x18, flg, bd, hc]));
  const table = new Int32Array(1 << HASH_LOG);
  const tmp = new Uint8Array(lz4Bound(Math.min(BLOCK, src.length)));
  for (let i = 0; i < src.length; i += BLOCK) {
    const chunk = src.subarray(i, Math.min(src.length, i + BLOCK));
    const len = lz4CompressBlock(chunk, tmp, table);
    const head = new Uint8Array(4);
    const dv = new DataView(head.buffer);
    if (len < chunk.length) {
      dv.setUint32(0, len, true);
      parts.push(head, tmp.slice(0, len));
    } else {
      dv.setUint32(0, (chunk.length | 0x80000000) >>> 0, true);
      parts.push(head, chunk.slice());
    }
  }
  parts.push(new Uint8Array(4)); // end mark
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
