/**
 * Plot benchmarks (issue 6), each a figure {name, value, unit, vs} like bench/run.ts's:
 *   plot_roundtrip_<N>  a zoom/pan sequence over N float32 (x, y) points: per view change, the
 *                       engine's density grid at 1600 x 1000 device pixels (native bin2d over the
 *                       new viewport), the result framed and unframed by the wire codec (what
 *                       crosses the process line; the socket itself not included), and tone +
 *                       colour mapping (eq_hist, fire) into RGBA; median ms. vs.target = the
 *                       issue's target (150 ms at 1e8, 1.5 s at 1e9) / median (> 1 = within it).
 *                       The previous image is shown rescaled at once (one textured quad), not timed.
 *   plot_shade_2mp      tone + colour mapping of a 2-megapixel count grid (eq_hist, fire), median
 *                       ms; vs.target10ms = 10 / it; vs.linear = linear's time / eq_hist's.
 *   plot_first_paint    the first image of a plot of N points (--points' largest) in the layout every
 *                       ingested dataset has (an Arrow IPC file of 262,144-row record batches,
 *                       writeBatchedXY), opened through the engine's handlers
 *                       in-process: the density over the home view at 1600 x 1000 from a sample
 *                       (DensityParams.sample = DENSITY_SAMPLE_ROWS, 4M rows, as the renderer asks) + wire encode/
 *                       decode + eq_hist shading, median ms; vs.target150ms = 150 / it (issue 14);
 *                       vs.exact = the exact full view's time (the same path, no sample) / it.
 *   plot_points_frame   frame time of 1M points in Chromium (SwiftShader here: software WebGL),
 *                       points mode as the app draws it (regl in the plot worker, one draw call
 *                       from GPU buffers, the frame handed to the canvas as an ImageBitmap):
 *                       median ms from draw() until the frame is on the canvas; vs.fps = 1000 / it.
 * Data: the (x, y) float32 file bench/run.ts uses (x block then y block, uniform in [0, 1)),
 * reused from --dir when present with at least the points needed, otherwise generated.
 * Usage: npx tsx bench/plot.ts [--json] [--points 1e8,1e9] [--dir /tmp/cdx-bench] [--chromium PATH]
 *        [--only roundtrip,first_paint,shade,points_frame]
 */
import { closeSync, createWriteStream, existsSync, mkdirSync, openSync, readSync, renameSync, rmSync, statSync, readdirSync, writeSync } from 'node:fs';
import { once } from 'node:events';
import { Field, Float32, RecordBatch, RecordBatchFileWriter, Schema, Struct, makeData } from 'apache-arrow';
import { createEngineHandlers } from '../main/engine/service';
import { SAMPLE_BLOCK_ROWS } from '../main/engine/plot';
import { DENSITY_SAMPLE_ROWS } from '../shared/plot/types';
import { paddedRange } from '../shared/plot/viewport';
import type { HandlerContext } from '../shared/rpc';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bin2d, NativeFile, rawColumn, readBandwidth, type ColumnDesc } from '../native/index';
import { decodeFrame, encodeFrame } from '../shared/wire';
import { shade } from '../shared/plot/shade';
import { pan, zoomAt, type Viewport } from '../shared/plot/viewport';
import type { Figure } from './figure';

function median(a: number[]): number {
  const s = [...a].sort((p, q) => p - q);
  return s[Math.floor(s.length / 2)]!;
}

/**
 * Writes n uniform [0, 1) float32 x values then n y values to `path` (through path.tmp, renamed
 * when complete): the points file of the plot and engine benches (bench/run.ts uses it too).
 */
