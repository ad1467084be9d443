/**
 * A density result -> image-ordered RGBA pixels (top row = highest y) and its legend: the one
 * shading path shared by the app (canvas fallback, exports) and `cdx plot`, so both draw the same.
 */
import { categoryColor, colormapLUT, type ColormapName } from './colormap';
import { flipRows, shade, shadeCategorical, type ToneHow } from './shade';
import type { LegendSpec } from './svg';

export interface GridLike {
  counts: Uint32Array;
  width: number;
  height: number;
  categoryCounts?: Uint32Array;
  categories?: string[];
  /** a numeric colour column's mean per cell (NaN where none), and its name */
  means?: Float64Array;
  meanOf?: string;
}

/**
 * Cells coloured by a value (a numeric colour column's mean per cell): the colour map spans the
 * finite values' range linearly; cells without rows or without a value are transparent.
 */
export function shadeMeans(means: Float64Array, counts: Uint32Array, cmap: ColormapName): { pixels: Uint32Array; min: number; max: number } {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < means.length; i++) {
    const v = means[i]!;
    if (counts[i] && Number.isFinite(v)) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  const lut = colormapLUT(cmap);
  const px = new Uint32Array(means.length);
  const k = hi > lo ? 255 / (hi - lo) : 0;
  for (let i = 0; i < means.length; i++) {
    const v = means[i]!;
    if (counts[i] && Number.isFinite(v)) px[i] = lut[hi > lo ? Math.round((v - lo) * k) : 255]!;
  }
  return { pixels: px, min: lo <= hi ? lo : 0, max: lo <= hi ? hi : 0 };
}

export function densityImage(d: GridLike, how: ToneHow, cmap: ColormapName, label?: string): { rgba: Uint8ClampedArray; legend: LegendSpec } {
  const { width: W, height: H } = d;
  if (d.categoryCounts && d.categories) {
    const { pixels } = shadeCategorical(d.categoryCounts, W, H, d.categories.length, how);
    const img = flipRows(pixels, W, H);
    return {
      rgba: new Uint8ClampedArray(img.buffer, img.byteOffset, img.byteLength),
      legend: { kind: 'categorical', label, entries: d.categories.map((c, k) => ({ label: c, color: categoryColor(k) })) },
    };
  }
  if (d.means) {
    const { pixels, min, max } = shadeMeans(d.means, d.counts, cmap);
    const img = flipRows(pixels, W, H);
    return {
      rgba: new Uint8ClampedArray(img.buffer, img.byteOffset, img.byteLength),
      legend: { kind: 'continuous', cmap, how: 'linear', min, max, label: `mean of ${d.meanOf ?? label ?? 'the colour column'}`, caption: 'mean per cell' },
    };
  }
  const { pixels, scale } = shade(d.counts, how, cmap);
  const img = flipRows(pixels, W, H);
  return {
    rgba: new Uint8ClampedArray(img.buffer, img.byteOffset, img.byteLength),
    legend: { kind: 'continuous', cmap, how, min: scale.min, max: scale.max, label },
  };
}
