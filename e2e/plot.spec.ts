/**
 * The plot view in Chromium (WebGL through SwiftShader) against web mode, checked by reading the
 * drawn pixels back: two known clusters land in the right screen regions; eq_hist and linear
 * differ as they should; points vs density switch at the budget; box and lasso selections become
 * filter chips whose counts match an independent count; PNG/SVG exports are valid and match the
 * view; `cdx plot` writes the grid the app uses, equal to numpy's histogram2d; the 2-D canvas
 * fallback draws the same clusters.
 */
import { test, expect, type Page } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inflateSync } from 'node:zlib';
import { Dictionary, Int32, Table, Utf8, tableToIPC, vectorFromArray } from 'apache-arrow';
import { ARTIFACTS, ROOT, startServer, layerPixels, type RunningServer } from './server';
import { parseExpr } from '../shared/expr/parse';
import { polygonEdges, pointInPolygon } from '../shared/expr/polygon';

const dir = mkdtempSync(path.join(os.tmpdir(), 'cdx-e2e-plot-'));
const FILE = path.join(dir, 'clusters.arrow');
// cluster A: 150,000 points, dense, around (2, 2); cluster B: 30,000 points, spread, around (7, 7)
const NA = 150_000, NB = 30_000, N = NA + NB;
const xs = new Float64Array(N), ys = new Float64Array(N);
let server: RunningServer;

function gauss(rnd: () => number): number {
  return Math.sqrt(-2 * Math.log(rnd() || 1e-12)) * Math.cos(2 * Math.PI * rnd());
}

test.beforeAll(async () => {
  let s = 987654321;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  const cats: string[] = [];
  for (let i = 0; i < N; i++) {
    const a = i < NA;
    xs[i] = a ? 2 + 0.3 * gauss(rnd) : 7 + 0.8 * gauss(rnd);
    ys[i] = a ? 2 + 0.3 * gauss(rnd) : 7 + 0.8 * gauss(rnd);
    cats.push(a ? 'a' : 'b');
  }
  const t = new Table({ x: vectorFromArray(xs), y: vectorFromArray(ys), c: vectorFromArray(cats, new Dictionary(new Utf8(), new Int32())) });
  writeFileSync(FILE, tableToIPC(t, 'file'));
  writeFileSync(path.join(dir, 'x.f64'), Buffer.from(xs.buffer));
  writeFileSync(path.join(dir, 'y.f64'), Buffer.from(ys.buffer));
  server = await startServer();
});
test.afterAll(async () => {
  await server?.stop();
});

interface PlotState {
  mode: string;
  count: number;
  vp: { x0: number; x1: number; y0: number; y1: number };
  frame: { left: number; top: number; plotW: number; plotH: number };
}

async function plotState(page: Page): Promise<PlotState> {
  const el = page.getByTestId('plot');
  return {
    mode: (await el.getAttribute('data-mode'))!,
    count: Number(await el.getAttribute('data-count')),
    vp: JSON.parse((await el.getAttribute('data-vp'))!),
    frame: JSON.parse((await el.getAttribute('data-frame'))!),
  };
}

async function settled(page: Page) {
  await page.waitForTimeout(50);
  await expect(page.getByTestId('plot')).toHaveAttribute('data-busy', 'false', { timeout: 30_000 });
  await expect(page.getByTestId('plot')).not.toHaveAttribute('data-count', '');
}

async function openPlot(page: Page, budget: number) {
  await page.goto(server.url);
  await page.getByLabel('Path to open').fill(FILE);
  await page.getByLabel('Path to open').press('Enter');
  await expect(page.getByTestId('row-count')).toContainText(`${N.toLocaleString('en-US')} rows`);
  await page.getByRole('tab', { name: 'Plot' }).click();
  await page.getByLabel('point budget').fill(String(budget));
  await page.getByLabel('point budget').press('Tab');
  await settled(page);
}

