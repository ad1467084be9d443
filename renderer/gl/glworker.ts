/**
 * The plot renderer's worker: the window's one regl context, on an OffscreenCanvas, drawing every
 * plot surface of the window (density texture and/or points, see shaders.ts) and handing each
 * finished frame back as an ImageBitmap (zero-copy) for the plot's own canvas.
 *
 * Why a worker: regl compiles its draw commands with `new Function`, which the app's strict
 * Content-Security-Policy (script-src 'self', no 'unsafe-eval') forbids in the page. This script is
 * served with its own policy — `default-src 'none'; script-src 'self' 'unsafe-eval'` (main/web/
 * server.ts) — so eval is allowed only here, in a context with no DOM, no network (default-src
 * 'none') and no engine access: it can only post pixels back to the page. Drawing off the main
 * thread also keeps the UI responsive while SwiftShader rasterises a million points.
 *
 * Messages (page → worker): init, surface, density, points, lines, draw, drop. Worker → page: ready |
 * error (WebGL or regl unavailable: the page falls back to 2-D canvases), frame, lost.
 */
import createREGL from 'regl';
import { DENSITY_FS, DENSITY_VS, LINE_FS, LINE_VS, POINTS_FS, POINTS_VS } from './shaders';
import type { GLRequest, GLReply, LinesData, LineStyle, View } from './glprotocol';
import { baselineRow, lineSpans, spanTriangles } from '../../shared/plot/linespans';

interface Scope {
  postMessage(m: GLReply, transfer?: Transferable[]): void;
  onmessage: ((e: MessageEvent<GLRequest>) => void) | null;
  /** test hook (Playwright evaluates in workers): simulate a GPU reset */
  __cdxLoseContext?: () => void;
}
const scope = self as unknown as Scope;

interface SurfaceState {
  tex: createREGL.Texture2D;
  hasDensity: boolean;
  lut: createREGL.Texture2D;
  bx: createREGL.Buffer;
  by: createREGL.Buffer;
  bc: createREGL.Buffer;
  n: number;
  ox: number;
  oy: number;
  ncat: number;
  lines: LinesData | null;
  /** the line layer's vertices, made again at each draw (spans depend on the view) */
  bl: createREGL.Buffer;
}

let regl: createREGL.Regl | null = null;
let canvas: OffscreenCanvas | null = null;
let lost = false;
const surfaces = new Map<number, SurfaceState>();
type Cmd = createREGL.DrawCommand;
let drawDensity: Cmd | null = null;
let drawPoints: Cmd | null = null;
let drawLine: Cmd | null = null;

const post = (m: GLReply, transfer: Transferable[] = []) => scope.postMessage(m, transfer);

