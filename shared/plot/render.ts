/**
 * A density result -> image-ordered RGBA pixels (top row = highest y) and its legend: the one
 * shading path shared by the app (canvas fallback, exports) and `cdx plot`, so both draw the same.
 */
import { categoryColor, type ColormapName } from './colormap';
import { flipRows, shade, shadeCategorical, type ToneHow } from './shade';
import type { LegendSpec } from './svg';

export interface GridLike {
  counts: Uint32Array;
  width: number;
  height: number;
  categoryCounts?: Uint32Array;
  categories?: string[];
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
  const { pixels, scale } = shade(d.counts, how, cmap);
  const img = flipRows(pixels, W, H);
  return {
    rgba: new Uint8ClampedArray(img.buffer, img.byteOffset, img.byteLength),
    legend: { kind: 'continuous', cmap, how, min: scale.min, max: scale.max, label },
  };
}