/** painted (alpha > 0) pixels in a data rectangle of the current view */
function painted(px: { w: number; h: number; data: number[] }, st: PlotState, r: { x0: number; x1: number; y0: number; y1: number }): { painted: number; total: number; meanLum: number } {
  const { vp } = st;
  const c0 = Math.max(0, Math.floor(((r.x0 - vp.x0) / (vp.x1 - vp.x0)) * px.w)), c1 = Math.min(px.w, Math.ceil(((r.x1 - vp.x0) / (vp.x1 - vp.x0)) * px.w));
  const r0 = Math.max(0, Math.floor(((vp.y1 - r.y1) / (vp.y1 - vp.y0)) * px.h)), r1 = Math.min(px.h, Math.ceil(((vp.y1 - r.y0) / (vp.y1 - vp.y0)) * px.h));
  let n = 0, total = 0, lum = 0;
  for (let y = r0; y < r1; y++)
    for (let x = c0; x < c1; x++) {
      const o = (y * px.w + x) * 4;
      total++;
      if (px.data[o + 3]! > 0) {
        n++;
        lum += px.data[o]! + px.data[o + 1]! + px.data[o + 2]!;
      }
    }
  return { painted: n, total, meanLum: n ? lum / n / 3 : 0 };
}

/** screen position (page coordinates) of a data point */
async function screenOf(page: Page, st: PlotState, x: number, y: number): Promise<[number, number]> {
  const box = (await page.getByTestId('plot-hit').boundingBox())!;
  return [box.x + ((x - st.vp.x0) / (st.vp.x1 - st.vp.x0)) * box.width, box.y + ((st.vp.y1 - y) / (st.vp.y1 - st.vp.y0)) * box.height];
}

/**
 * Runs `cdx ARGS`: the built bin when `cdx plot` is wired into main/cli/index.ts, else the source CLI
 * with `registerPlot` added (through tsx), so this test does not depend on that wiring.
 */
function cdx(args: string[]): string {
  const env = { ...process.env, CDX_HOME: mkdtempSync(path.join(os.tmpdir(), 'cdx-e2e-home-')) };
  const help = execFileSync(process.execPath, [path.join(ROOT, 'bin', 'cdx.mjs'), '--help'], { env }).toString();
  const wired = /^\s+plot\b/m.test(help);
  if (wired) return execFileSync(process.execPath, [path.join(ROOT, 'bin', 'cdx.mjs'), ...args], { env }).toString();
  const script = `
    const { buildProgram } = await import(${JSON.stringify(path.join(ROOT, 'main', 'cli', 'index.ts'))});
    const { registerPlot } = await import(${JSON.stringify(path.join(ROOT, 'main', 'cli', 'plot.ts'))});
    const p = buildProgram();
    registerPlot(p);
    await p.parseAsync(JSON.parse(process.env.CDX_ARGS), { from: 'user' });`;
  return execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, env: { ...env, CDX_ARGS: JSON.stringify(args) } }).toString();
}

