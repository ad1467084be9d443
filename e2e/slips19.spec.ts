/**
 * Issue #19's exports and smaller slips, in Chromium against web mode: an export downloaded to the
 * browser (DuckDB reads the downloaded file: the filtered rows), the host folder remembered, "add
 * to the catalog" off by default, the previous export's message cleared on a change, the dialog in
 * the table's column order; Go to row refusing what is not a row number and highlighting the row it
 * went to, row numbers from 1, copy messages that fade, a column fitted by a double-click; the first
 * open of a large file saying what it does with Cancel in view at 1280x800; the file browser in the
 * last folder; the embedded Arrow schema not printed; a density coloured by a numeric column's mean,
 * tooltips only over data, zoom limits, and 200k points drawn as shades rather than a blob.
 */
import { test, expect, type Page } from '@playwright/test';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { duckQuery } from '../main/engine/sources/testing/oracle';
import { ARTIFACTS, ROOT, startServer, openPath, layerPixels, type RunningServer } from './server';

const SAMPLE = path.join(ROOT, 'resources', 'sample', 'trips.arrow');
const dir = mkdtempSync(path.join(os.tmpdir(), 'cdx-e2e-slips-'));
const BIG = path.join(dir, 'flights-big.parquet');
const CLOUD = path.join(dir, 'cloud.parquet');
const CLOUD_N = 200_000;
let server: RunningServer;

test.beforeAll(async () => {
  // fixtures written by DuckDB: a Parquet file large enough that its first open takes seconds
  // (40 row groups, so the ingest reports progress), and a 200k-point cloud with a value column
  await duckQuery(`COPY (SELECT range AS id, random() AS x, random() * 100 AS y, 'k' || (range % 1000) AS s FROM range(4000000)) TO '${BIG}' (FORMAT parquet, ROW_GROUP_SIZE 100000)`);
  await duckQuery(
    `COPY (SELECT x, y, x + 2 * y AS v FROM (SELECT sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) AS x, sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) AS y FROM range(${CLOUD_N}))) TO '${CLOUD}' (FORMAT parquet)`,
  );
  server = await startServer();
});
test.afterAll(async () => {
  await server?.stop();
});

function sample() {
  return tableFromIPC(readFileSync(SAMPLE));
}