export function writeUniformXY(path: string, n: number): void {
  const fd = openSync(path + '.tmp', 'w');
  const chunk = new Float32Array(1 << 24);
  let a = 0x9e3779b9 | 1, b = 0xbf58476d | 1, pos = 0;
  for (let col = 0; col < 2; col++)
    for (let done = 0; done < n; ) {
      const k = Math.min(chunk.length, n - done);
      for (let i = 0; i < k; i++) {
        a ^= a << 13; a ^= a >>> 17; a ^= a << 5;
        b ^= b << 7; b ^= b >>> 9; b ^= b << 8;
        chunk[i] = ((a ^ b) >>> 8) / 16777216;
      }
      const bytes = new Uint8Array(chunk.buffer, 0, k * 4);
      let w = 0;
      while (w < bytes.length) w += writeSync(fd, bytes, w, bytes.length - w, pos + w);
      pos += bytes.length;
      done += k;
    }
  closeSync(fd);
  renameSync(path + '.tmp', path);
}

/** an existing x-then-y float32 file in `dir` holding at least `n` points, or a new one */
export function ensurePoints(dir: string, n: number, log: (m: string) => void = () => {}): { path: string; total: number } {
  mkdirSync(dir, { recursive: true });
  for (const f of existsSync(dir) ? readdirSync(dir) : []) {
    const m = /^xy-(\d+)\.f32$/.exec(f);
    if (m && Number(m[1]) >= n && statSync(join(dir, f)).size === Number(m[1]) * 8) return { path: join(dir, f), total: Number(m[1]) };
  }
  const path = join(dir, `xy-${n}.f32`);
  log(`generating ${n.toExponential(2)} (x, y) float32 points -> ${path}`);
  writeUniformXY(path, n);
  return { path, total: n };
}

/** rows per record batch of the ingested layout (as the CSV and Parquet ingest write the cache) */
export const BATCH_ROWS = 262_144;

/**
 * The first `points` points of an x-then-y float32 file of `total` points as an Arrow IPC file of
 * `batchRows`-row record batches (nullable float32 fields x, y, as the ingest declares them),
 * written through out.tmp and renamed when complete.
 */
export async function writeBatchedXY(raw: string, total: number, points: number, out: string, batchRows = BATCH_ROWS): Promise<void> {
  const fd = openSync(raw, 'r');
  const tmp = out + '.tmp';
  const schema = new Schema([new Field('x', new Float32(), true), new Field('y', new Float32(), true)]);
  const w = new RecordBatchFileWriter();
  const sink = createWriteStream(tmp);
  w.toNodeStream().pipe(sink);
  w.reset(undefined, schema);
  try {
    for (let r = 0; r < points; r += batchRows) {
      const n = Math.min(batchRows, points - r);
      const x = new Float32Array(n), y = new Float32Array(n);
      readSync(fd, new Uint8Array(x.buffer), 0, n * 4, r * 4);
      readSync(fd, new Uint8Array(y.buffer), 0, n * 4, (total + r) * 4);
      const kids = [makeData({ type: new Float32(), length: n, data: x }), makeData({ type: new Float32(), length: n, data: y })];
      w.write(new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: n, children: kids })));
      if (sink.writableNeedDrain) await once(sink, 'drain');
    }
    w.finish();
    if (!sink.writableFinished) await once(sink, 'finish');
  } catch (e) {
    sink.destroy();
    rmSync(tmp, { force: true });
    throw e;
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, out);
}

/** The zoom/pan sequence: zoom in about off-centre points, pan, zoom out. */
export function viewSequence(steps = 12): Viewport[] {
  let v: Viewport = { x0: 0, x1: 1, y0: 0, y1: 1 };
  const out: Viewport[] = [];
  for (let i = 0; i < steps; i++) {
    v = i % 4 === 3 ? pan(v, 0.1, -0.05) : i < steps * 0.75 ? zoomAt(v, 0.4, 0.6, 1.25) : zoomAt(v, 0.5, 0.5, 0.6);
    out.push(v);
  }
  return out;
}

