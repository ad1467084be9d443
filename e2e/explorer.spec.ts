/**
 * The data summary explorer as an analyst uses it, in Chromium against web mode: filters with
 * counts checked independently, a 10M-row table scrolled to its last row, container files opened
 * through their inner datasets, a long summary cancelled, and the engine killed mid-summary.
 */
import { test, expect } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { ARTIFACTS, ROOT, startServer, openPath, type RunningServer } from './server';

const SAMPLE = path.join(ROOT, 'resources', 'sample', 'trips.arrow');
const dir = mkdtempSync(path.join(os.tmpdir(), 'cdx-e2e-data-'));
let server: RunningServer;

const BIG = path.join(dir, 'ten_million.npy');
const ROWS = 10_000_000;

test.beforeAll(async () => {
  // fixtures made by independent writers (numpy, Python's sqlite3)
  execFileSync('python3', ['-c', `
import numpy as np, sqlite3
np.save(${JSON.stringify(BIG)}, (np.arange(${ROWS}, dtype=np.int64) * 3 + 7))
np.savez(${JSON.stringify(path.join(dir, 'arrays.npz'))}, x=np.linspace(0, 1, 101), y=np.arange(50, dtype=np.int32))
con = sqlite3.connect(${JSON.stringify(path.join(dir, 'shop.sqlite'))})
con.execute('create table "odd ""name"" ; table" (id integer primary key, item text, price real)')
con.executemany('insert into "odd ""name"" ; table" (item, price) values (?, ?)', [('café', 3.5), ('tea', 2.0), (None, 9.25)])
con.execute('create table customers (id integer, name text)')
con.execute("insert into customers values (1, 'Ada')")
con.commit()
`]);
  // HDF5 written by h5wasm (h5py is not installed here): a group with a 1-D dataset, a 2-D dataset
  const h5wasm = (await import('h5wasm/node')).default;
  await h5wasm.ready;
  const f = new h5wasm.File(path.join(dir, 'run.h5'), 'w');
  const g = f.create_group('sensors');
  g.create_dataset({ name: 'temp', data: new Float64Array([20.5, 21, -3.25, 19.75]) });
  f.create_dataset({ name: 'matrix', data: new Float32Array(12).map((_, i) => i * 1.5), shape: [4, 3], dtype: '<f' });
  f.close();
  server = await startServer();
});
test.afterAll(async () => {
  await server?.stop();
});

function sampleCount(pred: (fare: number, payment: string | null) => boolean): number {
  const t = tableFromIPC(readFileSync(SAMPLE));
  const fare = t.getChild('fare')!, pay = t.getChild('payment')!;
  let n = 0;
  for (let i = 0; i < t.numRows; i++) if (pred(fare.get(i) as number, pay.get(i) as string | null)) n++;
  return n;
}

test('filters: typed, shown as chips, applied to the summary with the matching row count; removing restores', async ({ page }) => {
  await page.goto(server.url);
  await expect(page.getByTestId('row-count')).toContainText('60,000 rows');
  // a typo points at the position
  await page.getByLabel('Filter expression').fill('fare >> 20');
  await page.getByLabel('Filter expression').press('Enter');
  await expect(page.getByRole('alert').filter({ hasText: 'position' })).toContainText('^');

  await page.getByLabel('Filter expression').fill("fare > 20 and payment in ('cash', 'app')");
  await page.getByLabel('Filter expression').press('Enter');
  const n1 = sampleCount((f, p) => f > 20 && (p === 'cash' || p === 'app'));
  await expect(page.getByTestId('filtered-rows')).toHaveText(n1.toLocaleString('en-US'));
  await expect(page.getByTestId('min-fare')).toHaveAttribute('data-value', /^2\d/);

  // the table shows the filtered view: only matching rows, with their original row numbers
  await page.getByRole('tab', { name: 'Table' }).click();
  await expect(page.getByTestId('table-position')).toContainText(`of ${n1.toLocaleString('en-US')} matching rows`);
  const grid = page.getByRole('grid', { name: 'Rows' });
  await expect(grid.getByRole('row').nth(1).getByRole('gridcell').first()).not.toHaveText('…');
  const cells = await grid.evaluate((g) => {
    const head = [...g.querySelectorAll('[role=columnheader]')].map((h) => h.querySelector('.hname')?.textContent ?? '');
    const fi = head.indexOf('fare') - 1, pi = head.indexOf('payment') - 1;
    return [...g.querySelectorAll('.grid-row')].map((r) => {
      const c = r.querySelectorAll('[role=gridcell]');
      return [Number(r.querySelector('[role=rowheader]')?.textContent), Number(c[fi]?.textContent), c[pi]?.textContent?.trim()] as const;
    });
  });
  expect(cells.length).toBeGreaterThan(10);
  const t = tableFromIPC(readFileSync(SAMPLE));
  for (const [id, fare, pay] of cells) {
    expect(fare).toBeGreaterThan(20);
    expect(['cash', 'app']).toContain(pay);
    expect(t.getChild('fare')!.get(id - 1)).toBe(fare); // row numbers count from 1
  }
  await page.screenshot({ path: path.join(ARTIFACTS, 'table-filtered.png') });
  await page.getByRole('tab', { name: 'Summary' }).click();

  await page.getByLabel('Filter expression').fill('payment is null');
  await page.getByLabel('Filter expression').press('Enter');
  await expect(page.getByTestId('filtered-rows')).toHaveText(String(sampleCount((f, p) => f > 20 && (p === 'cash' || p === 'app') && p === null)));
  await page.screenshot({ path: path.join(ARTIFACTS, 'filters.png') });

  await page.getByRole('button', { name: "Remove filter payment is null" }).click();
  await expect(page.getByTestId('filtered-rows')).toHaveText(n1.toLocaleString('en-US'));
  await page.getByRole('button', { name: /Remove filter fare > 20/ }).click();
  await expect(page.getByTestId('row-count')).toContainText('60,000 rows');
  await expect(page.getByTestId('min-fare')).toHaveAttribute('data-value', '4.22');
});

