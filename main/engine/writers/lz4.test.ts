/**
 * LZ4 frames (lz4-napi behind writers/lz4.ts and sources/codecs.ts): round trips over random,
 * repetitive and edge-sized inputs, each frame's blocks also decoded by an independent decoder
 * (hyparquet-compressors' pure-JS LZ4 block decoder); what codecs.ts adds to the library
 * (concatenated and skippable frames, the output cap before allocating, readable errors); and
 * LZ4-compressed Arrow files read back by apache-arrow and by CDX's Arrow source.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { decompressLz4Raw } from 'hyparquet-compressors';
import { lz4FrameDecode, registerArrowCodecs } from '../sources/codecs';
import { openSource } from '../sources/registry';
import { tempDir } from '../sources/testing/util';
import { lz4FrameEncode } from './lz4';
import { convert } from './convert';
import { edgeTruth, writeEdgeArrow } from './testing/edge';
import { hasCode } from '../../../shared/errors';

const BLOCK_MAX = [0, 0, 0, 0, 64 << 10, 256 << 10, 1 << 20, 4 << 20];

/** Decode a frame of independent blocks block by block with an independent LZ4 block decoder. */
function independentDecode(frame: Uint8Array, size: number): Uint8Array {
  const dv = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  expect(dv.getUint32(0, true)).toBe(0x184d2204);
  const flg = frame[4];
  expect((flg >> 5) & 1).toBe(1); // independent blocks
  const blockMax = BLOCK_MAX[(frame[5] >> 4) & 7];
  let p = 7 + ((flg >> 3) & 1 ? 8 : 0);
  const out = new Uint8Array(size);
  let o = 0;
  for (;;) {
    const word = dv.getUint32(p, true);
    p += 4;
    if (word === 0) break;
    const n = word & 0x7fffffff;
    const block = frame.subarray(p, p + n);
    const want = Math.min(blockMax, size - o);
    out.set(word & 0x80000000 ? block : decompressLz4Raw(block, want), o);
    o += want;
    p += n + ((flg >> 4) & 1 ? 4 : 0);
  }
  expect(o).toBe(size);
  return out;
}

/** A frame of independent 64 KiB blocks holding one hand-made block (header checksum precomputed). */
function frameOf(block: number[], raw = false): Uint8Array {
  const f = new Uint8Array(7 + 4 + block.length + 4);
  f.set([0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x82]);
  new DataView(f.buffer).setUint32(7, (block.length | (raw ? 0x80000000 : 0)) >>> 0, true);
  f.set(block, 11);
  return f;
}

const same = (a: Uint8Array, b: Uint8Array) => Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;

