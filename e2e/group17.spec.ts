/**
 * Issue 17, the Group view, in Chromium against web mode on the bundled sample
 * (resources/sample/trips.arrow: 60,000 trips; borough, fare, …). Every number the view shows is
 * checked against a computation made here over the same file read with apache-arrow: group by
 * borough with count() and mean(fare); sorted by count descending with a header click (the engine
 * asked again); a click on a group's row, and on a bar, shows only that borough's rows in the
 * Table view (its row count is the group's count); a key of 60,000 values is cut to the first
 * 1,000 groups with a note; two keys with a null group drill down to `key = value` and `key is null`.
 * Screenshots go to e2e/artifacts/.
 */
import { test, expect, type Page } from '@playwright/test';
import path from 'node:path';
import { ARTIFACTS } from './server';
import { chips, fmt, openSample, removeFilters, sampleServer, sampleTable } from './sample';

const host = sampleServer();

/** borough -> { count, mean of the non-null fares } */
const oracle = (() => {
  const t = sampleTable();
  const b = t.getChild('borough')!, fare = t.getChild('fare')!;
  const m = new Map<string | null, { count: number; sum: number; n: number }>();
  for (let i = 0; i < t.numRows; i++) {
    const k = b.get(i) as string | null;
    const e = m.get(k) ?? { count: 0, sum: 0, n: 0 };
    e.count++;
    const f = fare.get(i) as number | null;
    if (f !== null && !Number.isNaN(f)) {
      e.sum += f;
      e.n++;
    }
    m.set(k, e);
  }
  return new Map([...m].map(([k, e]) => [k, { count: e.count, mean: e.sum / e.n }]));
})();
async function openGroup(page: Page) {
  await openSample(page, host);
  await page.getByRole('tab', { name: 'Group' }).click();
}

/** the group table's rows as cell texts */
async function tableRows(page: Page): Promise<string[][]> {
  const rows = page.getByTestId('group-table').locator('tbody tr');
  return rows.evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent!.trim())));
}

async function byBorough(page: Page) {
  await page.getByLabel('Key 1').selectOption('borough');
  await page.getByRole('button', { name: '+ Measure' }).click();
  await page.getByLabel('Measure 2 function').selectOption('mean');
  await page.getByLabel('Measure 2 column').selectOption('fare');
  await expect(page.getByTestId('group-table').locator('thead th')).toHaveText([/borough/, /count/, /mean_fare/]);
  await expect(page.getByTestId('group-count')).toHaveText(`${oracle.size} groups`);
}

function checkRows(rows: string[][]) {
  expect(rows).toHaveLength(oracle.size);
  for (const [k, count, mean] of rows) {
    const want = oracle.get(k === 'null' ? null : k!)!;
    expect(want, `group ${k}`).toBeDefined();
    expect(Number(count), `count of ${k}`).toBe(want.count);
    expect(Math.abs(Number(mean) - want.mean), `mean fare of ${k}: ${mean} vs ${want.mean}`).toBeLessThanOrEqual(1e-9 * want.mean);
  }
}

