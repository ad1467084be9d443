/**
 * A line plot as pictures and rows, from the engine's LineResult through m4Polyline (so every
 * picture of a line is the same line):
 *  - `lineSVG`: the whole plot as an SVG document — axes, ticks and labels as text (svg.ts
 *    axesSVG, as the density plot's export), each series a vector path (an area: the path closed
 *    down to y = 0, or the bottom edge when 0 is out of view, filled at low opacity), a legend;
 *  - `lineRaster`: the lines alone as RGBA pixels, one pixel column per M4 column, by the app's
 *    rule (linespans.ts: per column the span of rows the line passes through), under which the
 *    M4 line is pixel for pixel the line of every row (linesvg.test.ts checks it);
 *  - `lineCSV`: the decimated points, one row per point: series, x, y.
 * Used by `cdx plot --kind line` and the app's exports.
 */
import { axesSVG, esc, type PlotFrame } from './svg';
import { categoryColor } from './colormap';
import { m4Polyline, seriesName, type Polyline } from './m4';
import { lineSpans } from './linespans';
import type { AxisKind } from './ticks';
import type { LineResult } from './types';
import type { Viewport } from './viewport';

/** the colour of series k (the categorical palette the density plot's categories use) */
export function seriesColor(k: number): [number, number, number] {
  return categoryColor(k);
}

const n2 = (v: number) => String(Math.round(v * 100) / 100);

export interface LineSvgOptions {
  frame: PlotFrame;
  /** x0, x1 of the line data; y0, y1 the y limits shown */
  vp: Viewport;
  xLabel: string;
  yLabel: string;
  xAxis?: AxisKind;
  yAxis?: AxisKind;
  area?: boolean;
  title?: string;
}

/** The SVG path data of a polyline in the frame's plot area ('' when it has no point). */
export function polylinePath(p: Polyline, vp: Viewport, f: PlotFrame): string {
  const sx = f.plotW / (vp.x1 - vp.x0), sy = f.plotH / (vp.y1 - vp.y0);
  const out: string[] = [];
  for (let i = 0; i < p.x.length; i++) out.push(`${i ? 'L' : 'M'}${n2(f.left + (p.x[i]! - vp.x0) * sx)},${n2(f.top + f.plotH - (p.y[i]! - vp.y0) * sy)}`);
  return out.join('');
}

export function lineSVG(r: LineResult, o: LineSvgOptions): string {
  const f = o.frame, vp = o.vp;
  const clip = `<clipPath id="plot-area"><rect x="${f.left}" y="${f.top}" width="${f.plotW}" height="${f.plotH}"/></clipPath>`;
  const paths: string[] = [];
  const base = vp.y0 <= 0 && vp.y1 >= 0 ? 0 : vp.y0;
  const yBase = n2(f.top + f.plotH - ((base - vp.y0) * f.plotH) / (vp.y1 - vp.y0));
  r.series.forEach((s, k) => {
    const p = m4Polyline(s);
    if (!p.x.length) return;
    const d = polylinePath(p, vp, f);
    const rgb = `rgb(${seriesColor(k).join(',')})`;
    const name = esc(seriesName(s));
    if (o.area) {
      const sx = f.plotW / (vp.x1 - vp.x0);
      const xa = n2(f.left + (p.x[0]! - vp.x0) * sx), xb = n2(f.left + (p.x[p.x.length - 1]! - vp.x0) * sx);
      paths.push(`<path class="area" d="${d}L${xb},${yBase}L${xa},${yBase}Z" fill="${rgb}" fill-opacity="0.25" stroke="none"><title>${name}</title></path>`);
    }
    paths.push(`<path class="series" d="${d}" fill="none" stroke="${rgb}" stroke-width="1.25" stroke-linejoin="round"><title>${name}</title></path>`);
  });
  const legend = {
    kind: 'categorical' as const,
    entries: r.series.map((s, k) => ({ label: seriesName(s), color: seriesColor(k) })),
  };
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<svg xmlns="http://www.w3.org/2000/svg" width="${f.width}" height="${f.height}" viewBox="0 0 ${f.width} ${f.height}" font-family="sans-serif">` +
    (o.title ? `<title>${esc(o.title)}</title>` : '') +
    `<defs>${clip}</defs><rect width="100%" height="100%" fill="#fff"/>` +
    `<g class="lines" clip-path="url(#plot-area)">${paths.join('')}</g>` +
    axesSVG({ frame: f, vp, xLabel: o.xLabel, yLabel: o.yLabel, xAxis: o.xAxis, yAxis: o.yAxis, legend: r.series.length > 1 || r.series[0]?.label !== undefined ? legend : null }) +
    `</svg>\n`
  );
}

/**
 * The lines as RGBA (row 0 at the top), `width` x `height` pixels over x in [r.x0, r.x1) (pixel
 * column i = M4 column i when width = r.width) and y in [y0, y1): per pixel column the span of
 * rows the polyline passes through, lit — the app's own rule (linespans.ts), under which the M4
 * line is pixel for pixel the line of every row. White background, series colours.
 */
export function lineRaster(r: LineResult, width: number, height: number, y0: number, y1: number): Uint8ClampedArray {
  const rgba = new Uint8ClampedArray(width * height * 4).fill(255);
  r.series.forEach((s, k) => drawPolyline(rgba, width, height, m4Polyline(s), r.x0, r.x1, y0, y1, seriesColor(k)));
  return rgba;
}

/** Draws a polyline into RGBA by lineRaster's rule (exported for the exactness test). */
export function drawPolyline(rgba: Uint8ClampedArray, width: number, height: number, p: Polyline, x0: number, x1: number, y0: number, y1: number, rgb: [number, number, number]): void {
  const { lo, hi } = lineSpans(p.x, p.y, { x0, x1, y0, y1 }, width, height);
  for (let c = 0; c < width; c++)
    for (let j = lo[c]!; j <= hi[c]!; j++) {
      const o = ((height - 1 - j) * width + c) * 4;
      rgba[o] = rgb[0];
      rgba[o + 1] = rgb[1];
      rgba[o + 2] = rgb[2];
      rgba[o + 3] = 255;
    }
}

/** The decimated points as CSV: series,x,y (x and y as stored: time columns in their unit). */
export function lineCSV(r: LineResult, fmtX: (x: number) => string = String): string {
  const q = (s: string) => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const out = ['series,x,y'];
  for (const s of r.series) {
    const p = m4Polyline(s), name = q(seriesName(s));
    for (let i = 0; i < p.x.length; i++) out.push(`${name},${q(fmtX(p.x[i]!))},${p.y[i]}`);
  }
  return out.join('\n') + '\n';
}