export async function benchPlotRoundTrip(opts: { path: string; total: number; points: number; width?: number; height?: number; steps?: number; log?: (m: string) => void }): Promise<Figure> {
  const { path, total, points } = opts;
  const W = opts.width ?? 1600, H = opts.height ?? 1000;
  const file = NativeFile.open(path);
  try {
    const x: ColumnDesc = rawColumn(file, 'x', 'float32', 0, points);
    const y: ColumnDesc = rawColumn(file, 'y', 'float32', total * 4, points);
    opts.log?.(`warming the page cache for ${points.toExponential(1)} points`);
    await readBandwidth(file, { offset: 0, length: points * 4 });
    await readBandwidth(file, { offset: total * 4, length: points * 4 });
    const out = new Uint32Array(W * H);
    const times: number[] = [];
    let engineMs = 0, wireMs = 0, shadeMs = 0;
    const seq = viewSequence(opts.steps ?? 12);
    for (const [k, vp] of [{ x0: 0, x1: 1, y0: 0, y1: 1 }, ...seq].entries()) {
      const t0 = performance.now();
      const r = await bin2d({ x, y, ...vp, width: W, height: H });
      const t1 = performance.now();
      const back = decodeFrame(encodeFrame({ t: 'result', id: 1, result: { ok: true, value: { counts: r.counts, width: W, height: H, binned: r.binned } } })) as {
        result: { value: { counts: Uint32Array } };
      };
      const t2 = performance.now();
      shade(back.result.value.counts, 'eq_hist', 'fire', out);
      const t3 = performance.now();
      if (k === 0) continue; // the first view: cold code paths
      times.push(t3 - t0);
      engineMs += t1 - t0;
      wireMs += t2 - t1;
      shadeMs += t3 - t2;
    }
    const n = times.length;
    const med = median(times);
    const target = points >= 1e9 ? 1500 : points >= 1e8 ? 150 : 150 * (points / 1e8);
    return {
      name: `plot_roundtrip_${points.toExponential(0).replace('+', '')}`,
      value: +med.toFixed(1),
      unit: 'ms',
      vs: { target: +(target / med).toFixed(2) },
      note: `median of ${n} view changes over ${points.toExponential(1)} page-cached float32 points, ${W}x${H} grid; mean engine ${(engineMs / n).toFixed(0)} ms + wire ${(wireMs / n).toFixed(0)} ms + shade ${(shadeMs / n).toFixed(0)} ms (socket transfer and GPU upload not included)`,
    };
  } finally {
    file.close();
  }
}

export function benchShade(opts: { width?: number; height?: number; reps?: number } = {}): Figure {
  const W = opts.width ?? 2048, H = opts.height ?? 1024, n = W * H;
  const counts = new Uint32Array(n);
  // a heavy-tailed grid: most cells few points, some very many
  let s = 12345;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const u = s / 4294967296;
    counts[i] = u < 0.3 ? 0 : Math.floor(Math.exp(u * 12));
  }
  const out = new Uint32Array(n);
  const time = (how: 'eq_hist' | 'linear') => {
    const t: number[] = [];
    for (let r = 0; r < (opts.reps ?? 9); r++) {
      const t0 = performance.now();
      shade(counts, how, 'fire', out);
      t.push(performance.now() - t0);
    }
    return median(t);
  };
  const eq = time('eq_hist');
  const lin = time('linear');
  return { name: 'plot_shade_2mp', value: +eq.toFixed(2), unit: 'ms', vs: { target10ms: +(10 / eq).toFixed(2), linear: +(lin / eq).toFixed(2) }, note: `${W}x${H} grid, eq_hist + fire (linear ${lin.toFixed(2)} ms), median of ${opts.reps ?? 9}, JS on one core` };
}

