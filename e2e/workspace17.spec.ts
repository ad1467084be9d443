/**
 * Issue 17's workspace in Chromium against web mode: a filter, a plot setting, a table sort and a
 * group-by opened as a dataset become steps in the Steps panel (a change of tab does not); Ctrl+Z
 * undoes them (the chip, the plot's column go back; the group-by's dataset is forgotten), Ctrl+Shift+Z and Ctrl+Y redo them; Save writes a .cdx file on
 * the host (the data beside it by a relative path) or downloads it; after a reload, Open restores
 * the chip, the sort, the plot's column, the groups' dataset and the view, and its steps undo like
 * any others; `cdx run` of the saved file writes the rows the app's filter shows, in the table's
 * order (their count in the app, their ids as computed here from the generated file), and the
 * groups. Screenshots of the Steps panel (light, dark, undone) and the window go to e2e/artifacts/.
 */
import { test, expect, type Page } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ARTIFACTS, ROOT, openPath, startServer, type RunningServer } from './server';

const dir = mkdtempSync(path.join(os.tmpdir(), 'cdx-e2e-workspace-'));
const FILE = path.join(dir, 'points.csv');
const N = 500;
const rows = Array.from({ length: N }, (_, i) => ({ id: i, x: ((i * 7919) % 1000) / 10, y: ((i * 104729) % 997) / 7, s: ['north', 'south', 'east', 'west'][i % 4]! }));
const kept = rows.filter((r) => r.x > 60 && r.s !== 'east');
// the table sorted by x descending (ties by row number)
const want = kept.slice().sort((a, b) => b.x - a.x || a.id - b.id).map((r) => r.id);
const groups = new Map<string, number>();
for (const r of kept) groups.set(r.s, (groups.get(r.s) ?? 0) + 1);
let server: RunningServer;

test.beforeAll(async () => {
  writeFileSync(FILE, 'id,x,y,s\n' + rows.map((r) => `${r.id},${r.x},${r.y},${r.s}`).join('\n') + '\n');
  server = await startServer();
});
test.afterAll(async () => {
  await server?.stop();
});

const shownTexts = async (page: Page) => (await page.getByRole('list', { name: 'Steps' }).locator('li').allInnerTexts()).map((t) => t.replace(/^\d+\s*/, ''));
/** keys go to the window, not a text field */
const unfocus = (page: Page) => page.locator('.placeholder, .ds-head .title').first().click();

