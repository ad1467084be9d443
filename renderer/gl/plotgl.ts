/**
 * One plot's drawing surface behind create/destroy: WebGL (raw WebGL 1: two small programs, see
 * shaders.ts) or, where WebGL is missing or its context is lost, a 2-D canvas that draws the same
 * density image (and points, slowly) so a plot is never blank; `status` says which.
 *
 * Why raw WebGL and not regl: regl compiles its draw commands with `new Function`, which the app's
 * Content-Security-Policy (script-src 'self', no 'unsafe-eval') forbids; two programs do not need it.
 */
import { DENSITY_FS, DENSITY_VS, POINTS_FS, POINTS_VS } from './shaders';

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

export type SurfaceKind = 'webgl' | 'canvas2d';

export interface PlotSurface {
  readonly kind: SurfaceKind;
  /** a sentence for the status line when not on WebGL (or after a context loss) */
  readonly status: string | null;
  resize(cssW: number, cssH: number, dpr: number): void;
  setDensity(img: DensityImage | null): void;
  setPoints(p: PointsData | null): void;
  /** draw: the density image into `rect`, then the points for `view` */
  draw(opts: { rect: Rect | null; view: View; style: PointStyle; showDensity: boolean; showPoints: boolean }): void;
  destroy(): void;
}

function compile(gl: WebGLRenderingContext, vs: string, fs: string): WebGLProgram {
  const mk = (type: number, src: string) => {
    const s = gl.createShader(type)!;
    gl.shaderSource(s, src);
    gl.compileShader(s);
    if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) throw new Error(`shader: ${gl.getShaderInfoLog(s)}`);
    return s;
  };
  const p = gl.createProgram()!;
  gl.attachShader(p, mk(gl.VERTEX_SHADER, vs));
  gl.attachShader(p, mk(gl.FRAGMENT_SHADER, fs));
  gl.linkProgram(p);
  if (!gl.getProgramParameter(p, gl.LINK_STATUS)) throw new Error(`program: ${gl.getProgramInfoLog(p)}`);
  return p;
}

class GLSurface implements PlotSurface {
  readonly kind = 'webgl' as const;
  status: string | null = null;
  private gl: WebGLRenderingContext;
  private dprog: WebGLProgram;
  private pprog: WebGLProgram;
  private quad: WebGLBuffer;
  private tex: WebGLTexture;
  private lutTex: WebGLTexture;
  private bx: WebGLBuffer;
  private by: WebGLBuffer;
  private bc: WebGLBuffer;
  private hasDensity = false;
  private points: PointsData | null = null;
  private n = 0;
  lost = false;

  constructor(
    private canvas: HTMLCanvasElement,
    gl: WebGLRenderingContext,
    private onLost: () => void,
  ) {
    this.gl = gl;
    this.dprog = compile(gl, DENSITY_VS, DENSITY_FS);
    this.pprog = compile(gl, POINTS_VS, POINTS_FS);
    this.quad = gl.createBuffer()!;
    gl.bindBuffer(gl.ARRAY_BUFFER, this.quad);
    gl.bufferData(gl.ARRAY_BUFFER, new Float32Array([0, 0, 1, 0, 0, 1, 1, 1]), gl.STATIC_DRAW);
    const mkTex = () => {
      const t = gl.createTexture()!;
      gl.bindTexture(gl.TEXTURE_2D, t);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
      return t;
    };
    this.tex = mkTex();
    this.lutTex = mkTex();
    this.bx = gl.createBuffer()!;
    this.by = gl.createBuffer()!;
    this.bc = gl.createBuffer()!;
    canvas.addEventListener('webglcontextlost', this.handleLost);
  }

  private handleLost = (e: Event) => {
    e.preventDefault();
    this.lost = true;
    this.onLost();
  };

  resize(cssW: number, cssH: number, dpr: number): void {
    const w = Math.max(1, Math.round(cssW * dpr)), h = Math.max(1, Math.round(cssH * dpr));
    if (this.canvas.width !== w) this.canvas.width = w;
    if (this.canvas.height !== h) this.canvas.height = h;
  }

