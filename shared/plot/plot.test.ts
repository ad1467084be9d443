import { describe, expect, it } from 'vitest';
import { inflateSync, deflateSync } from 'node:zlib';
import { ToneScale, shade, shadeCategorical, flipRows } from './shade';
import { colormapLUT, unpackRGBA, COLORMAPS } from './colormap';
import { axisTicks } from './ticks';
import { zoomAt, pan, pixelToData, dataToPixel, gridSize, rescaleRect, closedRange, nextUp } from './viewport';
import { encodeNPY, encodePNG, pngSize, crc32, base64, gridCSV } from './encode';
import { plotFrame, plotSVG } from './svg';

describe('tone mapping', () => {
  it('linear maps min..max of non-empty cells to 0..255 and leaves empty cells transparent', () => {
    const c = new Uint32Array([0, 1, 2, 3, 5]);
    const s = new ToneScale(c, 'linear');
    expect([1, 2, 3, 5].map((v) => s.level255(v))).toEqual([0, 64, 128, 255]);
    const { pixels } = shade(c, 'linear', 'grays');
    expect(pixels[0]).toBe(0);
    expect(unpackRGBA(pixels[4]!)[3]).toBe(255);
  });
  it('log compresses high counts', () => {
    const s = new ToneScale(new Uint32Array([1, 10, 1000]), 'log');
    expect(s.level255(1)).toBe(0);
    expect(s.level255(1000)).toBe(255);
    expect(s.level255(10)).toBeGreaterThan(new ToneScale(new Uint32Array([1, 10, 1000]), 'linear').level255(10) + 50);
  });
  it('eq_hist spreads levels by rank: each distinct value gets an equal share', () => {
    // 4 values, each on 25% of cells -> levels 0, 1/3, 2/3, 1
    const c = new Uint32Array([1, 1, 100, 100, 10000, 10000, 1e6, 1e6, 0, 0]);
    const s = new ToneScale(c, 'eq_hist');
    expect([1, 100, 10000, 1e6].map((v) => s.level255(v))).toEqual([0, 85, 170, 255]);
    // one value everywhere: the top colour
    expect(new ToneScale(new Uint32Array([0, 7, 7]), 'eq_hist').level255(7)).toBe(255);
  });
  it('eq_hist with huge counts (binned path) stays monotonic', () => {
    const c = new Float64Array(1000).map((_, i) => Math.round(Math.exp(i / 40)) + 5e6);
    const s = new ToneScale(c, 'eq_hist');
    let prev = -1;
    for (let i = 0; i < c.length; i++) {
      const l = s.level255(c[i]!);
      expect(l).toBeGreaterThanOrEqual(prev);
      prev = l;
    }
    expect(s.level255(c[0]!)).toBe(0);
    expect(s.level255(c[999]!)).toBe(255);
  });
  it('categorical blend: colour is the count-weighted mean, opacity from the total', () => {
    const w = 2, h = 1;
    // cat 0: [3, 0]; cat 1: [1, 4]
    const c = new Uint32Array([3, 0, 1, 4]);
    const pal = (k: number): [number, number, number] => (k === 0 ? [200, 0, 0] : [0, 0, 200]);
    const { pixels, totals } = shadeCategorical(c, w, h, 2, 'linear', pal);
    expect([...totals]).toEqual([4, 4]);
    expect(unpackRGBA(pixels[0]!).slice(0, 3)).toEqual([150, 0, 50]);
    expect(unpackRGBA(pixels[1]!).slice(0, 3)).toEqual([0, 0, 200]);
  });
  it('shades a 2-megapixel grid: every non-empty cell painted, every empty one clear (speed: the bench)', () => {
    const n = 2048 * 1024;
    const c = new Uint32Array(n);
    for (let i = 0; i < n; i++) c[i] = (i * 2654435761) % 5000;
    const out = new Uint32Array(n);
    shade(c, 'eq_hist', 'viridis', out);
    let wrong = 0;
    for (let i = 0; i < n; i++) if ((out[i]! >>> 24 !== 0) !== (c[i]! !== 0)) wrong++;
    expect(wrong).toBe(0);
  });
  it('flipRows reverses row order', () => {
    expect([...flipRows(new Uint32Array([1, 2, 3, 4, 5, 6]), 2, 3)]).toEqual([5, 6, 3, 4, 1, 2]);
  });
});

describe('colour maps', () => {
  it('has the four maps with known end points', () => {
    for (const m of COLORMAPS) expect(colormapLUT(m).length).toBe(256);
    expect(unpackRGBA(colormapLUT('viridis')[0]!)).toEqual([68, 1, 84, 255]);
    expect(unpackRGBA(colormapLUT('viridis')[255]!)).toEqual([253, 231, 37, 255]);
    expect(unpackRGBA(colormapLUT('fire')[0]!)).toEqual([0, 0, 0, 255]);
    expect(unpackRGBA(colormapLUT('fire')[255]!)).toEqual([255, 255, 255, 255]);
    expect(unpackRGBA(colormapLUT('magma')[0]!).slice(0, 3)).toEqual([0, 0, 4]);
    const g = colormapLUT('grays');
    expect(unpackRGBA(g[0]!)[0]).toBeGreaterThan(unpackRGBA(g[255]!)[0]);
  });
  it('fire brightens monotonically', () => {
    const lum = (v: number) => { const [r, g, b] = unpackRGBA(v); return r + g + b; };
    const lut = colormapLUT('fire');
    for (let i = 1; i < 256; i++) expect(lum(lut[i]!)).toBeGreaterThanOrEqual(lum(lut[i - 1]!));
  });
});

