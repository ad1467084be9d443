/**
 * Starts the real web host the way a user does (`cdx serve --port 0`, the built app) and returns
 * the URL it prints. One per test file; stopped afterwards. Also the page helpers several specs use.
 * The page may use the checkout and the temporary folder (`--root`), where the specs' files are.
 * Each `url` is a fresh one-time launch URL (a launch token opens one browser session; each test
 * has its own browser context): made from the server's token, given as CDX_TOKEN.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from '@playwright/test';
import { mintLaunchToken, newToken } from '../main/web/guard';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const ARTIFACTS = path.join(ROOT, 'e2e', 'artifacts');

export interface RunningServer {
  /** a fresh one-time launch URL each time it is read */
  readonly url: string;
  base: string;
  /** the server's token (the x-cdx-token header) */
  token: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

export async function startServer(extraEnv: Record<string, string> = {}): Promise<RunningServer> {
  const home = mkdtempSync(path.join(os.tmpdir(), 'cdx-e2e-home-'));
  const token = newToken();
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'cdx.mjs'), 'serve', '--port', '0', '--root', ROOT, '--root', os.tmpdir()], {
    cwd: ROOT,
    env: { ...process.env, CDX_HOME: home, CDX_TOKEN: token, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const url = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`cdx serve printed no URL in 30 s.\nstdout: ${out}\nstderr: ${err}`)), 30_000);
    child.stdout!.on('data', (d) => {
      out += d;
      const m = out.match(/(http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+)/);
      if (m) {
        clearTimeout(t);
        resolve(m[1]!);
      }
    });
    child.on('exit', (code) => reject(new Error(`cdx serve exited (${code}).\nstdout: ${out}\nstderr: ${err}`)));
  });
  const u = new URL(url);
  const base = `${u.protocol}//${u.host}`;
  let first: string | null = url;
  return {
    get url() {
      const next = first ?? `${base}/?token=${mintLaunchToken(token)}`;
      first = null;
      return next;
    },
    base,
    token,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Opens a file by typing its path, as a user does. */
export async function openPath(page: Page, p: string): Promise<void> {
  await page.getByLabel('Path to open').fill(p);
  await page.getByLabel('Path to open').press('Enter');
}

/** the plot layer's pixels (device pixels, top row first) */
export async function layerPixels(page: Page): Promise<{ w: number; h: number; data: number[] }> {
  return page.evaluate(() => {
    const c = document.querySelector('[data-testid="plot-canvas"]') as HTMLCanvasElement;
    const t = document.createElement('canvas');
    t.width = c.width;
    t.height = c.height;
    const ctx = t.getContext('2d')!;
    ctx.drawImage(c, 0, 0);
    return { w: t.width, h: t.height, data: Array.from(ctx.getImageData(0, 0, t.width, t.height).data) };
  });
}
