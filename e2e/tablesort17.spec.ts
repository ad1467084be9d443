/**
 * Issue 17, the Table view sorted from its headers, in Chromium against web mode on the bundled
 * sample. The rows on screen — their cells and the row-number column, which shows each row's
 * number in the dataset — are checked against an order computed here over the same file read with
 * apache-arrow (nulls last, NaN the greatest number, ties by row number): a click on a header
 * sorts ascending, again descending, again off; a shift-click adds a secondary key (arrows and the
 * keys' ranks in the headers, aria-sort, a tooltip saying nulls last); the sort holds under a
 * filter, is kept while the tab is switched, and is reachable from the keyboard (Enter,
 * Shift+Enter). The Export dialog writes the view as shown (filtered and sorted) and says so: the
 * file read back holds the rows in the order computed here. Screenshots (light and dark) go to
 * e2e/artifacts/.
 */
import { test, expect, type Page } from '@playwright/test';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { duckQuery } from '../main/engine/sources/testing/oracle';
import { ARTIFACTS } from './server';
import { chips, openSample, sampleServer, sampleTable } from './sample';

const host = sampleServer();

const t = sampleTable();
const N = t.numRows;
const col = (name: string) => {
  const v = t.getChild(name)!;
  return Array.from({ length: N }, (_, i) => v.get(i) as unknown);
};
const fare = col('fare') as (number | null)[];
const borough = col('borough') as (string | null)[];
const passengers = col('passengers') as (number | null)[];
const tripId = col('trip_id').map((v) => String(v));

type Key = { values: unknown[]; desc: boolean };
/** the native sort's order of the row numbers: nulls last either way, NaN above every number, ties by row */
function order(keys: Key[], rows: number[] = Array.from({ length: N }, (_, i) => i)): number[] {
  const cmp1 = (a: unknown, b: unknown, desc: boolean): number => {
    const an = a === null || a === undefined, bn = b === null || b === undefined;
    if (an || bn) return an === bn ? 0 : an ? 1 : -1;
    const aN = typeof a === 'number' && Number.isNaN(a), bN = typeof b === 'number' && Number.isNaN(b);
    let c: number;
    if (aN || bN) c = aN === bN ? 0 : aN ? 1 : -1;
    else c = (a as number | string) < (b as number | string) ? -1 : (a as number | string) > (b as number | string) ? 1 : 0;
    return desc ? -c : c;
  };
  return rows.slice().sort((i, j) => {
    for (const k of keys) {
      const c = cmp1(k.values[i], k.values[j], k.desc);
      if (c) return c;
    }
    return i - j;
  });
}

/** the rows on screen: row-number texts and the cells of the named columns */
async function screen(page: Page, names: string[]): Promise<{ num: string[]; cells: string[][] }> {
  const head = (await page.locator('.grid-head [role=columnheader]').allInnerTexts()).map((h) => h.replace(/^[▲▼]\d*/, '').split('\n')[0]!.trim());
  const idx = names.map((n) => head.indexOf(n) - 1); // the row-number header first
  return page.locator('.grid-body .grid-row').evaluateAll((rs, idx) => {
    const num: string[] = [], cells: string[][] = [];
    for (const r of rs) {
      num.push(r.querySelector('[role=rowheader]')!.textContent!.trim());
      const cs = r.querySelectorAll('[role=gridcell]');
      cells.push(idx.map((i) => cs[i]?.textContent?.trim() ?? ''));
    }
    return { num, cells };
  }, idx);
}

/** the row numbers shown are those of `want` (counted from 1), once every row on screen has arrived */
async function expectOrder(page: Page, want: number[]) {
  await expect.poll(async () => {
    const s = await screen(page, []);
    if (s.num.length <= 10 || s.num.some((x) => x === '')) return 'rows still coming';
    const w = want.slice(0, s.num.length).map((i) => String(i + 1));
    return s.num.join(',') === w.join(',') ? 'as wanted' : `shown ${s.num.join(',')}; wanted ${w.join(',')}`;
  }, { timeout: 30_000 }).toBe('as wanted');
}

