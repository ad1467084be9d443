/**
 * A scatter/density plot's hover tooltip, as a Svelte 5 rune class. Over points: the nearest
 * point within 8 px, with its x and y at once and then the whole row (one `Request`: moving on
 * cancels the row fetch in flight, a late row never lands on another point). Over a density
 * image: the cell's count, and per category with a categorical colour (or the colour column's
 * mean); nothing over an empty cell, so the tooltip goes where there is no data. Over a sampled
 * image the counts are scaled to the whole dataset and marked "≈ … (sample)". At most one
 * look-up per animation frame. Row numbers count from 1, as in the table.
 */
import { tableFromIPC } from 'apache-arrow';
import type { PlotFrame } from '../../shared/plot/svg';
import { pixelToData } from '../../shared/plot/viewport';
import { formatAxisValue } from '../../shared/plot/ticks';
import { cellText, formatNumber } from './format';
import { sampleScale, type PlotState } from './plot.svelte';
import { Request } from './request.svelte';

export interface Tooltip {
  /** position in the plot area (px from its top-left corner) */
  left: number;
  top: number;
  lines: string[];
}

export class PlotHover {
  tip = $state.raw<Tooltip | null>(null);
  private row = new Request<string[]>();
  /** the point whose row is shown or on its way, and that row's lines once here */
  private rowOf = -1;
  private rowLines: string[] | null = null;
  private raf = 0;

  constructor(private st: PlotState) {}

  /** the pointer is at `p` (px in the plot area) */
  move(p: [number, number], frame: PlotFrame): void {
    cancelAnimationFrame(this.raf);
    this.raf = requestAnimationFrame(() => void this.look(p, frame));
  }

  clear(): void {
    cancelAnimationFrame(this.raf);
    this.forgetRow();
    this.tip = null;
  }

  private forgetRow(): void {
    this.row.reset();
    this.rowOf = -1;
    this.rowLines = null;
  }

  private async look([px, py]: [number, number], frame: PlotFrame): Promise<void> {
    const st = this.st;
    if (px < 0 || py < 0 || px > frame.plotW || py > frame.plotH) {
      this.clear();
      return;
    }
    const [dx, dy] = pixelToData(st.vp, frame.plotW, frame.plotH, px, py);
    const xa = st.axisKind(st.xInfo), ya = st.axisKind(st.yInfo);
    if (st.mode === 'points' && st.points?.res.sent) {
      const p = st.points.res;
      const sx = frame.plotW / (st.vp.x1 - st.vp.x0), sy = frame.plotH / (st.vp.y1 - st.vp.y0);
      let best = -1, bd = 64; // within 8 px
      for (let i = 0; i < p.x.length; i++) {
        const ex = (p.x[i]! - dx) * sx, ey = (p.y[i]! - dy) * sy;
        const d2 = ex * ex + ey * ey;
        if (d2 < bd) { bd = d2; best = i; }
      }
      if (best < 0) {
        this.clear();
        return;
      }
      const id = p.ids[best]!;
      const left = ((p.x[best]! - st.vp.x0) / (st.vp.x1 - st.vp.x0)) * frame.plotW, top = ((st.vp.y1 - p.y[best]!) / (st.vp.y1 - st.vp.y0)) * frame.plotH;
      if (id === this.rowOf && (this.rowLines || this.row.busy)) {
        // still over the same point: its row is here or on its way
        this.tip = { left, top, lines: this.rowLines ?? this.tip?.lines ?? [] };
        return;
      }
      if (id < 0) {
        // a database's points carry no row numbers (it keeps none): x and y only
        this.tip = { left, top, lines: [`${st.x}: ${formatAxisValue(p.x[best]!, xa)}`, `${st.y}: ${formatAxisValue(p.y[best]!, ya)}`] };
        return;
      }
      this.tip = { left, top, lines: [`row ${formatNumber(id + 1)}`, `${st.x}: ${formatAxisValue(p.x[best]!, xa)}`, `${st.y}: ${formatAxisValue(p.y[best]!, ya)}`] };
      this.rowOf = id;
      this.rowLines = null;
      const view = st.view;
      const lines = await this.row.run(async ({ signal }) => {
        const r = await view.engine.api.rows({ dataset: view.id, offset: id, limit: 1 }, { signal });
        const row = tableFromIPC(r.ipc).get(0)?.toJSON() ?? {};
        // each value as the table shows it: dates and timestamps as ISO text, never epoch numbers
        const types = new Map(view.overview?.schema.fields.map((f) => [f.name, f.type]) ?? []);
        return [`row ${formatNumber(id + 1)}`, ...Object.entries(row).map(([k, v]) => `${k}: ${v === null || v === undefined ? '∅' : v instanceof Date ? cellText(v.getTime(), types.get(k) ?? 'timestamp') : cellText(v, types.get(k) ?? '')}`)];
      });
      // without the row (it failed) the tooltip keeps x and y
      if (lines) {
        this.rowLines = lines;
        this.tip = { left, top, lines };
      }
      return;
    }
    this.forgetRow();
    const d = st.density;
    if (!d) return;
    const r = d.res;
    const i = Math.floor(((dx - d.vp.x0) / (d.vp.x1 - d.vp.x0)) * r.width), j = Math.floor(((dy - d.vp.y0) / (d.vp.y1 - d.vp.y0)) * r.height);
    if (i < 0 || j < 0 || i >= r.width || j >= r.height) {
      this.tip = null;
      return;
    }
    const count = r.counts[j * r.width + i]!;
    if (!count) {
      // nothing under the cursor: no tooltip
      this.tip = null;
      return;
    }
    // the cell's position to the resolution of a cell (a time to the minute, second, … the view tells apart)
    const rx = (d.vp.x1 - d.vp.x0) / r.width, ry = (d.vp.y1 - d.vp.y0) / r.height;
    // a sample's counts: estimates for the whole dataset, never shown as exact
    const k = sampleScale(r), approx = r.sample ? '≈ ' : '';
    const num = (v: number) => approx + formatNumber(Math.round(v * k));
    const lines = [`${st.x}: ${formatAxisValue(dx, xa, rx)}`, `${st.y}: ${formatAxisValue(dy, ya, ry)}`, `count: ${num(count)}${r.sample ? ' (sample)' : ''}`];
    const mean = r.means?.[j * r.width + i];
    if (mean !== undefined && Number.isFinite(mean)) lines.push(`mean of ${r.meanOf}: ${approx}${formatAxisValue(mean, st.axisKind(st.colorInfo))}`);
    if (r.categoryCounts && r.categories) {
      const n = r.width * r.height;
      r.categories.forEach((c, q) => {
        const v = r.categoryCounts![q * n + j * r.width + i]!;
        if (v) lines.push(`  ${c}: ${num(v)}`);
      });
    }
    this.tip = { left: px, top: py, lines };
  }
}