test('export: downloaded to the browser with the filtered rows; host folder remembered; not added to the catalog unless asked; messages cleared; table column order', async ({ page }) => {
  await page.goto(server.url);
  await page.getByLabel('Filter expression').fill("borough = 'Bronx' and fare > 30");
  await page.getByLabel('Filter expression').press('Enter');
  const t = sample();
  let n = 0, sum = 0;
  for (let i = 0; i < t.numRows; i++) {
    const fare = t.getChild('fare')!.get(i) as number;
    if (t.getChild('borough')!.get(i) === 'Bronx' && fare > 30) {
      n++;
      sum += fare;
    }
  }
  await expect(page.getByTestId('filtered-rows')).toHaveText(n.toLocaleString('en-US'));

  // the table's column order: fare dragged in front of trip_id
  await page.getByRole('tab', { name: 'Table' }).click();
  const grid = page.getByRole('grid', { name: 'Rows' });
  // (held by its left edge: the name is a sort button now, and a wide header's centre may lie under its neighbour.
  // The window is widened for the drag: at 1280 px fare is the eighth column and its left edge lies a
  // few pixels either side of the grid's right edge, as the first rows fit the widths; where it lay
  // outside, the press landed on nothing and the fresh-clone check failed)
  const size = page.viewportSize()!;
  await page.setViewportSize({ width: 1800, height: size.height });
  await grid.getByRole('columnheader', { name: /^fare/ }).dragTo(grid.getByRole('columnheader', { name: /^trip_id/ }), { sourcePosition: { x: 4, y: 6 }, targetPosition: { x: 4, y: 6 } });
  await expect(grid.getByRole('columnheader').nth(1)).toContainText('fare');
  await page.setViewportSize(size);

  await page.getByRole('button', { name: 'Export…' }).click();
  const dlg = page.getByRole('dialog', { name: /Export trips\.arrow/ });
  const boxes = dlg.getByLabel('Columns to export').getByRole('checkbox');
  await expect(boxes.first()).toHaveAccessibleName('Export column fare');
  await expect(boxes.nth(1)).toHaveAccessibleName('Export column trip_id');
  // add-to-catalog is off by default
  await expect(dlg.getByLabel('Add the result to the catalog')).not.toBeChecked();

  // download to this browser: the file arrives through the browser's download, with its name
  await dlg.getByLabel('Download to this browser').check();
  await expect(dlg.getByLabel('Add the result to the catalog')).toBeDisabled();
  await expect(dlg.getByLabel('Output file')).toHaveValue('trips-export.parquet'); // a name: the browser picks the folder
  await dlg.getByLabel('Output file').fill('bronx-fares.parquet');
  for (const c of ['pickup_at', 'pickup_date', 'passengers', 'distance_km', 'duration_min', 'tip', 'payment', 'pickup_lat', 'pickup_lon', 'rating', 'shared_ride', 'note']) {
    await dlg.getByLabel(`Export column ${c}`).uncheck();
  }
  await expect(dlg.getByRole('table', { name: 'Fidelity report' })).toContainText('fare');
  await expect(dlg.getByRole('alert')).toHaveCount(0);
  await page.screenshot({ path: path.join(ARTIFACTS, 'slips19-export-download.png') });
  const [download] = await Promise.all([page.waitForEvent('download'), dlg.getByRole('button', { name: 'Download', exact: true }).click()]);
  expect(download.suggestedFilename()).toBe('bronx-fares.parquet');
  const got = path.join(dir, 'downloaded.parquet');
  await download.saveAs(got);
  await expect(dlg.getByRole('status')).toContainText(`Sent ${n.toLocaleString('en-US')} rows to this browser as bronx-fares.parquet`);
  const rows = await duckQuery(`SELECT count(*), sum(fare), min(borough), max(borough) FROM read_parquet('${got}')`);
  expect(Number(rows[0]![0])).toBe(n);
  expect(Number(rows[0]![1])).toBeCloseTo(sum, 6);
  expect([rows[0]![2], rows[0]![3]]).toEqual(['Bronx', 'Bronx']);
  const cols = (await duckQuery(`SELECT column_name FROM (DESCRIBE SELECT * FROM read_parquet('${got}'))`)).map((r) => r[0]);
  expect(cols).toEqual(['fare', 'trip_id', 'borough']); // the table's order
  // served once: the link is gone afterwards
  const again = await page.evaluate(async (u) => (await fetch(u)).status, download.url());
  expect(again).toBe(404);
  // not in the catalog
  await expect(page.getByRole('option', { name: /bronx-fares/ })).toHaveCount(0);

  // a change of options clears the previous export's message
  await dlg.getByLabel('Export column tip').check();
  await expect(dlg.getByRole('status')).toHaveCount(0);

  // on the host: the folder is remembered for the next export, across a reload
  const hostDir = path.join(dir, 'exports here');
  mkdirSync(hostDir);
  await dlg.getByLabel('Save on the host').check();
  await dlg.getByLabel('Output file').fill(path.join(hostDir, 'bronx.csv'));
  await dlg.getByLabel('Format').selectOption('csv');
  await dlg.getByRole('button', { name: 'Export', exact: true }).click();
  await expect(dlg.getByRole('status')).toContainText(`Wrote ${n.toLocaleString('en-US')} rows`);
  await expect(page.getByRole('option', { name: /bronx\.csv/ })).toHaveCount(0);
  await dlg.getByRole('button', { name: 'Close' }).click();
  await page.reload();
  await page.getByRole('button', { name: 'Export…' }).click();
  await expect(page.getByRole('dialog').getByLabel('Output file')).toHaveValue(path.join(hostDir, 'trips-export.parquet'));
  await expect(page.getByRole('dialog').getByLabel('Add the result to the catalog')).not.toBeChecked();
});