const header = (page: Page, name: string) => page.locator('.grid-head [role=columnheader]', { has: page.getByRole('button', { name: new RegExp(`^${name},`) }) });
const sortButton = (page: Page, name: string) => page.getByRole('button', { name: new RegExp(`^${name},`) });

test('header clicks sort the table (ascending, descending, off; Shift adds a key); the rows and their numbers are the file\'s order', async ({ page }) => {
  await openSample(page, host);
  await page.getByRole('tab', { name: 'Table' }).click();
  await expect(page.getByTestId('table-position')).toContainText('of 60,000 rows');

  await sortButton(page, 'fare').click();
  await expect(header(page, 'fare')).toHaveAttribute('aria-sort', 'ascending');
  await expectOrder(page, order([{ values: fare, desc: false }]));
  await expect(page.getByTestId('table-sort')).toContainText('fare ↑');
  // the fares on screen ascend, as written by the table
  const s1 = await screen(page, ['fare']);
  const shown = s1.cells.map((c) => Number(c[0]!.replace(/,/g, '')));
  expect(shown).toEqual([...shown].sort((a, b) => a - b));

  await sortButton(page, 'fare').click();
  await expect(header(page, 'fare')).toHaveAttribute('aria-sort', 'descending');
  const byFareDesc = order([{ values: fare, desc: true }]);
  await expectOrder(page, byFareDesc);
  // the tooltip says nulls last and what the next click does
  await expect(sortButton(page, 'fare')).toHaveAttribute('title', /Sorted descending, nulls last\.[\s\S]*Shift\+click/);

  // a secondary key: borough ascending within equal fares
  await sortButton(page, 'borough').click({ modifiers: ['Shift'] });
  await expect(header(page, 'borough')).toHaveAttribute('aria-sort', 'ascending');
  await expect(header(page, 'fare').getByTestId('sortmark')).toHaveText('▼1');
  await expect(header(page, 'borough').getByTestId('sortmark')).toHaveText('▲2');
  await expectOrder(page, order([{ values: fare, desc: true }, { values: borough, desc: false }]));
  await expect(page.getByTestId('table-sort')).toContainText('fare ↓, borough ↑');
  await page.screenshot({ path: path.join(ARTIFACTS, 'tablesort17-two-keys.png') });

  // the last rows: the smallest fares (nulls after them, where there are any), by row number within
  await page.getByLabel('Go to row').fill('60000');
  await page.getByRole('button', { name: 'Go', exact: true }).click();
  const want2 = order([{ values: fare, desc: true }, { values: borough, desc: false }]);
  await expect.poll(async () => (await screen(page, [])).num.at(-1), { timeout: 30_000 }).toBe(String(want2.at(-1)! + 1));
  const tail = await screen(page, ['fare']);
  const last = fare[want2.at(-1)!]!;
  if (last === null) expect(tail.cells.at(-1)![0]).toBe('null');
  else expect(Number(tail.cells.at(-1)![0]!.replace(/,/g, ''))).toBeCloseTo(Math.min(...fare.filter((x): x is number => x !== null && !Number.isNaN(x))), 6);

  // a third click on fare (without Shift): fare alone, off
  await sortButton(page, 'fare').click();
  await expect(header(page, 'fare')).toHaveAttribute('aria-sort', 'none');
  await expect(header(page, 'borough')).toHaveAttribute('aria-sort', 'none');
  await expect(page.getByTestId('table-sort')).toHaveCount(0);
  await expectOrder(page, Array.from({ length: 40 }, (_, i) => i));
});

