/**
 * The plot's frame (margins around the data area), and the plot as an SVG document: axes, ticks,
 * labels and the colour legend as vectors, the density or points layer as an embedded image (a
 * PNG data URI). The app's axis overlay and `cdx plot --out x.svg` both come from here, so an
 * export matches what is on screen.
 */
import { axisTicks, type AxisKind } from './ticks';
import { colormapLUT, cssColor, type ColormapName } from './colormap';
import type { ToneHow } from './shade';
import type { Viewport } from './viewport';

export interface PlotFrame {
  width: number;
  height: number;
  left: number;
  top: number;
  plotW: number;
  plotH: number;
}

export const MARGIN = { left: 72, right: 16, top: 12, bottom: 44, legend: 96 };

export function plotFrame(width: number, height: number, legend = true): PlotFrame {
  const right = MARGIN.right + (legend ? MARGIN.legend : 0);
  return {
    width,
    height,
    left: MARGIN.left,
    top: MARGIN.top,
    plotW: Math.max(1, width - MARGIN.left - right),
    plotH: Math.max(1, height - MARGIN.top - MARGIN.bottom),
  };
}

export type LegendSpec =
  | { kind: 'continuous'; cmap: ColormapName; how: ToneHow; min: number; max: number; label?: string; /** under the bar; default `count (how)` */ caption?: string }
  | { kind: 'categorical'; entries: { label: string; color: [number, number, number] }[]; label?: string }
  | { kind: 'points'; count: number; label?: string };

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const n2 = (v: number) => String(Math.round(v * 100) / 100);

export interface AxesOptions {
  frame: PlotFrame;
  vp: Viewport;
  xLabel: string;
  yLabel: string;
  xAxis?: AxisKind;
  yAxis?: AxisKind;
  legend?: LegendSpec | null;
  color?: string;
}

/** the axes, ticks, labels and legend as SVG elements (no <svg> wrapper) */
export function axesSVG(o: AxesOptions): string {
  const { frame: f, vp } = o;
  const ink = o.color ?? '#333';
  const out: string[] = [];
  const bx = f.left, by = f.top + f.plotH;
  out.push(`<rect x="${bx}" y="${f.top}" width="${f.plotW}" height="${f.plotH}" fill="none" stroke="${ink}" stroke-width="1"/>`);
  out.push(`<g class="x-axis" font-size="11" fill="${ink}" text-anchor="middle">`);
  const xt = axisTicks(vp.x0, vp.x1, f.plotW, o.xAxis);
  // a time axis's context (the year, the date) is a second line under the tick it belongs to
  const xContext = xt.some((t) => t.context);
  for (const t of xt) {
    const x = bx + t.pos * f.plotW;
    out.push(`<line x1="${n2(x)}" y1="${by}" x2="${n2(x)}" y2="${by + 5}" stroke="${ink}"/><text x="${n2(x)}" y="${by + 16}">${esc(t.label)}</text>`);
    if (t.context) out.push(`<text class="tick-context" x="${n2(x)}" y="${by + 28}" font-size="10">${esc(t.context)}</text>`);
  }
  out.push(`<text class="x-label" x="${n2(bx + f.plotW / 2)}" y="${by + (xContext ? 40 : 36)}" font-size="12">${esc(o.xLabel)}</text></g>`);
  out.push(`<g class="y-axis" font-size="11" fill="${ink}" text-anchor="end">`);
  for (const t of axisTicks(vp.y0, vp.y1, f.plotH, o.yAxis, 50)) {
    const y = by - t.pos * f.plotH;
    out.push(`<line x1="${bx - 5}" y1="${n2(y)}" x2="${bx}" y2="${n2(y)}" stroke="${ink}"/><text x="${bx - 8}" y="${n2(y + 4)}">${esc(t.label)}</text>`);
    if (t.context) out.push(`<text class="tick-context" x="${bx - 8}" y="${n2(y + 15)}" font-size="10">${esc(t.context)}</text>`);
  }
  const ly = f.top + f.plotH / 2;
  out.push(`<text class="y-label" x="14" y="${n2(ly)}" font-size="12" text-anchor="middle" transform="rotate(-90 14 ${n2(ly)})">${esc(o.yLabel)}</text></g>`);
  if (o.legend) out.push(legendSVG(o.legend, bx + f.plotW + 14, f.top, f.plotH, ink));
  return out.join('');
}

function legendSVG(l: LegendSpec, x: number, y: number, h: number, ink: string): string {
  const out: string[] = [`<g class="legend" font-size="11" fill="${ink}">`];
  if (l.label) out.push(`<text x="${x}" y="${y + 10}">${esc(l.label)}</text>`);
  const top = y + (l.label ? 20 : 4);
  if (l.kind === 'continuous') {
    const lut = colormapLUT(l.cmap);
    const barH = Math.max(20, Math.min(200, h - 40));
    const id = `lg-${l.cmap}`;
    const stops: string[] = [];
    for (let k = 0; k <= 16; k++) {
      const i = Math.round((k / 16) * 255);
      stops.push(`<stop offset="${(k / 16).toFixed(4)}" stop-color="${cssColor(lut[255 - i]!)}"/>`);
    }
    out.push(`<defs><linearGradient id="${id}" x1="0" y1="0" x2="0" y2="1">${stops.join('')}</linearGradient></defs>`);
    out.push(`<rect x="${x}" y="${top}" width="14" height="${barH}" fill="url(#${id})" stroke="${ink}" stroke-width="0.5"/>`);
    out.push(`<text x="${x + 18}" y="${top + 9}">${esc(fmtCount(l.max))}</text>`);
    out.push(`<text x="${x + 18}" y="${top + barH}">${esc(fmtCount(l.min))}</text>`);
    out.push(`<text x="${x}" y="${top + barH + 16}">${esc(l.caption ?? `count (${l.how})`)}</text>`);
  } else if (l.kind === 'categorical') {
    l.entries.slice(0, 20).forEach((e, k) => {
      const yy = top + k * 16;
      out.push(`<rect x="${x}" y="${yy}" width="10" height="10" fill="rgb(${e.color.join(',')})"/><text x="${x + 14}" y="${yy + 9}">${esc(e.label.slice(0, 14))}</text>`);
    });
    if (l.entries.length > 20) out.push(`<text x="${x}" y="${top + 20 * 16 + 9}">+${l.entries.length - 20} more</text>`);
  } else {
    out.push(`<text x="${x}" y="${top + 9}">${esc(fmtCount(l.count))} points</text>`);
  }
  out.push('</g>');
  return out.join('');
}

function fmtCount(v: number): string {
  return Number.isInteger(v) ? v.toLocaleString('en-US') : String(Number(v.toPrecision(4)));
}

/** A standalone SVG document: white background, the layer image over the plot area, the axes. */
export function plotSVG(o: AxesOptions & { image?: string | null; title?: string }): string {
  const f = o.frame;
  const img = o.image ? `<image x="${f.left}" y="${f.top}" width="${f.plotW}" height="${f.plotH}" preserveAspectRatio="none" href="${o.image}"/>` : '';
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<svg xmlns="http://www.w3.org/2000/svg" width="${f.width}" height="${f.height}" viewBox="0 0 ${f.width} ${f.height}" font-family="sans-serif">` +
    (o.title ? `<title>${esc(o.title)}</title>` : '') +
    `<rect width="100%" height="100%" fill="#fff"/>${img}${axesSVG(o)}</svg>\n`
  );
}