test('table: row numbers from 1; Go to row refuses what is not a row number and highlights the row; copy message fades; double-click fits a column', async ({ page }) => {
  await page.goto(server.url);
  await page.getByRole('tab', { name: 'Table' }).click();
  const grid = page.getByRole('grid', { name: 'Rows' });
  const firstRow = grid.getByRole('row').nth(1);
  await expect(firstRow.getByRole('rowheader')).toHaveText('1');
  const t = sample();
  const goto = page.getByLabel('Go to row');
  for (const [bad, msg] of [
    ['abc', '"abc" is not a row number: a whole number from 1 to 60,000.'],
    ['1.5', '"1.5" is not a row number: a whole number from 1 to 60,000.'],
    ['0', 'Rows are numbered from 1: a whole number from 1 to 60,000.'],
    ['60001', 'There are only 60,000 rows: a whole number from 1 to 60,000.'],
  ]) {
    await goto.fill(bad!);
    await goto.press('Enter');
    await expect(page.getByTestId('goto-error')).toHaveText(msg!);
    await expect(goto).toHaveAttribute('aria-invalid', 'true');
  }
  await expect(firstRow.getByRole('rowheader')).toHaveText('1'); // did not move
  await goto.fill('12,345');
  await goto.press('Enter');
  await expect(page.getByTestId('goto-error')).toHaveCount(0);
  const jumped = grid.locator('.grid-row[data-jumped="true"]');
  await expect(jumped).toHaveCount(1);
  await expect(jumped.getByRole('rowheader')).toHaveText('12345');
  await expect(jumped).toBeInViewport();
  const head = await grid.evaluate((g) => [...g.querySelectorAll('[role=columnheader]')].map((h) => h.querySelector('.hname')?.textContent ?? ''));
  const fi = head.indexOf('fare') - 1;
  await expect(jumped.getByRole('gridcell').nth(fi)).toHaveText(String(t.getChild('fare')!.get(12344)));
  await expect(page.getByTestId('table-position')).toContainText('12,345–');
  await page.screenshot({ path: path.join(ARTIFACTS, 'slips19-goto.png') });
  // the last row is row 60,000
  await goto.fill('60000');
  await goto.press('Enter');
  await expect(grid.locator('.grid-row[data-jumped="true"]').getByRole('rowheader')).toHaveText('60000');

  // copy: four rows, a message that fades and goes
  await goto.fill('1');
  await goto.press('Enter');
  await grid.getByRole('button', { name: 'Select row 1', exact: true }).click();
  await grid.getByRole('button', { name: 'Select row 4', exact: true }).click({ modifiers: ['Shift'] });
  await grid.focus();
  await page.keyboard.press('Control+c');
  const msg = page.getByRole('status').filter({ hasText: 'Copied 4 rows as TSV.' });
  await expect(msg).toBeVisible();
  await expect(page.getByLabel('Copied rows (TSV)')).toHaveValue(new RegExp(`^trip_id\\t`));
  await page.waitForTimeout(3400);
  const opacity = Number(await msg.evaluate((e) => getComputedStyle(e).opacity));
  expect(opacity).toBeLessThan(0.9); // fading (linear from 2.8 s to 4 s)
  expect(opacity).toBeGreaterThan(0);
  await expect(msg).toHaveCount(0, { timeout: 3000 });

  // a column squeezed by dragging its edge is fitted again by a double-click there
  const noteCol = grid.getByRole('columnheader', { name: /^pickup_at/ });
  const handle = grid.getByRole('separator', { name: 'Resize pickup_at' });
  const hb = (await handle.boundingBox())!;
  await page.mouse.move(hb.x + hb.width / 2, hb.y + hb.height / 2);
  await page.mouse.down();
  await page.mouse.move(hb.x - 120, hb.y + hb.height / 2, { steps: 4 });
  await page.mouse.up();
  const squeezed = (await noteCol.boundingBox())!.width;
  const cellOver = () => grid.evaluate((g) => {
    const head = [...g.querySelectorAll('[role=columnheader]')].map((h) => h.querySelector('.hname')?.textContent ?? '');
    const c = g.querySelectorAll('.grid-row')[0]!.querySelectorAll('[role=gridcell]')[head.indexOf('pickup_at') - 1] as HTMLElement;
    return c.scrollWidth - c.clientWidth;
  });
  expect(await cellOver()).toBeGreaterThan(0); // cut
  await handle.dblclick();
  await expect.poll(async () => (await noteCol.boundingBox())!.width).toBeGreaterThan(squeezed + 60);
  expect(await cellOver()).toBeLessThanOrEqual(0);
});

