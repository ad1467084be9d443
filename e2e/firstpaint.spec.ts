/**
 * First paint from a sample (issue 14): on a dataset larger than the sample budget (here made small
 * by CDX_DENSITY_SAMPLE_ROWS on the engine of `cdx serve`), the plot's first image is a sample —
 * drawn at once, said to be one ("sample of … rows — refining…", the legend and the tooltip give
 * estimates marked "≈") — and the exact counts replace it when they come. The rows are sorted by x,
 * so the sample (4 evenly spaced blocks of rows) paints 4 narrow vertical bands from the left edge
 * to the right one, and the exact image paints everything between. The engine's exact answer is
 * held on the WebSocket (the app's own connection, routed through Playwright) until the sampled
 * image has been read back, as a slow exact pass would hold it; the pixels of both are checked.
 */
import { test, expect, type Page } from '@playwright/test';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Table, tableToIPC, vectorFromArray } from 'apache-arrow';
import { ARTIFACTS, layerPixels, startServer, type RunningServer } from './server';
import { decodeFrame } from '../shared/wire';

const dir = mkdtempSync(path.join(os.tmpdir(), 'cdx-e2e-firstpaint-'));
const FILE = path.join(dir, 'sorted.arrow');
const N = 1_000_000;
// the engine's sample: 40,000 rows = 3 blocks of 13,333 rows (main/engine/plot.ts sampleRanges)
const BUDGET = 40_000, K = 3, B = Math.floor(BUDGET / K);
const xs = new Float64Array(N), ys = new Float64Array(N);
let server: RunningServer;

test.beforeAll(async () => {
  let s = 24680;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  for (let i = 0; i < N; i++) {
    xs[i] = ((i + rnd()) / N) * 10; // sorted: row order is x order
    ys[i] = rnd() * 10;
  }
  writeFileSync(FILE, tableToIPC(new Table({ x: vectorFromArray(xs), y: vectorFromArray(ys) }), 'file'));
  server = await startServer({ CDX_DENSITY_SAMPLE_ROWS: String(BUDGET) });
});
test.afterAll(async () => {
  await server?.stop();
});

interface View { vp: { x0: number; x1: number; y0: number; y1: number } }

/** painted (alpha > 0) share of the pixels in the x range [x0, x1) over the whole height */
function paintedIn(px: { w: number; h: number; data: number[] }, st: View, x0: number, x1: number): number {
  const { vp } = st;
  const c0 = Math.max(0, Math.floor(((x0 - vp.x0) / (vp.x1 - vp.x0)) * px.w)), c1 = Math.min(px.w, Math.ceil(((x1 - vp.x0) / (vp.x1 - vp.x0)) * px.w));
  const r0 = Math.ceil(((vp.y1 - 10) / (vp.y1 - vp.y0)) * px.h) + 1, r1 = Math.floor(((vp.y1 - 0) / (vp.y1 - vp.y0)) * px.h) - 1;
  let n = 0, total = 0;
  for (let y = r0; y < r1; y++)
    for (let x = c0; x < c1; x++) {
      total++;
      if (px.data[(y * px.w + x) * 4 + 3]! > 0) n++;
    }
  return total ? n / total : 0;
}

async function view(page: Page): Promise<View> {
  return { vp: JSON.parse((await page.getByTestId('plot').getAttribute('data-vp'))!) };
}

/** waits until the canvas shows an image whose painted share of [x0, x1) passes `ok` */
async function waitForImage(page: Page, ok: (px: Awaited<ReturnType<typeof layerPixels>>, st: View) => boolean): Promise<Awaited<ReturnType<typeof layerPixels>>> {
  for (let i = 0; i < 200; i++) {
    const px = await layerPixels(page);
    if (ok(px, await view(page))) return px;
    await page.waitForTimeout(50);
  }
  throw new Error('the expected image never appeared');
}

