/**
 * A hung engine as the user sees it (web mode in Chromium): something blocks the engine's event
 * loop (here the test-only call, enabled by CDX_ENGINE_TEST_HOOKS=1, with a short watchdog
 * timeout); the status bar says the engine stopped answering and why, then a new engine serves
 * the page, which keeps working.
 */
import { test, expect } from '@playwright/test';
import WebSocket from 'ws';
import path from 'node:path';
import { RpcClient, type FramePort } from '../shared/rpc';
import type { EngineApi } from '../shared/api';
import { ARTIFACTS, startServer, type RunningServer } from './server';

let server: RunningServer;

test.beforeAll(async () => {
  server = await startServer({ CDX_ENGINE_TEST_HOOKS: '1', CDX_ENGINE_WATCHDOG_MS: '1500' });
});
test.afterAll(async () => {
  await server?.stop();
});

/** A second client of the same web host (another window, as far as the engine knows). */
async function otherClient(): Promise<{ client: RpcClient<EngineApi>; close(): void }> {
  const ws = new WebSocket(`${server.base.replace('http', 'ws')}/ws`, { headers: { 'x-cdx-token': server.token, origin: server.base } });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const frames: ((f: Uint8Array) => void)[] = [];
  const closes: ((r: string) => void)[] = [];
  ws.on('message', (d: Buffer) => frames.forEach((l) => l(new Uint8Array(d.buffer, d.byteOffset, d.byteLength))));
  ws.on('close', () => closes.forEach((l) => l('closed')));
  const port: FramePort = { send: (f) => ws.send(f), onFrame: (l) => void frames.push(l), onClose: (l) => void closes.push(l), close: () => ws.close() };
  return { client: new RpcClient<EngineApi>(port), close: () => ws.close() };
}

test('the engine stops answering: the status bar says so and why, and a new engine serves the page', async ({ page }) => {
  await page.goto(server.url);
  const status = page.getByRole('status', { name: 'Engine status' });
  await expect(status).toContainText('Engine ready');
  const pidText = await status.getByText(/^pid \d+$/).innerText();
  const other = await otherClient();
  // the hung state lasts only until the new engine starts: record what the status bar shows
  await page.evaluate(() => {
    const bar = document.querySelector('[aria-label="Engine status"]')!;
    const seen: string[] = [];
    (window as unknown as { __seen: string[] }).__seen = seen;
    new MutationObserver(() => seen.push(`${bar.getAttribute('data-state')}|${bar.textContent}`)).observe(bar, { attributes: true, childList: true, subtree: true, characterData: true });
  });
  try {
    void other.client.call('testBlockEventLoop', { ms: 60_000 }).catch(() => undefined);
    await expect(status).toContainText(/The engine stopped answering for \d+\.\d s/, { timeout: 10_000 });
    await page.screenshot({ path: path.join(ARTIFACTS, 'engine-hung.png') });
    await expect(status).toContainText('Engine ready', { timeout: 20_000 });
    const seen = await page.evaluate(() => (window as unknown as { __seen: string[] }).__seen);
    expect(seen.some((s) => s.startsWith('hung|') && s.includes('Engine stopped answering — restarting'))).toBe(true);
    await expect(status.getByText(/^pid \d+$/)).not.toHaveText(pidText);
    await expect(status).toContainText(/The engine was restarted \(now pid \d+\)\. The engine stopped answering/);
    await expect(page.getByTestId('row-count')).toContainText('60,000 rows');
  } finally {
    other.close();
  }
});