describe('lz4 frame encoder', () => {
  it('round trips, and an independent decoder reads every frame (random, repetitive, tiny, > one block)', () => {
    let s = 12345;
    const rand = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 16) & 0xff;
    const cases: Uint8Array[] = [
      new Uint8Array(0), new Uint8Array([1]), new Uint8Array(12).fill(7), new Uint8Array(13).fill(7),
      Uint8Array.from({ length: 100_000 }, rand),
      Uint8Array.from({ length: 300_000 }, (_, i) => (i % 97) & 0xff),
      Uint8Array.from({ length: 5 << 20 }, (_, i) => ((i * 7) % 251) ^ (i >> 12)),
      new TextEncoder().encode('id,name\n'.repeat(50_000) + 'tail'),
    ];
    for (const c of cases) {
      const f = lz4FrameEncode(c);
      const d = lz4FrameDecode(f);
      expect(d.length).toBe(c.length);
      expect(Buffer.compare(Buffer.from(d.buffer, d.byteOffset, d.byteLength), Buffer.from(c.buffer, c.byteOffset, c.byteLength))).toBe(0);
      expect(same(independentDecode(f, c.length), c)).toBe(true);
      expect(d.byteOffset % 8).toBe(0); // apache-arrow views it as typed arrays in place
    }
    const rep = cases[5];
    expect(lz4FrameEncode(rep).length).toBeLessThan(rep.length / 20);
  });

  it('decodes concatenated frames and skips skippable frames (the library alone would drop or refuse them)', () => {
    const a = new TextEncoder().encode('first frame, '.repeat(1000));
    const b = new TextEncoder().encode('second frame');
    const skip = new Uint8Array(12);
    new DataView(skip.buffer).setUint32(0, 0x184d2a51, true);
    new DataView(skip.buffer).setUint32(4, 4, true);
    const fa = lz4FrameEncode(a);
    const fb = lz4FrameEncode(b);
    const both = Buffer.concat([skip, fa, skip, fb, skip]);
    expect(Buffer.from(lz4FrameDecode(both)).toString()).toBe('first frame, '.repeat(1000) + 'second frame');
    expect(lz4FrameDecode(new Uint8Array(0)).length).toBe(0);
  });

  it('refuses hostile and damaged frames with a code before allocating', () => {
    // a frame declaring 40 compressed 4 MiB blocks: bounded at 160 MiB, over a 100 MiB cap
    const blocks = 40;
    const f = new Uint8Array(7 + blocks * 5 + 4);
    f.set([0x04, 0x22, 0x4d, 0x18, 0x60, 0x70, 0x73]);
    const dv = new DataView(f.buffer);
    for (let k = 0; k < blocks; k++) { dv.setUint32(7 + k * 5, 1, true); f[11 + k * 5] = 0xf0; }
    let err: unknown;
    try { lz4FrameDecode(f, 100 << 20); } catch (e) { err = e; }
    expect(hasCode(err, 'E_TOO_LARGE')).toBe(true);
    const good = lz4FrameEncode(new TextEncoder().encode('abcdefgh'.repeat(4096)));
    const check = (bytes: Uint8Array, re: RegExp) => {
      let e: unknown;
      try { lz4FrameDecode(bytes); } catch (x) { e = x; }
      expect(hasCode(e, 'E_CORRUPT')).toBe(true);
      expect((e as Error).message).toMatch(re);
    };
    check(good.subarray(0, good.length - 6), /truncated|runs past/);
    const badHc = good.slice();
    badHc[6] ^= 1;
    check(badHc, /header checksum/);
    check(frameOf([0x10, 9, 9, 0]), /offset/);
    check(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), /magic/);
    expect(Array.from(lz4FrameDecode(frameOf([1, 2, 3], true)))).toEqual([1, 2, 3]);
  });

  it('compressed Arrow files are read back by apache-arrow and by CDX', async () => {
    const { dir, cleanup } = tempDir('cdx-lz4-');
    try {
      const t = edgeTruth(2000, 8);
      const src = join(dir, 'src.arrows');
      writeEdgeArrow(src, t, 500);
      const plain = join(dir, 'plain.arrow');
      const packed = join(dir, 'packed.arrow');
      await convert({ input: src, output: plain });
      const r = await convert({ input: src, output: packed, options: { compression: 'lz4' } });
      expect(r.report.notes[0]).toMatch(/LZ4/);
      expect(statSync(packed).size).toBeLessThan(statSync(plain).size);
      registerArrowCodecs();
      const a = tableFromIPC(readFileSync(plain));
      const b = tableFromIPC(readFileSync(packed));
      expect(b.numRows).toBe(2000);
      for (const name of ['i64', 'u64', 's', 'b', 'd']) {
        expect(b.getChild(name)!.toArray().length).toBe(2000);
        for (let i = 0; i < 2000; i++) expect(b.getChild(name)!.get(i)).toEqual(a.getChild(name)!.get(i));
      }
      const s = await openSource(packed);
      let rows = 0;
      for await (const batch of s.scan()) rows += batch.numRows;
      await s.close();
      expect(rows).toBe(2000);
    } finally {
      cleanup();
    }
  });
});
