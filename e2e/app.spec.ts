/**
 * The app in Chromium against web mode: it loads, and the round trip (renderer → WebSocket →
 * engine process → native kernel over the memory-mapped sample) shows the right numbers; the
 * engine can die without taking the page down.
 */
import { test, expect } from '@playwright/test';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { ARTIFACTS, ROOT, startServer, type RunningServer } from './server';

const SAMPLE = path.join(ROOT, 'resources', 'sample', 'trips.arrow');
let server: RunningServer;

test.beforeAll(async () => {
  server = await startServer();
});
test.afterAll(async () => {
  await server?.stop();
});

/** The sample's column statistics computed independently (apache-arrow's JS reader, plain JS). */
function expected(column: string) {
  const t = tableFromIPC(readFileSync(SAMPLE));
  let min = Infinity, max = -Infinity, sum = 0, n = 0;
  for (const v of t.getChild(column)!) {
    const x = Number(v);
    if (x < min) min = x;
    if (x > max) max = x;
    sum += x;
    n++;
  }
  return { min, max, sum, mean: sum / n, n };
}

test('loads, shows the sample file size and native statistics that match an independent computation', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(server.url);
  // the token was swapped for a cookie: it is no longer in the address bar
  expect(page.url()).not.toContain('token=');
  await expect(page.getByRole('status', { name: 'Engine status' })).toContainText('Engine ready');
  await expect(page.getByRole('option', { name: /trips\.arrow/ })).toHaveAttribute('aria-selected', 'true');
  await expect(page.getByTestId('datashape')).toContainText('60000 * {trip_id: int64');
  await expect(page.getByTestId('row-count')).toContainText('60,000 rows');

  // statistics computed by the native kernels in the engine process, against plain JS over the file
  const e = expected('fare');
  await expect(page.getByTestId('min-fare')).toHaveAttribute('data-value', String(e.min));
  await expect(page.getByTestId('max-fare')).toHaveAttribute('data-value', String(e.max));
  const mean = Number(await page.getByTestId('mean-fare').getAttribute('data-value'));
  expect(mean).toBeCloseTo(e.mean, 9);
  await expect(page.getByRole('img', { name: 'Histogram of fare' })).toBeVisible();
  await page.screenshot({ path: path.join(ARTIFACTS, 'summary.png'), fullPage: true });

  await page.getByRole('tab', { name: 'Info' }).click();
  await expect(page.getByTestId('file-size')).toHaveAttribute('data-bytes', String(statSync(SAMPLE).size));
  await expect(page.getByText('the file itself (memory-mapped, no copy)')).toBeVisible();
  expect(errors).toEqual([]);
});

test('follows the OS dark setting', async ({ browser }) => {
  const ctx = await browser.newContext({ colorScheme: 'dark' });
  const page = await ctx.newPage();
  await page.goto(server.url);
  await expect(page.getByRole('status', { name: 'Engine status' })).toContainText('Engine ready');
  const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  expect(bg).toBe('rgb(22, 24, 29)');
  await page.screenshot({ path: path.join(ARTIFACTS, 'app-dark.png') });
  await ctx.close();
});

test('the engine dies: the page stays up, says so, and a new engine serves the next request', async ({ page }) => {
  await page.goto(server.url);
  const status = page.getByRole('status', { name: 'Engine status' });
  await expect(status).toContainText('Engine ready');
  await page.getByLabel('Filter expression').fill('distance_km > 5');
  await page.getByLabel('Filter expression').press('Enter');
  await expect(page.getByRole('list', { name: 'Active filters' })).toContainText('distance_km > 5');
  const pidText = await status.getByText(/^pid \d+$/).innerText();
  const pid = Number(pidText.replace('pid ', ''));
  process.kill(pid, 'SIGKILL');
  await expect(status).toContainText('Engine ready');
  await expect(status.getByText(/^pid \d+$/)).not.toHaveText(pidText);
  await expect(status).toContainText(/The engine was restarted|killed by SIGKILL/);
  // the page still works, the filter survived, and the new engine recomputes
  await expect(page.getByRole('list', { name: 'Active filters' })).toContainText('distance_km > 5');
  const t = tableFromIPC(readFileSync(SAMPLE));
  let n = 0, max = -Infinity;
  const d = t.getChild('distance_km')!;
  for (let i = 0; i < t.numRows; i++) if ((d.get(i) as number) > 5) { n++; max = Math.max(max, d.get(i) as number); }
  await expect(page.getByTestId('filtered-rows')).toHaveText(n.toLocaleString('en-US'));
  await expect(page.getByTestId('max-distance_km')).toHaveAttribute('data-value', String(max));
  await page.screenshot({ path: path.join(ARTIFACTS, 'after-engine-crash.png') });
});

test('without the token the server answers 403', async ({ request }) => {
  const r = await request.get(server.base + '/', { failOnStatusCode: false });
  expect(r.status()).toBe(403);
});
