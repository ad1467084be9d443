/**
 * Tone mapping and colour mapping of an aggregate grid (Datashader's `shade`): counts -> one LUT
 * level per cell -> packed RGBA. Empty cells stay transparent. `how`:
 *  - linear: (v - min) / (max - min) over non-empty cells;
 *  - log: the same on log1p(v);
 *  - eq_hist: histogram equalisation, level = rank of the cell's count among non-empty cells
 *    (exact for integer counts up to 2^20 via a counting table; log-spaced bins beyond), so every
 *    colour of the map is used about equally often and structure at every density shows.
 * The lowest non-empty value always maps to level 0 and the highest to 255.
 * Grids are row-major with row 0 = lowest y (the engine's binning); `flipRows` gives image order.
 */
import { categoryColor, colormapLUT, packRGBA, type ColormapName } from './colormap';

export type ToneHow = 'eq_hist' | 'log' | 'linear';
export const TONES: ToneHow[] = ['eq_hist', 'log', 'linear'];

export function isTone(s: string): s is ToneHow {
  return (TONES as string[]).includes(s);
}

type Counts = ArrayLike<number>;

interface Stats {
  min: number;
  max: number;
  nonzero: number;
  integer: boolean;
}

function stats(c: Counts, n: number): Stats {
  let min = Infinity, max = 0, nz = 0, integer = true;
  for (let i = 0; i < n; i++) {
    const v = c[i]!;
    if (v > 0) {
      nz++;
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  if (!(c instanceof Uint32Array) && !(c instanceof Uint16Array) && !(c instanceof Uint8Array) && !(c instanceof Int32Array)) {
    for (let i = 0; i < n && integer; i++) if (c[i]! !== Math.floor(c[i]!)) integer = false;
  }
  return { min, max, nonzero: nz, integer };
}

const TABLE_LIMIT = 1 << 20;
const EQ_BINS = 65536;

/**
 * Integer counts are histogrammed by bucket: exact below 256, then 128 buckets per octave (0.8%
 * relative width) up to 2^32 - 6,400 buckets, so the tables stay in cache (a table indexed by the
 * raw count thrashes it once counts reach the hundred thousands), and the bucket is computed
 * without branches: sh = max(0, floor(log2 v) - 7), bucket = sh * 256 + (v >>> sh).
 */
const NBUCKETS = 25 * 256;

export function bucketOf(v: number): number {
  const t = 24 - Math.clz32(v);
  const sh = t & ~(t >> 31);
  return (sh << 8) + (v >>> sh);
}

/*
 * The per-cell loops below are small monomorphic functions (V8 optimises these better than a loop
 * inside a large function), unrolled by 8: the unrolled body halves the loop overhead and lets the
 * independent loads and table look-ups of neighbouring cells overlap (measured: about 1.4x faster
 * per pass than the plain loop on a 2-megapixel grid). The bucket of a count is computed inline
 * (no call): t = 24 - clz32(v), sh = max(0, t), bucket = (sh << 8) + (v >>> sh).
 */

/** histogram of the buckets of c[0..n) (bucket 0 = empty cells included); returns the largest count */
function bucketHistogram(c: Uint32Array, hist: Uint32Array, n: number): number {
  let max = 0;
  // the n % 8 leftover cells first: if the main loop is optimised during a first call (OSR), the
  // code after it must already have type feedback, or it deoptimises on reaching it
  const r = n & 7;
  let i = 0;
  for (; i < r; i++) {
    const v = c[i]!;
    const t = 24 - Math.clz32(v);
    const sh = t & ~(t >> 31);
    hist[(sh << 8) + (v >>> sh)]!++;
    if (v > max) max = v;
  }
  for (; i < n; i += 8) {
    const v0 = c[i]!, v1 = c[i + 1]!, v2 = c[i + 2]!, v3 = c[i + 3]!;
    const v4 = c[i + 4]!, v5 = c[i + 5]!, v6 = c[i + 6]!, v7 = c[i + 7]!;
    let t = 24 - Math.clz32(v0);
    let sh = t & ~(t >> 31);
    hist[(sh << 8) + (v0 >>> sh)]!++;
    t = 24 - Math.clz32(v1);
    sh = t & ~(t >> 31);
    hist[(sh << 8) + (v1 >>> sh)]!++;
    t = 24 - Math.clz32(v2);
    sh = t & ~(t >> 31);
    hist[(sh << 8) + (v2 >>> sh)]!++;
    t = 24 - Math.clz32(v3);
    sh = t & ~(t >> 31);
    hist[(sh << 8) + (v3 >>> sh)]!++;
    t = 24 - Math.clz32(v4);
    sh = t & ~(t >> 31);
    hist[(sh << 8) + (v4 >>> sh)]!++;
    t = 24 - Math.clz32(v5);
    sh = t & ~(t >> 31);
    hist[(sh << 8) + (v5 >>> sh)]!++;
    t = 24 - Math.clz32(v6);
    sh = t & ~(t >> 31);
    hist[(sh << 8) + (v6 >>> sh)]!++;
    t = 24 - Math.clz32(v7);
    sh = t & ~(t >> 31);
    hist[(sh << 8) + (v7 >>> sh)]!++;
    // the OR is >= each of the eight, so it rules out a new maximum with one compare
    if ((v0 | v1 | v2 | v3 | v4 | v5 | v6 | v7) >>> 0 > max) {
      if (v0 > max) max = v0;
      if (v1 > max) max = v1;
      if (v2 > max) max = v2;
      if (v3 > max) max = v3;
      if (v4 > max) max = v4;
      if (v5 > max) max = v5;
      if (v6 > max) max = v6;
      if (v7 > max) max = v7;
    }
  }
  return max;
}

/**
 * bucketHistogram that also writes each cell's bucket to out[i] (out may be c itself: c[i] is read
 * before out[i] is written), so that the colour pass is a plain look-up (applyBucketColour).
 */
function bucketHistogramInto(c: Uint32Array, hist: Uint32Array, out: Uint32Array, n: number): number {
  let max = 0;
  // the n % 8 leftover cells first: if the main loop is optimised during a first call (OSR), the
  // code after it must already have type feedback, or it deoptimises on reaching it
  const r = n & 7;
  let i = 0;
  for (; i < r; i++) {
    const v = c[i]!;
    const t = 24 - Math.clz32(v);
    const sh = t & ~(t >> 31);
    const b = (sh << 8) + (v >>> sh);
    out[i] = b;
    hist[b]!++;
    if (v > max) max = v;
  }
  for (; i < n; i += 8) {
    const v0 = c[i]!, v1 = c[i + 1]!, v2 = c[i + 2]!, v3 = c[i + 3]!;
    const v4 = c[i + 4]!, v5 = c[i + 5]!, v6 = c[i + 6]!, v7 = c[i + 7]!;
    let t = 24 - Math.clz32(v0);
    let sh = t & ~(t >> 31);
    let b = (sh << 8) + (v0 >>> sh);
    out[i] = b;
    hist[b]!++;
    t = 24 - Math.clz32(v1);
    sh = t & ~(t >> 31);
    b = (sh << 8) + (v1 >>> sh);
    out[i + 1] = b;
    hist[b]!++;
    t = 24 - Math.clz32(v2);
    sh = t & ~(t >> 31);
    b = (sh << 8) + (v2 >>> sh);
    out[i + 2] = b;
    hist[b]!++;
    t = 24 - Math.clz32(v3);
    sh = t & ~(t >> 31);
    b = (sh << 8) + (v3 >>> sh);
    out[i + 3] = b;
    hist[b]!++;
    t = 24 - Math.clz32(v4);
    sh = t & ~(t >> 31);
    b = (sh << 8) + (v4 >>> sh);
    out[i + 4] = b;
    hist[b]!++;
    t = 24 - Math.clz32(v5);
    sh = t & ~(t >> 31);
    b = (sh << 8) + (v5 >>> sh);
    out[i + 5] = b;
    hist[b]!++;
    t = 24 - Math.clz32(v6);
    sh = t & ~(t >> 31);
    b = (sh << 8) + (v6 >>> sh);
    out[i + 6] = b;
    hist[b]!++;
    t = 24 - Math.clz32(v7);
    sh = t & ~(t >> 31);
    b = (sh << 8) + (v7 >>> sh);
    out[i + 7] = b;
    hist[b]!++;
    if ((v0 | v1 | v2 | v3 | v4 | v5 | v6 | v7) >>> 0 > max) {
      if (v0 > max) max = v0;
      if (v1 > max) max = v1;
      if (v2 > max) max = v2;
      if (v3 > max) max = v3;
      if (v4 > max) max = v4;
      if (v5 > max) max = v5;
      if (v6 > max) max = v6;
      if (v7 > max) max = v7;
    }
  }
  return max;
}

/** px[i] = colour[px[i]] for i < n, px holding bucket indices (from bucketHistogramInto) */
function applyBucketColour(colour: Uint32Array, px: Uint32Array, n: number): void {
  // the n % 8 leftover cells first: if the main loop is optimised during a first call (OSR), the
  // code after it must already have type feedback, or it deoptimises on reaching it
  const r = n & 7;
  let i = 0;
  for (; i < r; i++) px[i] = colour[px[i]!]!;
  for (; i < n; i += 8) {
    const b0 = px[i]!, b1 = px[i + 1]!, b2 = px[i + 2]!, b3 = px[i + 3]!;
    const b4 = px[i + 4]!, b5 = px[i + 5]!, b6 = px[i + 6]!, b7 = px[i + 7]!;
    px[i] = colour[b0]!;
    px[i + 1] = colour[b1]!;
    px[i + 2] = colour[b2]!;
    px[i + 3] = colour[b3]!;
    px[i + 4] = colour[b4]!;
    px[i + 5] = colour[b5]!;
    px[i + 6] = colour[b6]!;
    px[i + 7] = colour[b7]!;
  }
}

/** px[i] = colour[bucket of c[i]] for i < n (one 32-bit store per pixel) */
function applyColour(c: Uint32Array, colour: Uint32Array, px: Uint32Array, n: number): void {
  // the n % 8 leftover cells first: if the main loop is optimised during a first call (OSR), the
  // code after it must already have type feedback, or it deoptimises on reaching it
  const r = n & 7;
  let i = 0;
  for (; i < r; i++) {
    const v = c[i]!;
    const t = 24 - Math.clz32(v);
    const sh = t & ~(t >> 31);
    px[i] = colour[(sh << 8) + (v >>> sh)]!;
  }
  for (; i < n; i += 8) {
    const v0 = c[i]!, v1 = c[i + 1]!, v2 = c[i + 2]!, v3 = c[i + 3]!;
    const v4 = c[i + 4]!, v5 = c[i + 5]!, v6 = c[i + 6]!, v7 = c[i + 7]!;
    let t = 24 - Math.clz32(v0);
    let sh = t & ~(t >> 31);
    px[i] = colour[(sh << 8) + (v0 >>> sh)]!;
    t = 24 - Math.clz32(v1);
    sh = t & ~(t >> 31);
    px[i + 1] = colour[(sh << 8) + (v1 >>> sh)]!;
    t = 24 - Math.clz32(v2);
    sh = t & ~(t >> 31);
    px[i + 2] = colour[(sh << 8) + (v2 >>> sh)]!;
    t = 24 - Math.clz32(v3);
    sh = t & ~(t >> 31);
    px[i + 3] = colour[(sh << 8) + (v3 >>> sh)]!;
    t = 24 - Math.clz32(v4);
    sh = t & ~(t >> 31);
    px[i + 4] = colour[(sh << 8) + (v4 >>> sh)]!;
    t = 24 - Math.clz32(v5);
    sh = t & ~(t >> 31);
    px[i + 5] = colour[(sh << 8) + (v5 >>> sh)]!;
    t = 24 - Math.clz32(v6);
    sh = t & ~(t >> 31);
    px[i + 6] = colour[(sh << 8) + (v6 >>> sh)]!;
    t = 24 - Math.clz32(v7);
    sh = t & ~(t >> 31);
    px[i + 7] = colour[(sh << 8) + (v7 >>> sh)]!;
  }
}

/**
 * [smallest non-zero count - 1 (0xffffffff if none), largest count, number of zero cells]; no
 * arithmetic after the loop (it would have no type feedback when the loop is optimised by OSR)
 */
function minMax(c: Uint32Array, n: number): [number, number, number] {
  let minw = 0xffffffff, max = 0, zeros = 0;
  // the n % 4 leftover cells first: if the main loop is optimised during a first call (OSR), the
  // code after it must already have type feedback, or it deoptimises on reaching it
  const r = n & 3;
  let i = 0;
  for (; i < r; i++) {
    const v = c[i]!;
    const w = (v - 1) >>> 0;
    if (w < minw) minw = w;
    if (v > max) max = v;
    zeros += +(v === 0);
  }
  for (; i < n; i += 4) {
    const v0 = c[i]!, v1 = c[i + 1]!, v2 = c[i + 2]!, v3 = c[i + 3]!;
    // v - 1 as unsigned: 0 -> 0xffffffff, never the minimum
    const w0 = (v0 - 1) >>> 0, w1 = (v1 - 1) >>> 0, w2 = (v2 - 1) >>> 0, w3 = (v3 - 1) >>> 0;
    if (w0 < minw) minw = w0;
    if (w1 < minw) minw = w1;
    if (w2 < minw) minw = w2;
    if (w3 < minw) minw = w3;
    if (v0 > max) max = v0;
    if (v1 > max) max = v1;
    if (v2 > max) max = v2;
    if (v3 > max) max = v3;
    zeros += +(v0 === 0) + +(v1 === 0) + +(v2 === 0) + +(v3 === 0);
  }
  return [minw, max, zeros];
}

/** the smallest value in a bucket */
function bucketLow(b: number): number {
  return (b & 255) * 2 ** (b >> 8);
}

/*
 * The loops over the 6,400 buckets live in small functions of their own: inside shade or the
 * ToneScale constructor they would be optimised on the stack (OSR) during a first call, and that
 * code then deoptimises at every branch not yet taken (another tone) for calls to come.
 */

/** [non-empty cells, first and last non-empty bucket] of a histogram whose bucket 0 is cleared */
function histRange(hist: Uint32Array): [number, number, number] {
  let nz = 0, bmin = -1, bmax = 0;
  for (let b = 1; b < NBUCKETS; b++) {
    const h = hist[b]!;
    if (h) {
      nz += h;
      if (bmin < 0) bmin = b;
      bmax = b;
    }
  }
  return [nz, bmin, bmax];
}

function minNonZero(c: Uint32Array, n: number): number {
  let m = 0xffffffff;
  for (let i = 0; i < n; i++) {
    const v = c[i]!;
    if (v !== 0 && v < m) m = v;
  }
  return m;
}

/** eq_hist: level per bucket = share of the non-empty cells above the lowest bucket, cumulated */
function eqHistLevels(hist: Uint32Array, nz: number, bmin: number, bmax: number): Uint8Array {
  const lv = new Uint8Array(NBUCKETS);
  const below = hist[bmin]!;
  const denom = nz - below;
  let cum = 0;
  for (let b = bmin; b <= bmax; b++) {
    cum += hist[b]!;
    lv[b] = denom > 0 ? Math.round(((cum - below) / denom) * 255) : 255;
  }
  return lv;
}

/** linear and log: (v - min) / (max - min), on log1p for log, clamped to [0, 1]; 1 when max = min */
function formula(how: ToneHow, min: number, max: number, v: number): number {
  if (max === min) return 1;
  const t = how === 'log' ? (Math.log1p(v) - Math.log1p(min)) / (Math.log1p(max) - Math.log1p(min)) : (v - min) / (max - min);
  return Math.min(1, Math.max(0, t));
}

/**
 * linear and log: level per bucket, from the formula at the bucket's lowest value (the exact min
 * and max for their own buckets). A bucket strictly inside holds values in (min, max]; one that no
 * value can fall in (below 128 << sh) may give less than min, which the formula clamps to level 0.
 */
function formulaLevels(how: ToneHow, min: number, max: number, nonzero: number): Uint8Array {
  const lv = new Uint8Array(NBUCKETS);
  if (nonzero) {
    const b0 = bucketOf(min), b1 = bucketOf(max);
    for (let b = b0; b <= b1; b++) lv[b] = Math.round(formula(how, min, max, b === b0 ? min : b === b1 ? max : bucketLow(b)) * 255);
  }
  return lv;
}

/** bucket -> packed colour, bucket 0 (empty) transparent */
function colourTable(lut: Uint32Array, levels: Uint8Array, nonzero: number): Uint32Array {
  const colour = new Uint32Array(NBUCKETS);
  if (nonzero) for (let b = 1; b < NBUCKETS; b++) colour[b] = lut[levels[b]!]!;
  return colour;
}

/**
 * A function value -> level in [0, 1] for the non-empty values of `counts` (what the legend uses),
 * and the fast per-cell level computation used by `shade`.
 */
export class ToneScale {
  min: number = 0;
  max: number = 0;
  nonzero: number = 0;
  /** level (0..255) per bucket (Uint32Array counts) */
  bucketLevels: Uint8Array | null = null;
  /** level (0..255) per integer value when the counts are small integers (other arrays) */
  private table: Uint8Array | null = null;
  /** eq_hist over log-spaced bins: level per bin */
  private binLevels: Uint8Array | null = null;
  private logMin = 0;
  private logSpan = 1;

  /**
   * @internal whether `bucketsOut` (constructor; Uint32Array counts, eq_hist only, not sharing the
   * counts' buffer; used by `shade`) received each cell's bucket index in the histogram pass, so
   * that colouring needs no second bucket computation
   */
  bucketsWritten = false;

  constructor(
    counts: Counts,
    readonly how: ToneHow,
    n = counts.length,
    bucketsOut?: Uint32Array,
  ) {
    if (counts instanceof Uint32Array) {
      this.initBuckets(counts, n, bucketsOut);
      return;
    }
    const s = stats(counts, n);
    this.min = s.nonzero ? s.min : 0;
    this.max = s.max;
    this.nonzero = s.nonzero;
    if (!s.nonzero) return;
    if (s.integer && s.max <= TABLE_LIMIT) {
      const t = new Uint8Array(s.max + 1);
      if (how === 'eq_hist') {
        const hist = new Uint32Array(s.max + 1);
        for (let i = 0; i < n; i++) {
          const v = counts[i]!;
          if (v > 0) hist[v]!++;
        }
        const below = hist[s.min]!;
        const denom = s.nonzero - below;
        let cum = 0;
        for (let v = s.min; v <= s.max; v++) {
          cum += hist[v]!;
          t[v] = denom > 0 ? Math.round(((cum - below) / denom) * 255) : 255;
        }
      } else {
        for (let v = s.min; v <= s.max; v++) t[v] = Math.round(this.formula(v) * 255);
      }
      this.table = t;
    } else if (how === 'eq_hist') {
      this.logMin = Math.log(s.min);
      this.logSpan = Math.log(s.max) - this.logMin || 1;
      const hist = new Float64Array(EQ_BINS);
      for (let i = 0; i < n; i++) {
        const v = counts[i]!;
        if (v > 0) hist[this.bin(v)]!++;
      }
      const below = hist[0]!;
      const denom = s.nonzero - below;
      const lv = new Uint8Array(EQ_BINS);
      let cum = 0;
      for (let b = 0; b < EQ_BINS; b++) {
        cum += hist[b]!;
        lv[b] = denom > 0 ? Math.round(((cum - below) / denom) * 255) : 255;
      }
      this.binLevels = lv;
    }
  }

  private initBuckets(c: Uint32Array, n: number, bucketsOut?: Uint32Array): void {
    // branch-light passes: a random mix of empty and non-empty cells defeats branch prediction
    if (this.how !== 'eq_hist') {
      // linear and log need only the extremes: one min/max pass, no histogram
      const [minw, max, zeros] = minMax(c, n);
      const min = minw + 1, nz = n - zeros;
      this.nonzero = nz;
      if (nz) [this.min, this.max] = [min, max];
      else if (this.how === 'log') return; // an empty grid: no levels (level255 gives NaN)
      this.bucketLevels = formulaLevels(this.how, this.min, this.max, this.nonzero);
      return;
    }
    const hist = new Uint32Array(NBUCKETS);
    // writing the buckets over the counts themselves would lose the exact minimum scan below
    const into = bucketsOut !== undefined && bucketsOut.length >= n && bucketsOut.buffer !== c.buffer;
    const max = into ? bucketHistogramInto(c, hist, bucketsOut, n) : bucketHistogram(c, hist, n);
    this.bucketsWritten = into;
    hist[0] = 0;
    const [nz, bmin, bmax] = histRange(hist);
    this.nonzero = nz;
    if (!nz) return;
    this.max = max;
    // exact min: a bucket below 256 is a value; above, scan for it (rare: every count >= 256)
    this.min = bmin < 256 ? bmin : minNonZero(c, n);
    this.bucketLevels = eqHistLevels(hist, nz, bmin, bmax);
  }

  private bin(v: number): number {
    const b = Math.floor(((Math.log(v) - this.logMin) / this.logSpan) * (EQ_BINS - 1));
    return b < 0 ? 0 : b >= EQ_BINS ? EQ_BINS - 1 : b;
  }

  private formula(v: number): number {
    return formula(this.how, this.min, this.max, v);
  }

  /** level in [0, 1] of a non-empty value (NaN for empty) */
  level(v: number): number {
    if (!(v > 0) || !this.nonzero) return NaN;
    if (this.how !== 'eq_hist') return this.formula(Math.min(this.max, Math.max(this.min, v)));
    return this.level255(v) / 255;
  }

  /** level 0..255 of a non-empty value, fast path */
  level255(v: number): number {
    if (this.bucketLevels) {
      if (this.how === 'linear') return Math.round(this.formula(v) * 255);
      return this.bucketLevels[bucketOf(Math.min(0xffffffff, Math.max(this.min, Math.round(v))))]!;
    }
    if (this.table) return this.table[Math.max(this.min, Math.min(this.max, v))]!;
    if (this.binLevels) return this.binLevels[this.bin(v)]!;
    return Math.round(this.level(v) * 255);
  }
}

/** counts -> packed RGBA pixels (grid order, row 0 = lowest y); empty cells 0 (transparent) */
export function shade(counts: Counts, how: ToneHow, cmap: ColormapName, out?: Uint32Array, n = counts.length): { pixels: Uint32Array; scale: ToneScale } {
  const px = out && out.length >= n ? out : new Uint32Array(n);
  // eq_hist on Uint32 counts: the histogram pass leaves each cell's bucket in px
  const scale = new ToneScale(counts, how, n, px);
  const lut = colormapLUT(cmap);
  if (counts instanceof Uint32Array && scale.bucketLevels) {
    // bucket -> colour, with bucket 0 (empty) transparent: no branch on emptiness per cell
    const colour = colourTable(lut, scale.bucketLevels, scale.nonzero);
    if (scale.bucketsWritten) applyBucketColour(colour, px, n);
    else applyColour(counts, colour, px, n);
  } else {
    for (let i = 0; i < n; i++) {
      const v = counts[i]!;
      px[i] = v > 0 ? lut[scale.level255(v)]! : 0;
    }
  }
  if (n < px.length) px.fill(0, n);
  return { pixels: px, scale };
}

/**
 * Categorical blend: per-category counts laid out [(c * height + j) * width + i] (the engine's
 * layout). Colour = count-weighted mean of the category colours; opacity from the tone-mapped
 * total (at least 40/255, as Datashader's min_alpha).
 */
export function shadeCategorical(
  counts: Counts,
  width: number,
  height: number,
  categories: number,
  how: ToneHow,
  palette: (k: number) => [number, number, number] = categoryColor,
): { pixels: Uint32Array; totals: Uint32Array; scale: ToneScale } {
  const n = width * height;
  const totals = new Uint32Array(n);
  const r = new Float64Array(n), g = new Float64Array(n), b = new Float64Array(n);
  for (let k = 0; k < categories; k++) {
    const [cr, cg, cb] = palette(k);
    const off = k * n;
    for (let i = 0; i < n; i++) {
      const v = counts[off + i]!;
      if (v > 0) {
        totals[i]! += v;
        r[i]! += v * cr;
        g[i]! += v * cg;
        b[i]! += v * cb;
      }
    }
  }
  const scale = new ToneScale(totals, how);
  const px = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const t = totals[i]!;
    if (t > 0) px[i] = packRGBA(r[i]! / t, g[i]! / t, b[i]! / t, 40 + Math.round((scale.level255(t) * 215) / 255));
  }
  return { pixels: px, totals, scale };
}

/** grid order (row 0 = lowest y) <-> image order (row 0 = top) */
export function flipRows<T extends Uint32Array | Uint8Array | Uint8ClampedArray>(a: T, width: number, height: number, channels = 1): T {
  const out = new (a.constructor as new (n: number) => T)(a.length);
  const row = width * channels;
  for (let j = 0; j < height; j++) out.set(a.subarray(j * row, (j + 1) * row), (height - 1 - j) * row);
  return out;
}
