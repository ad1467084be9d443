/**
 * The LZ4 frame encoder: xxHash32 reference values, round trips through the readers' independent
 * frame decoder (sources/codecs.ts) over random, repetitive and edge-sized inputs, and LZ4-compressed
 * Arrow files read back by apache-arrow and by CDX's Arrow source.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { lz4FrameDecode, registerArrowCodecs } from '../sources/codecs';
import { openSource } from '../sources/registry';
import { tempDir } from '../sources/testutil';
import { lz4FrameEncode, xxh32 } from './lz4';
import { convert } from './convert';
import { edgeTruth, writeEdgeArrow } from './edge';

describe('lz4 frame encoder', () => {
  it('xxHash32 matches the reference values', () => {
    const enc = new TextEncoder();
    expect(xxh32(new Uint8Array(0))).toBe(0x02cc5d05);
    expect(xxh32(enc.encode('a'))).toBe(0x550d7456);
    expect(xxh32(enc.encode('abc'))).toBe(0x32d153ff);
    expect(xxh32(enc.encode('Nobody inspects the spammish repetition'))).toBe(0xe2293b2f);
  });

  it('round trips through the independent decoder (random, repetitive, tiny, > one block)', () => {
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
    }
    const rep = cases[5];
    expect(lz4FrameEncode(rep).length).toBeLessThan(rep.length / 20);
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
