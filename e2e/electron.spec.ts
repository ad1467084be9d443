/**
 * The desktop app through Playwright's Electron driver, where an Electron binary exists. On a
 * machine where it cannot be had (its download fails, as on the CI build machine) the test is
 * skipped and says why.
 */
import { test, expect, _electron as electron } from '@playwright/test';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ARTIFACTS, ROOT } from './server';
import { BRIDGE_GLOBAL } from '../shared/bridge';

function electronBinary(): { path?: string; why?: string } {
  const r = spawnSync(process.execPath, ['-e', "process.stdout.write(require('electron'))"], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  if (r.status === 0 && r.stdout && existsSync(r.stdout)) return { path: r.stdout };
  const line = (r.stderr || '').split('\n').filter((l) => /Error|failed/.test(l)).pop();
  return { why: line?.trim() || `exit ${r.status}` };
}

const bin = electronBinary();
const noDisplay = process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY;
if (!bin.path) console.log(`Electron e2e skipped: no Electron binary here (${bin.why}).`);
else if (noDisplay) console.log('Electron e2e skipped: no display (DISPLAY / WAYLAND_DISPLAY unset).');

test('the Electron window shows the sample, a native statistic and a plot, served from its own protocol with a locked-down renderer', async () => {
  test.skip(!bin.path, `no Electron binary here (${bin.why})`);
  test.skip(noDisplay, 'no display for the Electron window');
  const app = await electron.launch({ executablePath: bin.path, args: [ROOT] });
  const win = await app.firstWindow();
  await expect(win.getByRole('status', { name: 'Engine status' })).toContainText('Engine ready', { timeout: 30_000 });
  await expect(win.getByTestId('row-count')).toContainText('60,000 rows');
  await expect(win.getByTestId('max-fare')).toHaveAttribute('data-value', /\d/);
  // the renderer has no Node
  expect(await win.evaluate(() => typeof (globalThis as { require?: unknown }).require)).toBe('undefined');
  // the bridge is exactly shared/bridge.ts's CdxHostBridge (engine state is not on it: it arrives as
  // the contract's event on the window's connection, which the 'Engine ready' above shows works)
  const bridgeKeys = await win.evaluate((name) => Object.keys((globalThis as unknown as Record<string, object>)[name] ?? {}).sort(), BRIDGE_GLOBAL);
  expect(bridgeKeys).toEqual(['initialPaths', 'kind', 'openDialog', 'pathForFile', 'platform', 'reconnect']);
  const prefs = await app.evaluate(({ BrowserWindow }) => {
    const w = BrowserWindow.getAllWindows()[0]!;
    // getLastWebPreferences is in Electron's API but not in every version of its typings
    const wc = w.webContents as unknown as { getLastWebPreferences?: () => Record<string, unknown> };
    const p = wc.getLastWebPreferences?.() ?? {};
    return { contextIsolation: p.contextIsolation, sandbox: p.sandbox, nodeIntegration: p.nodeIntegration };
  });
  expect(prefs).toEqual({ contextIsolation: true, sandbox: true, nodeIntegration: false });
  // served from the app's own protocol, with the same CSP header web mode sends (shared/csp.ts)
  expect(win.url()).toBe('cdx-app://app/index.html');
  const { PAGE_CSP } = await import('../shared/csp');
  const csp = await win.evaluate(async () => (await fetch('cdx-app://app/index.html')).headers.get('content-security-policy'));
  expect(csp).toBe(PAGE_CSP);
  // the plot drew (the worker's own policy lets regl compile there)
  await win.getByRole('tab', { name: 'Plot' }).click();
  await expect(win.getByTestId('plot')).toHaveAttribute('data-busy', 'false', { timeout: 30_000 });
  await expect(win.getByTestId('plot')).not.toHaveAttribute('data-count', '');
  await win.screenshot({ path: path.join(ARTIFACTS, 'app-electron.png') });
  await app.close();
});
