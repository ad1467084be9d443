/**
 * Issue 18, linked views across datasets, in Chromium against web mode: a local Parquet file
 * (written by DuckDB: station_id int32, `date` a date, temp) and a PostgreSQL table on loopback
 * (station_id bigint, `date` a timestamp with times of day) share `station_id` and `date`. A date
 * range typed in the table is linked from its chip (the chain's tooltip names the file); each
 * dataset's filtered row count — the table's computed by PostgreSQL, the file's by the native
 * kernels — equals DuckDB's COUNT(*) over the same rows under the same predicate. The file's chip
 * says it is linked and where it was made, the bundled sample (no such columns) has no chip;
 * the range edited in the file is edited in the table; a station picked and linked from the file
 * counts in both; a CSV opened then takes both; switched off in one, off in the others; unlinking
 * from the file keeps the range only in the table. Screenshots:
 * e2e/artifacts/linked18-*.png.
 */
import { test, expect, type Page } from '@playwright/test';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { postgresAvailable, startPostgres, type PostgresServer } from '../main/engine/sql/testing/postgres';
import { duckQuery } from '../main/engine/sources/testing/oracle';
import { ARTIFACTS, openPath, startServer, type RunningServer } from './server';
import { chips, fmt } from './sample';

const dir = mkdtempSync(path.join(os.tmpdir(), 'cdx-e2e-linked-'));
const PARQUET = path.join(dir, 'readings.parquet');
const PG_CSV = path.join(dir, 'log.csv');
const LATER = path.join(dir, 'visits.csv');
const lit = (p: string) => `'${p.replace(/'/g, "''")}'`;

let pg: PostgresServer;
let server: RunningServer;

test.skip(!postgresAvailable(), 'no PostgreSQL binaries here (initdb, pg_ctl)');

/** the table's rows as CSV: a timestamp with a time of day (some null) per reading */
function logRows(n: number): string {
  const lines = ['station_id,date,temp'];
  for (let i = 0; i < n; i++) {
    const ms = Date.UTC(2025, 0, 1) + ((i * 7) % 180) * 86_400_000 + ((i * 4013) % 86_400) * 1000;
    const d = i % 50 === 0 ? '' : new Date(ms).toISOString().replace('T', ' ').replace('.000Z', '');
    lines.push(`${i % 37},${d},${((i * 7919) % 1009) / 10}`);
  }
  return lines.join('\n') + '\n';
}

test.beforeAll(async () => {
  await duckQuery(`COPY (SELECT (i % 41)::INTEGER AS station_id,
      CASE WHEN i % 97 = 0 THEN NULL ELSE DATE '2025-01-01' + ((i * 11) % 200)::INTEGER END AS date,
      ((i * 31) % 400) / 10.0 AS temp
    FROM range(30000) t(i)) TO ${lit(PARQUET)} (FORMAT parquet)`);
  writeFileSync(LATER, 'station_id,date,note\n' + Array.from({ length: 900 }, (_, i) => `${i % 23},2025-${String(1 + (i % 6)).padStart(2, '0')}-${String(1 + ((i * 7) % 28)).padStart(2, '0')},n${i}`).join('\n') + '\n');
  const rows = logRows(15_000);
  writeFileSync(PG_CSV, rows);
  pg = await startPostgres();
  await pg.psql(`CREATE TABLE public.log (station_id bigint, date timestamp, temp double precision);
COPY public.log FROM STDIN WITH (FORMAT csv, HEADER true, NULL '');
${rows}\\.
GRANT SELECT ON public.log TO cdx; ANALYZE public.log;`);
  server = await startServer({ CDX_NO_KEYCHAIN: '1', PGPASSWORD: pg.password });
});
test.afterAll(async () => {
  await server?.stop();
  await pg?.stop();
});

/** DuckDB's COUNT(*) over the file's rows or the table's (the same CSV PostgreSQL loaded) under `where` */
async function oracle(which: 'file' | 'table' | 'later', where: string): Promise<number> {
  const from = which === 'file'
    ? `read_parquet(${lit(PARQUET)})`
    : which === 'table'
      ? `read_csv(${lit(PG_CSV)}, header = true, columns = {'station_id': 'BIGINT', 'date': 'TIMESTAMP', 'temp': 'DOUBLE'})`
      : `read_csv(${lit(LATER)}, header = true, columns = {'station_id': 'BIGINT', 'date': 'DATE', 'note': 'VARCHAR'})`;
  return Number((await duckQuery(`SELECT count(*) FROM ${from} WHERE ${where}`))[0]![0]);
}

async function show(page: Page, name: string): Promise<void> {
  await page.getByRole('option', { name }).click();
  await expect(page.getByRole('heading', { name })).toBeVisible({ timeout: 30_000 });
}

async function filtered(page: Page): Promise<string> {
  await expect(page.getByRole('progressbar', { name: 'Summary progress' })).toHaveCount(0, { timeout: 30_000 });
  await expect(page.getByTestId('filtered-rows')).not.toHaveText('…', { timeout: 30_000 });
  return (await page.getByTestId('filtered-rows').innerText()).trim();
}

