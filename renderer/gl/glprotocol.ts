/**
 * What a plot surface draws (the density image, the points, the draw options) and the messages
 * between the page (plotgl.ts) and the plot worker (glworker.ts) that carry it. A leaf module:
 * both sides import it, it imports neither.
 */
export interface Rect {
  /** fractions of the plot area: left/right from the left edge, top/bottom from the top edge */
  left: number;
  top: number;
  right: number;
  bottom: number;
}

export interface DensityImage {
  /** packed RGBA, grid order (row 0 = lowest y) */
  pixels: Uint32Array;
  width: number;
  height: number;
}

export interface PointsData {
  /** offsets from (ox, oy), float32 for the GPU */
  x: Float32Array;
  y: Float32Array;
  ox: number;
  oy: number;
  /** colour per point: 0..1 level (continuous) or category code */
  c: Float32Array;
  /** RGBA LUT: 256 entries (continuous) or one per category */
  lut: Uint32Array;
  categorical: boolean;
}

export interface PointStyle {
  size: number;
  opacity: number;
}

export interface View {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

/** a line plot's series: polylines (x ascending, data units, float64: see linespans.ts) and colours */
export interface LinesData {
  series: { x: Float64Array; y: Float64Array; rgb: [number, number, number] }[];
}

export interface LineStyle {
  /** fill between each line and y = 0 (or the axis bottom) at low alpha */
  area: boolean;
  /** 'spans' (the app: per-column spans, pixel-exact) or 'strip' (GL line strips; measured in e2e/line18.spec.ts) */
  mode?: 'spans' | 'strip';
}

export interface DrawOpts {
  rect: Rect | null;
  view: View;
  style: PointStyle;
  showDensity: boolean;
  showPoints: boolean;
  /** draw the surface's lines (LinesData) in `view` */
  lines?: LineStyle;
}

export type GLRequest =
  | { t: 'init' }
  | { t: 'density'; id: number; img: DensityImage | null }
  | { t: 'points'; id: number; points: PointsData | null }
  | { t: 'lines'; id: number; lines: LinesData | null }
  | { t: 'draw'; id: number; seq: number; width: number; height: number; dpr: number; opts: DrawOpts }
  | { t: 'drop'; id: number };

export type GLReply =
  | { t: 'ready'; renderer: string }
  | { t: 'error'; message: string }
  | { t: 'frame'; id: number; seq: number; bitmap: ImageBitmap }
  | { t: 'lost' };