function init(): void {
  canvas = new OffscreenCanvas(1, 1);
  const gl = canvas.getContext('webgl', { premultipliedAlpha: true, preserveDrawingBuffer: false, antialias: false, alpha: true, depth: false, stencil: false });
  if (!gl) throw new Error('WebGL is not available in the plot worker');
  canvas.addEventListener('webglcontextlost', (e) => {
    e.preventDefault();
    lost = true;
    post({ t: 'lost' });
  });
  const loseExt = gl.getExtension('WEBGL_lose_context');
  scope.__cdxLoseContext = () => loseExt?.loseContext();
  regl = createREGL({ gl });
  const blend = { enable: true, func: { src: 'one', dst: 'one minus src alpha' } } as const;
  drawDensity = regl({
    vert: DENSITY_VS,
    frag: DENSITY_FS,
    attributes: { a_pos: [0, 0, 1, 0, 0, 1, 1, 1] },
    uniforms: { u_rect: regl.prop<{ rect: number[] }, 'rect'>('rect'), u_alpha: 1, u_tex: regl.prop<{ tex: createREGL.Texture2D }, 'tex'>('tex') },
    primitive: 'triangle strip',
    count: 4,
    depth: { enable: false },
    blend,
  });
  drawPoints = regl({
    vert: POINTS_VS,
    frag: POINTS_FS,
    attributes: {
      a_x: regl.prop<{ bx: createREGL.Buffer }, 'bx'>('bx'),
      a_y: regl.prop<{ by: createREGL.Buffer }, 'by'>('by'),
      a_c: regl.prop<{ bc: createREGL.Buffer }, 'bc'>('bc'),
    },
    uniforms: {
      u_xform: regl.prop<{ xform: number[] }, 'xform'>('xform'),
      u_size: regl.prop<{ size: number }, 'size'>('size'),
      u_opacity: regl.prop<{ opacity: number }, 'opacity'>('opacity'),
      u_round: regl.prop<{ round: number }, 'round'>('round'),
      u_ncat: regl.prop<{ ncat: number }, 'ncat'>('ncat'),
      u_lut: regl.prop<{ lut: createREGL.Texture2D }, 'lut'>('lut'),
    },
    primitive: 'points',
    count: regl.prop<{ count: number }, 'count'>('count'),
    depth: { enable: false },
    blend,
  });
  drawLine = regl({
    vert: LINE_VS,
    frag: LINE_FS,
    attributes: { a_pos: { buffer: regl.prop<{ buf: createREGL.Buffer }, 'buf'>('buf'), offset: regl.prop<{ offset: number }, 'offset'>('offset') } },
    uniforms: { u_size: regl.prop<{ size: number[] }, 'size'>('size'), u_color: regl.prop<{ color: number[] }, 'color'>('color') },
    primitive: regl.prop<{ primitive: 'triangles' | 'line strip' }, 'primitive'>('primitive'),
    count: regl.prop<{ count: number }, 'count'>('count'),
    depth: { enable: false },
    blend,
  });
  const info = gl.getExtension('WEBGL_debug_renderer_info');
  post({ t: 'ready', renderer: String(info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER)) });
}

const TEX = { format: 'rgba', type: 'uint8', min: 'nearest', mag: 'nearest', wrapS: 'clamp', wrapT: 'clamp' } as const;

function surfaceState(id: number): SurfaceState {
  let s = surfaces.get(id);
  if (!s) {
    const r = regl!;
    s = {
      tex: r.texture({ ...TEX, width: 1, height: 1 }),
      hasDensity: false,
      lut: r.texture({ ...TEX, width: 1, height: 1 }),
      bx: r.buffer({ usage: 'static', type: 'float', length: 4 }),
      by: r.buffer({ usage: 'static', type: 'float', length: 4 }),
      bc: r.buffer({ usage: 'static', type: 'float', length: 4 }),
      n: 0,
      ox: 0,
      oy: 0,
      ncat: 0,
      lines: null,
      bl: r.buffer({ usage: 'dynamic', type: 'float', length: 8 }),
    };
    surfaces.set(id, s);
  }
  return s;
}

