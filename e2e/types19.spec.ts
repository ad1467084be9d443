/**
 * Changing a column's type from its menu (issue #19): a CSV column of US dates with a few words
 * among them stays text when read; "Change type…" → timestamp reads it as time (the summary shows
 * its type, the earliest and latest moments, as Date.UTC computes them), says how many values did
 * not convert with their rows, lists the warning in the Info view, the table shows times, and the
 * choice holds when the page is loaded again; "As found" goes back to text.
 */
import { test, expect } from '@playwright/test';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ARTIFACTS, startServer, type RunningServer } from './server';

const dir = mkdtempSync(path.join(os.tmpdir(), 'cdx-e2e-types-'));
const CSV = path.join(dir, 'visits.csv');
let server: RunningServer;
const N = 5000;
let minUs = Infinity, maxUs = -Infinity;
const bad: number[] = [];

test.beforeAll(async () => {
  // month/day/year with 12-hour times; every 1000th value is a word (rows 1000, 2000, … count from 1)
  const lines = ['id,visited,score'];
  for (let i = 1; i <= N; i++) {
    if (i % 1000 === 0) {
      lines.push(`${i},unknown,${i % 7}`);
      bad.push(i);
      continue;
    }
    const mo = 1 + (i % 12), d = 1 + ((i * 7) % 28), y = 2020 + (i % 5), h = (i * 5) % 24, mi = (i * 13) % 60;
    const h12 = h % 12 === 0 ? 12 : h % 12;
    lines.push(`${i},${mo}/${d}/${y} ${h12}:${String(mi).padStart(2, '0')} ${h < 12 ? 'AM' : 'PM'},${i % 7}`);
    const t = Date.UTC(y, mo - 1, d, h, mi);
    minUs = Math.min(minUs, t);
    maxUs = Math.max(maxUs, t);
  }
  writeFileSync(CSV, lines.join('\n') + '\n');
  server = await startServer();
});
test.afterAll(async () => {
  await server?.stop();
});

const iso = (ms: number) => new Date(ms).toISOString().slice(0, 16); // 'YYYY-MM-DDTHH:MM'

test('a text column of US dates becomes a timestamp from its menu, with the values that did not convert counted', async ({ page }) => {
  await page.goto(server.url);
  await page.getByLabel('Path to open').fill(CSV);
  await page.getByLabel('Path to open').press('Enter');
  await expect(page.getByTestId('row-count')).toContainText('5,000 rows');
  // the words among the dates keep the column text when the file is read
  await expect(page.getByTestId('datashape')).toContainText('visited: string');

  await page.getByRole('button', { name: 'visited', exact: true }).click();
  const detail = page.getByRole('complementary', { name: 'Column details: visited' });
  await detail.getByRole('button', { name: 'Change type…' }).click();
  await detail.getByLabel('New type').selectOption('timestamp');
  await page.screenshot({ path: path.join(ARTIFACTS, 'types19-menu.png') });
  await detail.getByRole('button', { name: 'Apply' }).click();

  const msg = detail.getByTestId('type-change-message');
  await expect(msg).toContainText('5 values did not convert');
  await expect(msg).toContainText(`row ${bad[0]!.toLocaleString('en-US')}: "unknown"`);
  await expect(page.getByTestId('datashape')).toContainText('visited: ?timestamp');
  // the summary reads it as time: earliest and latest as computed here
  await expect(page.getByTestId('min-visited')).toHaveAttribute('data-value', new RegExp('^' + iso(minUs)));
  await expect(page.getByTestId('max-visited')).toHaveAttribute('data-value', new RegExp('^' + iso(maxUs)));
  await expect(page.getByTestId('nulls-visited')).toContainText(`${((100 * bad.length) / N).toFixed(1)}%`);
  await page.screenshot({ path: path.join(ARTIFACTS, 'types19-summary.png') });

  // the Info view lists the warning with its count
  await page.getByRole('tab', { name: 'Info' }).click();
  await expect(page.getByRole('list', { name: 'Ingest warnings' })).toContainText('W_UNCONVERTED');
  await expect(page.getByRole('list', { name: 'Ingest warnings' })).toContainText('5 values did not convert to timestamp (month/day/year)');

  // the table shows times (row 1: 2/8/2021 5:13 AM)
  await page.getByRole('tab', { name: 'Table' }).click();
  await expect(page.getByRole('grid', { name: 'Rows' })).toContainText('2021-02-08');
  await page.screenshot({ path: path.join(ARTIFACTS, 'types19-table.png') });

  // the choice is kept: a fresh page reads it as a timestamp, and "As found" goes back to text
  await page.reload();
  await page.getByLabel('Path to open').fill(CSV);
  await page.getByLabel('Path to open').press('Enter');
  await expect(page.getByTestId('datashape')).toContainText('visited: ?timestamp');
  await page.getByRole('button', { name: 'visited', exact: true }).click();
  await detail.getByRole('button', { name: 'Change type…' }).click();
  await detail.getByRole('button', { name: 'As found' }).click();
  await expect(page.getByTestId('datashape')).toContainText('visited: string');
});