test('opening a large file says what it is doing, with Cancel in view at 1280x800; the file browser opens in the last folder; the Arrow schema blob is not printed', async ({ page }) => {
  await page.goto(server.url);
  await openPath(page, BIG);
  const status = page.getByTestId('open-status');
  await expect(status.getByRole('status')).toHaveText(/^Reading flights-big\.parquet — \d{1,3}%$/, { timeout: 20_000 });
  const cancel = status.getByRole('button', { name: 'Cancel' });
  await expect(cancel).toBeInViewport({ ratio: 1 });
  const side = (await page.getByRole('complementary', { name: 'Catalog' }).boundingBox())!;
  const cb = (await cancel.boundingBox())!;
  expect(cb.x + cb.width).toBeLessThanOrEqual(side.x + side.width);
  await page.screenshot({ path: path.join(ARTIFACTS, 'slips19-open-progress.png') });
  await cancel.click();
  await expect(page.getByRole('alert').filter({ hasText: 'Cancelled.' })).toBeVisible();

  // the file browser: a folder visited is where it opens next time (also after a reload)
  await page.getByRole('button', { name: 'Browse files…' }).click();
  const fb = page.getByRole('dialog', { name: 'Open a file' });
  await fb.getByRole('textbox', { name: 'Folder' }).fill(dir);
  await fb.getByRole('textbox', { name: 'Folder' }).press('Enter');
  await expect(fb.getByRole('button', { name: /cloud\.parquet/ })).toBeVisible();
  await fb.getByRole('button', { name: 'Close' }).click();
  await page.reload();
  await page.getByRole('button', { name: 'Browse files…' }).click();
  await expect(page.getByRole('dialog', { name: 'Open a file' }).getByRole('textbox', { name: 'Folder' })).toHaveValue(dir);
  await expect(page.getByRole('dialog', { name: 'Open a file' }).getByRole('button', { name: /cloud\.parquet/ })).toBeVisible();
  await page.getByRole('dialog', { name: 'Open a file' }).getByRole('button', { name: 'Close' }).click();

  // a Parquet file written by CDX embeds its Arrow schema (base64): named, not printed
  await page.getByRole('option', { name: /trips\.arrow/ }).click();
  const out = path.join(dir, 'with-schema.parquet');
  await page.getByRole('button', { name: 'Export…' }).click();
  const dlg = page.getByRole('dialog', { name: /Export trips\.arrow/ });
  await dlg.getByLabel('Output file').fill(out);
  await dlg.getByRole('button', { name: 'Export', exact: true }).click();
  await expect(dlg.getByRole('status')).toContainText('Wrote 60,000 rows');
  await dlg.getByRole('button', { name: 'Close' }).click();
  await openPath(page, out);
  await expect(page.getByRole('heading', { name: 'with-schema.parquet' })).toBeVisible();
  await page.getByRole('tab', { name: 'Info' }).click();
  const meta = page.getByTestId('meta-ARROW:schema');
  await expect(meta).toHaveText(/^\(embedded Arrow schema, [\d,]+ bytes; the schema above\)$/);
  await page.screenshot({ path: path.join(ARTIFACTS, 'slips19-info.png') });
});

async function settled(page: Page) {
  await page.waitForTimeout(50);
  await expect(page.getByTestId('plot')).toHaveAttribute('data-busy', 'false', { timeout: 30_000 });
  await expect(page.getByTestId('plot')).not.toHaveAttribute('data-count', '');
}

async function openCloudPlot(page: Page, budget: number) {
  await page.goto(server.url);
  await openPath(page, CLOUD);
  await expect(page.getByTestId('row-count')).toContainText(`${CLOUD_N.toLocaleString('en-US')} rows`);
  await page.getByRole('tab', { name: 'Plot' }).click();
  await page.getByLabel('x column').selectOption('x');
  await page.getByLabel('y column').selectOption('y');
  await page.getByLabel('point budget').fill(String(budget));
  await page.getByLabel('point budget').press('Tab');
  await settled(page);
}