test('a large dataset is drawn from a sample first, then the exact counts replace it', async ({ page }) => {
  // several exact passes over a large file and screenshots: on a loaded 2-core machine this takes
  // over a minute (the default limit); the waits inside keep their own limits
  test.setTimeout(150_000);
  // the app's WebSocket to the engine, through the test: exact density answers are held until released
  const held: (() => void)[] = [];
  let release = false;
  const exactCalls = new Set<number>();
  const sampledCalls: number[] = [];
  await page.routeWebSocket(/.*/, (ws) => {
    const engine = ws.connectToServer();
    ws.onMessage((m) => {
      if (typeof m !== 'string') {
        const f = decodeFrame(new Uint8Array(m)) as { t: string; id: number; method?: string; params?: { sample?: number } };
        if (f.t === 'call' && f.method === 'density') {
          if (f.params?.sample) sampledCalls.push(f.id);
          else exactCalls.add(f.id);
        }
      }
      engine.send(m);
    });
    engine.onMessage((m) => {
      if (typeof m !== 'string') {
        const f = decodeFrame(new Uint8Array(m)) as { t: string; id: number };
        if (f.t === 'result' && exactCalls.has(f.id) && !release) {
          held.push(() => ws.send(m));
          return;
        }
      }
      ws.send(m);
    });
  });

  await page.goto(server.url);
  await page.getByLabel('Path to open').fill(FILE);
  await page.getByLabel('Path to open').press('Enter');
  await expect(page.getByTestId('row-count')).toContainText(`${N.toLocaleString('en-US')} rows`);
  await page.getByRole('tab', { name: 'Plot' }).click();
  // density, not points, for the million rows
  await page.getByLabel('point budget').fill('1000');
  await page.getByLabel('point budget').press('Tab');

  // ---- the sample: said to be one, and drawn as K bands of rows sorted by x
  const plot = page.getByTestId('plot');
  await expect(plot).toHaveAttribute('data-sample', `${K * B}/${N}`, { timeout: 30_000 });
  await expect(page.getByTestId('plot-sample')).toContainText(`sample of ${(K * B).toLocaleString('en-US')} of ${N.toLocaleString('en-US')} rows — refining…`);
  await expect(plot).toHaveAttribute('data-busy', 'true');
  expect(await plot.getAttribute('data-count')).toBe('');
  // block i covers rows [floor(i (N - B) / (K - 1)), + B): x in [10 start / N, 10 (start + B) / N)
  const bands = Array.from({ length: K }, (_, i) => {
    const r0 = Math.floor((i * (N - B)) / (K - 1));
    return [(r0 / N) * 10, ((r0 + B) / N) * 10] as const;
  });
  const gaps = [[1, 4], [5.5, 8.5]] as const;
  const px = await waitForImage(page, (p, st) => bands.every(([a, b]) => paintedIn(p, st, a + 0.02, b - 0.02) > 0.9));
  const st = await view(page);
  for (const [a, b] of gaps) expect(paintedIn(px, st, a, b)).toBe(0);
  // the first band starts at the left edge of the data, the last ends at its right edge
  expect(bands[0]![0]).toBe(0);
  expect(bands[K - 1]![1]).toBe(10);
  // estimates, marked as such: the status line, the legend, the tooltip over the middle band
  await expect(page.getByTestId('plot-status')).toContainText('≈');
  await expect(page.locator('.plot-axes .legend')).toContainText('≈ count');
  const hit = (await page.getByTestId('plot-hit').boundingBox())!;
  const mid = (bands[1]![0] + bands[1]![1]) / 2;
  await page.mouse.move(hit.x + ((mid - st.vp.x0) / (st.vp.x1 - st.vp.x0)) * hit.width, hit.y + hit.height / 2);
  await expect(page.getByTestId('plot-tooltip')).toContainText(/count: ≈ [\d,]+ \(sample\)/);
  await page.mouse.move(hit.x - 20, hit.y - 20);
  await page.screenshot({ path: path.join(ARTIFACTS, 'firstpaint-sample.png') });
  expect(sampledCalls.length).toBeGreaterThan(0);
  expect(held.length).toBeGreaterThan(0);

  // ---- the exact counts arrive and replace it
  release = true;
  for (const send of held.splice(0)) send();
  await expect(plot).toHaveAttribute('data-busy', 'false', { timeout: 30_000 });
  await expect(plot).toHaveAttribute('data-sample', '');
  await expect(plot).toHaveAttribute('data-count', String(N));
  await expect(page.getByTestId('plot-sample')).toHaveCount(0);
  await expect(page.locator('.plot-axes .legend')).not.toContainText('≈');
  const exact = await waitForImage(page, (p, s) => gaps.every(([a, b]) => paintedIn(p, s, a, b) > 0.9));
  expect(paintedIn(exact, await view(page), 0.05, 9.95)).toBeGreaterThan(0.9);
  await page.screenshot({ path: path.join(ARTIFACTS, 'firstpaint-exact.png') });

  // a view change after a fast exact pass asks for the exact counts only
  const before = sampledCalls.length;
  await page.mouse.move(hit.x + hit.width / 2, hit.y + hit.height / 2);
  await page.mouse.wheel(0, -200);
  await expect(plot).toHaveAttribute('data-busy', 'false', { timeout: 30_000 });
  await expect(plot).toHaveAttribute('data-sample', '');
  expect(sampledCalls.length).toBe(before);
});