/** a minimal PNG decoder (8-bit RGBA / RGB, filters 0-4) for checking exports */
function decodePNG(b: Buffer): { w: number; h: number; rgba: Uint8Array } {
  expect([...b.subarray(0, 8)]).toEqual([137, 80, 78, 71, 13, 10, 26, 10]);
  let o = 8, w = 0, h = 0, ct = 0;
  const idat: Buffer[] = [];
  while (o < b.length) {
    const len = b.readUInt32BE(o), type = b.toString('latin1', o + 4, o + 8);
    const d = b.subarray(o + 8, o + 8 + len);
    if (type === 'IHDR') {
      w = d.readUInt32BE(0);
      h = d.readUInt32BE(4);
      expect(d[8]).toBe(8);
      ct = d[9]!;
    } else if (type === 'IDAT') idat.push(d);
    o += 12 + len;
  }
  const bpp = ct === 6 ? 4 : 3;
  const raw = inflateSync(Buffer.concat(idat));
  const stride = w * bpp;
  const out = new Uint8Array(w * h * 4);
  let prev = new Uint8Array(stride);
  for (let y = 0; y < h; y++) {
    const f = raw[y * (stride + 1)]!;
    const line = new Uint8Array(raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1)));
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? line[i - bpp]! : 0, up = prev[i]!, c = i >= bpp ? prev[i - bpp]! : 0;
      const p = a + up - c, pa = Math.abs(p - a), pb = Math.abs(p - up), pc = Math.abs(p - c);
      const pred = f === 1 ? a : f === 2 ? up : f === 3 ? (a + up) >> 1 : f === 4 ? (pa <= pb && pa <= pc ? a : pb <= pc ? up : c) : 0;
      line[i] = (line[i]! + pred) & 255;
    }
    for (let x = 0; x < w; x++) {
      out.set([line[x * bpp]!, line[x * bpp + 1]!, line[x * bpp + 2]!, bpp === 4 ? line[x * bpp + 3]! : 255], (y * w + x) * 4);
    }
    prev = line;
  }
  return { w, h, rgba: out };
}

test('two clusters render density in the right screen regions; eq_hist and linear differ as expected', async ({ page }) => {
  await openPlot(page, 1000);
  let st = await plotState(page);
  expect(st.mode).toBe('density');
  expect(st.count).toBe(N);
  await expect(page.getByTestId('plot')).toHaveAttribute('data-surface', 'webgl');
  const px = await layerPixels(page);
  const A = painted(px, st, { x0: 1.8, x1: 2.2, y0: 1.8, y1: 2.2 });
  const B = painted(px, st, { x0: 6.6, x1: 7.4, y0: 6.6, y1: 7.4 });
  const empty = painted(px, st, { x0: 4.3, x1: 4.7, y0: 4.3, y1: 4.7 });
  const corner = painted(px, st, { x0: 1.5, x1: 2.5, y0: 6.5, y1: 7.5 });
  expect(A.painted / A.total).toBeGreaterThan(0.95);
  expect(B.painted / B.total).toBeGreaterThan(0.6);
  expect(empty.painted).toBe(0);
  expect(corner.painted).toBe(0);
  await page.screenshot({ path: path.join(ARTIFACTS, 'plot-density-eqhist.png') });

  // fire: brighter = more. eq_hist spreads levels evenly; linear leaves the sparse cluster dark
  const eqB = B.meanLum;
  await page.getByLabel('tone mapping').selectOption('linear');
  await page.waitForTimeout(100);
  const lin = await layerPixels(page);
  st = await plotState(page);
  const linB = painted(lin, st, { x0: 6.6, x1: 7.4, y0: 6.6, y1: 7.4 });
  expect(linB.painted).toBe(B.painted); // the same cells, coloured differently
  expect(eqB).toBeGreaterThan(linB.meanLum + 40);
  await page.screenshot({ path: path.join(ARTIFACTS, 'plot-density-linear.png') });
});