test("filters from a column's detail: only this value, exclude it, and a range dragged on its histogram", async ({ page }) => {
  await page.goto(server.url);
  await page.getByRole('button', { name: 'payment', exact: true }).click();
  const detail = page.getByRole('complementary', { name: 'Column details: payment' });
  await detail.getByRole('button', { name: 'Only cash' }).click();
  await expect(page.getByRole('list', { name: 'Active filters' })).toContainText('payment = "cash"');
  await expect(page.getByTestId('filtered-rows')).toHaveText(sampleCount((_f, p) => p === 'cash').toLocaleString('en-US'));
  await page.getByRole('button', { name: 'Remove filter payment = "cash"' }).click();
  await detail.getByRole('button', { name: 'Exclude card' }).click();
  // != is unknown for nulls: they do not pass, as in SQL
  await expect(page.getByTestId('filtered-rows')).toHaveText(sampleCount((_f, p) => p !== null && p !== 'card').toLocaleString('en-US'));
  await page.getByRole('button', { name: 'Remove filter payment != "card"' }).click();
  await expect(page.getByTestId('row-count')).toContainText('60,000 rows');

  // drag across the fare histogram's first bins: a range filter whose count matches the rows in it
  await page.getByRole('button', { name: 'fare', exact: true }).click();
  const hist = page.getByRole('complementary', { name: 'Column details: fare' }).getByRole('img', { name: /Histogram of fare/ });
  const box = (await hist.boundingBox())!;
  await page.mouse.move(box.x + 2, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.1, box.y + box.height / 2, { steps: 4 });
  await page.mouse.up();
  const chip = page.getByRole('list', { name: 'Active filters' });
  await expect(chip).toContainText('fare in [');
  const m = (await chip.innerText()).match(/fare in \[([-\d.e+]+), ([-\d.e+]+)\)/)!;
  const lo = Number(m[1]), hi = Number(m[2]);
  await expect(page.getByTestId('filtered-rows')).toHaveText(sampleCount((f) => f >= lo && f < hi).toLocaleString('en-US'));
  await page.screenshot({ path: path.join(ARTIFACTS, 'column-detail-filters.png') });
});

