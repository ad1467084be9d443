/**
 * Issue 17, the Table view's sort on a dataset large enough that ordering it takes a while (an
 * Arrow file of 24 million rows of two random floats, mapped in place): the first screen of a new
 * sort comes at once (the engine's top-N), a window far down needs the whole order, and while the
 * engine computes it the view says "sorting by …" with its progress and a Cancel button; Cancel
 * stops it and takes the sort off (the rows in the file's order again, said so). Screenshot of the
 * sort in progress in e2e/artifacts/.
 */
import { test, expect } from '@playwright/test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Table, tableToIPC, vectorFromArray } from 'apache-arrow';
import { ARTIFACTS, openPath, startServer, type RunningServer } from './server';

const dir = mkdtempSync(path.join(os.tmpdir(), 'cdx-e2e-tablesort-large-'));
const FILE = path.join(dir, 'big.arrow');
const N = 24_000_000;
let server: RunningServer;

test.beforeAll(async () => {
  let s = 13579;
  const rnd = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
  const xs = new Float64Array(N), ys = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    xs[i] = Math.floor(rnd() * 1000); // many ties: the second key matters
    ys[i] = rnd();
  }
  writeFileSync(FILE, tableToIPC(new Table({ x: vectorFromArray(xs), y: vectorFromArray(ys) }), 'file'));
  server = await startServer();
});
test.afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('a long sort shows its progress and Cancel takes it off', async ({ page }) => {
  test.setTimeout(180_000);
  await page.goto(server.url);
  await openPath(page, FILE);
  await expect(page.getByTestId('row-count')).toContainText('24,000,000 rows', { timeout: 60_000 });
  await page.getByRole('tab', { name: 'Table' }).click();
  await expect(page.getByTestId('table-position')).toContainText('of 24,000,000 rows');

  // the first screen of the sort at once (top-N), then far down: the whole order is computed
  await page.getByRole('button', { name: /^x,/ }).click();
  await page.getByRole('button', { name: /^y,/ }).click({ modifiers: ['Shift'] });
  await expect(page.getByTestId('table-sort')).toContainText('x ↑, y ↑', { timeout: 60_000 });
  await page.getByLabel('Go to row').fill('12,000,000');
  await page.getByRole('button', { name: 'Go', exact: true }).click();
  const sorting = page.getByTestId('table-sorting');
  await expect(sorting).toBeVisible({ timeout: 20_000 });
  await expect(sorting).toContainText('sorting by x ↑, y ↑…');
  await page.screenshot({ path: path.join(ARTIFACTS, 'tablesort17-sorting.png') });

  await page.getByRole('button', { name: 'Cancel', exact: true }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Sort by x ↑, y ↑ cancelled' })).toBeVisible();
  await expect(page.locator('.grid-head [role=columnheader][aria-sort="ascending"]')).toHaveCount(0);
  // the rows in the file's order: the row numbers count on from the first shown
  await expect.poll(async () => {
    const nums = await page.locator('.grid-body [role=rowheader]').allInnerTexts();
    return nums.length > 3 && nums.slice(0, 3).every((t, i) => Number(t) === Number(nums[0]) + i) ? 'in file order' : nums.slice(0, 3).join(',');
  }, { timeout: 30_000 }).toBe('in file order');
  await page.screenshot({ path: path.join(ARTIFACTS, 'tablesort17-sort-cancelled.png') });
});
