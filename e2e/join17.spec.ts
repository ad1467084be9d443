/**
 * Issue 17, joins in the app, in Chromium against web mode. Two small CSV files — trips and zones,
 * joined on `zone`: a key with nulls (which match nothing), duplicates on the right (a trip gets a
 * row per match) and a Unicode value — are opened, and joined from the Join dialog: inner, under
 * the trips' filter (said in the dialog), then left without it, from the keyboard (Ctrl+J, search,
 * arrow key, Enter). Each result's rows, read from the file the engine wrote with apache-arrow,
 * equal a join of the same rows computed here, which DuckDB's join of the two files agrees with;
 * a left join's unmatched rows have null zone columns. The result opens as a dataset with a note
 * of what happened; the join is a workspace step, and Ctrl+Z forgets its dataset. A pair of keys
 * whose types differ is refused in the engine's words; a join too large for memory (the sample with
 * itself on a bool) shows its progress and Cancel, then the engine's refusal naming the limit.
 * Screenshots: e2e/artifacts/join17-*.png.
 */
import { test, expect, type Page } from '@playwright/test';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { duckQuery as duck } from '../main/engine/sources/testing/oracle';
import { ARTIFACTS, openPath, startServer, type RunningServer } from './server';
import { fmt, sampleTable } from './sample';

const dir = mkdtempSync(path.join(os.tmpdir(), 'cdx-e2e-join-'));
const TRIPS = path.join(dir, 'trips.csv');
const ZONES = path.join(dir, 'zones.csv');

type Trip = { id: number; zone: string | null; fare: number };
type Zone = { zone: string | null; borough: string };
const KEYS = ['A', 'B', 'Zürich', null, 'C', 'D'];
const trips: Trip[] = Array.from({ length: 60 }, (_, i) => ({ id: i, zone: KEYS[i % KEYS.length]!, fare: ((i * 37) % 50) + 0.5 }));
// B twice (a trip in B gets two rows), a null key (matches nothing), E matched by no trip; C and D have no zone
const zones: Zone[] = [
  { zone: 'A', borough: 'Manhattan' }, { zone: 'B', borough: 'Brooklyn' }, { zone: 'B', borough: 'Brooklyn East' },
  { zone: 'Zürich', borough: 'Zürich Stadt' }, { zone: null, borough: 'Nowhere' }, { zone: 'E', borough: 'Unused' },
];
const FILTER = 'fare > 20';

/** the join computed here: [id, zone, fare, borough] per result row (a null key matches nothing) */
function jsJoin(left: Trip[], how: 'inner' | 'left'): (string | number | null)[][] {
  const out: (string | number | null)[][] = [];
  for (const t of left) {
    const m = t.zone === null ? [] : zones.filter((z) => z.zone === t.zone);
    for (const z of m) out.push([t.id, t.zone, t.fare, z.borough]);
    if (!m.length && how === 'left') out.push([t.id, t.zone, t.fare, null]);
  }
  return out;
}
const sorted = (rows: unknown[][]) => rows.map((r) => JSON.stringify(r)).sort();

let server: RunningServer;
test.beforeAll(async () => {
  const csv = (rows: Record<string, unknown>[], cols: string[]) => cols.join(',') + '\n' + rows.map((r) => cols.map((c) => (r[c] === null ? '' : String(r[c]))).join(',')).join('\n') + '\n';
  writeFileSync(TRIPS, csv(trips, ['id', 'zone', 'fare']));
  writeFileSync(ZONES, csv(zones, ['zone', 'borough']));
  server = await startServer();
});
test.afterAll(async () => {
  await server?.stop();
});

/** the joined dataset's rows as the engine wrote them (its file, from the catalog entry's path) */
async function resultRows(page: Page, name: RegExp): Promise<(string | number | null)[][]> {
  const file = await page.getByRole('listbox', { name: 'Datasets', exact: true }).getByRole('option', { name }).getAttribute('title');
  const t = tableFromIPC(readFileSync(file!));
  expect(t.schema.fields.map((f) => f.name)).toEqual(['id', 'zone', 'fare', 'borough']);
  return [...t].map((r) => {
    const o = r.toJSON() as Record<string, unknown>;
    return [Number(o.id), o.zone as string | null, o.fare as number, o.borough as string | null];
  });
}