test('a date range linked across a Parquet file and a PostgreSQL table: each counts its own rows as DuckDB does', async ({ page }) => {
  test.setTimeout(180_000);
  await page.goto(server.url);
  await expect(page.getByTestId('row-count')).toContainText('60,000 rows', { timeout: 30_000 });
  await openPath(page, PARQUET);
  await expect(page.getByRole('heading', { name: 'readings.parquet' })).toBeVisible({ timeout: 30_000 });
  await expect(page.getByTestId('row-count')).toContainText('30,000 rows', { timeout: 30_000 });
  await openPath(page, `${pg.url}::public.log`);
  await expect(page.getByRole('heading', { name: 'public.log' })).toBeVisible({ timeout: 30_000 });
  await expect(page.getByTestId('row-count')).toContainText('15,000 rows', { timeout: 30_000 });

  // a range on the table's timestamp, in dates
  await page.getByPlaceholder(/Filter rows/).fill(`date >= '2025-03-10' and date < '2025-04-20'`);
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(chips(page)).toHaveCount(1);
  const range = `date >= DATE '2025-03-10' AND date < DATE '2025-04-20'`;
  const inTable = await oracle('table', range), inFile = await oracle('file', range);
  expect(inTable).toBeGreaterThan(500);
  expect(await filtered(page)).toBe(fmt(inTable));
  // the chain says where the link would reach: the file, not the sample (no such columns)
  const chain = chips(page).first().getByRole('button', { name: /^Link filter/ });
  await expect(chain).toHaveAttribute('title', /readings\.parquet/);
  await expect(chain).not.toHaveAttribute('title', /trips\.arrow/);
  await chain.click();
  const chip = chips(page).first();
  await expect(chip).toHaveAttribute('data-link', /^L\d+$/);
  await expect(chip.getByRole('button', { name: /^Unlink filter/ })).toHaveAttribute('aria-pressed', 'true');
  await expect(chip).toContainText('linked to readings.parquet');
  // one step of the workspace: the table's chip linked, the file's taken
  await expect(page.getByText(/^Filter readings \(linked from log\):/)).toBeVisible();
  expect(await filtered(page)).toBe(fmt(inTable));
  await page.screenshot({ path: path.join(ARTIFACTS, 'linked18-table.png') });

  // the file took it, marked as linked from the table, and counts it natively
  await show(page, 'readings.parquet');
  await expect(chips(page)).toHaveCount(1);
  await expect(chips(page).first()).toHaveAttribute('data-link-from', 'public.log');
  await expect(chips(page).first()).toContainText('from public.log');
  expect(await filtered(page)).toBe(fmt(inFile));
  // the sample has no `date`: nothing linked there
  await show(page, 'trips.arrow');
  await expect(chips(page)).toHaveCount(0);

  // edited in the file: edited in the table too
  await show(page, 'readings.parquet');
  await chips(page).first().getByRole('button', { name: /^Edit filter/ }).click();
  await page.getByLabel('Edit filter', { exact: true }).fill(`date >= date '2025-02-01' and date < timestamp '2025-03-15T12:00'`);
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  const range2 = `date >= DATE '2025-02-01' AND date < TIMESTAMP '2025-03-15 12:00:00'`;
  expect(await filtered(page)).toBe(fmt(await oracle('file', range2)));
  // a station picked in the file, linked from there
  await page.getByPlaceholder(/Filter rows/).fill('station_id in (3, 5, 8, 13)');
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(chips(page)).toHaveCount(2);
  await chips(page).nth(1).getByRole('button', { name: /^Link filter/ }).click();
  const both = `${range2} AND station_id IN (3, 5, 8, 13)`;
  const fileBoth = await oracle('file', both), tableBoth = await oracle('table', both);
  expect(fileBoth).toBeGreaterThan(50);
  expect(await filtered(page)).toBe(fmt(fileBoth));
  await page.screenshot({ path: path.join(ARTIFACTS, 'linked18-file.png') });

  await show(page, 'public.log');
  await expect(chips(page)).toHaveCount(2);
  await expect(chips(page).nth(0)).toContainText('2025-03-15 12:00');
  await expect(chips(page).nth(1)).toContainText('from readings.parquet');
  expect(await filtered(page)).toBe(fmt(tableBoth));
  await page.screenshot({ path: path.join(ARTIFACTS, 'linked18-table-both.png') });

  // a CSV with both columns opened now takes both linked filters, and counts them
  await openPath(page, LATER);
  await expect(page.getByRole('heading', { name: 'visits.csv' })).toBeVisible({ timeout: 30_000 });
  await expect(chips(page)).toHaveCount(2);
  await expect(chips(page).nth(0)).toHaveAttribute('data-link-from', 'public.log');
  await expect(chips(page).nth(1)).toHaveAttribute('data-link-from', 'readings.parquet');
  expect(await filtered(page)).toBe(fmt(await oracle('later', both)));
  await page.screenshot({ path: path.join(ARTIFACTS, 'linked18-later.png') });
  await show(page, 'public.log');

  // switched off in the table: off in the file too
  await chips(page).nth(1).getByRole('checkbox').uncheck();
  expect(await filtered(page)).toBe(fmt(await oracle('table', range2)));
  await show(page, 'readings.parquet');
  await expect(chips(page).nth(1)).toHaveAttribute('data-enabled', 'false');
  expect(await filtered(page)).toBe(fmt(await oracle('file', range2)));

  // the range unlinked from the file: it was made in the table, so it stays there only
  await chips(page).first().getByRole('button', { name: /^Unlink filter/ }).click();
  await expect(chips(page)).toHaveCount(1);
  await expect(chips(page).first()).toHaveAttribute('data-expr', /station_id/);
  await show(page, 'public.log');
  await expect(chips(page)).toHaveCount(2);
  await expect(chips(page).first()).not.toHaveAttribute('data-link', /.+/);
  expect(await filtered(page)).toBe(fmt(await oracle('table', range2)));
  await page.screenshot({ path: path.join(ARTIFACTS, 'linked18-unlinked.png') });
});
