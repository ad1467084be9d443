/**
 * The Connections panel's state (connections.svelte.ts, remotebrowse.svelte.ts) against the real
 * engine — its handlers served over the in-memory transport, as the app's window talks to it — and
 * Debian's nginx listing a folder on loopback: an http(s) folder added from the form's fields,
 * tested, browsed down and up, a file the server does not list typed by its path, a server that
 * lists nothing saying so. What is listed must be what the folder on disk holds.
 */
process.env.CDX_NO_KEYCHAIN = '1';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { EngineApi } from '../../shared/api';
import { RpcClient, createMemoryPortPair, serveRpc } from '../../shared/rpc';
import { createEngineHandlers } from '../../main/engine/service';
import { nginxBinary, startNginx, type Served } from '../../main/engine/remote/testing/servers';
import { Connections } from './connections.svelte';
import type { EngineConnection } from './engine.svelte';

const root = mkdtempSync(path.join(os.tmpdir(), 'cdx-panel-'));
const data = path.join(root, 'data');
const handlers = createEngineHandlers({ home: path.join(root, 'home'), samplePath: null });
const [a, b] = createMemoryPortPair();
serveRpc<EngineApi>(handlers, a);
const client = new RpcClient<EngineApi>(b);
const engine = { api: client.api, mode: 'web' } as unknown as EngineConnection;
let nginx: Served, plain: Served;
const skip = !nginxBinary();

beforeAll(async () => {
  if (skip) return;
  mkdirSync(path.join(data, 'daily', '2024'), { recursive: true });
  writeFileSync(path.join(data, 'top.csv'), 'a,b\n1,2\n3,4\n');
  for (let d = 1; d <= 12; d++) writeFileSync(path.join(data, 'daily', `day-${String(d).padStart(2, '0')}.csv`), `a\n${d}\n`);
  writeFileSync(path.join(data, 'daily', '2024', 'x.parquet'), 'not really');
  nginx = await startNginx(data, { autoindex: true });
  plain = await startNginx(data);
});

afterAll(async () => {
  b.close();
  handlers.close();
  await nginx?.stop();
  await plain?.stop();
  rmSync(root, { recursive: true, force: true });
});

const names = (dir: string) => readdirSync(dir).sort((x, y) => {
  const dx = statSync(path.join(dir, x)).isDirectory(), dy = statSync(path.join(dir, y)).isDirectory();
  return dx === dy ? (x < y ? -1 : 1) : dx ? -1 : 1;
});

describe.skipIf(skip)('the Connections panel with an http(s) folder', () => {
  it('adds it from the fields, tests it, browses down and up, and gives the locations to open', async () => {
    const c = new Connections(engine, null);
    c.startAdd('http');
    c.form!.baseUrl = `${nginx.base}`;
    expect(c.formUrl).toBe(`${nginx.base}/`);
    c.form!.baseUrl = `${nginx.base}/daily/../`; // as the URL parser makes it
    await c.testForm();
    expect(c.formTest?.ok).toBe(true);
    expect(c.formTest?.text).toMatch(new RegExp(`^nginx/[\\d.]+ · HTTP 200 · ${readdirSync(data).length} entries listed · \\d+ ms$`));
    c.form!.name = 'Loopback files';
    const saved = await c.save();
    expect(saved).toMatchObject({ url: `${nginx.base}/`, kind: 'http', secret: 'none', name: 'Loopback files' });
    expect(c.list.map((x) => x.url)).toEqual([`${nginx.base}/`]);

    const br = c.browse(c.list[0]!);
    await vi_wait(() => br.loaded);
    expect(br.entries.map((e) => e.name)).toEqual(names(data));
    expect(br.levels.map((l) => l.name)).toEqual(['Loopback files']);
    expect(br.canUp).toBe(false);
    await br.enter(br.entries.find((e) => e.name === 'daily')!);
    expect(br.url).toBe(`${nginx.base}/daily/`);
    expect(br.entries.map((e) => e.name)).toEqual(names(path.join(data, 'daily')));
    expect(br.entries.find((e) => e.name === 'day-03.csv')).toMatchObject({ kind: 'file', format: 'csv', size: statSync(path.join(data, 'daily', 'day-03.csv')).size, path: `${nginx.base}/daily/day-03.csv` });
    await br.enter(br.entries.find((e) => e.name === '2024')!);
    expect(br.levels.map((l) => l.name)).toEqual(['Loopback files', 'daily', '2024']);
    await br.up();
    await br.goTo(0);
    expect(br.url).toBe(`${nginx.base}/`);
    expect(br.entries.map((e) => e.name)).toEqual(names(data));
    // a path typed under the folder
    await br.enter(br.entries.find((e) => e.name === 'daily')!);
    br.typed = '2024/x.parquet';
    expect(br.typedLocation()).toBe(`${nginx.base}/daily/2024/x.parquet`);
    br.typed = '../top.csv';
    expect(br.typedLocation()).toBe(`${nginx.base}/top.csv`);
    // the typed location opens (the engine's own open)
    const ov = await engine.api.open({ location: br.typedLocation()! });
    expect(ov.rows).toBe(2);
    c.closeBrowser();
    expect(c.browser).toBeNull();
    await c.remove(c.list[0]!);
    expect(c.list).toEqual([]);
  });

  it('a server without a directory index: the browse says so, the path can still be typed', async () => {
    const c = new Connections(engine, null);
    c.startAdd('http');
    c.form!.baseUrl = `${plain.base}/daily/`;
    await c.testForm();
    expect(c.formTest?.text).toMatch(/^nginx\/[\d.]+ · HTTP 403 · lists nothing here \(open files by their path\) · \d+ ms$/);
    await c.save();
    const br = c.browse(c.list[0]!);
    await vi_wait(() => br.loaded);
    expect(br.entries).toEqual([]);
    expect(br.error).toBe(`${plain.base}/daily/: the server lists nothing here (HTTP 403: no directory index, or access refused); type the path of a file under it to open it`);
    br.typed = 'day-07.csv';
    expect((await engine.api.open({ location: br.typedLocation()! })).rows).toBe(1);
    await c.remove(c.list[0]!);
  });

  it('bad fields are refused before the engine is asked', async () => {
    const c = new Connections(engine, null);
    c.startAdd('http');
    c.form!.baseUrl = 'ftp://x/';
    expect(await c.save()).toBeNull();
    expect(c.formError).toBe('"ftp://x/" is not an http(s) URL.');
    c.form!.baseUrl = 'http://ana:pw@host/';
    expect(await c.save()).toBeNull();
    expect(c.formError).toMatch(/keeps no user or password/);
  });
});

async function vi_wait(ok: () => boolean, ms = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!ok()) {
    if (Date.now() - t0 > ms) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}