/** keys go to the window, not a text field */
const unfocus = (page: Page) => page.locator('.ds-head .title').first().click();

test('join trips with zones from the dialog: inner under the filter, left from the keyboard, undo, a key type mismatch', async ({ page }) => {
  test.setTimeout(180_000);
  // DuckDB's join of the two files agrees with the one computed here (nulls, duplicates, Unicode)
  const lit = (p: string) => `'${p.replace(/'/g, "''")}'`;
  const duckJoin = async (how: 'inner' | 'left', where: string) =>
    sorted((await duck(`SELECT t.id::INTEGER, t.zone, t.fare::DOUBLE, z.borough FROM read_csv(${lit(TRIPS)}) t ${how === 'left' ? 'LEFT ' : ''}JOIN read_csv(${lit(ZONES)}) z ON t.zone = z.zone ${where ? `WHERE ${where}` : ''}`)) as unknown[][]);
  const innerWant = jsJoin(trips.filter((t) => t.fare > 20), 'inner');
  const leftWant = jsJoin(trips, 'left');
  expect(sorted(innerWant)).toEqual(await duckJoin('inner', 't.fare > 20'));
  expect(sorted(leftWant)).toEqual(await duckJoin('left', ''));

  await page.goto(server.url);
  await openPath(page, ZONES);
  await expect(page.getByRole('heading', { name: 'zones.csv' })).toBeVisible();
  await openPath(page, TRIPS);
  await expect(page.getByTestId('row-count')).toContainText(`${trips.length} rows`);
  await page.getByLabel('Filter expression').fill(FILTER);
  await page.getByLabel('Filter expression').press('Enter');
  await expect(page.getByTestId('filtered-rows')).toHaveText(fmt(trips.filter((t) => t.fare > 20).length));

  // the dialog from the dataset's toolbar: zones chosen from a search, the key pair of the same name filled in
  await page.getByRole('button', { name: 'Join…' }).click();
  const dlg = page.getByRole('dialog', { name: /Join trips\.csv with/ });
  const choices = dlg.getByRole('listbox', { name: 'Datasets to join with' }).getByRole('option');
  const zonesChoice = choices.and(page.getByRole('option', { name: /^zones\.csv/ }));
  await expect(dlg).toBeVisible();
  await expect(dlg.getByLabel('Search datasets to join')).toBeFocused();
  await dlg.getByLabel('Search datasets to join').fill('zon');
  await expect(choices).toHaveCount(1);
  await zonesChoice.click();
  await expect(dlg.getByLabel('Left key 1')).toHaveValue('zone');
  await expect(dlg.getByLabel('Right key 1')).toHaveValue('zone');
  // a second pair can be added (and removed again)
  await dlg.getByRole('button', { name: '+ Key pair' }).click();
  await expect(dlg.getByTestId('key-pair')).toHaveCount(2);
  await expect(dlg.getByRole('button', { name: 'Join', exact: true })).toBeDisabled();
  await dlg.getByRole('button', { name: 'Remove key pair 2' }).click();
  await expect(dlg.getByTestId('key-pair')).toHaveCount(1);
  await expect(dlg.getByRole('radio', { name: /Inner/ })).toBeChecked();
  // the trips' filter applies, and the dialog says so
  const useFilter = dlg.getByRole('checkbox', { name: /Only the trips\.csv rows its filters keep/ });
  await expect(useFilter).toBeChecked();
  await expect(useFilter.locator('xpath=..')).toContainText(FILTER);
  // it fits the 1280×800 window
  const box = (await dlg.boundingBox())!;
  expect(box.y + box.height).toBeLessThanOrEqual(800);
  expect(box.x + box.width).toBeLessThanOrEqual(1280);
  await page.screenshot({ path: path.join(ARTIFACTS, 'join17-dialog.png') });
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.screenshot({ path: path.join(ARTIFACTS, 'join17-dialog-dark.png') });
  await page.emulateMedia({ colorScheme: 'light' });

  await dlg.getByRole('button', { name: 'Join', exact: true }).click();
  await expect(dlg).toHaveCount(0, { timeout: 30_000 });
  await expect(page.getByRole('heading', { name: 'join(trips.csv, zones.csv)' })).toBeVisible();
  await expect(page.getByTestId('row-count')).toContainText(`${fmt(innerWant.length)} rows`);
  const matched = new Set(innerWant.map((r) => r[0])).size;
  await expect(page.getByTestId('join-note')).toHaveText(new RegExp(`^Inner join of trips\\.csv with zones\\.csv on zone \\(filtered\\): ${innerWant.length} rows; ${matched} of ${trips.filter((t) => t.fare > 20).length} trips\\.csv rows matched · native hash join · \\d+ ms$`));
  expect(sorted(await resultRows(page, /^join\(trips\.csv, zones\.csv\)/))).toEqual(sorted(innerWant));
  // a dataset like any other: its Summary, then its Table
  await expect(page.getByRole('tab', { name: 'Summary' })).toHaveAttribute('aria-selected', 'true');
  const steps = page.getByRole('list', { name: 'Steps' });
  await expect(steps).toContainText('Join trips with zones on zone (inner) → trips_zones');
  await page.screenshot({ path: path.join(ARTIFACTS, 'join17-result.png') });
  await page.getByRole('tab', { name: 'Table' }).click();
  await expect(page.getByTestId('table-position')).toContainText(fmt(innerWant.length));
  await expect(page.locator('.hcell .hname')).toHaveText(['id', 'zone', 'fare', 'borough']);
  // its first rows, as the file holds them
  await expect(page.locator('.grid-body .grid-row').first().locator('[role=gridcell]').first()).not.toHaveText('');
  const grid = await page.locator('.grid-body .grid-row').evaluateAll((rs) =>
    rs.map((r) => ({ i: Number(r.getAttribute('aria-rowindex')), cells: [...r.querySelectorAll('[role=gridcell]')].map((c) => c.textContent!.trim()) })).sort((a, b) => a.i - b.i).slice(0, 5).map((r) => r.cells));
  expect(grid).toEqual((await resultRows(page, /^join\(trips\.csv, zones\.csv\)/)).slice(0, 5).map((r) => r.map((v) => String(v))));
  await page.screenshot({ path: path.join(ARTIFACTS, 'join17-result-table.png') });

  // Ctrl+Z: the joined dataset is forgotten, the trips shown again (still filtered)
  await unfocus(page);
  await page.keyboard.press('Control+z');
  await expect(page.getByRole('option', { name: /^join\(trips/ })).toHaveCount(0, { timeout: 30_000 });
  await expect(page.getByRole('heading', { name: 'trips.csv' })).toBeVisible();
  await expect(steps.locator('li.undone')).toHaveCount(1);

  // from the keyboard: Ctrl+J, a search, the arrow key, left, the filter off, Enter
  await unfocus(page);
  await page.keyboard.press('Control+j');
  await expect(dlg).toBeVisible();
  await page.keyboard.type('zones');
  await expect(choices).toHaveCount(1);
  await page.keyboard.press('ArrowDown');
  await expect(zonesChoice).toHaveAttribute('aria-selected', 'true');
  await expect(dlg.getByLabel('Left key 1')).toHaveValue('zone');
  await dlg.getByRole('radio', { name: /Left/ }).press('Space');
  await expect(dlg.getByRole('radio', { name: /Left/ })).toBeChecked();
  await useFilter.uncheck();
  await dlg.getByLabel('Search datasets to join').press('Enter');
  await expect(dlg).toHaveCount(0, { timeout: 30_000 });
  await expect(page.getByTestId('row-count')).toContainText(`${fmt(leftWant.length)} rows`);
  await expect(page.getByTestId('join-note')).toContainText(`Left join of trips.csv with zones.csv on zone: ${leftWant.length} rows`);
  const left = await resultRows(page, /^join\(trips\.csv, zones\.csv\)/);
  expect(sorted(left)).toEqual(sorted(leftWant));
  // the unmatched trips (zones C and D, and a null zone): the zone's columns null
  const unmatched = left.filter((r) => r[1] === null || r[1] === 'C' || r[1] === 'D');
  expect(unmatched.length).toBe(trips.filter((t) => t.zone === null || t.zone === 'C' || t.zone === 'D').length);
  expect(unmatched.every((r) => r[3] === null)).toBe(true);
  // the Unicode key joined
  expect(left.filter((r) => r[1] === 'Zürich').every((r) => r[3] === 'Zürich Stadt')).toBe(true);
  // the undone inner join was dropped from the list: a new step after an undo
  await expect(steps.locator('li.undone')).toHaveCount(0);
  // (under the name the undone join had: it is free again)
  await expect(steps.locator('li').last()).toHaveText(/Join trips with zones on zone \(left\) → trips_zones$/);

  // keys whose types differ: said in the dialog, and refused by the engine in its words
  await page.getByRole('listbox', { name: 'Datasets', exact: true }).getByRole('option', { name: /^trips\.csv/ }).click();
  await page.getByRole('button', { name: 'Join…' }).click();
  await zonesChoice.click();
  await expect(dlg.getByLabel('Right key 1')).toHaveValue('zone');
  await dlg.getByLabel('Left key 1').selectOption('fare');
  await expect(dlg.getByTestId('pair-warning')).toHaveText('float64 and string do not compare');
  await dlg.getByRole('button', { name: 'Join', exact: true }).click();
  await expect(dlg.getByTestId('join-error')).toContainText('the key types differ');
  await page.screenshot({ path: path.join(ARTIFACTS, 'join17-error.png') });
  await page.keyboard.press('Escape');
  await expect(dlg).toHaveCount(0);
});

test('a join too large for memory: progress with Cancel, then the engine\'s words', async ({ page }) => {
  test.setTimeout(120_000);
  // the bundled sample (60,000 trips) with itself on shared_ride (a bool): 2.8 billion pairs, more than
  // the engine holds (32 bytes a pair, in at most 40 % of the memory) on a machine under 211 GiB
  const t = sampleTable();
  const counts = new Map<unknown, number>();
  for (const v of t.getChild('shared_ride')!) if (v !== null) counts.set(v, (counts.get(v) ?? 0) + 1);
  const pairs = [...counts.values()].reduce((a, n) => a + n * n, 0);
  test.skip(pairs * 32 <= 0.4 * os.totalmem(), `the self-join's ${pairs} pairs fit this machine's memory`);
  await page.goto(server.url);
  await page.getByRole('listbox', { name: 'Datasets', exact: true }).getByRole('option', { name: /^trips\.arrow/ }).click();
  await expect(page.getByTestId('row-count')).toContainText('60,000 rows');
  await page.getByRole('button', { name: 'Join…' }).click();
  const dlg = page.getByRole('dialog', { name: /Join trips\.arrow with/ });
  await dlg.getByRole('listbox', { name: 'Datasets to join with' }).getByRole('option', { name: /^trips\.arrow \(this dataset\)/ }).click();
  // (every column has its namesake: the first one that can be a key is offered)
  await expect(dlg.getByLabel('Right key 1')).toHaveValue('trip_id');
  await dlg.getByLabel('Left key 1').selectOption('shared_ride');
  await dlg.getByLabel('Right key 1').selectOption('shared_ride');
  await dlg.getByRole('button', { name: 'Join', exact: true }).click();
  await expect(dlg.getByRole('progressbar', { name: 'Join progress' })).toBeVisible();
  await page.screenshot({ path: path.join(ARTIFACTS, 'join17-progress.png') });
  await dlg.getByRole('button', { name: 'Cancel' }).click();
  await expect(dlg.getByText('Cancelled.')).toBeVisible({ timeout: 30_000 });
  await expect(dlg.getByTestId('join-error')).toHaveCount(0);
  // again, to the end: refused, naming the limit
  await dlg.getByRole('button', { name: 'Join', exact: true }).click();
  await expect(dlg.getByTestId('join-error')).toContainText(/more than [\d,]+ result rows \(the limit held in memory/, { timeout: 90_000 });
  await page.screenshot({ path: path.join(ARTIFACTS, 'join17-too-large.png') });
});
