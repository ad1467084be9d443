/**
 * Issue 17's workspace in Chromium against web mode: a filter and a plot setting become steps in
 * the Steps panel; Ctrl+Z undoes them (the chip and the plot's column go back), Ctrl+Shift+Z and
 * Ctrl+Y redo them; Save downloads a .cdx file; after a reload, Open restores the chip, the plot's
 * column and the tab; `cdx run` of the saved file writes the rows the app's filter shows (their
 * count in the app, their ids as computed here from the generated file). Screenshots of the Steps
 * panel (light and dark) go to e2e/artifacts/.
 */
import { test, expect } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ARTIFACTS, ROOT, openPath, startServer, type RunningServer } from './server';

const dir = mkdtempSync(path.join(os.tmpdir(), 'cdx-e2e-workspace-'));
const FILE = path.join(dir, 'points.csv');
const N = 500;
const rows = Array.from({ length: N }, (_, i) => ({ id: i, x: ((i * 7919) % 1000) / 10, y: ((i * 104729) % 997) / 7, s: ['north', 'south', 'east', 'west'][i % 4]! }));
const want = rows.filter((r) => r.x > 60 && r.s !== 'east').map((r) => r.id);
let server: RunningServer;

test.beforeAll(async () => {
  writeFileSync(FILE, 'id,x,y,s\n' + rows.map((r) => `${r.id},${r.x},${r.y},${r.s}`).join('\n') + '\n');
  server = await startServer();
});
test.afterAll(async () => {
  await server?.stop();
});

test('steps, undo and redo, save, reopen after a reload, and cdx run of the saved file', async ({ page }) => {
  test.setTimeout(120_000);
  await page.goto(server.url);
  await openPath(page, FILE);
  await expect(page.getByTestId('row-count')).toContainText(`${N} rows`);
  const steps = page.getByRole('list', { name: 'Steps' });
  await expect(steps).toContainText('Open');

  // a filter: one step
  await page.getByLabel('Filter expression').fill('x > 60 and s != "east"');
  await page.getByLabel('Filter expression').press('Enter');
  await expect(page.getByTestId('filtered-rows')).toHaveText(want.length.toLocaleString('en-US'));
  await expect(steps).toContainText('Filter points: x > 60 and s != "east"');

  // a plot setting: one step once it rests
  await page.getByRole('tab', { name: 'Plot' }).click();
  const yCol = page.getByLabel('y column');
  await expect(yCol).toHaveValue('x');
  await expect(page.getByTestId('plot')).toHaveAttribute('data-busy', 'false', { timeout: 30_000 });
  await yCol.selectOption('y');
  await expect(steps).toContainText('Plot points: id × y', { timeout: 10_000 });
  const listed = await steps.locator('li').allInnerTexts();
  expect(listed.map((t) => t.replace(/^\d+\s*/, ''))).toEqual(['Open points.csv as points', 'Filter points: x > 60 and s != "east"', 'Show Plot of points', 'Plot points: id × y']);

  // undo: the plot's column, then the tab, then the chip go back
  await page.locator('body').click({ position: { x: 5, y: 790 } });
  await page.keyboard.press('Control+z');
  await expect(yCol).toHaveValue('x');
  await page.keyboard.press('Control+z');
  await expect(page.getByRole('tab', { name: 'Summary' })).toHaveAttribute('aria-selected', 'true');
  await page.keyboard.press('Control+z');
  await expect(page.getByRole('list', { name: 'Active filters' })).toHaveCount(0);
  await expect(page.getByTestId('row-count')).toContainText(`${N} rows`);
  await expect(steps.locator('li.undone')).toHaveCount(3);
  await page.screenshot({ path: path.join(ARTIFACTS, 'workspace17-undone.png'), clip: (await page.getByRole('region', { name: 'Workspace steps' }).boundingBox())! });
  // redo: Ctrl+Shift+Z, then Ctrl+Y
  await page.keyboard.press('Control+Shift+z');
  await expect(page.getByTestId('filtered-rows')).toHaveText(want.length.toLocaleString('en-US'));
  await page.keyboard.press('Control+y');
  await expect(page.getByRole('tab', { name: 'Plot' })).toHaveAttribute('aria-selected', 'true');
  await page.keyboard.press('Control+y');
  await expect(yCol).toHaveValue('y');
  await expect(steps.locator('li.undone')).toHaveCount(0);
  const panel = page.getByRole('region', { name: 'Workspace steps' });
  await page.screenshot({ path: path.join(ARTIFACTS, 'workspace17-steps.png'), clip: (await panel.boundingBox())! });
  await page.screenshot({ path: path.join(ARTIFACTS, 'workspace17-window.png') });
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.screenshot({ path: path.join(ARTIFACTS, 'workspace17-steps-dark.png'), clip: (await panel.boundingBox())! });
  await page.emulateMedia({ colorScheme: 'light' });

  // save: a .cdx download
  const saved = path.join(dir, 'saved.cdx');
  const download = page.waitForEvent('download');
  await panel.getByRole('button', { name: 'Save…' }).click();
  await (await download).saveAs(saved);
  const ws = JSON.parse(readFileSync(saved, 'utf8'));
  expect(ws).toMatchObject({ cdx: 'workspace', version: 1, views: { dataset: 'points', tab: 'plot' } });
  expect(ws.steps.map((s: { kind: string }) => s.kind)).toEqual(['open', 'filter', 'view', 'plot']);

  // a reload starts a window without steps; opening the file restores the chip, the plot and the tab
  await page.reload();
  await expect(page.getByText('each step is listed here')).toBeVisible();
  await page.getByLabel('Workspace file').setInputFiles(saved);
  await expect(page.getByRole('tab', { name: 'Plot' })).toHaveAttribute('aria-selected', 'true', { timeout: 30_000 });
  await expect(page.getByRole('list', { name: 'Active filters' })).toContainText('x > 60');
  await expect(page.getByTestId('filtered-rows')).toHaveText(want.length.toLocaleString('en-US'));
  await expect(page.getByLabel('y column')).toHaveValue('y');
  await expect(steps.locator('li')).toHaveCount(4);
  // and the restored steps undo like any others
  await page.locator('body').click({ position: { x: 5, y: 790 } });
  await page.keyboard.press('Control+z');
  await expect(page.getByLabel('y column')).toHaveValue('x');
  await page.keyboard.press('Control+y');
  await expect(page.getByLabel('y column')).toHaveValue('y');

  // cdx run of the saved file: the rows the app's filter shows
  const out = path.join(dir, 'out.csv');
  const text = execFileSync(process.execPath, [path.join(ROOT, 'bin', 'cdx.mjs'), 'run', saved, '--out', out], { cwd: ROOT, env: { ...process.env, CDX_HOME: path.join(dir, 'cli-home') }, encoding: 'utf8' });
  expect(text).toContain(`wrote ${want.length} rows of points`);
  const ids = readFileSync(out, 'utf8').trim().split('\n').slice(1).map((l) => Number(l.split(',')[0]));
  expect(ids).toEqual(want);
});