export async function benchPointsFrame(opts: { points?: number; chromium?: string; frames?: number } = {}): Promise<Figure> {
  const N = opts.points ?? 1_000_000;
  const { build } = await import('esbuild');
  const root = join(fileURLToPath(import.meta.url), '..', '..');
  const pack = async (file: string, globalName?: string) =>
    (await build({ entryPoints: [join(root, 'renderer', 'gl', file)], bundle: true, write: false, format: 'iife', globalName, platform: 'browser', logLevel: 'error' })).outputFiles[0]!.text;
  const bundle = await pack('plotgl.ts', 'PlotGL');
  const workerSrc = await pack('glworker.ts');
  const { chromium } = await import('@playwright/test');
  const browser = await chromium.launch({
    executablePath: opts.chromium ?? process.env.CDX_CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--disable-gpu'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.setContent('<canvas id="c" style="width:800px;height:500px"></canvas>');
    await page.addScriptTag({ content: bundle });
    // tsx compiles the callback below with keepNames, which calls a __name helper the page lacks
    await page.evaluate('window.__name = (f) => f');
    const r = await page.evaluate(
      async ({ N, frames, workerSrc }) => {
        type PG = typeof import('../renderer/gl/plotgl');
        const PlotGL = (window as unknown as { PlotGL: PG }).PlotGL;
        // the app's path: regl in the plot worker, each frame an ImageBitmap shown on the canvas
        const url = URL.createObjectURL(new Blob([workerSrc], { type: 'text/javascript' }));
        PlotGL.setPlotWorkerFactory(() => new Worker(url));
        const canvas = document.getElementById('c') as HTMLCanvasElement;
        let lost: string | null = null;
        const surface = PlotGL.createPlotSurface(canvas, { onLost: (why) => (lost = why) });
        surface.resize(800, 500, 1);
        const x = new Float32Array(N), y = new Float32Array(N), c = new Float32Array(N);
        let s = 1;
        for (let i = 0; i < N; i++) {
          s = (Math.imul(s, 1103515245) + 12345) >>> 0;
          x[i] = s / 4294967296 - 0.5;
          s = (Math.imul(s, 1103515245) + 12345) >>> 0;
          y[i] = s / 4294967296 - 0.5;
          c[i] = (x[i]! + 0.5);
        }
        const lut = new Uint32Array(256);
        for (let i = 0; i < 256; i++) lut[i] = (255 << 24) | (i << 16) | (128 << 8) | (255 - i);
        const style = { size: 2, opacity: 0.6 };
        // first frame: worker start, regl setup, buffer upload
        const t0 = performance.now();
        surface.setPoints({ x, y, c, ox: 0.5, oy: 0.5, lut, categorical: false });
        surface.draw({ rect: null, view: { x0: 0, x1: 1, y0: 0, y1: 1 }, style, showDensity: false, showPoints: true });
        await surface.whenDrawn();
        const upload = performance.now() - t0;
        const times: number[] = [];
        for (let f = 0; f < frames; f++) {
          const d = f * 0.002;
          const t = performance.now();
          surface.draw({ rect: null, view: { x0: d, x1: 1 + d, y0: 0, y1: 1 }, style, showDensity: false, showPoints: true });
          await surface.whenDrawn(); // the frame is on the canvas
          times.push(performance.now() - t);
        }
        if (lost) throw new Error(`the plot worker could not draw: ${lost}`);
        // how much of the canvas the last frame painted (a sanity check that points were drawn)
        const t = document.createElement('canvas');
        t.width = 800;
        t.height = 500;
        const ctx = t.getContext('2d')!;
        ctx.drawImage(canvas, 0, 0);
        const all = ctx.getImageData(0, 0, 800, 500).data;
        let painted = 0;
        for (let i = 3; i < all.length; i += 4) if (all[i]! > 0) painted++;
        return { kind: surface.kind, times, upload, renderer: 'regl in a worker', painted: painted / (800 * 500) };
      },
      { N, frames: opts.frames ?? 15, workerSrc },
    );
    const med = median(r.times.slice(2));
    return {
      name: 'plot_points_frame',
      value: +med.toFixed(1),
      unit: 'ms',
      vs: { fps: +(1000 / med).toFixed(1) },
      note: `${N.toLocaleString('en-US')} points, 800x500 canvas, size 2, one draw call; ${r.kind} on ${r.renderer}; first frame (worker start + upload) ${r.upload.toFixed(0)} ms; median of ${r.times.length - 2} frames, each waited for until on the canvas; ${(r.painted * 100).toFixed(0)}% of the canvas painted`,
    };
  } finally {
    await browser.close();
  }
}

/**
 * `n` points of the bench's points file (ensurePoints) as an Arrow file of BATCH_ROWS-row record
 * batches in `dir` (made once): the ingested layout the plot and zoned benches read.
 */
export async function ensureBatchedXY(dir: string, n: number, log: (m: string) => void = () => {}): Promise<string> {
  const out = join(dir, `xy-${n}-batches${BATCH_ROWS}.arrow`);
  if (existsSync(out)) return out;
  const raw = ensurePoints(dir, n, log);
  log(`writing ${n.toExponential(2)} points as an Arrow file of ${BATCH_ROWS}-row batches -> ${out}`);
  await writeBatchedXY(raw.path, raw.total, n, out);
  return out;
}

/**
 * plot_first_paint: the first image of an ingested-layout dataset of `points` points from a
 * sample, as the app asks for it (see the header), against the exact full view.
 */
export async function benchFirstPaint(opts: { dir: string; points: number; reps?: number; sample?: number; log?: (m: string) => void }): Promise<Figure> {
  const N = opts.points, reps = opts.reps ?? 9, budget = opts.sample ?? DENSITY_SAMPLE_ROWS;
  const log = opts.log ?? (() => {});
  const W = 1600, H = 1000;
  const chunked = await ensureBatchedXY(opts.dir, N, log);
  const ctx = (): HandlerContext => ({ signal: new AbortController().signal, progress: () => {}, connection: 'bench' });
  // no spatially ordered copy built meanwhile (it would compete for the cores; a full view reads every row anyway)
  const prevMin = process.env.CDX_SPATIAL_MIN_ROWS;
  process.env.CDX_SPATIAL_MIN_ROWS = String(Number.MAX_SAFE_INTEGER);
  const h = createEngineHandlers({ home: join(opts.dir, 'firstpaint-home'), samplePath: null });
  try {
    const file = NativeFile.open(chunked);
    log(`warming the page cache for ${chunked}`);
    await readBandwidth(file, { offset: 0, length: file.size - (file.size % 8) });
    file.close();
    const id = (await h.open({ location: chunked }, ctx())).entry.id;
    // the home view as the app makes it (ranges from zone maps: one pass the first time, kept)
    const [rx, ry] = await h.plotRanges({ dataset: id, columns: ['x', 'y'] }, ctx());
    const [x0, x1] = paddedRange(rx!.min, rx!.max), [y0, y1] = paddedRange(ry!.min, ry!.max);
    const out = new Uint32Array(W * H);
    const trip = async (sample?: number) => {
      const t0 = performance.now();
      const d = await h.density({ dataset: id, x: 'x', y: 'y', x0, x1, y0, y1, width: W, height: H, ...(sample ? { sample } : {}) }, ctx());
      const t1 = performance.now();
      const back = decodeFrame(encodeFrame({ t: 'result', id: 1, result: { ok: true, value: d } })) as { result: { value: { counts: Uint32Array } } };
      const t2 = performance.now();
      shade(back.result.value.counts, 'eq_hist', 'fire', out);
      const t3 = performance.now();
      return { ms: t3 - t0, engine: t1 - t0, wire: t2 - t1, shade: t3 - t2, d };
    };
    await trip(budget); // cold code paths
    const runs: Awaited<ReturnType<typeof trip>>[] = [];
    for (let i = 0; i < reps; i++) runs.push(await trip(budget));
    const med = median(runs.map((r) => r.ms));
    const mean = (k: 'engine' | 'wire' | 'shade') => runs.reduce((a, r) => a + r[k], 0) / runs.length;
    const smp = runs[0]!.d;
    if (!smp.sample) throw new Error(`plot_first_paint: ${N} points within the sample budget ${budget}: no sample to time`);
    log(`the exact full view over ${N.toExponential(1)} points`);
    const exact: Awaited<ReturnType<typeof trip>>[] = [];
    for (let i = 0; i < 3; i++) exact.push(await trip());
    const exactMs = median(exact.map((r) => r.ms));
    const ex = exact[0]!.d;
    if (ex.binned !== N) throw new Error(`plot_first_paint: the exact density binned ${ex.binned} of ${N}`);
    // how much of the exact image the sample already paints
    let cells = 0, both = 0;
    for (let i = 0; i < ex.counts.length; i++) if (ex.counts[i]) { cells++; if (smp.counts[i]) both++; }
    const blocks = Math.ceil(budget / SAMPLE_BLOCK_ROWS);
    return {
      name: 'plot_first_paint',
      value: +med.toFixed(1),
      unit: 'ms',
      vs: { target150ms: +(150 / med).toFixed(2), exact: +(exactMs / med).toFixed(1) },
      note: `first image of ${N.toExponential(2)} float32 points (Arrow file of ${BATCH_ROWS.toLocaleString('en-US')}-row batches, page-cached, through the engine handlers in-process) from a sample of ${smp.sample.rows.toLocaleString('en-US')} rows (${blocks} blocks of ${Math.floor(budget / blocks).toLocaleString('en-US')}), ${W}x${H}: median of ${reps} ${med.toFixed(1)} ms = engine ${mean('engine').toFixed(1)} + wire ${mean('wire').toFixed(1)} + shade ${mean('shade').toFixed(1)} ms (means); it paints ${((both / cells) * 100).toFixed(1)}% of the cells the exact image paints; the exact full view (same path, no sample): ${exactMs.toFixed(0)} ms (median of 3)`,
    };
  } finally {
    await h.close();
    if (prevMin === undefined) delete process.env.CDX_SPATIAL_MIN_ROWS;
    else process.env.CDX_SPATIAL_MIN_ROWS = prevMin;
  }
}

/** Every plot figure (what bench/run.ts reports). */
export async function benchPlot(opts: { dir?: string; points?: number[]; log?: (m: string) => void; chromium?: string; only?: string[] } = {}): Promise<Figure[]> {
  const dir = opts.dir ?? join(tmpdir(), 'cdx-bench');
  const log = opts.log ?? ((m: string) => process.stderr.write(`[bench:plot] ${m}\n`));
  const sizes = opts.points ?? [1e8, 1e9];
  const out: Figure[] = [];
  const want = (name: string) => !opts.only?.length || opts.only.includes(name);
  const data = ensurePoints(dir, Math.max(...sizes), log);
  if (want('roundtrip'))
    for (const n of sizes) {
      log(`round trip over ${n.toExponential(1)} points`);
      out.push(await benchPlotRoundTrip({ path: data.path, total: data.total, points: n, log }));
    }
  if (want('first_paint')) {
    log(`first paint over ${Math.max(...sizes).toExponential(1)} points (ingested layout)`);
    out.push(await benchFirstPaint({ dir, points: Math.max(...sizes), log }));
  }
  if (want('shade')) out.push(benchShade());
  if (want('points_frame'))
    try {
      out.push(await benchPointsFrame({ chromium: opts.chromium }));
    } catch (e) {
      log(`points frame time skipped: ${(e as Error).message.split('\n')[0]}`);
    }
  return out;
}

// run directly: npx tsx bench/plot.ts [--json] [--points 1e8,1e9] [--dir D] [--chromium PATH] [--only roundtrip,first_paint,shade,points_frame]
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const argv = process.argv.slice(2);
  const val = (k: string) => (argv.includes(k) ? argv[argv.indexOf(k) + 1] : undefined);
  const pts = val('--points')?.split(',').map(Number);
  const figures = await benchPlot({ dir: val('--dir'), points: pts, chromium: val('--chromium'), only: val('--only')?.split(',') });
  for (const f of figures) {
    if (argv.includes('--json')) console.log(JSON.stringify(f));
    else console.log(`${f.name.padEnd(22)} ${String(f.value).padStart(10)} ${f.unit.padEnd(5)} ${Object.entries(f.vs).map(([k, v]) => `vs.${k}=${v}`).join(' ')}  ${f.note ?? ''}`);
  }
}
