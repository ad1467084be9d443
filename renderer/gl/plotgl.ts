/**
 * One plot's drawing surface behind create/destroy: regl (WebGL 1) in the window's plot worker
 * (glworker.ts: why a worker, and its CSP, are explained there), or, where WebGL, OffscreenCanvas
 * or workers are missing or the context is lost, a 2-D canvas that draws the same density image
 * (and points, slowly; lines from the same spans, linespans.ts) so a plot is never blank; `status` says which. Frames are drawn
 * asynchronously: `whenDrawn()` resolves once the latest draw is on the canvas.
 */
import type { DensityImage, DrawOpts, GLReply, GLRequest, LinesData, PointsData } from './glprotocol';
import { baselineRow, lineSpans } from '../../shared/plot/linespans';

export type SurfaceKind = 'webgl' | 'canvas2d';

export interface PlotSurface {
  readonly kind: SurfaceKind;
  /** a sentence for the status line when not on WebGL (or after a context loss) */
  readonly status: string | null;
  resize(cssW: number, cssH: number, dpr: number): void;
  setDensity(img: DensityImage | null): void;
  setPoints(p: PointsData | null): void;
  /** a line plot's series (drawn when DrawOpts.lines is set) */
  setLines(l: LinesData | null): void;
  /** draw: the density image into `rect`, then the points for `view`, then the lines */
  draw(opts: DrawOpts): void;
  /** resolves when the latest draw is on the canvas */
  whenDrawn(): Promise<void>;
  destroy(): void;
}

/**
 * The window's plot worker (glworker.ts: one regl context for every plot of the window), started
 * on first use. `fail` moves every surface to the 2-D fallback through its onLost callback.
 */
class GLHost {
  private worker: Worker;
  readonly surfaces = new Map<number, WorkerSurface>();
  private nextId = 1;
  failure: string | null = null;
  renderer: string | null = null;

  constructor(factory: () => Worker) {
    this.worker = factory();
    this.worker.onmessage = (e: MessageEvent<GLReply>) => this.onReply(e.data);
    this.worker.onerror = (e) => this.fail(`The plot renderer could not start (${e.message || 'worker error'}); drawing with a 2-D canvas.`);
    this.post({ t: 'init' });
  }

  post(m: GLRequest): void {
    if (!this.failure) this.worker.postMessage(m);
  }

  attach(canvas: HTMLCanvasElement, onLost: (reason: string) => void): WorkerSurface {
    const s = new WorkerSurface(this, canvas, this.nextId++, onLost);
    this.surfaces.set(s.id, s);
    return s;
  }

  private onReply(m: GLReply): void {
    if (m.t === 'ready') this.renderer = m.renderer;
    else if (m.t === 'frame') this.surfaces.get(m.id)?.frame(m.seq, m.bitmap);
    else if (m.t === 'error') this.fail(`WebGL failed (${m.message}); drawing with a 2-D canvas.`);
    else if (m.t === 'lost') this.fail('The WebGL context was lost; drawing with a 2-D canvas.');
  }

  private fail(reason: string): void {
    if (this.failure) return;
    this.failure = reason;
    this.worker.terminate();
    for (const s of [...this.surfaces.values()]) s.onLost(reason);
    this.surfaces.clear();
  }
}

let host: GLHost | null = null;
let workerFactory: () => Worker = () => new Worker(new URL('./glworker.ts', import.meta.url), { name: 'cdx-plot-gl' });

/** where the plot worker comes from (the bench bundles it itself; the app lets Vite emit it) */
export function setPlotWorkerFactory(f: () => Worker): void {
  workerFactory = f;
  host = null;
}

/** A plot's canvas fed with frames drawn by the worker (an ImageBitmap per frame, no copy). */
class WorkerSurface implements PlotSurface {
  readonly kind = 'webgl' as const;
  readonly status: string | null = null;
  private ctx: ImageBitmapRenderingContext;
  private dpr = 1;
  private seq = 0;
  private inflight = false;
  private queued: DrawOpts | null = null;
  private waiters: (() => void)[] = [];
  private dropped = false;

  constructor(
    private host: GLHost,
    private canvas: HTMLCanvasElement,
    readonly id: number,
    readonly onLost: (reason: string) => void,
  ) {
    const ctx = canvas.getContext('bitmaprenderer');
    if (!ctx) throw new Error('this canvas cannot show rendered frames');
    this.ctx = ctx;
  }

  resize(cssW: number, cssH: number, dpr: number): void {
    const w = Math.max(1, Math.round(cssW * dpr)), h = Math.max(1, Math.round(cssH * dpr));
    if (this.canvas.width !== w) this.canvas.width = w;
    if (this.canvas.height !== h) this.canvas.height = h;
    this.dpr = dpr;
  }

  // structured clones: the caller keeps its arrays (a 2-D fallback after a context loss needs them)
  setDensity(img: DensityImage | null): void {
    this.host.post({ t: 'density', id: this.id, img: img && { pixels: img.pixels, width: img.width, height: img.height } });
  }