  setDensity(img: DensityImage | null): void {
    const gl = this.gl;
    this.hasDensity = !!img;
    if (!img) return;
    gl.bindTexture(gl.TEXTURE_2D, this.tex);
    gl.pixelStorei(gl.UNPACK_ALIGNMENT, 4);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA, img.width, img.height, 0, gl.RGBA, gl.UNSIGNED_BYTE, new Uint8Array(img.pixels.buffer, img.pixels.byteOffset, img.pixels.byteLength));
  }

  setPoints(p: PointsData | null): void {
    const gl = this.gl;
    this.points = p;
    this.n = p ? p.x.length : 0;
    if (!p) return;
    gl.bindBuffer(gl.ARRAY_BUFFER, this.bx);
    gl.bufferData(gl.ARRAY_BUFFER, p.x, gl.STATIC_DRAW);
    gl.bindBuffer(gl.ARRAY_BUFFER, this.by);
    gl.bufferData(gl.ARRAY_BUFFER, p.y, gl.STATIC_DRAW);
    gl.bindBuffer(gl.ARRAY_BUFFER, this.bc);
    gl.bufferData(gl.ARRAY_BUFFER, p.c, gl.STATIC_DRAW);
    gl.bindTexture(gl.TEXTURE_2D, this.lutTex);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA, p.lut.length, 1, 0, gl.RGBA, gl.UNSIGNED_BYTE, new Uint8Array(p.lut.buffer, p.lut.byteOffset, p.lut.byteLength));
  }

  draw(o: { rect: Rect | null; view: View; style: PointStyle; showDensity: boolean; showPoints: boolean }): void {
    const gl = this.gl;
    if (this.lost) return;
    gl.viewport(0, 0, this.canvas.width, this.canvas.height);
    gl.clearColor(0, 0, 0, 0);
    gl.clear(gl.COLOR_BUFFER_BIT);
    gl.enable(gl.BLEND);
    gl.blendFunc(gl.ONE, gl.ONE_MINUS_SRC_ALPHA);
    if (o.showDensity && this.hasDensity && o.rect) {
      const r = o.rect;
      gl.useProgram(this.dprog);
      gl.bindBuffer(gl.ARRAY_BUFFER, this.quad);
      const loc = gl.getAttribLocation(this.dprog, 'a_pos');
      gl.enableVertexAttribArray(loc);
      gl.vertexAttribPointer(loc, 2, gl.FLOAT, false, 0, 0);
      gl.uniform4f(gl.getUniformLocation(this.dprog, 'u_rect'), r.left * 2 - 1, 1 - r.bottom * 2, r.right * 2 - 1, 1 - r.top * 2);
      gl.uniform1f(gl.getUniformLocation(this.dprog, 'u_alpha'), 1);
      gl.activeTexture(gl.TEXTURE0);
      gl.bindTexture(gl.TEXTURE_2D, this.tex);
      gl.uniform1i(gl.getUniformLocation(this.dprog, 'u_tex'), 0);
      gl.drawArrays(gl.TRIANGLE_STRIP, 0, 4);
      gl.disableVertexAttribArray(loc);
    }
    const p = this.points;
    if (o.showPoints && p && this.n) {
      const v = o.view;
      gl.useProgram(this.pprog);
      const attrs: [string, WebGLBuffer][] = [['a_x', this.bx], ['a_y', this.by], ['a_c', this.bc]];
      const locs = attrs.map(([name, buf]) => {
        const l = gl.getAttribLocation(this.pprog, name);
        gl.bindBuffer(gl.ARRAY_BUFFER, buf);
        gl.enableVertexAttribArray(l);
        gl.vertexAttribPointer(l, 1, gl.FLOAT, false, 0, 0);
        return l;
      });
      const sx = 2 / (v.x1 - v.x0), sy = 2 / (v.y1 - v.y0);
      gl.uniform4f(gl.getUniformLocation(this.pprog, 'u_xform'), sx, (p.ox - v.x0) * sx - 1, sy, (p.oy - v.y0) * sy - 1);
      const dpr = this.canvas.width / Math.max(1, this.canvas.clientWidth || this.canvas.width);
      gl.uniform1f(gl.getUniformLocation(this.pprog, 'u_size'), Math.max(1, o.style.size * dpr));
      gl.uniform1f(gl.getUniformLocation(this.pprog, 'u_opacity'), o.style.opacity);
      gl.uniform1f(gl.getUniformLocation(this.pprog, 'u_round'), o.style.size >= 3 ? 1 : 0);
      gl.uniform1f(gl.getUniformLocation(this.pprog, 'u_ncat'), p.categorical ? p.lut.length : 0);
      gl.activeTexture(gl.TEXTURE0);
      gl.bindTexture(gl.TEXTURE_2D, this.lutTex);
      gl.uniform1i(gl.getUniformLocation(this.pprog, 'u_lut'), 0);
      gl.drawArrays(gl.POINTS, 0, this.n);
      for (const l of locs) gl.disableVertexAttribArray(l);
    }
  }

  destroy(): void {
    const gl = this.gl;
    this.canvas.removeEventListener('webglcontextlost', this.handleLost);
    if (!this.lost) {
      for (const b of [this.quad, this.bx, this.by, this.bc]) gl.deleteBuffer(b);
      gl.deleteTexture(this.tex);
      gl.deleteTexture(this.lutTex);
      gl.deleteProgram(this.dprog);
      gl.deleteProgram(this.pprog);
    }
  }
}

/** The 2-D canvas fallback: same images, drawn with drawImage / fillRect. */
class CanvasSurface implements PlotSurface {
  readonly kind = 'canvas2d' as const;
  private ctx: CanvasRenderingContext2D;
  private img: HTMLCanvasElement | null = null;
  private points: PointsData | null = null;

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

  draw(o: { rect: Rect | null; view: View; style: PointStyle; showDensity: boolean; showPoints: boolean }): void {
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
  }

  destroy(): void {
    this.img = null;
    this.points = null;
  }
}

/**
 * A surface on `canvas`: WebGL unless `forceCanvas2D` or WebGL is unavailable. `onLost` is called
 * when the WebGL context is lost (the caller then replaces the canvas and creates a 2-D surface).
 */
export function createPlotSurface(canvas: HTMLCanvasElement, opts: { forceCanvas2D?: boolean; onLost?: () => void } = {}): PlotSurface {
  if (!opts.forceCanvas2D) {
    let gl: WebGLRenderingContext | null = null;
    try {
      gl = canvas.getContext('webgl', { premultipliedAlpha: true, preserveDrawingBuffer: true, antialias: false });
    } catch {
      gl = null;
    }
    if (gl) {
      try {
        return new GLSurface(canvas, gl, opts.onLost ?? (() => {}));
      } catch (e) {
        return new CanvasSurface(document.createElement('canvas') === canvas ? canvas : replaceCanvas(canvas), `WebGL failed (${(e as Error).message}); drawing with a 2-D canvas.`);
      }
    }
    return new CanvasSurface(canvas, 'WebGL is not available here; drawing with a 2-D canvas (slower for points).');
  }
  return new CanvasSurface(canvas, 'Drawing with a 2-D canvas (WebGL off).');
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