test('steps, undo and redo, save on the host, reopen after a reload, and cdx run of the saved file', async ({ page }) => {
  test.setTimeout(180_000);
  await page.goto(server.url);
  await openPath(page, FILE);
  await expect(page.getByTestId('row-count')).toContainText(`${N} rows`);
  const steps = page.getByRole('list', { name: 'Steps' });
  const panel = page.getByRole('region', { name: 'Workspace steps' });
  await expect(steps).toContainText('Open points.csv as points');

  // a filter: one step
  await page.getByLabel('Filter expression').fill('x > 60 and s != "east"');
  await page.getByLabel('Filter expression').press('Enter');
  await expect(page.getByTestId('filtered-rows')).toHaveText(kept.length.toLocaleString('en-US'));
  await expect(steps).toContainText('Filter points: x > 60 and s != "east"');

  // a plot setting: one step once it rests
  await page.getByRole('tab', { name: 'Plot' }).click();
  const yCol = page.getByLabel('y column');
  await expect(yCol).toHaveValue('x');
  await expect(page.getByTestId('plot')).toHaveAttribute('data-busy', 'false', { timeout: 30_000 });
  await yCol.selectOption('y');
  await expect(steps).toContainText('Plot points: id × y', { timeout: 10_000 });
  // (looking at another tab is no step)
  expect(await shownTexts(page)).toEqual(['Open points.csv as points', 'Filter points: x > 60 and s != "east"', 'Plot points: id × y']);

  // undo: the plot's column, then the chip go back
  await unfocus(page);
  await page.keyboard.press('Control+z');
  await expect(yCol).toHaveValue('x');
  await page.keyboard.press('Control+z');
  await expect(page.getByRole('list', { name: 'Active filters' })).toHaveCount(0);
  await expect(page.getByTestId('row-count')).toContainText(`${N} rows`);
  await expect(steps.locator('li.undone')).toHaveCount(2);
  await page.screenshot({ path: path.join(ARTIFACTS, 'workspace17-undone.png'), clip: (await panel.boundingBox())! });
  // redo: Ctrl+Shift+Z, then Ctrl+Y
  await page.keyboard.press('Control+Shift+z');
  await expect(page.getByTestId('filtered-rows')).toHaveText(kept.length.toLocaleString('en-US'));
  await page.keyboard.press('Control+y');
  await expect(page.getByLabel('y column')).toHaveValue('y');
  await expect(steps.locator('li.undone')).toHaveCount(0);
  // the plot's kind: a step; undone, the scatter plot comes back as it was
  await page.getByRole('button', { name: 'Histogram', exact: true }).click();
  await expect(steps).toContainText('Plot points: histogram');
  await expect(page.getByTestId('histogram')).toBeVisible();
  await unfocus(page);
  await page.keyboard.press('Control+z');
  await expect(page.getByRole('button', { name: 'Scatter / density' })).toHaveAttribute('aria-pressed', 'true');
  await expect(page.getByLabel('y column')).toHaveValue('y');
  await page.keyboard.press('Control+y');
  await expect(page.getByRole('button', { name: 'Histogram', exact: true })).toHaveAttribute('aria-pressed', 'true');
  await page.getByRole('button', { name: 'Scatter / density' }).click();
  await expect(page.getByLabel('y column')).toHaveValue('y');

  // the table sorted by x descending (two header clicks in a row: one step)
  await page.getByRole('tab', { name: 'Table' }).click();
  await page.getByRole('button', { name: /^x,/ }).click();
  await expect(page.getByTestId('table-sort')).toContainText('x ↑');
  await page.getByRole('button', { name: /^x,/ }).click();
  await expect(page.getByTestId('table-sort')).toContainText('x ↓');
  await expect(steps).toContainText('Sort points by x descending');

  // the groups by s, opened as a dataset
  await page.getByRole('tab', { name: 'Group' }).click();
  await page.getByLabel('Key 1').selectOption('s');
  await page.getByRole('button', { name: 'Open as dataset' }).click();
  await expect(page.getByTestId('row-count')).toContainText(`${groups.size} rows`, { timeout: 30_000 });
  await expect(steps).toContainText('Group points by s: count() (where x > 60 and s != "east") → points_by_s');
  const before = await shownTexts(page);
  expect(before).toEqual([
    'Open points.csv as points', 'Filter points: x > 60 and s != "east"', 'Plot points: id × y', 'Plot points: histogram', 'Plot points: id × y', 'Sort points by x descending',
    'Group points by s: count() (where x > 60 and s != "east") → points_by_s',
  ]);
  await page.screenshot({ path: path.join(ARTIFACTS, 'workspace17-window.png') });
  await page.screenshot({ path: path.join(ARTIFACTS, 'workspace17-steps.png'), clip: (await panel.boundingBox())! });
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.screenshot({ path: path.join(ARTIFACTS, 'workspace17-steps-dark.png'), clip: (await panel.boundingBox())! });
  await page.emulateMedia({ colorScheme: 'light' });

  // undoing the group-by forgets its dataset; redoing makes it again
  await unfocus(page);
  await page.keyboard.press('Control+z');
  await expect(page.getByRole('option', { name: /points by s/ })).toHaveCount(0, { timeout: 30_000 });
  await expect(page.getByRole('heading', { name: 'points.csv' })).toBeVisible();
  await page.keyboard.press('Control+y');
  await expect(page.getByRole('option', { name: /points by s/ })).toHaveCount(1, { timeout: 30_000 });
  await expect(page.getByRole('heading', { name: /points by s/ })).toBeVisible();
  await expect(steps.locator('li.undone')).toHaveCount(0);

  // save on the host: beside the data, so the data is kept by a relative path
  const saved = path.join(dir, 'saved.cdx');
  await page.keyboard.press('Control+s');
  const dialog = page.getByRole('dialog', { name: 'Save the workspace' });
  await expect(dialog.getByLabel('Workspace path')).toHaveValue(path.join(dir, 'workspace.cdx'));
  await dialog.getByLabel('Workspace path').fill(saved);
  await page.screenshot({ path: path.join(ARTIFACTS, 'workspace17-save-dialog.png') });
  await dialog.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(dialog).toHaveCount(0);
  const ws = JSON.parse(readFileSync(saved, 'utf8'));
  expect(ws).toMatchObject({ cdx: 'workspace', version: 1, views: { dataset: 'points_by_s', tab: 'summary' } });
  expect(ws.steps[0]).toEqual({ kind: 'open', as: 'points', location: 'points.csv' });
  // the view shown when saved is the last step
  expect(ws.steps.map((s: { kind: string }) => s.kind)).toEqual(['open', 'filter', 'plot', 'plot', 'plot', 'sort', 'group', 'view']);
  expect(ws.steps.at(-1)).toEqual({ kind: 'view', tab: 'summary', dataset: 'points_by_s' });
  await expect(panel.getByRole('heading')).toContainText('saved.cdx');
  // saving again over it asks first
  await panel.getByRole('button', { name: 'Save…' }).click();
  await dialog.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(dialog.getByRole('alert')).toContainText('exists');
  await dialog.getByRole('button', { name: 'Replace it' }).click();
  await expect(dialog).toHaveCount(0);
  // or downloaded by the browser
  await panel.getByRole('button', { name: 'Save…' }).click();
  const download = page.waitForEvent('download');
  await dialog.getByRole('button', { name: 'Download instead' }).click();
  const downloaded = path.join(dir, 'downloaded.cdx');
  await (await download).saveAs(downloaded);
  expect(JSON.parse(readFileSync(downloaded, 'utf8')).steps[0]).toEqual({ kind: 'open', as: 'points', location: FILE });

  // a reload starts a window without steps; opening the file restores the views
  await page.reload();
  await expect(page.getByText('each step is listed here')).toBeVisible();
  await unfocus(page);
  await page.keyboard.press('Control+Shift+O');
  const opener = page.getByRole('dialog', { name: 'Open a workspace' });
  // a file chosen in the browser that keeps its data by relative paths: their folder is not known there
  await opener.getByLabel('Workspace file').setInputFiles(saved);
  await expect(opener.getByRole('alert')).toContainText('saved.cdx: its data is kept by a path relative to its folder (points.csv)');
  await opener.getByLabel('Workspace path').fill(saved);
  await opener.getByRole('button', { name: 'Open', exact: true }).click();
  await expect(opener).toHaveCount(0, { timeout: 60_000 });
  await expect(page.getByRole('heading', { name: /points by s/ })).toBeVisible({ timeout: 30_000 });
  await expect(page.getByTestId('row-count')).toContainText(`${groups.size} rows`);
  expect(await shownTexts(page)).toEqual(before);
  await expect(panel.getByRole('alert')).toHaveCount(0);
  await page.getByRole('option', { name: /^points\.csv/ }).click();
  await expect(page.getByRole('list', { name: 'Active filters' })).toContainText('x > 60');
  await expect(page.getByTestId('filtered-rows')).toHaveText(kept.length.toLocaleString('en-US'));
  await page.getByRole('tab', { name: 'Table' }).click();
  await expect(page.getByTestId('table-sort')).toContainText('x ↓');
  // the table's rows as the app shows them (their ids, first column after the row number), for cdx run below
  await expect(page.locator('.grid-body .loading')).toHaveCount(0);
  await expect.poll(async () => page.locator('.grid-body .grid-row').count()).toBeGreaterThan(10);
  const tableIds = (await page.locator('.grid-body .grid-row').evaluateAll((rs) => rs.map((r) => r.querySelectorAll('[role=gridcell]')[0]?.textContent?.trim() ?? ''))).filter(Boolean).map(Number);
  expect(tableIds.length).toBeGreaterThan(10);
  await page.getByRole('tab', { name: 'Plot' }).click();
  await expect(page.getByLabel('y column')).toHaveValue('y');
  // the restored steps undo like any others: the group-by, whose dataset is forgotten (the one made
  // before the reload stays in the catalog: opening a workspace makes its group-bys anew)
  const groupsListed = await page.getByRole('option', { name: /points by s/ }).count();
  await unfocus(page);
  await page.keyboard.press('Control+z');
  await expect(page.getByRole('option', { name: /points by s/ })).toHaveCount(groupsListed - 1, { timeout: 30_000 });
  await expect(page.getByRole('heading', { name: 'points.csv' })).toBeVisible();
  await expect(steps.locator('li.undone')).toHaveCount(1);

  // cdx run of the saved file: the rows the app's filter shows, in the table's order; the groups by default
  const env = { ...process.env, CDX_HOME: path.join(dir, 'cli-home') };
  const out = path.join(dir, 'out.csv');
  const text = execFileSync(process.execPath, [path.join(ROOT, 'bin', 'cdx.mjs'), 'run', saved, '--dataset', 'points', '--out', out], { cwd: ROOT, env, encoding: 'utf8' });
  expect(text).toContain(`wrote ${want.length} rows of points`);
  const outIds = readFileSync(out, 'utf8').trim().split('\n').slice(1).map((l) => Number(l.split(',')[0]));
  expect(outIds).toEqual(want);
  // the rows the app's table showed, in its order
  expect(outIds.slice(0, tableIds.length)).toEqual(tableIds);
  const gout = path.join(dir, 'groups.csv');
  execFileSync(process.execPath, [path.join(ROOT, 'bin', 'cdx.mjs'), 'run', saved, '--out', gout], { cwd: ROOT, env, encoding: 'utf8' });
  const got = readFileSync(gout, 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
  expect(new Map(got.map(([s, c]) => [s!, Number(c)]))).toEqual(groups);
  expect(existsSync(downloaded)).toBe(true);
});

test('a workspace written by hand — a computed column, a filter on it, a join — opens in the app as cdx run replays it', async ({ page }) => {
  test.setTimeout(120_000);
  const labels = path.join(dir, 'labels.csv');
  writeFileSync(labels, 's,label\nnorth,N\nsouth,S\nwest,W\n');
  const file = path.join(dir, 'joined.cdx');
  writeFileSync(file, JSON.stringify({
    cdx: 'workspace', version: 1, steps: [
      { kind: 'open', as: 'points', location: 'points.csv' },
      { kind: 'open', as: 'labels', location: 'labels.csv' },
      { kind: 'column', dataset: 'points', name: 'x2', expr: 'x * 2' },
      { kind: 'filter', dataset: 'points', where: 'x2 > 120' },
      { kind: 'join', as: 'pl', left: 'points', right: 'labels', on: ['s'], how: 'inner' },
      { kind: 'view', tab: 'table', dataset: 'pl' },
    ],
  }));
  await page.goto(server.url);
  await expect(page.getByText('each step is listed here')).toBeVisible();
  await page.getByRole('region', { name: 'Workspace steps' }).getByRole('button', { name: 'Open…' }).click();
  const opener = page.getByRole('dialog', { name: 'Open a workspace' });
  await opener.getByLabel('Workspace path').fill(file);
  await opener.getByRole('button', { name: 'Open', exact: true }).click();
  await expect(opener).toHaveCount(0, { timeout: 60_000 });
  // the joined rows: those with x > 60 whose s has a label (east has none)
  await expect(page.getByTestId('row-count')).toContainText(`${kept.length} rows`, { timeout: 30_000 });
  await expect(page.getByRole('tab', { name: 'Table' })).toHaveAttribute('aria-selected', 'true');
  expect(await shownTexts(page)).toEqual(['Open points.csv as points', 'Open labels.csv as labels', 'Column x2 of points = x * 2', 'Filter points: x2 > 120', 'Join points with labels on s (inner) → pl']);
  await expect(page.getByRole('region', { name: 'Workspace steps' }).getByRole('alert')).toHaveCount(0);
  await page.screenshot({ path: path.join(ARTIFACTS, 'workspace17-joined.png') });

  const out = path.join(dir, 'joined.csv');
  const text = execFileSync(process.execPath, [path.join(ROOT, 'bin', 'cdx.mjs'), 'run', file, '--out', out], { cwd: ROOT, env: { ...process.env, CDX_HOME: path.join(dir, 'cli-home-2') }, encoding: 'utf8' });
  expect(text).toContain(`wrote ${kept.length} rows of pl`);
  const lines = readFileSync(out, 'utf8').trim().split('\n');
  expect(lines[0]).toBe('id,x,y,s,x2,label');
  expect(lines.slice(1).map((l) => Number(l.split(',')[0])).sort((a, b) => a - b)).toEqual(kept.map((r) => r.id));
});