test('plot: a density coloured by a numeric column shows its mean per cell; tooltips only over data; zoom stops at a limit', async ({ page }) => {
  await openCloudPlot(page, 0);
  await page.getByLabel('colour column').selectOption('v');
  await settled(page);
  await expect(page.getByTestId('plot')).toHaveAttribute('data-mode', 'density');
  await expect(page.getByTestId('plot-status')).toContainText('coloured by the mean of "v" per cell');
  await expect(page.locator('.plot-axes .legend')).toContainText('mean of v');
  const px = await layerPixels(page);
  // not blank, and not one colour: v = x + 2y varies across the cloud
  const colours = new Set<number>();
  let painted = 0;
  for (let o = 0; o < px.data.length; o += 4)
    if (px.data[o + 3]! > 0) {
      painted++;
      colours.add((px.data[o]! << 16) | (px.data[o + 1]! << 8) | px.data[o + 2]!);
    }
  expect(painted).toBeGreaterThan(px.w * px.h * 0.05);
  expect(colours.size).toBeGreaterThan(50);
  await page.screenshot({ path: path.join(ARTIFACTS, 'slips19-density-mean.png') });

  // tooltip over the cloud's centre, with the mean; none over an empty corner
  const hit = page.getByTestId('plot-hit');
  const hb = (await hit.boundingBox())!;
  await page.mouse.move(hb.x + hb.width / 2, hb.y + hb.height / 2);
  await expect(page.getByTestId('plot-tooltip')).toContainText('mean of v:');
  await page.mouse.move(hb.x + 3, hb.y + 3, { steps: 5 });
  await expect(page.getByTestId('plot-tooltip')).toHaveCount(0);

  // zoom: a thousand wheel steps in stop at a million times the home view, and say so
  const home = JSON.parse((await page.getByTestId('plot').getAttribute('data-vp'))!);
  await page.mouse.move(hb.x + hb.width / 2, hb.y + hb.height / 2);
  for (let i = 0; i < 40; i++) await page.mouse.wheel(0, -3000);
  await expect(page.getByTestId('plot-zoom-note')).toHaveText('zoomed in as far as it goes');
  const vp = JSON.parse((await page.getByTestId('plot').getAttribute('data-vp'))!);
  expect((home.x1 - home.x0) / (vp.x1 - vp.x0)).toBeCloseTo(1e6, -3);
  await settled(page);
});

test('plot: 200k points are drawn smaller and translucent, so the cloud shows its density instead of an opaque blob', async ({ page }) => {
  await openCloudPlot(page, 1_000_000);
  await expect(page.getByTestId('plot')).toHaveAttribute('data-mode', 'points');
  await expect(page.getByTestId('plot')).toHaveAttribute('data-count', String(CLOUD_N));
  await expect(page.getByTestId('plot-point-style')).toContainText('many overlap');
  const stats = async () => {
    const px = await layerPixels(page);
    // alpha of painted pixels in the middle fifth of the plot (the busiest part of a normal cloud)
    const alphas: number[] = [];
    for (let y = Math.floor(px.h * 0.4); y < px.h * 0.6; y++)
      for (let x = Math.floor(px.w * 0.4); x < px.w * 0.6; x++) alphas.push(px.data[(y * px.w + x) * 4 + 3]!);
    const opaque = alphas.filter((a) => a >= 250).length / alphas.length;
    return { opaque, levels: new Set(alphas).size };
  };
  const adapted = await stats();
  await page.screenshot({ path: path.join(ARTIFACTS, 'slips19-points-200k.png') });
  expect(adapted.opaque).toBeLessThan(0.2);
  expect(adapted.levels).toBeGreaterThan(10);
  // the same points at the user's size and opacity: the blob the issue describes
  await page.getByLabel('adapt point size and opacity').uncheck();
  await settled(page);
  const blob = await stats();
  await page.screenshot({ path: path.join(ARTIFACTS, 'slips19-points-200k-blob.png') });
  expect(blob.opaque).toBeGreaterThan(0.5);
});
