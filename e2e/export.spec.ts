/**
 * Export from the app: the fidelity report before writing, a filtered and column-subset export
 * that DuckDB reads back with the right rows, a confirmation before replacing a file, and the
 * result added to the catalog.
 */
import { test, expect } from '@playwright/test';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { duckQuery } from '../main/engine/sources/testing/oracle';
import { tableFromIPC } from 'apache-arrow';
import { ARTIFACTS, ROOT, startServer, type RunningServer } from './server';

const SAMPLE = path.join(ROOT, 'resources', 'sample', 'trips.arrow');
const dir = mkdtempSync(path.join(os.tmpdir(), 'cdx-e2e-export-'));
let server: RunningServer;
test.beforeAll(async () => {
  server = await startServer();
});
test.afterAll(async () => {
  await server?.stop();
});

test('exports the filtered view and chosen columns to Parquet; DuckDB reads the same rows', async ({ page }) => {
  await page.goto(server.url);
  await page.getByLabel('Filter expression').fill("borough = 'Bronx' and fare > 30");
  await page.getByLabel('Filter expression').press('Enter');
  const t = tableFromIPC(readFileSync(SAMPLE));
  let n = 0, sum = 0;
  for (let i = 0; i < t.numRows; i++) {
    if (t.getChild('borough')!.get(i) === 'Bronx' && (t.getChild('fare')!.get(i) as number) > 30) {
      n++;
      sum += t.getChild('fare')!.get(i) as number;
    }
  }
  await expect(page.getByTestId('filtered-rows')).toHaveText(n.toLocaleString('en-US'));

  await page.getByRole('button', { name: 'Export…' }).click();
  const dlg = page.getByRole('dialog', { name: /Export trips\.arrow/ });
  const out = path.join(dir, 'bronx.parquet');
  await dlg.getByLabel('Output file').fill(out);
  for (const c of ['pickup_at', 'pickup_date', 'passengers', 'distance_km', 'duration_min', 'tip', 'payment', 'pickup_lat', 'pickup_lon', 'rating', 'shared_ride', 'note']) {
    await dlg.getByLabel(`Export column ${c}`).uncheck();
  }
  const report = dlg.getByRole('table', { name: 'Fidelity report' });
  await expect(report).toContainText('trip_id');
  await expect(report).not.toContainText('pickup_lat');
  await page.screenshot({ path: path.join(ARTIFACTS, 'export-dialog.png') });
  await dlg.getByLabel('Add the result to the catalog').check(); // off by default (issue #19)
  await dlg.getByRole('button', { name: 'Export', exact: true }).click();
  await expect(dlg.getByRole('status')).toContainText(`Wrote ${n.toLocaleString('en-US')} rows`);
  expect(existsSync(out)).toBe(true);

  const rows = await duckQuery(`SELECT count(*), sum(fare), min(borough), max(borough), count(*) FILTER (WHERE trip_id IS NULL) FROM read_parquet('${out}')`);
  const cols = (await duckQuery(`SELECT column_name FROM (DESCRIBE SELECT * FROM read_parquet('${out}'))`)).map((r) => r[0]);
  expect(Number(rows[0]![0])).toBe(n);
  expect(Number(rows[0]![1])).toBeCloseTo(sum, 6);
  expect([rows[0]![2], rows[0]![3]]).toEqual(['Bronx', 'Bronx']);
  expect(cols).toEqual(['trip_id', 'borough', 'fare']);

  // the result is in the catalog
  await expect(page.getByRole('option', { name: /bronx\.parquet/ })).toBeVisible();

  // exporting again over it asks first; keeping it leaves the file as it was
  const before = readFileSync(out);
  await dlg.getByRole('button', { name: 'Export', exact: true }).click();
  await expect(dlg.getByText('already exists')).toBeVisible();
  await dlg.getByRole('button', { name: 'Keep it' }).click();
  expect(readFileSync(out).equals(before)).toBe(true);
});