test('points and density switch at the budget, also while zooming', async ({ page }) => {
  await openPlot(page, N);
  expect((await plotState(page)).mode).toBe('points');
  await page.getByLabel('point budget').fill(String(N - 1));
  await page.getByLabel('point budget').press('Tab');
  await settled(page);
  expect((await plotState(page)).mode).toBe('density');
  // zoom into cluster B until it holds fewer than 40,000 points (cluster A leaves the view)
  await page.getByLabel('point budget').fill('40000');
  await page.getByLabel('point budget').press('Tab');
  await settled(page);
  let st = await plotState(page);
  expect(st.mode).toBe('density');
  const [bx, by] = await screenOf(page, st, 7, 7);
  await page.mouse.move(bx, by);
  for (let i = 0; i < 6; i++) {
    await page.mouse.wheel(0, -200);
    await page.waitForTimeout(30);
  }
  await settled(page);
  st = await plotState(page);
  expect(st.vp.x0).toBeGreaterThan(3.5);
  expect(st.count).toBeLessThanOrEqual(40000);
  expect(st.mode).toBe('points');
  const independent = Array.from({ length: N }, (_, i) => i).filter((i) => xs[i]! >= st.vp.x0 && xs[i]! < st.vp.x1 && ys[i]! >= st.vp.y0 && ys[i]! < st.vp.y1).length;
  expect(st.count).toBe(independent);
  const px = await layerPixels(page);
  expect(painted(px, st, { x0: 6.8, x1: 7.2, y0: 6.8, y1: 7.2 }).painted).toBeGreaterThan(0);
  // hover: the nearest point's row
  const [hx, hy] = await screenOf(page, st, 7, 7);
  await page.mouse.move(hx, hy);
  await expect(page.getByTestId('plot-tooltip')).toContainText(/row \d/);
  await expect(page.getByTestId('plot-tooltip')).toContainText('c: b');
  await page.screenshot({ path: path.join(ARTIFACTS, 'plot-points.png') });
  // x-axis-only zoom
  const before = await plotState(page);
  const xa = (await page.getByTestId('plot-x-axis').boundingBox())!;
  await page.mouse.move(xa.x + xa.width / 2, xa.y + 10);
  await page.mouse.wheel(0, 300);
  await page.waitForTimeout(50);
  const after = await plotState(page);
  expect(after.vp.x1 - after.vp.x0).toBeGreaterThan(before.vp.x1 - before.vp.x0);
  expect(after.vp.y0).toBe(before.vp.y0);
  expect(after.vp.y1).toBe(before.vp.y1);
  // double-click resets
  await page.mouse.dblclick(hx, hy);
  await expect(page.getByTestId('plot')).toHaveAttribute('data-count', String(N), { timeout: 30_000 });
  await expect(page.getByTestId('plot')).toHaveAttribute('data-mode', 'density');
});

test('box select adds a range filter; the summary count matches an independent count', async ({ page }) => {
  await openPlot(page, 1000);
  const st = await plotState(page);
  await page.getByRole('button', { name: 'Box', exact: true }).click();
  const [ax, ay] = await screenOf(page, st, 1.5, 2.5);
  const [bx, by] = await screenOf(page, st, 2.1, 1.6);
  await page.mouse.move(ax, ay);
  await page.mouse.down();
  await page.mouse.move((ax + bx) / 2, (ay + by) / 2, { steps: 4 });
  await page.mouse.move(bx, by, { steps: 4 });
  await page.mouse.up();
  const chip = page.getByRole('list', { name: 'Active filters' }).getByRole('listitem');
  await expect(chip).toHaveCount(1);
  const text = (await chip.innerText()).replace(/×\s*$/, '').trim();
  expect(text).toMatch(/^x in \[[-\d.e]+, [-\d.e]+\) and y in \[[-\d.e]+, [-\d.e]+\)$/);
  const e = parseExpr(text) as { kind: 'and'; args: { lo: number; hi: number }[] };
  const [rx, ry] = e.args as { lo: number; hi: number }[];
  expect(rx!.lo).toBeCloseTo(1.5, 1);
  expect(ry!.hi).toBeCloseTo(2.5, 1);
  let n = 0;
  for (let i = 0; i < N; i++) if (xs[i]! >= rx!.lo && xs[i]! < rx!.hi && ys[i]! >= ry!.lo && ys[i]! < ry!.hi) n++;
  await expect(page.getByTestId('filtered-rows')).toHaveText(n.toLocaleString('en-US'));
  // the plot applies the filter too
  await settled(page);
  expect((await plotState(page)).count).toBe(n);
  await page.screenshot({ path: path.join(ARTIFACTS, 'plot-box-select.png') });
});