describe('ticks', () => {
  it('nice numeric ticks inside the range', () => {
    const t = axisTicks(0, 1, 400);
    expect(t.map((x) => x.label)).toEqual(['0.0', '0.2', '0.4', '0.6', '0.8', '1.0']);
    expect(t[1]!.pos).toBeCloseTo(0.2);
    expect(axisTicks(-1234, 5678, 600).every((x) => x.value >= -1234 && x.value <= 5678)).toBe(true);
  });
  it('time ticks for date columns (days since epoch)', () => {
    const t = axisTicks(19723, 19723 + 366, 600, { kind: 'time', msPerUnit: 86_400_000 });
    expect(t.length).toBeGreaterThan(3);
    expect(t.some((x) => /2024|February|Feb|March/.test(x.label))).toBe(true);
  });
  it('empty for degenerate ranges', () => {
    expect(axisTicks(1, 1, 100)).toEqual([]);
  });
});

describe('viewport', () => {
  const vp = { x0: 0, x1: 10, y0: 0, y1: 100 };
  it('zoom about a point keeps that point fixed', () => {
    const z = zoomAt(vp, 0.25, 0.5, 2);
    expect(z).toEqual({ x0: 1.25, x1: 6.25, y0: 25, y1: 75 });
    expect(zoomAt(vp, 0.5, 0.5, 2, 'x')).toEqual({ x0: 2.5, x1: 7.5, y0: 0, y1: 100 });
    expect(zoomAt(vp, 0.5, 0.5, 2, 'y')).toEqual({ x0: 0, x1: 10, y0: 25, y1: 75 });
  });
  it('pan and pixel round trip', () => {
    expect(pan(vp, 0.1, -0.5)).toEqual({ x0: 1, x1: 11, y0: -50, y1: 50 });
    const [x, y] = pixelToData(vp, 200, 100, 50, 25);
    expect([x, y]).toEqual([2.5, 75]);
    expect(dataToPixel(vp, 200, 100, x, y)).toEqual([50, 25]);
  });
  it('grid size is capped at 4096', () => {
    expect(gridSize(800, 600, 2)).toEqual({ width: 1600, height: 1200 });
    expect(gridSize(5000, 10, 1)).toEqual({ width: 4096, height: 10 });
  });
  it('previous image rescaled into the new view', () => {
    const r = rescaleRect(vp, zoomAt(vp, 0.5, 0.5, 2));
    expect(r).toEqual({ left: -0.5, right: 1.5, top: -0.5, bottom: 1.5 });
  });
  it('closed range counts the maximum', () => {
    const [lo, hi] = closedRange(1, 2);
    expect(lo).toBe(1);
    expect(hi).toBeGreaterThan(2);
    expect(hi).toBe(nextUp(2));
  });
  it('refuses a collapse to zero width', () => {
    const z = zoomAt(vp, 0.5, 0.5, 1e300);
    expect(z.x1 - z.x0).toBe(10);
  });
});

describe('encoders', () => {
  it('PNG round trip through zlib', () => {
    const rgba = new Uint8Array(3 * 2 * 4).map((_, i) => i * 7);
    const png = encodePNG(rgba, 3, 2, (b) => deflateSync(b));
    expect(pngSize(png)).toEqual({ width: 3, height: 2 });
    // IDAT payload inflates to filter bytes + rows
    const idat = Buffer.from(png).indexOf('IDAT');
    const len = new DataView(png.buffer).getUint32(idat - 4);
    const raw = inflateSync(png.subarray(idat + 4, idat + 4 + len));
    expect(raw.length).toBe(2 * (1 + 12));
    expect([...raw.subarray(1, 13)]).toEqual([...rgba.subarray(0, 12)]);
    expect((crc32(new TextEncoder().encode('IEND')) ^ 0xffffffff) >>> 0).toBe(0xae426082);
  });
  it('NPY header is 64-byte aligned and describes the grid', () => {
    const npy = encodeNPY(new Uint32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
    const hl = new DataView(npy.buffer).getUint16(8, true);
    expect((10 + hl) % 64).toBe(0);
    const header = new TextDecoder().decode(npy.subarray(10, 10 + hl));
    expect(header).toContain("'descr': '<u4'");
    expect(header).toContain("'shape': (2, 3)");
    expect([...new Uint32Array(npy.slice(10 + hl).buffer)]).toEqual([1, 2, 3, 4, 5, 6]);
  });
  it('base64 and CSV', () => {
    expect(base64(new TextEncoder().encode('hello!?'))).toBe(Buffer.from('hello!?').toString('base64'));
    expect(gridCSV(new Uint32Array([0, 2]), 2, 1, { x0: 0, x1: 2, y0: 0, y1: 1 })).toBe('x0,x1,y0,y1,count\n1,2,0,1,2\n');
  });
  it('SVG has axes, labels and the image', () => {
    const svg = plotSVG({ frame: plotFrame(400, 300), vp: { x0: 0, x1: 1, y0: 0, y1: 1 }, xLabel: 'a<b', yLabel: 'y', image: 'data:image/png;base64,AAAA', legend: { kind: 'continuous', cmap: 'fire', how: 'eq_hist', min: 1, max: 9 } });
    expect(svg).toContain('a&lt;b');
    expect(svg).toContain('<image');
    expect(svg).toContain('count (eq_hist)');
  });
});
