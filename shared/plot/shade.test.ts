/**
 * The fast shading paths (unrolled bucket loops, bucket indices kept in the output buffer for
 * eq_hist) against a straightforward per-cell reference of the documented semantics: counts are
 * grouped in buckets (exact below 256, then 128 per octave); eq_hist levels by the cumulative share
 * of non-empty cells up to a cell's bucket; linear and log by the formula at the bucket's lowest
 * value (the exact min and max for their own buckets); empty cells transparent.
 */
import { describe, expect, it } from 'vitest';
import { shade, ToneScale, TONES, type ToneHow } from './shade';
import { COLORMAPS, colormapLUT } from './colormap';

function refBucket(v: number): number {
  let sh = 0;
  while (Math.floor(v / 2 ** sh) >= 256) sh++;
  return sh * 256 + Math.floor(v / 2 ** sh);
}

function refBucketLow(b: number): number {
  return (b % 256) * 2 ** Math.floor(b / 256);
}

function refShade(counts: Uint32Array, how: ToneHow, lut: Uint32Array, n: number, len: number): { pixels: Uint32Array; min: number; max: number; nonzero: number } {
  const vals: number[] = [];
  for (let i = 0; i < n; i++) if (counts[i]! > 0) vals.push(counts[i]!);
  const pixels = new Uint32Array(len);
  if (!vals.length) return { pixels, min: 0, max: 0, nonzero: 0 };
  const min = Math.min(...vals), max = Math.max(...vals);
  const level = new Map<number, number>(); // bucket -> level 0..255
  if (how === 'eq_hist') {
    const perBucket = new Map<number, number>();
    for (const v of vals) perBucket.set(refBucket(v), (perBucket.get(refBucket(v)) ?? 0) + 1);
    const below = perBucket.get(refBucket(min))!;
    const denom = vals.length - below;
    for (const b of perBucket.keys()) {
      let cum = 0;
      for (const [b2, k] of perBucket) if (b2 <= b) cum += k;
      level.set(b, denom > 0 ? Math.round(((cum - below) / denom) * 255) : 255);
    }
  } else {
    for (const v of vals) {
      const b = refBucket(v);
      const x = b === refBucket(min) ? min : b === refBucket(max) ? max : refBucketLow(b);
      let t: number;
      if (max === min) t = 1;
      else if (how === 'log') t = (Math.log1p(x) - Math.log1p(min)) / (Math.log1p(max) - Math.log1p(min));
      else t = (x - min) / (max - min);
      level.set(b, Math.round(Math.min(1, Math.max(0, t)) * 255));
    }
  }
  for (let i = 0; i < n; i++) {
    const v = counts[i]!;
    pixels[i] = v > 0 ? lut[level.get(refBucket(v))!]! : 0;
  }
  return { pixels, min, max, nonzero: vals.length };
}

let seed = 20261121;
function rnd(): number {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed / 4294967296;
}

/** grids of several kinds and sizes (not multiples of 8 too) */
function grids(): { name: string; c: Uint32Array }[] {
  const out: { name: string; c: Uint32Array }[] = [];
  const make = (name: string, n: number, f: (i: number) => number) => out.push({ name, c: Uint32Array.from({ length: n }, (_, i) => f(i)) });
  for (const n of [1, 7, 8, 9, 64, 1001, 4099]) {
    make(`zeros ${n}`, n, () => 0);
    make(`all 1 ${n}`, n, () => 1);
    make(`all 300 ${n}`, n, () => 300);
    make(`all max ${n}`, n, () => 0xffffffff);
    make(`mixed ${n}`, n, () => (rnd() < 0.3 ? 0 : rnd() < 0.5 ? Math.floor(rnd() * 300) : Math.floor(rnd() * 4294967296)));
    make(`heavy tail ${n}`, n, () => (rnd() < 0.3 ? 0 : Math.floor(Math.exp(rnd() * 22))));
    make(`small ${n}`, n, () => (rnd() < 0.5 ? 0 : Math.floor(rnd() * 256)));
    make(`all >= 256 ${n}`, n, () => (rnd() < 0.2 ? 0 : 256 + Math.floor(rnd() * 1e6)));
    make(`one equal + zeros ${n}`, n, () => (rnd() < 0.6 ? 0 : 12345));
    make(`two extremes ${n}`, n, () => (rnd() < 0.3 ? 0 : rnd() < 0.5 ? 1 : 0xfffffffe + Math.floor(rnd() * 2)));
  }
  make('bench-like 2048x16', 2048 * 16, () => {
    const u = rnd();
    return u < 0.3 ? 0 : Math.floor(Math.exp(u * 12));
  });
  return out;
}

describe('shade fast path equals a straightforward reference', () => {
  const all = grids();
  for (const how of TONES) {
    for (const cmap of COLORMAPS) {
      it(`${how} + ${cmap}`, () => {
        const lut = colormapLUT(cmap);
        for (const { name, c } of all) {
          // whole array; a prefix n < length into a larger, dirty output buffer
          for (const [n, outLen] of [[c.length, 0], [Math.max(0, c.length - 3), c.length + 5]] as const) {
            const out = outLen ? new Uint32Array(outLen).fill(0xdeadbeef) : undefined;
            const ref = refShade(c, how, lut, n, outLen || n);
            const { pixels, scale } = shade(c, how, cmap, out, n);
            expect(pixels.length, name).toBe(ref.pixels.length);
            let firstBad = -1;
            for (let i = 0; i < pixels.length && firstBad < 0; i++) if (pixels[i] !== ref.pixels[i]) firstBad = i;
            expect(firstBad, `${name} n=${n}: first differing pixel`).toBe(-1);
            expect([scale.min, scale.max, scale.nonzero], name).toEqual([ref.min, ref.max, ref.nonzero]);
          }
        }
      });
    }
  }

  it('shades in place (output = the counts array) the same as into a fresh buffer', () => {
    for (const how of TONES) {
      for (const { name, c } of grids()) {
        const fresh = shade(c, how, 'viridis').pixels;
        const same = shade(c.slice(), how, 'viridis', undefined).pixels;
        const copy = c.slice();
        const inPlace = shade(copy, how, 'viridis', copy).pixels;
        expect(inPlace, name).toBe(copy);
        expect([...inPlace], `${how} ${name}`).toEqual([...fresh]);
        expect([...same]).toEqual([...fresh]);
      }
    }
  });

  it('the scale of a shaded grid gives the levels of its pixels', () => {
    const c = Uint32Array.from({ length: 5000 }, () => (rnd() < 0.3 ? 0 : Math.floor(Math.exp(rnd() * 20))));
    for (const how of TONES) {
      const lut = colormapLUT('fire');
      const { pixels, scale } = shade(c, how, 'fire', new Uint32Array(c.length));
      const other = new ToneScale(c, how);
      for (let i = 0; i < c.length; i++) {
        if (!c[i]) continue;
        // (linear's level255 is the exact formula, finer than the bucketed pixels)
        if (how !== 'linear') expect(pixels[i]).toBe(lut[scale.level255(c[i]!)]);
        expect(other.level255(c[i]!)).toBe(scale.level255(c[i]!));
      }
    }
  });
});
