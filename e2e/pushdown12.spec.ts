/**
 * A database table in every view (issue #12), as a user sees it: the bundled sample (60,000 taxi
 * trips) copied into a real PostgreSQL on loopback, opened by its URL, must show what the same
 * data shows when read from the local file — the summary's numbers cell for cell, the same
 * density image pixel for pixel (coloured by a category), a table window far down — all computed
 * by the database. Screenshots go to e2e/artifacts/pushdown12-*.png.
 */
import { test, expect, type Page } from '@playwright/test';
import path from 'node:path';
import { postgresAvailable, startPostgres, type PostgresServer } from '../main/engine/sql/testing/postgres';
import { convert } from '../main/engine/writers/convert';
import { ARTIFACTS, ROOT, layerPixels, openPath, startServer, type RunningServer } from './server';

let pg: PostgresServer;
let server: RunningServer;
const SAMPLE = path.join(ROOT, 'resources', 'sample', 'trips.arrow');

test.skip(!postgresAvailable(), 'no PostgreSQL binaries here (initdb, pg_ctl)');

test.beforeAll(async () => {
  pg = await startPostgres();
  await convert({ input: SAMPLE, output: `postgresql://${pg.user}:${pg.password}@${pg.host}:${pg.port}/${pg.database}::public.trips` });
  await pg.psql('ALTER TABLE public.trips ADD PRIMARY KEY (trip_id); ANALYZE public.trips;');
  // the password as PostgreSQL's own convention gives it
  server = await startServer({ CDX_NO_KEYCHAIN: '1', PGPASSWORD: pg.password });
});
test.afterAll(async () => {
  await server?.stop();
  await pg?.stop();
});

async function summaryCells(page: Page): Promise<Record<string, string[]>> {
  await expect(page.locator('[data-testid^="min-"]').first()).toBeVisible({ timeout: 30_000 });
  await expect(page.getByRole('progressbar', { name: 'Summary progress' })).toHaveCount(0, { timeout: 30_000 });
  return page.evaluate(() => {
    const out: Record<string, string[]> = {};
    for (const td of document.querySelectorAll('[data-testid^="min-"]')) {
      const name = td.getAttribute('data-testid')!.slice(4);
      out[name] = ['nulls', 'distinct', 'min', 'max', 'mean', 'std', 'median'].map((k) => document.querySelector(`[data-testid="${k}-${name}"]`)?.textContent?.trim() ?? '');
    }
    return out;
  });
}

async function densityPixels(page: Page, colour = '') {
  await page.getByRole('tab', { name: 'Plot' }).click();
  await page.getByLabel('point budget').fill('1000');
  await page.getByLabel('point budget').press('Enter');
  await page.getByLabel('x column').selectOption('pickup_lon');
  await page.getByLabel('y column').selectOption('pickup_lat');
  await page.getByLabel('colour column').selectOption(colour);
  await page.waitForTimeout(100);
  await expect(page.getByTestId('plot')).toHaveAttribute('data-busy', 'false', { timeout: 30_000 });
  await expect(page.getByTestId('plot')).toHaveAttribute('data-mode', 'density');
  const el = page.getByTestId('plot');
  return { count: await el.getAttribute('data-count'), vp: await el.getAttribute('data-vp'), px: await layerPixels(page) };
}

