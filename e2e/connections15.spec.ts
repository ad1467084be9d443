/**
 * The Connections panel with an http(s) folder (issue #15), against Debian's nginx on loopback
 * listing a folder (autoindex): the folder added through the panel (Test shows the server and what
 * its index lists), browsed down into a subfolder and back up, a CSV opened from it whose table
 * shows the file's rows; the catalog entry carries the server's host and the http icon. Then a
 * local folder of many CSVs opened as one dataset: its Info view lists every file with its rows.
 * Screenshots of the panel (list, browse), the catalog and the file list go to e2e/artifacts/.
 */
import { test, expect } from '@playwright/test';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { nginxBinary, startNginx, type Served } from '../main/engine/remote/testing/servers';
import { ARTIFACTS, openPath, startServer, type RunningServer } from './server';

let nginx: Served;
let server: RunningServer;
const data = mkdtempSync(path.join(os.tmpdir(), 'cdx-e2e-http-'));
const ROWS = 37;
const DAYS = 14;

test.skip(!nginxBinary(), 'no nginx here (apt-get install nginx-light)');

test.beforeAll(async () => {
  // trips.csv: id, a fare with fractions, a label; daily/: one CSV per day, day d holding d rows
  const lines = ['id,fare,label', ...Array.from({ length: ROWS }, (_, i) => `${i + 1},${((i + 1) * 1.25).toFixed(2)},trip ${i + 1}`)];
  writeFileSync(path.join(data, 'trips.csv'), lines.join('\n') + '\n');
  mkdirSync(path.join(data, 'daily'));
  for (let d = 1; d <= DAYS; d++) {
    writeFileSync(path.join(data, 'daily', `day-${String(d).padStart(2, '0')}.csv`), ['day,v', ...Array.from({ length: d }, (_, i) => `${d},${i * 0.5}`)].join('\n') + '\n');
  }
  writeFileSync(path.join(data, 'README.txt'), 'not data');
  // tree/: the same days as a Hive tree, month=1 (days 1-7) and month=2 (days 8-14)
  for (let d = 1; d <= DAYS; d++) {
    const dir = path.join(data, 'tree', `month=${d <= 7 ? 1 : 2}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, `day-${String(d).padStart(2, '0')}.csv`), ['day,v', ...Array.from({ length: d }, (_, i) => `${d},${i * 0.5}`)].join('\n') + '\n');
  }
  nginx = await startNginx(data, { autoindex: true });
  server = await startServer({ CDX_NO_KEYCHAIN: '1' });
});
test.afterAll(async () => {
  await server?.stop();
  await nginx?.stop();
  rmSync(data, { recursive: true, force: true });
});

test('an http(s) folder: add and test it in the panel, browse it, open a CSV and see its rows', async ({ page }) => {
  test.setTimeout(120_000);
  const base = `${nginx.base}/`;
  await page.goto(server.url);
  await expect(page.getByRole('status', { name: 'Engine status' })).toContainText('Engine ready', { timeout: 30_000 });
  await page.getByRole('button', { name: 'Connections…' }).click();
  const dlg = page.getByRole('dialog', { name: 'Connections' });
  const form = dlg.getByRole('form', { name: 'Add a connection' });
  // an S3 bucket's fields make the connection URL as the engine writes it; its key is a password field
  await form.getByLabel('Kind', { exact: true }).selectOption('s3');
  await form.getByLabel('Endpoint', { exact: true }).fill('http://127.0.0.1:9000/');
  await form.getByLabel('Region', { exact: true }).fill('eu-west-1');
  await form.getByLabel('Bucket', { exact: true }).fill('cdx-data');
  await form.getByLabel('Prefix', { exact: true }).fill('raw/2024');
  await expect(form.getByLabel('Secret key', { exact: true })).toBeDisabled(); // no key id: the AWS chain
  await form.getByLabel('Access key id', { exact: true }).fill('AKIAEXAMPLE');
  await expect(form.getByLabel('Secret key', { exact: true })).toHaveAttribute('type', 'password');
  await form.getByLabel('Secret key', { exact: true }).fill('not-shown-anywhere');
  await expect(dlg.getByTestId('connection-url')).toHaveText('s3://AKIAEXAMPLE@cdx-data/raw/2024/?endpoint=http%3A%2F%2F127.0.0.1%3A9000&region=eu-west-1');
  await page.screenshot({ path: path.join(ARTIFACTS, 'connections15-s3-form.png') });
  expect(await page.content()).not.toContain('not-shown-anywhere');
  await form.getByLabel('Kind', { exact: true }).selectOption('http');
  // a database's fields are gone; the folder's URL is asked instead
  await expect(form.getByLabel('Host', { exact: true })).toHaveCount(0);
  await form.getByLabel('Folder URL', { exact: true }).fill(nginx.base);
  await form.getByLabel('Name', { exact: true }).fill('Loopback files');
  await expect(dlg.getByTestId('connection-url')).toHaveText(base);
  await form.getByRole('button', { name: 'Test' }).click();
  // the server as it names itself, and the entries its index lists (daily/, tree/, README.txt, trips.csv)
  await expect(dlg.getByTestId('connection-test')).toHaveText(/^nginx\/[\d.]+ · HTTP 200 · 4 entries listed · \d+ ms$/, { timeout: 20_000 });
  await form.getByRole('button', { name: 'Add' }).click();

  const item = dlg.getByRole('listitem', { name: 'Loopback files' });
  await expect(item).toContainText(base);
  await expect(item).toContainText('HTTP');
  await expect(item).toContainText('no credentials');
  await expect(item.locator('svg[data-kind="http"]')).toBeVisible();
  await page.screenshot({ path: path.join(ARTIFACTS, 'connections15-list.png') });

  // browse: the folder's entries, folders first; into daily/ and back up
  await dlg.getByRole('button', { name: 'Browse Loopback files' }).click();
  const top = dlg.getByRole('list', { name: 'Contents of Loopback files' });
  await expect(top.getByRole('listitem')).toHaveCount(4, { timeout: 20_000 });
  await expect(top.getByRole('button').first()).toContainText('daily/');
  await top.getByRole('button', { name: /daily/ }).click();
  const daily = dlg.getByRole('list', { name: 'Contents of daily' });
  await expect(daily.getByRole('listitem')).toHaveCount(DAYS, { timeout: 20_000 });
  await expect(dlg.getByTestId('browse-url')).toHaveText(`${base}daily/`);
  await expect(daily.getByRole('button', { name: /day-03\.csv/ })).toContainText('CSV');
  await page.screenshot({ path: path.join(ARTIFACTS, 'connections15-browse.png') });
  await dlg.getByRole('button', { name: 'Up one level' }).click();
  await expect(top.getByRole('listitem')).toHaveCount(4, { timeout: 20_000 });

  // open the CSV: its rows in the table, as the file holds them
  await top.getByRole('button', { name: /trips\.csv/ }).click();
  await expect(dlg).toBeHidden();
  await expect(page.getByTestId('row-count')).toContainText(`${ROWS} rows`, { timeout: 30_000 });
  await page.getByRole('tab', { name: 'Table' }).click();
  await expect(page.locator('.grid-row').first()).toBeVisible({ timeout: 20_000 });
  const grid = await page.locator('.grid').evaluate((g) => ({
    head: [...g.querySelectorAll('.grid-head .hcell .hname')].map((h) => h.textContent?.trim()),
    rows: [...g.querySelectorAll('.grid-row')].slice(0, 5).map((r) => [...r.querySelectorAll('[role=gridcell]')].map((c) => c.textContent?.trim())),
  }));
  expect(grid.head).toEqual(['id', 'fare', 'label']);
  expect(grid.rows.map((r) => [r[0], Number(r[1]), r[2]])).toEqual([1, 2, 3, 4, 5].map((i) => [String(i), i * 1.25, `trip ${i}`]));
  // the catalog entry: the http icon and the server's host
  const entry = page.getByRole('listbox', { name: 'Datasets' }).getByRole('option', { name: /trips\.csv/ });
  await expect(entry.getByTestId('remote-host')).toContainText(new URL(nginx.base).host);
  await expect(entry.getByTestId('remote-host')).toContainText(`${ROWS} rows`);
  await expect(entry.locator('svg[data-kind="http"]')).toBeVisible();
  await page.screenshot({ path: path.join(ARTIFACTS, 'connections15-catalog.png') });

  // a local Hive tree of many files as one dataset: Info lists each file with its partition value and rows
  await openPath(page, path.join(data, 'tree'));
  const total = (DAYS * (DAYS + 1)) / 2;
  await expect(page.getByTestId('row-count')).toContainText(`${total} rows`, { timeout: 30_000 });
  await page.getByRole('tab', { name: 'Info' }).click();
  const files = page.getByRole('table', { name: 'Files' });
  await expect(files.locator('tbody tr')).toHaveCount(DAYS);
  await expect(files.locator('thead th')).toHaveText(['File', 'month', 'Rows', 'Size']);
  const listed = await files.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [tr.children[0]!.textContent, tr.children[1]!.textContent, Number(tr.children[2]!.getAttribute('data-rows'))]));
  expect(listed).toEqual(Array.from({ length: DAYS }, (_, i) => [`month=${i < 7 ? 1 : 2}/day-${String(i + 1).padStart(2, '0')}.csv`, String(i < 7 ? 1 : 2), i + 1]));
  await expect(page.getByTestId('files-rows')).toHaveText(String(total));
  await expect(page.getByRole('listbox', { name: 'Datasets' }).getByRole('option', { name: /tree/ }).locator('svg[data-kind="folder"]')).toBeVisible();
  await files.scrollIntoViewIfNeeded();
  await page.screenshot({ path: path.join(ARTIFACTS, 'connections15-files.png') });
});
