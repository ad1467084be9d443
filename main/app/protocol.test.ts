/**
 * The app protocol's handler (protocol.ts) over a real renderer-like folder on disk: what it serves
 * and with which headers, what it refuses (traversal spelled every way, Windows drive letters and
 * UNC paths, NUL, backslashes, other hosts, links out of the root), and that its CSPs are the ones
 * web mode sends (the real web host, main/web/server.ts, asked over HTTP on loopback).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { readFile, realpath } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { APP_INDEX_URL, PAGE_CSP, PLOT_WORKER_CSP, appHeaders, createAppProtocolHandler, resolveAppUrl } from './protocol';
import { startWebServer, type WebServer } from '../web/server';
import { ForkedEngine } from '../engine/forked';
import { engineEntry } from '../engine/entry';

let dir: string;
let root: string;
let handle: ReturnType<typeof createAppProtocolHandler>;

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'cdx-proto-'));
  root = path.join(dir, 'renderer');
  mkdirSync(path.join(root, 'assets'), { recursive: true });
  writeFileSync(path.join(root, 'index.html'), '<!doctype html><title>CDX</title>');
  writeFileSync(path.join(root, 'assets', 'index-Ab1_x.js'), 'void 0;');
  writeFileSync(path.join(root, 'assets', 'glworker-Ab1_x.js'), 'void 1;');
  writeFileSync(path.join(root, 'assets', 'index-Ab1_x.css'), 'body{}');
  writeFileSync(path.join(root, 'icon.svg'), '<svg/>');
  // a sibling folder whose name starts like the root's, and a secret beside the root
  mkdirSync(path.join(dir, 'renderer-evil'));
  writeFileSync(path.join(dir, 'renderer-evil', 'index.html'), 'evil');
  writeFileSync(path.join(dir, 'secret.txt'), 'S3CRET-BYTES');
  symlinkSync(path.join(dir, 'secret.txt'), path.join(root, 'assets', 'link.txt'));
  handle = createAppProtocolHandler({ root, fs: { readFile, realpath } });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const get = async (url: string, method = 'GET') => {
  const r = await handle({ url, method });
  return { status: r.status, headers: Object.fromEntries(r.headers), body: await r.text() };
};

describe('app protocol: what it serves', () => {
  it('serves index.html (also for the bare origin) with the page CSP, nosniff and no caching', async () => {
    for (const url of [APP_INDEX_URL, 'cdx-app://app/', 'cdx-app://app']) {
      const r = await get(url);
      expect(r.status, url).toBe(200);
      expect(r.body).toBe('<!doctype html><title>CDX</title>');
      expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(r.headers['content-security-policy']).toBe(PAGE_CSP);
      expect(r.headers['x-content-type-options']).toBe('nosniff');
      expect(r.headers['cache-control']).toBe('no-store');
    }
  });

  it('serves scripts, styles and icons with their types; the plot worker with its own policy', async () => {
    const js = await get('cdx-app://app/assets/index-Ab1_x.js?v=1#x');
    expect([js.status, js.body, js.headers['content-type'], js.headers['content-security-policy']]).toEqual([200, 'void 0;', 'text/javascript; charset=utf-8', PAGE_CSP]);
    const worker = await get('cdx-app://app/assets/glworker-Ab1_x.js');
    expect([worker.status, worker.body, worker.headers['content-security-policy']]).toEqual([200, 'void 1;', PLOT_WORKER_CSP]);
    expect(worker.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect((await get('cdx-app://app/assets/index-Ab1_x.css')).headers['content-type']).toBe('text/css; charset=utf-8');
    expect((await get('cdx-app://app/icon.svg')).headers['content-type']).toBe('image/svg+xml');
    // a glworker name elsewhere than assets/ is not the worker
    expect(appHeaders('glworker-Ab1_x.js')['content-security-policy']).toBe(PAGE_CSP);
    expect(appHeaders('assets/x.bin')['content-type']).toBe('application/octet-stream');
  });

  it('HEAD has the headers and no body; other methods are refused', async () => {
    const h = await get(APP_INDEX_URL, 'HEAD');
    expect([h.status, h.body, h.headers['content-security-policy']]).toEqual([200, '', PAGE_CSP]);
    expect((await get(APP_INDEX_URL, 'POST')).status).toBe(405);
  });

  it('answers 404 for a name that does not exist or is a folder, without falling back to index.html', async () => {
    const r = await get('cdx-app://app/assets/nope.js');
    expect(r.status).toBe(404);
    expect(r.body).not.toContain('<title>');
    expect((await get('cdx-app://app/assets')).status).toBe(404);
  });
});

describe('app protocol: what it refuses', () => {
  const refused = [
    'cdx-app://app/%2e%2e/secret.txt',
    'cdx-app://app/assets/%2E%2E%2F%2E%2E%2Fsecret.txt',
    'cdx-app://app/..%2fsecret.txt',
    'cdx-app://app/%2e%2e%2f%2e%2e%2fetc%2fpasswd',
    'cdx-app://app/..%5csecret.txt',
    'cdx-app://app/%5c%5cserver%5cshare%5cx.txt',
    'cdx-app://app/assets\\..\\..\\secret.txt',
    'cdx-app://app//server/share/x.txt',
    'cdx-app://app/C:/Windows/win.ini',
    'cdx-app://app/C%3A%5CWindows%5Cwin.ini',
    'cdx-app://app/%2Fetc%2Fpasswd',
    'cdx-app://app/index.html%00.js',
    'cdx-app://app/.env',
    'cdx-app://app/%',
    'cdx-app://app/%E0%A4%A',
    'cdx-app://app.evil/index.html',
    'cdx-app://evil/index.html',
    'cdx-app://user@app/index.html',
    'cdx-app://app:8080/index.html',
    'file:///etc/passwd',
    'http://app/index.html',
    'not a url',
    '',
  ];
  for (const url of refused) {
    it(`refuses ${JSON.stringify(url)}`, async () => {
      const r = await get(url);
      expect(r.status).toBeGreaterThanOrEqual(400);
      expect(r.status).toBeLessThan(500);
      expect(r.body).not.toContain('S3CRET');
      expect(r.body).not.toContain('evil');
      expect(r.headers['x-content-type-options']).toBe('nosniff');
    });
  }

  it('traversal that the URL parser itself resolves stays inside the root', async () => {
    // `..` and `%2e%2e` segments are dot segments to the URL standard: they are resolved against the
    // root's top, never above it
    for (const url of ['cdx-app://app/../secret.txt', 'cdx-app://app/assets/../../../secret.txt', 'cdx-app://app/%2e%2e/%2e%2e/secret.txt', 'cdx-app://app/../renderer-evil/index.html']) {
      const r = resolveAppUrl(url, root);
      if (r.ok) expect(r.file.startsWith(root + path.sep), url).toBe(true);
      const got = await get(url);
      expect(got.body, url).not.toContain('S3CRET');
      expect(got.body, url).not.toBe('evil');
    }
  });

  it('a NUL or other control at the end, or a lone %2e segment, is dropped by the URL parser: the page, nothing else', async () => {
    for (const url of ['cdx-app://app/index.html\u0000', 'cdx-app://app/%2e', 'cdx-app://app/assets/%2e/..']) {
      const r = await get(url);
      expect([r.status, r.body], url).toEqual([200, '<!doctype html><title>CDX</title>']);
    }
  });

  it('refuses a link inside the build that leads out of it', async () => {
    const r = await get('cdx-app://app/assets/link.txt');
    expect(r.status).toBe(403);
    expect(r.body).not.toContain('S3CRET');
  });

  it('resolves inside a Windows root (drive letter or UNC) and refuses Windows spellings', () => {
    for (const winRoot of ['C:\\Program Files\\CDX\\resources\\app.asar\\out\\renderer', '\\\\server\\share\\cdx\\out\\renderer']) {
      const ok = resolveAppUrl('cdx-app://app/assets/index-Ab1_x.js', winRoot, path.win32);
      expect(ok).toEqual({ ok: true, rel: 'assets/index-Ab1_x.js', file: path.win32.join(winRoot, 'assets', 'index-Ab1_x.js') });
      for (const bad of ['cdx-app://app/C:/Windows/win.ini', 'cdx-app://app/C:%5CWindows', 'cdx-app://app/..%5C..%5Cx', 'cdx-app://app/%5C%5Cevil%5Cshare', 'cdx-app://app/con%3A', 'cdx-app://app/a%00b']) {
        expect(resolveAppUrl(bad, winRoot, path.win32).ok, bad).toBe(false);
      }
    }
  });
});

describe('app protocol: the same policies as web mode', () => {
  let server: WebServer;
  let engine: ForkedEngine;
  beforeAll(async () => {
    // the web host only serves files here: its engine is never started
    const { entry, execArgv } = engineEntry();
    engine = new ForkedEngine({ entry, execArgv });
    server = await startWebServer({ engine, rendererDir: root, uploadDir: path.join(dir, 'up'), downloadDir: path.join(dir, 'down'), prefsFile: path.join(dir, 'prefs.json') });
  });
  afterAll(async () => {
    await server?.close();
    await engine?.stop();
  });

  const webHeaders = (p: string): Promise<http.IncomingHttpHeaders> =>
    new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: server.port, path: p, headers: { 'x-cdx-token': server.token, host: `127.0.0.1:${server.port}` } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.headers));
      });
      req.on('error', reject);
      req.end();
    });

  it('sends the same CSP, content type and nosniff for the page, a script and the plot worker', async () => {
    for (const p of ['/index.html', '/assets/index-Ab1_x.js', '/assets/glworker-Ab1_x.js', '/assets/index-Ab1_x.css']) {
      const web = await webHeaders(p);
      const app = (await handle({ url: `cdx-app://app${p}` })).headers;
      expect(app.get('content-security-policy'), p).toBe(web['content-security-policy']);
      expect(app.get('content-type'), p).toBe(web['content-type']);
      expect(app.get('x-content-type-options'), p).toBe(web['x-content-type-options']);
    }
    expect((await webHeaders('/assets/glworker-Ab1_x.js'))['content-security-policy']).toBe(PLOT_WORKER_CSP);
  });
});
