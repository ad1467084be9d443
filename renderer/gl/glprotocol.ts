/** Messages between the page (plotgl.ts) and the plot worker (glworker.ts). */
import type { DensityImage, PointsData, Rect, View, PointStyle } from './plotgl';

export interface DrawOpts {
  rect: Rect | null;
  view: View;
  style: PointStyle;
  showDensity: boolean;
  showPoints: boolean;
}

export type GLRequest =
  | { t: 'init' }
  | { t: 'density'; id: number; img: DensityImage | null }
  | { t: 'points'; id: number; points: PointsData | null }
  | { t: 'draw'; id: number; seq: number; width: number; height: number; dpr: number; opts: DrawOpts }
  | { t: 'drop'; id: number };

export type GLReply =
  | { t: 'ready'; renderer: string }
  | { t: 'error'; message: string }
  | { t: 'frame'; id: number; seq: number; bitmap: ImageBitmap }
  | { t: 'lost' };