test('group by borough: count and mean fare equal a computation over the file; sorted by count descending; a group drills down to its rows', async ({ page }) => {
  await openGroup(page);
  await byBorough(page);
  // by default by the key, ascending
  let rows = await tableRows(page);
  checkRows(rows);
  expect(rows.map((r) => r[0])).toEqual([...oracle.keys()].sort());
  // numbers right-aligned
  const align = await page.getByTestId('group-table').locator('tbody tr').first().locator('td').evaluateAll((tds) => tds.map((td) => getComputedStyle(td).textAlign));
  expect(align).toEqual(['left', 'right', 'right']);
  await expect(page.getByTestId('group-chart').locator('g.bar')).toHaveCount(oracle.size);
  await page.screenshot({ path: path.join(ARTIFACTS, 'group17-by-borough.png') });

  // a header click: count, descending first (the engine is asked again)
  await page.getByTestId('group-table').getByRole('button', { name: /^count/ }).click();
  await expect(page.getByTestId('group-table').locator('th[aria-sort="descending"]')).toContainText('count');
  const byCount = [...oracle].sort((a, b) => b[1].count - a[1].count).map(([k]) => k);
  await expect.poll(async () => (await tableRows(page)).map((r) => r[0])).toEqual(byCount);
  rows = await tableRows(page);
  checkRows(rows);
  // again: ascending
  await page.getByTestId('group-table').getByRole('button', { name: /^count/ }).click();
  await expect.poll(async () => (await tableRows(page)).map((r) => r[0])).toEqual([...byCount].reverse());
  await page.getByTestId('group-table').getByRole('button', { name: /^count/ }).click();
  await expect.poll(async () => (await tableRows(page)).map((r) => r[0])).toEqual(byCount);
  // the chart follows the table's order
  await expect(page.getByTestId('group-chart').locator('g.bar text.label')).toHaveText(byCount as string[]);
  await page.screenshot({ path: path.join(ARTIFACTS, 'group17-sorted-by-count.png') });

  // the second group (Brooklyn): its rows in the Table view
  const pickRow = rows.findIndex((r) => r[0] === 'Brooklyn');
  const want = oracle.get('Brooklyn')!.count;
  await page.getByTestId('group-table').locator('tbody tr').nth(pickRow).click();
  await expect(page.getByRole('tab', { name: 'Table' })).toHaveAttribute('aria-selected', 'true');
  await expect(chips(page)).toHaveCount(1);
  await expect(chips(page).first()).toContainText('borough = "Brooklyn"');
  await expect(page.getByTestId('filtered-rows')).toHaveText(fmt(want), { timeout: 30_000 });
  await expect(page.getByTestId('table-position')).toContainText(`of ${fmt(want)} matching rows`);
  // every row on screen is Brooklyn's
  const head = await page.getByRole('columnheader').allInnerTexts();
  const bi = head.findIndex((h) => h.startsWith('borough')) - 1; // the row-number header first
  const cells = await page.locator('.grid-body .grid-row').evaluateAll((rs, i) => rs.map((r) => r.querySelectorAll('[role=gridcell]')[i]?.textContent?.trim()), bi);
  expect(cells.length).toBeGreaterThan(5);
  expect(new Set(cells)).toEqual(new Set(['Brooklyn']));
  await page.screenshot({ path: path.join(ARTIFACTS, 'group17-drilled-table.png') });

  // back in the Group view: one group now, under the filter
  await page.getByRole('tab', { name: 'Group' }).click();
  await expect(page.getByTestId('group-count')).toHaveText('1 group');
  expect((await tableRows(page))[0]!.slice(0, 2)).toEqual(['Brooklyn', String(want)]);
});

test('a bar drills down too; a key of 60,000 values is cut to the first 1,000 groups with notes', async ({ page }) => {
  await openGroup(page);
  await byBorough(page);
  await page.getByTestId('group-chart').locator('g.bar', { hasText: 'Staten Island' }).click();
  await expect(page.getByRole('tab', { name: 'Table' })).toHaveAttribute('aria-selected', 'true');
  await expect(page.getByTestId('filtered-rows')).toHaveText(fmt(oracle.get('Staten Island')!.count), { timeout: 30_000 });
  await removeFilters(page);

  await page.getByRole('tab', { name: 'Group' }).click();
  await page.getByLabel('Key 1').selectOption('trip_id');
  await expect(page.getByTestId('group-count')).toHaveText('60,000 groups');
  await expect(page.getByTestId('group-cut')).toContainText('showing the first 1,000');
  await expect(page.getByTestId('group-table').locator('tbody tr')).toHaveCount(1000);
  await expect(page.getByTestId('chart-note')).toContainText('The first 40 of 1,000 groups');
  await page.screenshot({ path: path.join(ARTIFACTS, 'group17-limited.png') });
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.screenshot({ path: path.join(ARTIFACTS, 'group17-limited-dark.png') });
  await page.emulateMedia({ colorScheme: 'light' });
  await page.getByLabel('Group limit').selectOption('100');
  await expect(page.getByTestId('group-table').locator('tbody tr')).toHaveCount(100);
  await expect(page.getByTestId('group-cut')).toContainText('showing the first 100');
});

test('two keys with a null group: the drill-down adds key = value and key is null, and the Table counts that group', async ({ page }) => {
  const t = sampleTable();
  const b = t.getChild('borough')!, p = t.getChild('passengers')!;
  let want = 0;
  for (let i = 0; i < t.numRows; i++) if (b.get(i) === 'Queens' && p.get(i) === null) want++;
  expect(want).toBeGreaterThan(0);
  await openGroup(page);
  await page.getByLabel('Key 1').selectOption('borough');
  await page.getByLabel('Key 2').selectOption('passengers');
  await expect(page.getByTestId('group-table').locator('thead th')).toHaveText([/borough/, /passengers/, /count/]);
  const rows = await tableRows(page);
  const i = rows.findIndex((r) => r[0] === 'Queens' && r[1] === 'null');
  expect(i).toBeGreaterThanOrEqual(0);
  expect(Number(rows[i]![2])).toBe(want);
  // within a key, the null group comes last
  expect(rows.filter((r) => r[0] === 'Queens').at(-1)![1]).toBe('null');
  await page.getByTestId('group-table').locator('tbody tr').nth(i).click();
  await expect(chips(page)).toHaveCount(2);
  await expect(chips(page).nth(0)).toContainText('borough = "Queens"');
  await expect(chips(page).nth(1)).toContainText('passengers is null');
  await expect(page.getByTestId('filtered-rows')).toHaveText(fmt(want), { timeout: 30_000 });
  await expect(page.getByTestId('table-position')).toContainText(`of ${fmt(want)} matching rows`);
});

