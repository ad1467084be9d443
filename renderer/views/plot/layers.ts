/**
 * What a scatter/density plot draws, computed from its state: the density image (tone and colour
 * mapping on the CPU, a few ms for 2 Mpx, uploaded as a texture), the points as float32 offsets
 * from the fetch viewport's centre with a colour level or code each, and the legend that goes
 * with them (on screen and in exports). A sampled density (DensityResult.sample) is shaded from its
 * own counts; its legend gives the counts scaled to the whole dataset, marked as estimates.
 */
import { sampleScale, type PlotState } from '../../lib/plot.svelte';
import type { PointsData } from '../../gl/glprotocol';
import type { LegendSpec } from '../../../shared/plot/svg';
import { shade, shadeCategorical } from '../../../shared/plot/shade';
import { categoryColor, colormapLUT, packRGBA } from '../../../shared/plot/colormap';
import { shadeMeans } from '../../../shared/plot/render';

export interface ShadedDensity {
  pixels: Uint32Array;
  width: number;
  height: number;
  /** the count range the colours span */
  min: number;
  max: number;
}

export function densityImageOf(st: PlotState): ShadedDensity | null {
  const d = st.density?.res;
  if (!d) return null;
  if (d.categoryCounts && d.categories) {
    const r = shadeCategorical(d.categoryCounts, d.width, d.height, d.categories.length, st.how);
    return { pixels: r.pixels, width: d.width, height: d.height, min: r.scale.min, max: r.scale.max };
  }
  if (d.means) {
    // coloured by a numeric column's mean per cell: the colour map spans the means, linearly
    const r = shadeMeans(d.means, d.counts, st.cmap);
    return { pixels: r.pixels, width: d.width, height: d.height, min: r.min, max: r.max };
  }
  const r = shade(d.counts, st.how, st.cmap);
  return { pixels: r.pixels, width: d.width, height: d.height, min: r.scale.min, max: r.scale.max };
}

export type PlotPoints = PointsData & { cmin?: number; cmax?: number };

export function pointsDataOf(st: PlotState): PlotPoints | null {
  const p = st.points?.res;
  if (!p || !p.sent) return null;
  const vp = st.points!.vp;
  const ox = (vp.x0 + vp.x1) / 2, oy = (vp.y0 + vp.y1) / 2;
  const n = p.x.length;
  const x = new Float32Array(n), y = new Float32Array(n), c = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    x[i] = p.x[i]! - ox;
    y[i] = p.y[i]! - oy;
  }
  if (p.color && p.categories) {
    c.set(p.color);
    const lut = new Uint32Array(Math.max(1, p.categories.length));
    for (let k = 0; k < lut.length; k++) lut[k] = packRGBA(...categoryColor(k));
    return { x, y, c, ox, oy, lut, categorical: true };
  }
  if (p.color) {
    let lo = Infinity, hi = -Infinity;
    for (const v of p.color) if (Number.isFinite(v)) { if (v < lo) lo = v; if (v > hi) hi = v; }
    const span = hi > lo ? hi - lo : 1;
    for (let i = 0; i < n; i++) c[i] = Number.isFinite(p.color[i]!) ? (p.color[i]! - lo) / span : 0;
    return { x, y, c, ox, oy, lut: colormapLUT(st.cmap), categorical: false, cmin: lo, cmax: hi };
  }
  return { x, y, c, ox, oy, lut: new Uint32Array([packRGBA(...categoryColor(0))]), categorical: true };
}

export function legendOf(st: PlotState, densityImg: ShadedDensity | null, points: PlotPoints | null): LegendSpec | null {
  if (st.mode === 'points' && st.points?.res.sent) {
    const p = st.points.res;
    if (p.categories) return { kind: 'categorical', label: st.color, entries: p.categories.map((c, k) => ({ label: c, color: categoryColor(k) })) };
    if (p.color && points?.cmin !== undefined) return { kind: 'continuous', cmap: st.cmap, how: 'linear', min: points.cmin, max: points.cmax!, label: st.color, caption: 'value' };
    return { kind: 'points', count: st.count ?? p.count };
  }
  const d = st.density?.res;
  if (!d || !densityImg) return null;
  if (d.categories) return { kind: 'categorical', label: st.color, entries: d.categories.map((c, k) => ({ label: c, color: categoryColor(k) })) };
  if (d.means) return { kind: 'continuous', cmap: st.cmap, how: 'linear', min: densityImg.min, max: densityImg.max, label: `mean of ${d.meanOf ?? st.color}`, caption: d.sample ? 'mean per cell (sample)' : 'mean per cell' };
  if (d.sample) {
    // a sample's counts, scaled to the whole dataset: estimates, and said to be
    const k = sampleScale(d);
    return { kind: 'continuous', cmap: st.cmap, how: st.how, min: Math.round(densityImg.min * k), max: Math.round(densityImg.max * k), caption: `≈ count (${st.how})` };
  }
  return { kind: 'continuous', cmap: st.cmap, how: st.how, min: densityImg.min, max: densityImg.max };
}
