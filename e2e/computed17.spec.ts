/**
 * Issue 17's computed columns in Chromium against web mode on the bundled sample
 * (resources/sample/trips.arrow: 60,000 trips). Two columns are added in the column editor —
 * fare_per_km = fare / distance_km (a float) and label = upper(borough) || ' ' || coalesce(payment, '?')
 * (text) — and every place a user meets them is checked against the same values computed here over
 * the file read with apache-arrow: the Summary's min, max and mean; the Table's first rows; a filter
 * chip's count; the Plot's column menus; the Group view's groups and counts; an Arrow export read
 * back. Then an edit (the values change), a bad expression (the error with a caret, Add disabled),
 * removal (gone from the Summary, the Table, the Plot's menus), and the workspace's undo and redo
 * (Ctrl+Z brings a removed column back). The editor is reached from the Summary's + Column, the
 * Table's header + and Ctrl+Shift+E (View › Add Column… in the desktop menu); its keys: Enter in the
 * name goes to the expression, Ctrl+Enter saves, Escape closes. Screenshots of the editor (empty,
 * valid, an error; light and dark) and of the Summary go to e2e/artifacts/computed17-*.png.
 */
import { test, expect, type Page } from '@playwright/test';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { ARTIFACTS } from './server';
import { chips, fmt, openSample, sampleServer, sampleTable } from './sample';

const host = sampleServer();
const dir = mkdtempSync(path.join(os.tmpdir(), 'cdx-e2e-computed-'));

const RATIO = 'fare / distance_km';
const LABEL = "upper(borough) || ' ' || coalesce(payment, '?')";

/** the two columns computed here, row by row, from the file as apache-arrow reads it */
const oracle = (() => {
  const t = sampleTable();
  const fare = t.getChild('fare')!, dist = t.getChild('distance_km')!, bo = t.getChild('borough')!, pay = t.getChild('payment')!;
  const ratio: (number | null)[] = [], label: (string | null)[] = [];
  for (let i = 0; i < t.numRows; i++) {
    const f = fare.get(i) as number | null, d = dist.get(i) as number | null;
    ratio.push(f === null || d === null || d === 0 ? null : f / d);
    const b = bo.get(i) as string | null;
    label.push(b === null ? null : `${b.toUpperCase()} ${(pay.get(i) as string | null) ?? '?'}`);
  }
  return { ratio, label };
})();

function stats(xs: (number | null)[]) {
  let min = Infinity, max = -Infinity, sum = 0, n = 0;
  for (const x of xs) {
    if (x === null || Number.isNaN(x)) continue;
    min = Math.min(min, x);
    max = Math.max(max, x);
    sum += x;
    n++;
  }
  return { min, max, mean: sum / n };
}

const editor = (page: Page) => page.getByRole('dialog', { name: /computed column/ });
const summaryRow = (page: Page, name: string) => page.locator(`table.summary tr[data-column="${name}"]`);
/** keys go to the window, not a text field */
const unfocus = (page: Page) => page.locator('.ds-head .title').first().click();
const value = async (page: Page, stat: string, name: string) => Number(await page.getByTestId(`${stat}-${name}`).getAttribute('data-value'));
const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));

async function addColumn(page: Page, name: string, expr: string, type: RegExp) {
  await page.getByRole('button', { name: '+ Column' }).click();
  const dlg = editor(page);
  await expect(dlg).toBeVisible();
  await expect(dlg.getByLabel('Name')).toBeFocused();
  await dlg.getByLabel('Name').fill(name);
  await dlg.getByLabel('Name').press('Enter'); // to the expression, not a submit
  await expect(dlg.getByLabel('Expression')).toBeFocused();
  await page.keyboard.type(expr);
  await expect(dlg.getByTestId('computed-type')).toHaveText(type);
  await page.keyboard.press('Control+Enter');
  await expect(dlg).toHaveCount(0);
  await expect(summaryRow(page, name)).toBeVisible();
}