  setPoints(p: PointsData | null): void {
    this.host.post({ t: 'points', id: this.id, points: p && { x: p.x, y: p.y, c: p.c, ox: p.ox, oy: p.oy, lut: p.lut, categorical: p.categorical } });
  }

  setLines(l: LinesData | null): void {
    this.host.post({ t: 'lines', id: this.id, lines: l && { series: l.series.map((q) => ({ x: q.x, y: q.y, rgb: q.rgb })) } });
  }

  /** at most one frame in flight per plot: a draw asked for meanwhile replaces the queued one */
  draw(opts: DrawOpts): void {
    this.seq++;
    if (this.inflight) this.queued = opts;
    else this.send(opts);
  }

  private send(opts: DrawOpts): void {
    this.inflight = true;
    this.host.post({ t: 'draw', id: this.id, seq: this.seq, width: this.canvas.width, height: this.canvas.height, dpr: this.dpr, opts });
  }

  frame(seq: number, bitmap: ImageBitmap): void {
    if (this.dropped) return bitmap.close();
    this.ctx.transferFromImageBitmap(bitmap);
    this.inflight = false;
    const q = this.queued;
    this.queued = null;
    if (q) this.send(q);
    else if (seq === this.seq) this.settle();
  }

  whenDrawn(): Promise<void> {
    if (!this.inflight && !this.queued) return Promise.resolve();
    return new Promise((r) => this.waiters.push(r));
  }

  private settle(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const r of w) r();
  }

  destroy(): void {
    if (this.dropped) return;
    this.dropped = true;
    this.host.post({ t: 'drop', id: this.id });
    this.host.surfaces.delete(this.id);
    this.inflight = false;
    this.queued = null;
    this.settle();
  }
}

/** The 2-D canvas fallback: same images, drawn with drawImage / fillRect. */
class CanvasSurface implements PlotSurface {
  readonly kind = 'canvas2d' as const;
  private ctx: CanvasRenderingContext2D;
  private img: HTMLCanvasElement | null = null;
  private points: PointsData | null = null;
  private lines: LinesData | null = null;

  constructor(
    private canvas: HTMLCanvasElement,
    readonly status: string,
  ) {
    this.ctx = canvas.getContext('2d')!;
  }

  resize(cssW: number, cssH: number, dpr: number): void {
    const w = Math.max(1, Math.round(cssW * dpr)), h = Math.max(1, Math.round(cssH * dpr));
    if (this.canvas.width !== w) this.canvas.width = w;
    if (this.canvas.height !== h) this.canvas.height = h;
  }

  setDensity(d: DensityImage | null): void {
    if (!d) {
      this.img = null;
      return;
    }
    const c = document.createElement('canvas');
    c.width = d.width;
    c.height = d.height;
    const ctx = c.getContext('2d')!;
    const id = ctx.createImageData(d.width, d.height);
    const px = new Uint32Array(id.data.buffer);
    // grid order -> image order
    for (let j = 0; j < d.height; j++) px.set(d.pixels.subarray(j * d.width, (j + 1) * d.width), (d.height - 1 - j) * d.width);
    ctx.putImageData(id, 0, 0);
    this.img = c;
  }

  setPoints(p: PointsData | null): void {
    this.points = p;
  }

  setLines(l: LinesData | null): void {
    this.lines = l;
  }

  draw(o: DrawOpts): void {
    const { ctx, canvas } = this;
    const W = canvas.width, H = canvas.height;
    ctx.clearRect(0, 0, W, H);
    ctx.imageSmoothingEnabled = false;
    if (o.showDensity && this.img && o.rect) {
      const r = o.rect;
      ctx.drawImage(this.img, r.left * W, r.top * H, (r.right - r.left) * W, (r.bottom - r.top) * H);
    }
    const p = this.points;
    if (o.showPoints && p) {
      const v = o.view;
      const sx = W / (v.x1 - v.x0), sy = H / (v.y1 - v.y0);
      const s = Math.max(1, o.style.size * (W / Math.max(1, canvas.clientWidth || W)));
      ctx.globalAlpha = o.style.opacity;
      for (let i = 0; i < p.x.length; i++) {
        const px = (p.x[i]! + p.ox - v.x0) * sx, py = H - (p.y[i]! + p.oy - v.y0) * sy;
        if (px < -s || py < -s || px > W + s || py > H + s) continue;
        const k = p.categorical ? Math.min(p.lut.length - 1, Math.max(0, p.c[i]!)) : Math.min(255, Math.max(0, Math.round(p.c[i]! * 255)));
        const c = p.lut[k]!;
        ctx.fillStyle = `rgb(${c & 255},${(c >>> 8) & 255},${(c >>> 16) & 255})`;
        ctx.fillRect(px - s / 2, py - s / 2, s, s);
      }
      ctx.globalAlpha = 1;
    }
    const l = this.lines;
    if (o.lines && l) {
      // the same spans as the worker's (no line strips here either: pixel-exact, and the same picture)
      const spans = l.series.map((q) => lineSpans(q.x, q.y, o.view, W, H));
      const base = baselineRow(o.view, H);
      const fill = (lo: number, hi: number, c: number) => ctx.fillRect(c, H - hi, 1, hi - lo);
      if (o.lines.area)
        l.series.forEach((q, k) => {
          ctx.fillStyle = `rgba(${q.rgb[0]},${q.rgb[1]},${q.rgb[2]},0.25)`;
          const sp = spans[k]!;
          for (let c = 0; c < W; c++) {
            if (sp.lo[c]! > sp.hi[c]!) continue;
            if (sp.lo[c]! > base) fill(base, sp.lo[c]!, c);
            else if (sp.hi[c]! + 1 <= base) fill(sp.hi[c]! + 1, base, c);
          }
        });
      l.series.forEach((q, k) => {
        ctx.fillStyle = `rgb(${q.rgb[0]},${q.rgb[1]},${q.rgb[2]})`;
        const sp = spans[k]!;
        for (let c = 0; c < W; c++) if (sp.lo[c]! <= sp.hi[c]!) fill(sp.lo[c]!, sp.hi[c]! + 1, c);
      });
    }
  }