const bytes = (a: Uint32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

function handle(m: GLRequest): void {
  if (m.t === 'init') {
    try {
      init();
    } catch (e) {
      post({ t: 'error', message: (e as Error).message });
    }
    return;
  }
  if (!regl || lost) return;
  switch (m.t) {
    case 'density': {
      const s = surfaceState(m.id);
      s.hasDensity = !!m.img;
      if (m.img) s.tex({ ...TEX, width: m.img.width, height: m.img.height, data: bytes(m.img.pixels) });
      return;
    }
    case 'points': {
      const s = surfaceState(m.id);
      const p = m.points;
      s.n = p ? p.x.length : 0;
      if (!p) return;
      s.bx({ usage: 'static', type: 'float', data: p.x });
      s.by({ usage: 'static', type: 'float', data: p.y });
      s.bc({ usage: 'static', type: 'float', data: p.c });
      s.lut({ ...TEX, width: p.lut.length, height: 1, data: bytes(p.lut) });
      s.ox = p.ox;
      s.oy = p.oy;
      s.ncat = p.categorical ? p.lut.length : 0;
      return;
    }
    case 'lines': {
      surfaceState(m.id).lines = m.lines;
      return;
    }
    case 'draw': {
      const s = surfaceState(m.id);
      const c = canvas!;
      if (c.width !== m.width) c.width = m.width;
      if (c.height !== m.height) c.height = m.height;
      regl.poll(); // the default viewport follows the drawing buffer's new size
      regl.clear({ color: [0, 0, 0, 0] });
      const o = m.opts;
      if (o.showDensity && s.hasDensity && o.rect) {
        const r = o.rect;
        drawDensity!({ tex: s.tex, rect: [r.left * 2 - 1, 1 - r.bottom * 2, r.right * 2 - 1, 1 - r.top * 2] });
      }
      if (o.showPoints && s.n) {
        const v = o.view;
        const sx = 2 / (v.x1 - v.x0), sy = 2 / (v.y1 - v.y0);
        drawPoints!({
          bx: s.bx, by: s.by, bc: s.bc, lut: s.lut, count: s.n, ncat: s.ncat,
          xform: [sx, (s.ox - v.x0) * sx - 1, sy, (s.oy - v.y0) * sy - 1],
          size: Math.max(1, o.style.size * m.dpr),
          opacity: o.style.opacity,
          round: o.style.size >= 3 ? 1 : 0,
        });
      }
      if (o.lines && s.lines?.series.length) drawLines(s, s.lines, o.lines, o.view, m.width, m.height);
      const bitmap = c.transferToImageBitmap();
      post({ t: 'frame', id: m.id, seq: m.seq, bitmap }, [bitmap]);
      return;
    }
    case 'drop': {
      const s = surfaces.get(m.id);
      if (!s) return;
      for (const r of [s.tex, s.lut, s.bx, s.by, s.bc, s.bl]) r.destroy();
      surfaces.delete(m.id);
      return;
    }
  }
}

/** the area's fill opacity under opaque lines (as the SVG export: linesvg.ts) */
const AREA_ALPHA = 0.25;

/** every series' area (when asked), then every line over them: one vertex upload, a draw call each */
function drawLines(s: SurfaceState, d: LinesData, style: LineStyle, view: View, W: number, H: number): void {
  const parts: { verts: Float32Array; color: number[]; primitive: 'triangles' | 'line strip' }[] = [];
  const rgba = (rgb: [number, number, number], a: number) => [(rgb[0] / 255) * a, (rgb[1] / 255) * a, (rgb[2] / 255) * a, a];
  const spans = style.mode === 'strip' ? [] : d.series.map((q) => lineSpans(q.x, q.y, view, W, H));
  if (style.area) {
    const base = baselineRow(view, H);
    d.series.forEach((q, k) => {
      const sp = spans[k] ?? lineSpans(q.x, q.y, view, W, H);
      parts.push({ verts: spanTriangles(sp, { base }), color: rgba(q.rgb, AREA_ALPHA), primitive: 'triangles' });
    });
  }
  d.series.forEach((q, k) => {
    if (style.mode === 'strip') {
      const v = new Float32Array(q.x.length * 2);
      const sx = W / (view.x1 - view.x0), sy = H / (view.y1 - view.y0);
      for (let i = 0; i < q.x.length; i++) {
        v[2 * i] = (q.x[i]! - view.x0) * sx;
        v[2 * i + 1] = (q.y[i]! - view.y0) * sy;
      }
      parts.push({ verts: v, color: rgba(q.rgb, 1), primitive: 'line strip' });
    } else parts.push({ verts: spanTriangles(spans[k]!), color: rgba(q.rgb, 1), primitive: 'triangles' });
  });
  let total = 0;
  for (const p of parts) total += p.verts.length;
  if (!total) return;
  const all = new Float32Array(total);
  let at = 0;
  const offsets = parts.map((p) => {
    all.set(p.verts, at);
    const o = at;
    at += p.verts.length;
    return o;
  });
  s.bl({ usage: 'dynamic', type: 'float', data: all });
  parts.forEach((p, k) => {
    if (p.verts.length) drawLine!({ buf: s.bl, offset: offsets[k]! * 4, count: p.verts.length / 2, size: [W, H], color: p.color, primitive: p.primitive });
  });
}

scope.onmessage = (e) => {
  try {
    handle(e.data);
  } catch (err) {
    // a failure while drawing (e.g. out of GPU memory) is treated like a lost context: the page
    // switches to 2-D canvases rather than showing a blank plot
    if (!lost) {
      lost = true;
      post({ t: 'error', message: (err as Error).message });
    }
  }
};
