/**
 * A CSV opened through the UI: the statistics shown equal DuckDB's for the same file, and a
 * malformed CSV loads its good rows and shows the bad ones by line number.
 */
import { test, expect } from '@playwright/test';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { duckQuery as duck } from '../main/engine/sources/testing/oracle';
import { ARTIFACTS, startServer, type RunningServer } from './server';

const dir = mkdtempSync(path.join(os.tmpdir(), 'cdx-e2e-csv-'));
const CSV = path.join(dir, 'orders.csv');
const BAD = path.join(dir, 'broken.csv');
let server: RunningServer;

test.beforeAll(async () => {
  // 20,000 orders with mixed types, nulls, quotes and a leading-zero code column
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const lines = ['order_id,customer,amount,quantity,shipped,zip,day'];
  const names = ['Ada', 'Bob', '"Cy, Jr."', 'Dee', 'Émile', ''];
  for (let i = 0; i < 20000; i++) {
    const amount = rnd() < 0.05 ? '' : (rnd() * 500 - 50).toFixed(2);
    const day = `2024-${String(1 + Math.floor(rnd() * 12)).padStart(2, '0')}-${String(1 + Math.floor(rnd() * 28)).padStart(2, '0')}`;
    lines.push([1000 + i, names[Math.floor(rnd() * names.length)], amount, Math.floor(rnd() * 20), rnd() < 0.5 ? 'true' : 'false', String(Math.floor(rnd() * 99999)).padStart(5, '0'), day].join(','));
  }
  writeFileSync(CSV, lines.join('\n') + '\n');
  writeFileSync(BAD, 'a,b\n1,2\n3\n4,5\n6,7,8\n9,10\n"unterminated,11\n');
  server = await startServer();
});
test.afterAll(async () => {
  await server?.stop();
});

test('a CSV opened through the UI shows the statistics DuckDB computes for the same file', async ({ page }) => {
  await page.goto(server.url);
  await page.getByLabel('Path to open').fill(CSV);
  await page.getByLabel('Path to open').press('Enter');
  await expect(page.getByTestId('row-count')).toContainText('20,000 rows');
  await expect(page.getByTestId('datashape')).toContainText('zip: string'); // leading zeros stay text
  const [[cnt, mn, mx, avg, qmin, qmax]] = (await duck(
    `SELECT count(amount), min(amount)::DOUBLE, max(amount)::DOUBLE, avg(amount)::DOUBLE, min(quantity)::DOUBLE, max(quantity)::DOUBLE FROM read_csv('${CSV}')`,
  )) as [[bigint, number, number, number, number, number]];
  await expect(page.getByTestId('min-amount')).toHaveAttribute('data-value', String(mn));
  await expect(page.getByTestId('max-amount')).toHaveAttribute('data-value', String(mx));
  expect(Number(await page.getByTestId('mean-amount').getAttribute('data-value'))).toBeCloseTo(avg, 6);
  await expect(page.getByTestId('nulls-amount')).toContainText(`${((100 * (20000 - Number(cnt))) / 20000).toFixed(1)}%`);
  await expect(page.getByTestId('min-quantity')).toHaveAttribute('data-value', String(qmin));
  await expect(page.getByTestId('max-quantity')).toHaveAttribute('data-value', String(qmax));
  const [[dmin, dmax]] = (await duck(`SELECT min(day)::VARCHAR, max(day)::VARCHAR FROM read_csv('${CSV}')`)) as [[string, string]];
  await expect(page.getByTestId('min-day')).toHaveAttribute('data-value', dmin);
  await expect(page.getByTestId('max-day')).toHaveAttribute('data-value', dmax);
  await page.screenshot({ path: path.join(ARTIFACTS, 'csv-summary.png'), fullPage: true });
  await page.getByRole('tab', { name: 'Table' }).click();
  await expect(page.getByRole('grid', { name: 'Rows' }).getByRole('gridcell').first()).toHaveText('1000');
  await page.screenshot({ path: path.join(ARTIFACTS, 'csv-table.png') });
});

test('a malformed CSV loads its good rows and lists the bad ones by line number', async ({ page }) => {
  await page.goto(server.url);
  await page.getByLabel('Path to open').fill(BAD);
  await page.getByLabel('Path to open').press('Enter');
  await expect(page.getByTestId('row-count')).toContainText('3 rows');
  await page.getByRole('button', { name: /warnings?/ }).click();
  const list = page.getByRole('list', { name: 'Ingest warnings' });
  await expect(list).toContainText('line 3');
  await expect(list).toContainText('line 5');
  await expect(list).toContainText('line 7');
  await page.screenshot({ path: path.join(ARTIFACTS, 'csv-warnings.png'), fullPage: true });
});