  whenDrawn(): Promise<void> {
    return Promise.resolve();
  }

  destroy(): void {
    this.img = null;
    this.points = null;
    this.lines = null;
  }
}

/**
 * A surface on `canvas`: regl in the plot worker unless `forceCanvas2D` or the browser lacks
 * workers / OffscreenCanvas / WebGL. `onLost(reason)` is called when the worker cannot draw (no
 * WebGL there, context lost): the caller then replaces the canvas (it holds a bitmaprenderer
 * context) and creates a 2-D surface with `forceCanvas2D` and the reason as its status.
 */
export function createPlotSurface(canvas: HTMLCanvasElement, opts: { forceCanvas2D?: boolean; onLost?: (reason: string) => void; status?: string } = {}): PlotSurface {
  if (opts.forceCanvas2D) return new CanvasSurface(canvas, opts.status ?? 'Drawing with a 2-D canvas (WebGL off).');
  if (typeof Worker === 'undefined' || typeof OffscreenCanvas === 'undefined' || typeof ImageBitmapRenderingContext === 'undefined')
    return new CanvasSurface(canvas, 'WebGL in a worker is not available here; drawing with a 2-D canvas (slower for points).');
  if (host?.failure) return new CanvasSurface(canvas, host.failure);
  try {
    host ??= new GLHost(workerFactory);
    return host.attach(canvas, opts.onLost ?? (() => {}));
  } catch (e) {
    return new CanvasSurface(replaceCanvas(canvas), `The plot renderer could not start (${(e as Error).message}); drawing with a 2-D canvas.`);
  }
}

/**
 * A plot's drawing layer in `box`: a canvas (`className`, `data-testid`) with its surface; when the
 * worker cannot draw (no WebGL, context lost) the canvas is replaced and a 2-D surface made on the
 * new one. `onChange` gets the canvas, the surface and its status each time (first, and after a
 * loss). `window.__cdxForceCanvas2D` (tests) starts with the 2-D surface. Gives the destroyer.
 */
export function mountPlotLayer(
  box: HTMLElement, o: { className: string; testId: string; onChange: (layer: HTMLCanvasElement, surface: PlotSurface, status: string | null) => void },
): () => void {
  let layer = document.createElement('canvas');
  layer.className = o.className;
  layer.setAttribute('data-testid', o.testId);
  box.append(layer);
  let surface: PlotSurface | null = null;
  const make = (c: HTMLCanvasElement, forceCanvas2D: boolean, status?: string): PlotSurface =>
    createPlotSurface(c, {
      forceCanvas2D,
      status,
      onLost: (reason) => {
        surface?.destroy();
        // a canvas keeps its first context type: the 2-D fallback needs a fresh one
        layer = replaceCanvas(layer);
        surface = make(layer, true, reason);
        o.onChange(layer, surface, reason);
      },
    });
  surface = make(layer, !!(window as unknown as { __cdxForceCanvas2D?: boolean }).__cdxForceCanvas2D);
  o.onChange(layer, surface, surface.status);
  return () => {
    surface?.destroy();
    surface = null;
  };
}

/** a fresh canvas in place of one that already has a WebGL context (a canvas keeps its first context type) */
export function replaceCanvas(canvas: HTMLCanvasElement): HTMLCanvasElement {
  const c = document.createElement('canvas');
  c.className = canvas.className;
  c.style.cssText = canvas.style.cssText;
  for (const a of Array.from(canvas.attributes)) if (a.name.startsWith('data-') || a.name === 'aria-label' || a.name === 'role') c.setAttribute(a.name, a.value);
  canvas.replaceWith(c);
  return c;
}