test('at 1280x800 the summary shows every column, timestamps in full and readable top values; the table shows full timestamps and scrolls sideways', async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.goto(server.url);
  await expect(page.getByTestId('max-fare')).toHaveAttribute('data-value', /\d/);
  await expect(page.locator('table.summary tr.pending')).toHaveCount(0);
  const vw = 1280;

  // every column of the summary lies within the window, and the table does not overflow its pane
  const summary = page.getByRole('table', { name: 'Column summary' });
  for (const name of ['Column', 'Nulls', 'Distinct', 'Min', 'Max', 'Mean', 'Std', 'Median', 'Distribution']) {
    const box = (await summary.getByRole('columnheader', { name: new RegExp(`^${name}`) }).boundingBox())!;
    expect(box.x, name).toBeGreaterThanOrEqual(0);
    expect(box.x + box.width, name).toBeLessThanOrEqual(vw);
  }
  expect(await page.locator('.summary-main').evaluate((e) => e.scrollWidth - e.clientWidth)).toBeLessThanOrEqual(0);

  // timestamps in full (date and time, the fraction kept), never cut
  const t = tableFromIPC(readFileSync(SAMPLE));
  let lo = Infinity, hi = -Infinity;
  for (const v of t.getChild('pickup_at')!) {
    const ms = Number(v);
    if (ms < lo) lo = ms;
    if (ms > hi) hi = ms;
  }
  const shown = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace(/\.?0*Z$/, '');
  for (const [id, ms] of [['min-pickup_at', lo], ['max-pickup_at', hi]] as const) {
    const cell = page.getByTestId(id);
    await expect(cell).toHaveText(shown(ms));
    const fits = await cell.evaluate((e) => ({ over: e.scrollWidth - e.clientWidth, right: e.getBoundingClientRect().right }));
    expect(fits.over, id).toBeLessThanOrEqual(0);
    expect(fits.right, id).toBeLessThanOrEqual(vw);
  }
  for (const id of ['mean-pickup_at', 'median-pickup_at']) {
    const cell = page.getByTestId(id);
    await expect(cell).toHaveText(/^\d{4}-\d\d-\d\d\s+\d\d:\d\d:\d\d(\.\d+)?$/);
    expect(await cell.evaluate((e) => e.scrollWidth - e.clientWidth), id).toBeLessThanOrEqual(0);
  }

  // a string column's top values: whole words at a readable size, inside the window
  const labels = page.locator('tr[data-column="borough"] .tb-label');
  await expect(labels.first()).toHaveText('Manhattan');
  for (let i = 0; i < (await labels.count()); i++) {
    const l = await labels.nth(i).evaluate((e) => ({ over: e.scrollWidth - e.clientWidth, size: parseFloat(getComputedStyle(e).fontSize), height: e.getBoundingClientRect().height, right: e.getBoundingClientRect().right }));
    expect(l.over).toBeLessThanOrEqual(0);
    expect(l.size).toBeGreaterThanOrEqual(11);
    expect(l.height).toBeGreaterThanOrEqual(13);
    expect(l.right).toBeLessThanOrEqual(vw);
  }
  await page.screenshot({ path: path.join(ARTIFACTS, 'summary-1280.png') });

  // the table: timestamps in full, and the columns beyond the right edge are reached sideways
  await page.getByRole('tab', { name: 'Table' }).click();
  const grid = page.getByRole('grid', { name: 'Rows' });
  const first = grid.getByRole('row').nth(1);
  await expect(first.getByRole('gridcell').first()).not.toHaveText('…');
  const at = await grid.evaluate((g) => {
    const head = [...g.querySelectorAll('[role=columnheader]')].map((h) => h.querySelector('.hname')?.textContent ?? '');
    const cell = g.querySelectorAll('.grid-row')[0]!.querySelectorAll('[role=gridcell]')[head.indexOf('pickup_at') - 1] as HTMLElement;
    return { text: cell.textContent!.trim(), over: cell.scrollWidth - cell.clientWidth };
  });
  expect(at.text).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$/);
  expect(at.text).toBe(new Date(Number(t.getChild('pickup_at')!.get(0))).toISOString().replace('T', ' ').replace('Z', ''));
  expect(at.over).toBeLessThanOrEqual(0);
  await page.screenshot({ path: path.join(ARTIFACTS, 'table-1280.png') });
  const gridBox = (await grid.boundingBox())!;
  const last = grid.getByRole('columnheader').last();
  expect((await last.boundingBox())!.x).toBeGreaterThan(gridBox.x + gridBox.width);
  await grid.hover();
  await page.mouse.wheel(5000, 0);
  await expect.poll(async () => {
    const b = (await last.boundingBox())!;
    return b.x + b.width <= gridBox.x + gridBox.width + 1 && b.x >= gridBox.x;
  }).toBe(true);
  // the row numbers stay in place
  await expect(first.getByRole('rowheader')).toBeInViewport();
  await page.screenshot({ path: path.join(ARTIFACTS, 'table-1280-scrolled.png') });
});

test('the table of a 10M-row file scrolls to its last row, with the right values', async ({ page }) => {
  await page.goto(server.url);
  await openPath(page, BIG);
  await expect(page.getByTestId('row-count')).toContainText('10,000,000 rows');
  await page.getByRole('tab', { name: 'Table' }).click();
  const grid = page.getByRole('grid', { name: 'Rows' });
  await grid.focus();
  await page.keyboard.press('Control+End');
  const last = grid.getByRole('row').filter({ has: page.getByRole('rowheader', { name: String(ROWS) }) }); // numbered from 1
  await expect(last.getByRole('gridcell')).toHaveText(String((ROWS - 1) * 3 + 7));
  await page.getByLabel('Go to row').fill('5,000,000');
  await page.getByLabel('Go to row').press('Enter');
  const mid = grid.getByRole('row').filter({ has: page.getByRole('rowheader', { name: '5000000' }) });
  await expect(mid.getByRole('gridcell')).toHaveText(String(4_999_999 * 3 + 7)); // row 5,000,000 is the 5,000,000th (index 4,999,999)
  await page.screenshot({ path: path.join(ARTIFACTS, 'table-10M.png') });
});

