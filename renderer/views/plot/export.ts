/**
 * Plot exports in the browser: the full plot (axes, labels, legend as vectors; the layer as an
 * embedded PNG) as SVG, the same rasterised to PNG at any size, the count grid as NPY or CSV.
 * The PNG of the full plot is the SVG drawn into a canvas, so PNG and SVG match by construction.
 */
import { densityImage } from '../../../shared/plot/render';
import { plotSVG, plotFrame, type LegendSpec, type PlotFrame } from '../../../shared/plot/svg';
import { encodeNPY, gridCSV } from '../../../shared/plot/encode';
import type { ColormapName } from '../../../shared/plot/colormap';
import type { ToneHow } from '../../../shared/plot/shade';
import type { AxisKind } from '../../../shared/plot/ticks';
import type { Viewport } from '../../../shared/plot/viewport';
import type { DensityResult } from '../../../shared/plot/types';

export function download(data: Blob, name: string): void {
  const url = URL.createObjectURL(data);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** image-ordered RGBA -> PNG data URI (through a 2-D canvas) */
export function rgbaToDataURI(rgba: Uint8ClampedArray, w: number, h: number): string {
  const c = document.createElement('canvas');
  c.width = w;
  c.height = h;
  const ctx = c.getContext('2d')!;
  const id = ctx.createImageData(w, h);
  id.data.set(rgba);
  ctx.putImageData(id, 0, 0);
  return c.toDataURL('image/png');
}

export function densityDataURI(d: DensityResult, how: ToneHow, cmap: ColormapName, label?: string): { uri: string; legend: LegendSpec } {
  const { rgba, legend } = densityImage(d, how, cmap, label);
  return { uri: rgbaToDataURI(rgba, d.width, d.height), legend };
}

export interface SvgSpec {
  width: number;
  height: number;
  vp: Viewport;
  xLabel: string;
  yLabel: string;
  xAxis: AxisKind;
  yAxis: AxisKind;
  legend: LegendSpec | null;
  image: string | null;
  title?: string;
}

export function buildSVG(s: SvgSpec): string {
  return plotSVG({ frame: plotFrame(s.width, s.height, true), vp: s.vp, xLabel: s.xLabel, yLabel: s.yLabel, xAxis: s.xAxis, yAxis: s.yAxis, legend: s.legend, image: s.image, title: s.title });
}

function loadImage(src: string, w?: number, h?: number): Promise<HTMLImageElement> {
  const img = new Image();
  if (w) img.width = w;
  if (h) img.height = h;
  return new Promise((resolve, reject) => {
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error('the plot image could not be rendered'));
    img.src = src;
  });
}

/**
 * SVG text (axes etc.) -> PNG blob of outW x outH (the SVG scaled), with the layer image drawn
 * under it into the plot area (composited here: an image nested in an SVG-as-image may not be
 * decoded by the time the SVG's load event fires).
 */
export async function svgToPNG(svg: string, outW: number, outH: number, layer?: { href: string; frame: PlotFrame }): Promise<Blob> {
  const url = URL.createObjectURL(new Blob([svg], { type: 'image/svg+xml' }));
  try {
    const img = await loadImage(url, outW, outH);
    const c = document.createElement('canvas');
    c.width = outW;
    c.height = outH;
    const ctx = c.getContext('2d')!;
    ctx.drawImage(img, 0, 0, outW, outH);
    if (layer) {
      const f = layer.frame;
      const sx = outW / f.width, sy = outH / f.height;
      const li = await loadImage(layer.href);
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(li, f.left * sx, f.top * sy, f.plotW * sx, f.plotH * sy);
    }
    return await new Promise<Blob>((resolve, reject) => c.toBlob((b) => (b ? resolve(b) : reject(new Error('PNG encoding failed'))), 'image/png'));
  } finally {
    URL.revokeObjectURL(url);
  }
}

export function npyBlob(d: DensityResult): Blob {
  return new Blob([encodeNPY(d.counts, [d.height, d.width]) as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' });
}

export function csvBlob(d: DensityResult): Blob {
  return new Blob([gridCSV(d.counts, d.width, d.height, d)], { type: 'text/csv' });
}