test('the sort holds under a filter, is kept across tabs, and is reachable from the keyboard', async ({ page }) => {
  await openSample(page, host);
  await page.getByLabel('Filter expression').fill('borough = "Queens"');
  await page.getByLabel('Filter expression').press('Enter');
  await expect(chips(page)).toHaveCount(1);
  await page.getByRole('tab', { name: 'Table' }).click();
  const queens = Array.from({ length: N }, (_, i) => i).filter((i) => borough[i] === 'Queens');
  await expect(page.getByTestId('table-position')).toContainText(`of ${queens.length.toLocaleString('en-US')} matching rows`, { timeout: 30_000 });

  // keyboard: focus the header's name, Enter sorts ascending, again descending; Shift+Enter adds a key
  await sortButton(page, 'passengers').focus();
  await page.keyboard.press('Enter');
  await page.keyboard.press('Enter');
  await expect(header(page, 'passengers')).toHaveAttribute('aria-sort', 'descending');
  await sortButton(page, 'fare').focus();
  await page.keyboard.press('Shift+Enter');
  await expect(header(page, 'fare')).toHaveAttribute('aria-sort', 'ascending');
  const want = order([{ values: passengers, desc: true }, { values: fare, desc: false }], queens);
  await expectOrder(page, want);
  const s = await screen(page, ['borough']);
  expect(new Set(s.cells.map((c) => c[0]))).toEqual(new Set(['Queens']));

  // another tab and back: the same sort, the same rows
  await page.getByRole('tab', { name: 'Summary' }).click();
  await page.getByRole('tab', { name: 'Table' }).click();
  await expect(header(page, 'passengers')).toHaveAttribute('aria-sort', 'descending');
  await expect(header(page, 'fare')).toHaveAttribute('aria-sort', 'ascending');
  await expectOrder(page, want);
  await page.screenshot({ path: path.join(ARTIFACTS, 'tablesort17-filtered.png') });
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.screenshot({ path: path.join(ARTIFACTS, 'tablesort17-filtered-dark.png') });
  await page.emulateMedia({ colorScheme: 'light' });

  // Unsort: the filtered view in the dataset's order
  await page.getByRole('button', { name: 'Unsort' }).click();
  await expect(header(page, 'passengers')).toHaveAttribute('aria-sort', 'none');
  await expectOrder(page, queens);
});

test('the Export dialog writes the view as the table shows it — filtered and sorted — and says so', async ({ page }) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cdx-e2e-sortexport-'));
  try {
    await openSample(page, host);
    await page.getByLabel('Filter expression').fill('borough = "Bronx"');
    await page.getByLabel('Filter expression').press('Enter');
    await expect(chips(page)).toHaveCount(1);
    await page.getByRole('tab', { name: 'Table' }).click();
    await sortButton(page, 'passengers').click();
    await sortButton(page, 'fare').click({ modifiers: ['Shift'] });
    await sortButton(page, 'fare').click({ modifiers: ['Shift'] });
    const bronx = Array.from({ length: N }, (_, i) => i).filter((i) => borough[i] === 'Bronx');
    const want = order([{ values: passengers, desc: false }, { values: fare, desc: true }], bronx);
    await expectOrder(page, want);

    await page.getByRole('button', { name: 'Export…' }).click();
    const dlg = page.getByRole('dialog', { name: /Export trips\.arrow/ });
    await expect(dlg.getByLabel("In the table's order")).toBeChecked();
    await expect(dlg.getByTestId('export-view')).toHaveText('Writes the view as the table shows it: the rows matching the filters, sorted by passengers ↑, fare ↓.');
    const out = path.join(dir, 'bronx-sorted.parquet');
    await dlg.getByLabel('Output file').fill(out);
    await expect(dlg.getByRole('table', { name: 'Fidelity report' })).toContainText('trip_id');
    await page.screenshot({ path: path.join(ARTIFACTS, 'tablesort17-export-dialog.png') });
    await dlg.getByRole('button', { name: 'Export', exact: true }).click();
    await expect(dlg.getByRole('status')).toContainText(`Wrote ${want.length.toLocaleString('en-US')} rows`, { timeout: 30_000 });
    const ids = (await duckQuery(`SELECT trip_id::VARCHAR FROM read_parquet('${out}')`)).map((r) => r[0]);
    expect(ids).toEqual(want.map((i) => tripId[i]));

    // unticked: the filtered rows in the dataset's order, said so
    await dlg.getByLabel("In the table's order").uncheck();
    await expect(dlg.getByTestId('export-view')).toHaveText("Writes the view as the table shows it: the rows matching the filters, in the dataset's order.");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