test('container files expand into their datasets: SQLite tables with awkward names, HDF5 datasets, NPZ arrays', async ({ page }) => {
  await page.goto(server.url);
  await openPath(page, path.join(dir, 'shop.sqlite'));
  const inner = page.getByLabel(/Datasets inside .*shop\.sqlite/);
  await inner.getByRole('button', { name: /odd "name" ; table/ }).click();
  await expect(page.getByTestId('row-count')).toContainText('3 rows');
  await expect(page.getByTestId('max-price')).toHaveAttribute('data-value', '9.25');
  await expect(page.getByTestId('nulls-item')).toContainText('33.3%');

  await openPath(page, path.join(dir, 'run.h5'));
  await page.getByLabel(/Datasets inside .*run\.h5/).getByRole('button', { name: /sensors\/temp/ }).click();
  await expect(page.getByTestId('row-count')).toContainText('4 rows');
  await expect(page.getByTestId('min-temp')).toHaveAttribute('data-value', '-3.25');
  await expect(page.getByRole('option', { name: /run\.h5::\/sensors\/temp/ })).toBeVisible();

  await openPath(page, path.join(dir, 'arrays.npz'));
  await page.getByLabel(/Datasets inside .*arrays\.npz/).getByRole('button', { name: /^x/ }).click();
  await expect(page.getByTestId('row-count')).toContainText('101 rows');
  await expect(page.getByRole('option', { name: /arrays\.npz::x/ })).toBeVisible();
  await page.screenshot({ path: path.join(ARTIFACTS, 'containers.png') });
});

test('a long summary can be cancelled, and the engine killed mid-summary recovers', async ({ page }) => {
  await page.goto(server.url);
  await openPath(page, BIG);
  await expect(page.getByTestId('row-count')).toContainText('10,000,000 rows');
  // a filter that makes the engine scan: start, then cancel at once
  await page.getByLabel('Filter expression').fill('c0 > 100 and c0 < 29000000');
  await page.getByLabel('Filter expression').press('Enter');
  const cancel = page.getByRole('button', { name: 'Cancel', exact: true });
  if (await cancel.isVisible().catch(() => false)) {
    await cancel.click();
    await expect(page.getByText('Summary cancelled.')).toBeVisible();
    await page.getByRole('button', { name: 'Retry' }).click();
  }
  await expect(page.getByTestId('filtered-rows')).toHaveText((Math.floor((29000000 - 7 - 1) / 3) - Math.floor((100 - 7) / 3)).toLocaleString('en-US'));

  // kill the engine while a summary runs: the page stays, the summary completes on the new engine
  await page.getByRole('button', { name: /Remove filter/ }).click();
  const status = page.getByRole('status', { name: 'Engine status' });
  const pid = Number((await status.getByText(/^pid \d+$/).innerText()).replace('pid ', ''));
  process.kill(pid, 'SIGKILL');
  await expect(status).toContainText('Engine ready');
  await expect(page.getByTestId('max-c0')).toHaveAttribute('data-value', String((ROWS - 1) * 3 + 7), { timeout: 30_000 });
});

test('web mode: the host file browser opens a file, and a file dropped from the browser\'s machine is uploaded and opened', async ({ page }) => {
  await page.goto(server.url);
  await page.keyboard.press('Control+o');
  const dlg = page.getByRole('dialog', { name: 'Open a file' });
  await dlg.getByLabel('Folder', { exact: true }).fill(dir);
  await dlg.getByLabel('Folder', { exact: true }).press('Enter');
  await expect(dlg.getByRole('button', { name: /ten_million\.npy/ })).toBeVisible();
  await page.screenshot({ path: path.join(ARTIFACTS, 'file-browser.png') });
  await dlg.getByRole('button', { name: /shop\.sqlite/ }).click();
  await expect(page.getByLabel(/Datasets inside .*shop\.sqlite/)).toBeVisible();

  // drop a CSV file that exists only in the browser
  const dt = await page.evaluateHandle(() => {
    const d = new DataTransfer();
    d.items.add(new File(['city,temp\nOslo,-3.5\nLima,19\nPune,31.25\n'], 'weather.csv', { type: 'text/csv' }));
    return d;
  });
  await page.dispatchEvent('body', 'dragover', { dataTransfer: dt });
  await page.dispatchEvent('body', 'drop', { dataTransfer: dt });
  await expect(page.getByRole('option', { name: /weather\.csv/ })).toBeVisible();
  await expect(page.getByTestId('row-count')).toContainText('3 rows');
  await expect(page.getByTestId('max-temp')).toHaveAttribute('data-value', '31.25');
});