test('"Open as dataset": all the groups become a dataset of their own, shown with its summary and table', async ({ page }) => {
  await openGroup(page);
  await byBorough(page);
  await page.getByRole('button', { name: 'Open as dataset' }).click();
  // the new dataset is shown: its name, its rows (one a group) in the catalog and the pane
  await expect(page.getByRole('heading', { name: 'trips by borough' })).toBeVisible({ timeout: 30_000 });
  await expect(page.getByRole('option', { name: /trips by borough/ })).toHaveAttribute('aria-selected', 'true');
  await expect(page.getByTestId('row-count')).toContainText(`${oracle.size} rows`);
  await expect(page.getByRole('tab', { name: 'Summary' })).toHaveAttribute('aria-selected', 'true');
  await page.screenshot({ path: path.join(ARTIFACTS, 'group17-open-as-dataset.png') });
  // its table: the groups, by borough ascending, with the counts and mean fares computed here
  await page.getByRole('tab', { name: 'Table' }).click();
  await expect.poll(async () => page.locator('.grid-body .grid-row').count()).toBe(oracle.size);
  await expect(page.locator('.grid-body .loading')).toHaveCount(0);
  const shown = await page.locator('.grid-body .grid-row').evaluateAll((rs) => rs.map((r) => [...r.querySelectorAll('[role=gridcell]')].map((c) => c.textContent!.trim())));
  expect(shown.map((r) => r[0])).toEqual([...oracle.keys()].sort((a, b) => (a === null ? 1 : b === null ? -1 : a < b ? -1 : 1)).map((k) => k ?? 'null'));
  checkRows(shown.map((r) => [r[0]!, r[1]!.replace(/,/g, ''), r[2]!.replace(/,/g, '')]));
  await page.screenshot({ path: path.join(ARTIFACTS, 'group17-open-as-dataset-table.png') });
});

test('"Pivot by": payment\'s values as columns, each cell the count computed over the file', async ({ page }) => {
  const t = sampleTable();
  const bo = t.getChild('borough')!, pay = t.getChild('payment')!;
  const want = new Map<string, number>();
  const pays = new Set<string>();
  for (let i = 0; i < t.numRows; i++) {
    const k = `${bo.get(i) ?? 'null'}|${pay.get(i) ?? 'null'}`;
    pays.add(String(pay.get(i) ?? 'null'));
    want.set(k, (want.get(k) ?? 0) + 1);
  }
  const cols = [...pays].filter((p) => p !== 'null').sort();
  if (pays.has('null')) cols.push('null');
  await openGroup(page);
  await page.getByLabel('Key 1').selectOption('borough');
  await page.getByLabel('Pivot by').selectOption('payment');
  await expect(page.getByTestId('group-table').locator('thead th')).toHaveText([/^borough/, ...cols.map((c) => new RegExp(`^${c}`))]);
  await expect(page.getByTestId('pivot-note')).toHaveText(`payment pivoted: ${cols.length} values as columns`);
  const rows = await tableRows(page);
  expect(rows).toHaveLength(oracle.size);
  for (const r of rows) cols.forEach((c, j) => expect(Number(r[j + 1]!.replace(/,/g, '')), `${r[0]} / ${c}`).toBe(want.get(`${r[0]}|${c}`) ?? 0));
  // a pivot column's header sorts (descending first)
  await page.getByTestId('group-table').getByRole('button', { name: new RegExp(`^${cols[0]}`) }).click();
  const by = [...oracle.keys()].map((k) => k ?? 'null').sort((x, y) => (want.get(`${y}|${cols[0]}`) ?? 0) - (want.get(`${x}|${cols[0]}`) ?? 0));
  await expect.poll(async () => (await tableRows(page)).map((r) => r[0])).toEqual(by);
  await page.screenshot({ path: path.join(ARTIFACTS, 'group17-pivot.png') });
});