test('lasso on a known polygon adds an inpolygon filter with the matching count', async ({ page }) => {
  await openPlot(page, 1000);
  const st = await plotState(page);
  await page.getByRole('button', { name: 'Lasso', exact: true }).click();
  // a triangle around the upper-left part of cluster A
  const tri: [number, number][] = [[1.2, 1.8], [2.2, 2.9], [1.2, 2.9]];
  const pts = await Promise.all(tri.map(([x, y]) => screenOf(page, st, x, y)));
  await page.mouse.move(pts[0]![0], pts[0]![1]);
  await page.mouse.down();
  for (const k of [1, 2, 0]) {
    const a = pts[k === 1 ? 0 : k === 2 ? 1 : 2]!, b = pts[k]!;
    for (let s = 1; s <= 10; s++) await page.mouse.move(a[0] + ((b[0] - a[0]) * s) / 10, a[1] + ((b[1] - a[1]) * s) / 10);
  }
  await page.mouse.up();
  const chip = page.getByRole('list', { name: 'Active filters' }).getByRole('listitem');
  await expect(chip).toHaveCount(1);
  // the chip reads "lasso on (x, y), N points" and keeps the polygon in its expression (data-expr)
  expect((await chip.innerText()).replace(/×\s*$/, '').trim()).toMatch(/^lasso on \(x, y\), \d+ points$/);
  const text = (await chip.getAttribute('data-expr'))!;
  expect(text).toMatch(/^\(x, y\) in polygon \[/);
  const e = parseExpr(text) as { kind: 'inpolygon'; polygon: [number, number][] };
  expect(e.kind).toBe('inpolygon');
  expect((await chip.innerText())).toContain(`${e.polygon.length} points`);
  const edges = polygonEdges(e.polygon);
  let n = 0;
  for (let i = 0; i < N; i++) if (pointInPolygon(edges, xs[i]!, ys[i]!)) n++;
  expect(n).toBeGreaterThan(100);
  await expect(page.getByTestId('filtered-rows')).toHaveText(n.toLocaleString('en-US'));
  await page.screenshot({ path: path.join(ARTIFACTS, 'plot-lasso.png') });
});

test('PNG and SVG exports are valid and match the view; cdx plot writes the same grid as the app, equal to numpy histogram2d', async ({ page }) => {
  await openPlot(page, 1000);
  const st = await plotState(page);
  const area = (await page.locator('.plot-area').boundingBox())!;
  const W = Math.round(area.width) - 2, H = Math.round(area.height) - 2; // inside the 1-px border

  const menu = page.locator('details.export');
  const save = async (label: string) => {
    await menu.locator('summary').click();
    const [dl] = await Promise.all([page.waitForEvent('download'), menu.getByRole('button', { name: label, exact: true }).click()]);
    const p = path.join(dir, dl.suggestedFilename());
    await dl.saveAs(p);
    return p;
  };
  // PNG 1x: the plot's size, with density pixels in cluster A's region
  const pngPath = await save('PNG 1×');
  writeFileSync(path.join(ARTIFACTS, 'plot-export.png'), readFileSync(pngPath));
  const png = decodePNG(readFileSync(pngPath));
  expect(Math.abs(png.w - W)).toBeLessThanOrEqual(2);
  expect(Math.abs(png.h - H)).toBeLessThanOrEqual(2);
  const at = (x: number, y: number) => {
    const cx = Math.floor(st.frame.left + ((x - st.vp.x0) / (st.vp.x1 - st.vp.x0)) * st.frame.plotW);
    const cy = Math.floor(st.frame.top + ((st.vp.y1 - y) / (st.vp.y1 - st.vp.y0)) * st.frame.plotH);
    const o = (cy * png.w + cx) * 4;
    return [png.rgba[o]!, png.rgba[o + 1]!, png.rgba[o + 2]!];
  };
  // density in cluster A's region (fire's top is white: count coloured pixels around the core), none between the clusters
  const coloured = (x0: number, x1: number, y0: number, y1: number) => {
    let n = 0, t = 0;
    for (let x = x0; x <= x1; x += 0.05) for (let y = y0; y <= y1; y += 0.05) { t++; if (at(x, y).join() !== '255,255,255') n++; }
    return n / t;
  };
  expect(coloured(1.5, 2.5, 1.5, 1.7)).toBeGreaterThan(0.9);
  expect(coloured(4.2, 4.8, 4.2, 4.8)).toBe(0);
  const png2 = decodePNG(readFileSync(await save('PNG 2×')));
  expect(Math.abs(png2.w - 2 * W)).toBeLessThanOrEqual(4);

  // SVG: parses, has axes and the embedded layer; the layer decodes to the plot area's size
  const svgText = readFileSync(await save('SVG'), 'utf8');
  const parsed = await page.evaluate((s) => {
    const d = new DOMParser().parseFromString(s, 'image/svg+xml');
    return { error: !!d.querySelector('parsererror'), ticks: d.querySelectorAll('.x-axis text').length, image: d.querySelector('image')?.getAttribute('href')?.slice(0, 22) ?? null, w: d.documentElement.getAttribute('width') };
  }, svgText);
  expect(parsed.error).toBe(false);
  expect(parsed.ticks).toBeGreaterThan(3);
  expect(parsed.image).toBe('data:image/png;base64,');
  const layer = decodePNG(Buffer.from(svgText.match(/href="data:image\/png;base64,([^"]+)"/)![1]!, 'base64'));
  expect(layer.w).toBe(st.frame.plotW);
  let nonEmpty = 0;
  for (let i = 3; i < layer.rgba.length; i += 4) if (layer.rgba[i]! > 0) nonEmpty++;
  expect(nonEmpty).toBeGreaterThan(100);

  // the app's grid (NPY) == cdx plot's grid for the same viewport and size == numpy.histogram2d
  const appNpy = readFileSync(await save('Grid as NPY'));
  const hdr = appNpy.subarray(10, 10 + appNpy.readUInt16LE(8)).toString('latin1');
  const [, gh, gw] = hdr.match(/'shape': \((\d+), (\d+)\)/)!.map(Number);
  const cliNpy = path.join(dir, 'cli.npy');
  const { vp } = st;
  cdx(['plot', FILE, '--x', 'x', '--y', 'y', `--xlim=${vp.x0},${vp.x1}`, `--ylim=${vp.y0},${vp.y1}`, '--width', String(gw), '--height', String(gh), '--out', cliNpy]);
  expect(Buffer.compare(readFileSync(cliNpy), appNpy)).toBe(0);
  const out = execFileSync('python3', ['-c', `
import numpy as np, sys
x = np.fromfile(${JSON.stringify(path.join(dir, 'x.f64'))}); y = np.fromfile(${JSON.stringify(path.join(dir, 'y.f64'))})
g = np.load(${JSON.stringify(cliNpy)})
h, _, _ = np.histogram2d(x, y, bins=[${gw}, ${gh}], range=[[${vp.x0}, ${vp.x1}], [${vp.y0}, ${vp.y1}]])
print(g.shape, g.dtype, int(g.sum()), bool((h.T.astype(np.uint32) == g).all()))
`]).toString().trim();
  expect(out).toBe(`(${gh}, ${gw}) uint32 ${N} True`);
  // PNG and SVG from the CLI too
  const cliPng = path.join(dir, 'cli.png'), cliSvg = path.join(dir, 'cli.svg');
  cdx(['plot', FILE, '--x', 'x', '--y', 'y', '--width', '300', '--height', '200', '--cmap', 'viridis', '--out', cliPng]);
  const cp = decodePNG(readFileSync(cliPng));
  expect([cp.w, cp.h]).toEqual([300, 200]);
  expect(cp.rgba.some((v, i) => i % 4 === 3 && v > 0)).toBe(true);
  cdx(['plot', FILE, '--x', 'x', '--y', 'y', '--color', 'c', '--out', cliSvg]);
  expect(readFileSync(cliSvg, 'utf8')).toMatch(/<svg[^>]+width="800" height="600"[\s\S]*<image[\s\S]*class="legend"/);
});

test('without WebGL the density is drawn with a 2-D canvas, and the status says so', async ({ page }) => {
  await page.addInitScript(() => ((window as unknown as { __cdxForceCanvas2D: boolean }).__cdxForceCanvas2D = true));
  await openPlot(page, 1000);
  await expect(page.getByTestId('plot')).toHaveAttribute('data-surface', 'canvas2d');
  await expect(page.getByTestId('plot-surface-note')).toContainText('2-D canvas');
  const st = await plotState(page);
  const px = await layerPixels(page);
  expect(painted(px, st, { x0: 1.8, x1: 2.2, y0: 1.8, y1: 2.2 }).painted).toBeGreaterThan(0);
  expect(painted(px, st, { x0: 4.3, x1: 4.7, y0: 4.3, y1: 4.7 }).painted).toBe(0);
});

test('a column histogram is a plot too: brushing a range of bins adds a range filter with the matching count', async ({ page }) => {
  await openPlot(page, 1000);
  await page.getByRole('button', { name: 'Histogram', exact: true }).click();
  const h = page.getByTestId('histogram');
  await expect(h).toHaveAttribute('data-busy', 'false', { timeout: 30_000 });
  await expect(h.getByText(/in range/)).toContainText(N.toLocaleString('en-US'));
  const range = JSON.parse((await h.getAttribute('data-range'))!) as [number, number];
  const box = (await page.getByTestId('histogram-hit').boundingBox())!;
  const sx = (v: number) => box.x + ((v - range[0]) / (range[1] - range[0])) * box.width;
  await page.mouse.move(sx(1.5), box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(sx(2.0), box.y + box.height / 2, { steps: 4 });
  await page.mouse.move(sx(2.5), box.y + box.height / 2, { steps: 4 });
  await page.mouse.up();
  const chip = page.getByRole('list', { name: 'Active filters' }).getByRole('listitem');
  await expect(chip).toHaveCount(1);
  const text = (await chip.innerText()).replace(/×\s*$/, '').trim();
  expect(text).toMatch(/^x in \[[-\d.e]+, [-\d.e]+\)$/);
  const e = parseExpr(text) as { lo: number; hi: number };
  expect(e.lo).toBeGreaterThan(1.4);
  expect(e.hi).toBeLessThan(2.6);
  let n = 0;
  for (let i = 0; i < N; i++) if (xs[i]! >= e.lo && xs[i]! < e.hi) n++;
  await expect(page.getByTestId('filtered-rows')).toHaveText(n.toLocaleString('en-US'));
  await expect(h.getByText(/in range/)).toContainText(`${n.toLocaleString('en-US')} in range (filtered)`);
  await page.screenshot({ path: path.join(ARTIFACTS, 'plot-histogram.png') });
});

test('a lost WebGL context is replaced by a 2-D canvas drawing the same density (no blank plot)', async ({ page }) => {
  await openPlot(page, 1000);
  await expect(page.getByTestId('plot')).toHaveAttribute('data-surface', 'webgl');
  // the context lives in the plot worker (regl there): lose it there, as a GPU reset would
  const workers = page.workers();
  expect(workers.length).toBe(1);
  await workers[0]!.evaluate(() => (self as unknown as { __cdxLoseContext: () => void }).__cdxLoseContext());
  await expect(page.getByTestId('plot')).toHaveAttribute('data-surface', 'canvas2d');
  await expect(page.getByTestId('plot-surface-note')).toContainText('WebGL context was lost');
  const st = await plotState(page);
  const px = await layerPixels(page);
  expect(painted(px, st, { x0: 1.8, x1: 2.2, y0: 1.8, y1: 2.2 }).painted).toBeGreaterThan(0);
  expect(painted(px, st, { x0: 4.3, x1: 4.7, y0: 4.3, y1: 4.7 }).painted).toBe(0);
});

test('two plots side by side share the filters: a box selected in one filters the other', async ({ page }) => {
  await openPlot(page, 1000);
  await page.getByRole('button', { name: 'Add plot' }).click();
  const plots = page.getByTestId('plot');
  await expect(plots).toHaveCount(2);
  const second = plots.nth(1);
  await expect(second).toHaveAttribute('data-busy', 'false', { timeout: 30_000 });
  await expect(second).toHaveAttribute('data-count', String(N));
  // box select in the first plot
  const first = plots.nth(0);
  const vp = JSON.parse((await first.getAttribute('data-vp'))!) as PlotState['vp'];
  const box = (await first.getByTestId('plot-hit').boundingBox())!;
  const at = (x: number, y: number): [number, number] => [box.x + ((x - vp.x0) / (vp.x1 - vp.x0)) * box.width, box.y + ((vp.y1 - y) / (vp.y1 - vp.y0)) * box.height];
  await first.getByRole('button', { name: 'Box', exact: true }).click();
  const [ax, ay] = at(6, 8.5), [bx, by] = at(8.5, 6);
  await page.mouse.move(ax, ay);
  await page.mouse.down();
  await page.mouse.move(bx, by, { steps: 6 });
  await page.mouse.up();
  const chip = page.getByRole('list', { name: 'Active filters' }).getByRole('listitem');
  await expect(chip).toHaveCount(1);
  const e = parseExpr((await chip.innerText()).replace(/×\s*$/, '').trim()) as { args: { lo: number; hi: number }[] };
  const [rx, ry] = e.args;
  let n = 0;
  for (let i = 0; i < N; i++) if (xs[i]! >= rx!.lo && xs[i]! < rx!.hi && ys[i]! >= ry!.lo && ys[i]! < ry!.hi) n++;
  await expect(second).toHaveAttribute('data-count', String(n), { timeout: 30_000 });
  await expect(first).toHaveAttribute('data-count', String(n), { timeout: 30_000 });
  await page.screenshot({ path: path.join(ARTIFACTS, 'plot-two-linked.png') });
});

test('the sample: a string colour blends by category; a timestamp axis gets calendar ticks', async ({ page }) => {
  await page.goto(server.url);
  await expect(page.getByTestId('row-count')).toContainText('60,000 rows');
  await page.getByRole('tab', { name: 'Plot' }).click();
  await page.getByLabel('point budget').fill('1000');
  await page.getByLabel('point budget').press('Enter');
  await page.getByLabel('x column').selectOption('pickup_lon');
  await page.getByLabel('y column').selectOption('pickup_lat');
  await page.getByLabel('colour column').selectOption('borough');
  await settled(page);
  await expect(page.locator('.plot-axes .legend')).toContainText('borough');
  const legend = await page.locator('.plot-axes .legend text').allTextContents();
  expect(legend.length).toBeGreaterThan(2);
  expect((await plotState(page)).mode).toBe('density');
  await page.screenshot({ path: path.join(ARTIFACTS, 'plot-sample-borough.png') });
  await page.getByLabel('x column').selectOption('pickup_at');
  await page.getByLabel('y column').selectOption('fare');
  await expect(page.locator('.plot-axes .x-label')).toHaveText('pickup_at');
  await settled(page);
  const ticks = await page.locator('.plot-axes .x-axis text').allTextContents();
  // d3's UTC time format: month names, day-of-month labels like "Mar 08", years
  expect(ticks.filter((t) => /^(January|February|March|April|May|June|July|August|September|October|November|December|20\d\d|[A-Z][a-z]{2} \d+)$/.test(t)).length, ticks.join(' | ')).toBeGreaterThan(1);
  await page.screenshot({ path: path.join(ARTIFACTS, 'plot-sample-time.png') });
});
