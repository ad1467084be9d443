/**
 * `cdx plot`'s PNG is deflated at PNG_DEFLATE_LEVEL (chosen for speed): the file decodes to exactly
 * the pixels of the default level, for a dense and a sparse image.
 */
import { describe, expect, it } from 'vitest';
import { deflateSync, inflateSync } from 'node:zlib';
import { encodePNG, pngScanlines, PNG_DEFLATE_LEVEL } from '../../shared/plot/encode';

/** The inflated IDAT data of a PNG file. */
function idat(png: Uint8Array): Uint8Array {
  const dv = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const parts: Uint8Array[] = [];
  for (let o = 8; o < png.length; ) {
    const n = dv.getUint32(o);
    if (String.fromCharCode(...png.subarray(o + 4, o + 8)) === 'IDAT') parts.push(png.subarray(o + 8, o + 8 + n));
    o += 12 + n;
  }
  return inflateSync(Buffer.concat(parts));
}

describe('PNG deflate level', () => {
  it('gives the same pixels as the default level', () => {
    const w = 320, h = 200;
    let s = 12345;
    const rand = () => ((s = (s * 1103515245 + 12345) >>> 0) >>> 16) & 255;
    const dense = new Uint8Array(w * h * 4).map((_, i) => (i % 4 === 3 ? 255 : rand()));
    const sparse = new Uint8Array(w * h * 4).map((_, i) => (i % 4 === 3 ? 255 : (i >> 2) % 97 === 0 ? rand() : 0));
    for (const rgba of [dense, sparse]) {
      const fast = encodePNG(rgba, w, h, (b) => deflateSync(b, { level: PNG_DEFLATE_LEVEL }));
      const dflt = encodePNG(rgba, w, h, (b) => deflateSync(b));
      expect(Buffer.from(idat(fast)).equals(Buffer.from(idat(dflt)))).toBe(true);
      expect(Buffer.from(idat(fast)).equals(Buffer.from(pngScanlines(rgba, w, h)))).toBe(true);
      expect(Buffer.from(fast.subarray(0, 33)).equals(Buffer.from(dflt.subarray(0, 33)))).toBe(true); // signature, IHDR
    }
  });
});