/** the Table's cells of one column, first rows on screen, as texts (once the rows are in) */
async function tableColumn(page: Page, name: string): Promise<string[]> {
  await expect(page.locator('.grid-body .grid-row').first()).toBeVisible();
  await expect(page.locator('.grid-body .loading')).toHaveCount(0);
  const head = await page.getByRole('columnheader').allInnerTexts();
  const i = head.findIndex((h) => h.split('\n')[0]!.replace(/[▲▼]/g, '') === name) - 1; // the row-number header first
  expect(i, `${name} among ${head.join(' | ')}`).toBeGreaterThanOrEqual(0);
  const read = () => page.locator('.grid-body .grid-row').evaluateAll((rs, i) => rs.map((r) => r.querySelectorAll('[role=gridcell]')[i]?.textContent?.trim() ?? ''), i);
  await expect.poll(async () => (await read()).slice(0, 5).every((t) => t !== '' && t !== 'null'), 'the first rows of ' + name).toBe(true);
  return read();
}

test('computed columns: summary, table, filter, plot, group, export, edit, errors, remove, undo and redo', async ({ page }) => {
  test.setTimeout(180_000);
  await openSample(page, host);

  // the editor, empty (light and dark)
  await page.getByRole('button', { name: '+ Column' }).click();
  await expect(editor(page)).toBeVisible();
  await expect(editor(page).getByRole('button', { name: 'Add' })).toBeDisabled();
  const box = await editor(page).boundingBox();
  expect(box!.y + box!.height, 'the dialog fits a 1280×800 window').toBeLessThanOrEqual(800);
  await page.screenshot({ path: path.join(ARTIFACTS, 'computed17-editor-empty.png') });
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.screenshot({ path: path.join(ARTIFACTS, 'computed17-editor-empty-dark.png') });
  await page.emulateMedia({ colorScheme: 'light' });
  await page.keyboard.press('Escape');
  await expect(editor(page)).toHaveCount(0);

  // fare_per_km: its summary against the file
  await addColumn(page, 'fare_per_km', RATIO, /float64/);
  const want = stats(oracle.ratio);
  await expect(page.getByTestId('mean-fare_per_km')).toHaveAttribute('data-value', /\d/, { timeout: 30_000 });
  expect(close(await value(page, 'min', 'fare_per_km'), want.min), 'min').toBe(true);
  expect(close(await value(page, 'max', 'fare_per_km'), want.max), 'max').toBe(true);
  expect(close(await value(page, 'mean', 'fare_per_km'), want.mean), `mean ${await value(page, 'mean', 'fare_per_km')} vs ${want.mean}`).toBe(true);
  await expect(summaryRow(page, 'fare_per_km').getByRole('button', { name: 'Edit the computed column fare_per_km' })).toBeVisible();

  // label: text, its min and max by the file's values
  await addColumn(page, 'label', LABEL, /string/);
  const labels = oracle.label.filter((x): x is string => x !== null).sort();
  await expect(page.getByTestId('min-label')).toHaveAttribute('data-value', labels[0]!, { timeout: 30_000 });
  await expect(page.getByTestId('max-label')).toHaveAttribute('data-value', labels.at(-1)!);
  await summaryRow(page, 'label').scrollIntoViewIfNeeded();
  await page.screenshot({ path: path.join(ARTIFACTS, 'computed17-summary.png') });
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.screenshot({ path: path.join(ARTIFACTS, 'computed17-summary-dark.png') });
  await page.emulateMedia({ colorScheme: 'light' });

  // a bad expression: the error with a caret, Add disabled; a type error too; Escape closes
  await page.getByRole('button', { name: '+ Column' }).click();
  await editor(page).getByLabel('Name').fill('bad');
  await editor(page).getByLabel('Expression').fill('fare / * 2');
  await expect(editor(page).locator('.caret')).toContainText('^');
  await expect(editor(page).locator('.check .error')).toBeVisible();
  await expect(editor(page).getByRole('button', { name: 'Add' })).toBeDisabled();
  await page.screenshot({ path: path.join(ARTIFACTS, 'computed17-editor-error.png') });
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.screenshot({ path: path.join(ARTIFACTS, 'computed17-editor-error-dark.png') });
  await page.emulateMedia({ colorScheme: 'light' });
  await editor(page).getByLabel('Expression').fill('fare + borough');
  await expect(editor(page).locator('.check .error')).toBeVisible();
  await expect(editor(page).getByRole('button', { name: 'Add' })).toBeDisabled();
  await editor(page).getByLabel('Expression').fill('round(fare_per_km, 1)');
  await expect(editor(page).getByTestId('computed-type')).toHaveText(/float64/);
  await page.screenshot({ path: path.join(ARTIFACTS, 'computed17-editor-valid.png') });
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.screenshot({ path: path.join(ARTIFACTS, 'computed17-editor-valid-dark.png') });
  await page.emulateMedia({ colorScheme: 'light' });
  // a taken name
  await editor(page).getByLabel('Name').fill('fare');
  await expect(editor(page).getByRole('alert')).toContainText('exists');
  await expect(editor(page).getByRole('button', { name: 'Add' })).toBeDisabled();
  await editor(page).getByLabel('Expression').press('Escape');
  await expect(editor(page)).toHaveCount(0);

  // the Table: its first rows
  await page.getByRole('tab', { name: 'Table' }).click();
  await expect(page.locator('.grid-body .grid-row').first()).toBeVisible();
  await expect(page.locator('.grid-body .loading')).toHaveCount(0);
  const ratios = await tableColumn(page, 'fare_per_km');
  expect(ratios.length).toBeGreaterThan(5);
  ratios.forEach((t, i) => expect(Number(t), `row ${i}`).toBe(oracle.ratio[i]));
  const shownLabels = await tableColumn(page, 'label');
  shownLabels.forEach((t, i) => expect(t, `row ${i}`).toBe(oracle.label[i]));

  // a filter chip on it
  const cut = 4;
  const count = oracle.ratio.filter((x) => x !== null && x > cut).length;
  await page.getByLabel('Filter expression').fill(`fare_per_km > ${cut}`);
  await page.getByLabel('Filter expression').press('Enter');
  await expect(chips(page)).toHaveCount(1);
  await expect(page.getByTestId('filtered-rows')).toHaveText(fmt(count), { timeout: 30_000 });
  await chips(page).first().getByRole('button', { name: /^Remove filter/ }).click();
  await expect(page.getByTestId('row-count')).toContainText('60,000 rows');

  // the Plot: its column menus list it; as y it is drawn
  await page.getByRole('tab', { name: 'Plot' }).click();
  const y = page.getByLabel('y column');
  await expect(y.locator('option', { hasText: 'fare_per_km' })).toHaveCount(1);
  await expect(page.getByLabel('x column').locator('option', { hasText: 'fare_per_km' })).toHaveCount(1);
  await y.selectOption('fare_per_km');
  await expect(page.getByTestId('plot')).toHaveAttribute('data-busy', 'false', { timeout: 30_000 });
  await expect(page.getByTestId('plot')).toHaveAttribute('data-count', '60000', { timeout: 30_000 });
  await page.screenshot({ path: path.join(ARTIFACTS, 'computed17-plot.png') });

  // the Group view: by label, each group's count against the file
  const groups = new Map<string, number>();
  for (const l of oracle.label) groups.set(l ?? 'null', (groups.get(l ?? 'null') ?? 0) + 1);
  await page.getByRole('tab', { name: 'Group' }).click();
  await page.getByLabel('Key 1').selectOption('label');
  await expect(page.getByTestId('group-count')).toHaveText(`${groups.size} groups`, { timeout: 30_000 });
  const rows = await page.getByTestId('group-table').locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent!.trim())));
  expect(rows).toHaveLength(groups.size);
  for (const [k, n] of rows) expect(Number(n!.replace(/,/g, '')), k).toBe(groups.get(k!));

  // export with it: the file read back holds its values
  await page.getByRole('tab', { name: 'Summary' }).click();
  await page.getByRole('button', { name: 'Export…' }).click();
  const dlg = page.getByRole('dialog', { name: /Export trips\.arrow/ });
  await dlg.getByLabel('Format').selectOption('arrow');
  const out = path.join(dir, 'with-computed.arrow');
  await dlg.getByLabel('Output file').fill(out);
  await expect(dlg.getByLabel('Export column fare_per_km')).toBeChecked();
  await dlg.getByRole('button', { name: 'Export', exact: true }).click();
  await expect(dlg.getByRole('status')).toContainText('Wrote 60,000 rows', { timeout: 30_000 });
  const back = tableFromIPC(readFileSync(out));
  expect(back.numRows).toBe(60_000);
  const br = back.getChild('fare_per_km')!, bl = back.getChild('label')!;
  for (let i = 0; i < back.numRows; i++) {
    if (br.get(i) !== oracle.ratio[i]) throw new Error(`exported fare_per_km of row ${i}: ${br.get(i)} vs ${oracle.ratio[i]}`);
    if (bl.get(i) !== oracle.label[i]) throw new Error(`exported label of row ${i}: ${bl.get(i)} vs ${oracle.label[i]}`);
  }
  await page.keyboard.press('Escape');
  if (await dlg.count()) await dlg.getByRole('button', { name: /Close|Cancel/ }).first().click();

  // edit: the values change (the ƒ button; the expression is there, focused)
  await summaryRow(page, 'fare_per_km').getByRole('button', { name: 'Edit the computed column fare_per_km' }).click();
  await expect(editor(page).getByLabel('Expression')).toHaveValue(RATIO);
  await expect(editor(page).getByLabel('Expression')).toBeFocused();
  await editor(page).getByLabel('Expression').fill(`${RATIO} * 2`);
  await editor(page).getByRole('button', { name: 'Save' }).click();
  await expect(editor(page)).toHaveCount(0);
  await expect.poll(() => value(page, 'max', 'fare_per_km'), { timeout: 30_000 }).toBeCloseTo(want.max * 2, 9);

  // undo (Ctrl+Z): the expression before; redo: the edit again
  await unfocus(page);
  await page.keyboard.press('Control+z');
  await expect.poll(() => value(page, 'max', 'fare_per_km'), { timeout: 30_000 }).toBeCloseTo(want.max, 9);
  await expect(page.getByRole('button', { name: 'Redo' })).toBeEnabled();
  await page.keyboard.press('Control+Shift+z');
  await expect.poll(() => value(page, 'max', 'fare_per_km'), { timeout: 30_000 }).toBeCloseTo(want.max * 2, 9);

  // the Steps panel lists the definitions
  const steps = page.getByRole('list', { name: 'Steps' });
  await expect(steps).toContainText('Column fare_per_km of trips = fare / distance_km * 2');
  await expect(steps).toContainText('Column label of trips');

  // remove: gone from the Summary; Ctrl+Z brings it back (as it was last: doubled), redo removes it again
  await summaryRow(page, 'fare_per_km').getByRole('button', { name: 'Edit the computed column fare_per_km' }).click();
  await editor(page).getByRole('button', { name: 'Remove' }).click();
  await expect(editor(page)).toHaveCount(0);
  await expect(summaryRow(page, 'fare_per_km')).toHaveCount(0);
  await expect(steps).toContainText('Remove column fare_per_km of trips');
  await unfocus(page);
  await page.keyboard.press('Control+z');
  await expect(summaryRow(page, 'fare_per_km')).toBeVisible({ timeout: 30_000 });
  await expect.poll(() => value(page, 'max', 'fare_per_km'), { timeout: 30_000 }).toBeCloseTo(want.max * 2, 9);
  await expect(page.getByRole('button', { name: 'Redo' })).toBeEnabled();
  await page.keyboard.press('Control+Shift+z');
  await expect(summaryRow(page, 'fare_per_km')).toHaveCount(0);
  // … and from the Table, the Plot's menus, the Group view's keys
  await page.getByRole('tab', { name: 'Table' }).click();
  await expect(page.getByRole('columnheader', { name: /^label/ })).toHaveCount(1);
  await expect(page.getByRole('columnheader', { name: /^fare_per_km/ })).toHaveCount(0);
  await page.getByRole('tab', { name: 'Plot' }).click();
  await expect(page.getByLabel('y column').locator('option', { hasText: 'fare_per_km' })).toHaveCount(0);
  await page.getByRole('tab', { name: 'Group' }).click();
  await expect(page.getByLabel('Key 1').locator('option', { hasText: 'fare_per_km' })).toHaveCount(0);
});