test('a PostgreSQL table shows the summary, density and rows its local twin shows, computed by the database', async ({ page }) => {
  test.setTimeout(180_000);
  await page.goto(server.url);
  await expect(page.getByTestId('row-count')).toContainText('60,000 rows', { timeout: 30_000 });
  const local = await summaryCells(page);
  const localPlot = await densityPixels(page);
  const localLegend = (await densityPixels(page, 'borough'), await page.locator('.plot-axes .legend text').allTextContents());

  await openPath(page, `${pg.url}::public.trips`);
  await expect(page.getByRole('heading', { name: 'public.trips' })).toBeVisible({ timeout: 30_000 });
  await expect(page.getByTestId('row-count')).toContainText('60,000 rows', { timeout: 30_000 });
  await page.getByRole('tab', { name: 'Summary' }).click();
  const remote = await summaryCells(page);
  expect(Object.keys(remote).sort()).toEqual(Object.keys(local).sort());
  // every statistic the same as the native kernels give on the file (PostgreSQL keeps timestamps in
  // µs where the file has ms: a mean instant may show more digits of the same value)
  const same = (r: string, l: string) => (r.startsWith(l) && /^\d*$/.test(r.slice(l.length)) && /\.\d+$/.test(l) ? l : r);
  for (const name of Object.keys(local)) expect({ name, cells: remote[name]!.map((c, i) => same(c, local[name]![i]!)) }).toEqual({ name, cells: local[name] });
  await page.screenshot({ path: path.join(ARTIFACTS, 'pushdown12-summary.png') });

  const remotePlot = await densityPixels(page);
  expect(remotePlot.count).toBe(localPlot.count);
  expect(remotePlot.vp).toBe(localPlot.vp);
  expect(remotePlot.px.w).toBe(localPlot.px.w);
  let diff = 0;
  for (let i = 0; i < localPlot.px.data.length; i++) if (remotePlot.px.data[i] !== localPlot.px.data[i]) diff++;
  expect(diff).toBe(0);
  // coloured by a category: the same values in the legend (a file's dictionary may order them otherwise)
  await densityPixels(page, 'borough');
  expect((await page.locator('.plot-axes .legend text').allTextContents()).sort()).toEqual(localLegend.sort());
  await page.screenshot({ path: path.join(ARTIFACTS, 'pushdown12-plot.png') });

  // far down the table: keyset paging on the primary key; the rows as psql gives them
  await page.getByRole('tab', { name: 'Table' }).click();
  await page.getByLabel('Go to row').fill('54321');
  await page.getByLabel('Go to row').press('Enter');
  const row = page.locator('.grid-row.jumped').first();
  await expect(row).toBeVisible({ timeout: 30_000 });
  await expect(row.locator('[role=gridcell]').last()).not.toHaveText('…', { timeout: 30_000 });
  const cells = await row.locator('[role=gridcell]').allTextContents();
  const want = (await pg.psql('SELECT trip_id, borough FROM public.trips ORDER BY trip_id OFFSET 54320 LIMIT 1')).trim().split('|');
  expect(cells.map((c) => c.trim().replace(/,/g, ''))).toContain(want[0]);
  expect(cells.map((c) => c.trim())).toContain(want[1]);
  await page.screenshot({ path: path.join(ARTIFACTS, 'pushdown12-table.png') });

  // Export: the database table, filtered by the database, to a file on the host
  await page.getByPlaceholder(/Filter rows/).fill('borough = "Bronx" and fare > 20');
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.getByRole('button', { name: 'Export…' }).click();
  let dlg = page.getByRole('dialog', { name: /^Export/ });
  const out = path.join(pg.dir, 'bronx-from-pg.csv');
  await dlg.getByLabel('Format').selectOption('csv');
  await dlg.getByLabel('Output file').fill(out);
  await dlg.getByRole('button', { name: 'Export', exact: true }).click();
  const bronx = Number((await pg.psql(`SELECT count(*) FROM public.trips WHERE borough = 'Bronx' AND fare > 20`)).trim());
  await expect(dlg.getByRole('status')).toContainText(`Wrote ${bronx.toLocaleString('en-US')} rows`, { timeout: 30_000 });
  const { readFileSync } = await import('node:fs');
  expect(readFileSync(out, 'utf8').trim().split('\n').length).toBe(bronx + 1);
  await dlg.getByRole('button', { name: 'Close' }).click();

  // and into the database: the local sample written as a new table, added to the catalog from there
  await page.getByText('trips.arrow', { exact: true }).click();
  await expect(page.getByRole('heading', { name: 'trips.arrow' })).toBeVisible();
  await page.getByRole('button', { name: 'Export…' }).click();
  dlg = page.getByRole('dialog', { name: /^Export/ });
  await dlg.getByLabel('Format').selectOption('postgresql');
  await expect(dlg.getByLabel('Output table')).toHaveValue(/::public\.trips$/);
  await dlg.getByLabel('Output table').fill(`${pg.url}::public.trips_copy`);
  await expect(dlg.getByRole('table', { name: 'Fidelity report' })).toContainText('timestamptz');
  await dlg.getByLabel('Add the result to the catalog').check();
  await page.screenshot({ path: path.join(ARTIFACTS, 'pushdown12-export-db.png') });
  await dlg.getByRole('button', { name: 'Export', exact: true }).click();
  await expect(dlg.getByRole('status')).toContainText('Wrote 60,000 rows', { timeout: 60_000 });
  expect((await pg.psql('SELECT count(*), count(DISTINCT trip_id) FROM public.trips_copy')).trim()).toBe('60000|60000');
  await expect(page.getByText('public.trips_copy', { exact: true }).first()).toBeVisible();
});