test('the editor from the Table header and from Ctrl+Shift+E; the new column is in the Table', async ({ page }) => {
  await openSample(page, host);
  await page.getByRole('tab', { name: 'Table' }).click();
  // (once, in a fresh-clone check, the click met the Table's header as its first rows arrived and the
  // editor did not open; clicked again then — the editor is modal, so a second click cannot stack)
  await expect(async () => {
    await page.getByRole('button', { name: 'Add a computed column' }).click();
    await expect(editor(page)).toBeVisible({ timeout: 1500 });
  }).toPass({ timeout: 15_000 });
  await editor(page).getByLabel('Name').fill('tip_share');
  await editor(page).getByLabel('Expression').fill('coalesce(tip, 0) / fare');
  await editor(page).getByLabel('Expression').press('Control+Enter');
  await expect(editor(page)).toHaveCount(0);
  const t = sampleTable();
  const tip = t.getChild('tip')!, fare = t.getChild('fare')!;
  const shown = await tableColumn(page, 'tip_share');
  expect(shown.length).toBeGreaterThan(5);
  shown.forEach((s, i) => expect(Number(s), `row ${i}`).toBe(((tip.get(i) as number | null) ?? 0) / (fare.get(i) as number)));
  // the header stays aligned with the rows (the + clicked at its end scrolled nothing), and the new
  // column, last, is scrolled into view
  expect(await page.locator('.grid-head').evaluate((el) => el.scrollLeft)).toBe(0);
  const head = (await page.getByRole('columnheader', { name: /^tip_share/ }).boundingBox())!;
  const grid = (await page.getByRole('grid', { name: 'Rows' }).boundingBox())!;
  expect(head.x + head.width).toBeLessThanOrEqual(grid.x + grid.width);
  expect(head.x).toBeGreaterThanOrEqual(grid.x);
  await page.screenshot({ path: path.join(ARTIFACTS, 'computed17-table.png') });
  // undone and redone while the Table is shown: the column goes and comes back with its values
  await unfocus(page);
  await page.keyboard.press('Control+z');
  await expect(page.getByRole('columnheader', { name: /^tip_share/ })).toHaveCount(0);
  // (the entry holds the open step too: the dataset's first); a key pressed while the undo is still
  // being restored is dropped by the workspace, so wait until Redo is offered
  await expect(page.getByRole('list', { name: 'Steps' }).locator('li.undone')).toHaveCount(2);
  await expect(page.getByRole('button', { name: 'Redo' })).toBeEnabled();
  await page.keyboard.press('Control+Shift+z');
  await expect(page.getByRole('columnheader', { name: /^tip_share/ })).toHaveCount(1);
  expect(await tableColumn(page, 'tip_share')).toEqual(shown);

  await unfocus(page);
  await page.keyboard.press('Control+Shift+E');
  await expect(editor(page)).toBeVisible();
  await expect(editor(page).getByLabel('Name')).toBeFocused();
  // the focus stays in the dialog: Shift+Tab from the first control goes to the last (Cancel: Add is
  // disabled while empty), Tab from there back to the first
  await page.keyboard.press('Shift+Tab');
  await expect(editor(page).getByRole('button', { name: 'Cancel' })).toBeFocused();
  await page.keyboard.press('Tab');
  await expect(editor(page).getByLabel('Name')).toBeFocused();
  await page.keyboard.press('Escape');
  await expect(editor(page)).toHaveCount(0);

  // renamed from its ƒ in the Summary: the new name with the same values, the old one gone
  await page.getByRole('tab', { name: 'Summary' }).click();
  await summaryRow(page, 'tip_share').getByRole('button', { name: 'Edit the computed column tip_share' }).click();
  await editor(page).getByLabel('Name').fill('tip_ratio');
  await editor(page).getByRole('button', { name: 'Save' }).click();
  await expect(editor(page)).toHaveCount(0);
  await expect(summaryRow(page, 'tip_share')).toHaveCount(0);
  await expect(summaryRow(page, 'tip_ratio')).toBeVisible();
  await page.getByRole('tab', { name: 'Table' }).click();
  expect(await tableColumn(page, 'tip_ratio')).toEqual(shown);
});
