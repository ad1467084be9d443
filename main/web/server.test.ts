/**
 * The web host end to end at the HTTP/WebSocket level: token, Host (DNS rebinding) and Origin
 * guards, no CORS wildcard, and crash isolation (kill the engine mid-call: the call rejects with a
 * clear error, the next call is served by a new engine). Hardening (issue 16) in hardening.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { ForkedEngine } from '../engine/forked';
import { engineEntry } from '../engine/entry';
import { startWebServer, type WebServer } from './server';
import { DownloadSlots } from './downloads';
import { RpcClient, type FramePort } from '../../shared/rpc';
import { ENGINE_STATE_EVENT, type EngineApi, type EngineStateEvent } from '../../shared/api';

let server: WebServer;
let engine: ForkedEngine;
let uploadDir: string;
let downloadDir: string;

/** a browser session: the launch URL's token exchanged for this port's cookie (`name=value`) */
async function session(): Promise<string> {
  const r = await fetch(server.launchUrl(), { redirect: 'manual' });
  return r.headers.get('set-cookie')!.split(';')[0]!;
}

function request(opts: { path?: string; host?: string; headers?: Record<string, string> }): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: server.port, path: opts.path ?? '/', headers: { host: opts.host ?? `127.0.0.1:${server.port}`, ...opts.headers } },
      (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function wsOpen(headers: Record<string, string>): Promise<{ ws?: WebSocket; status?: number }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws`, { headers });
    ws.on('open', () => resolve({ ws }));
    ws.on('unexpected-response', (_req, res) => resolve({ status: res.statusCode }));
    ws.on('error', () => resolve({ status: -1 }));
  });
}

function portOf(ws: WebSocket): FramePort {
  const frames: ((f: Uint8Array) => void)[] = [];
  const closes: ((r: string) => void)[] = [];
  ws.on('message', (d: Buffer) => frames.forEach((l) => l(new Uint8Array(d.buffer, d.byteOffset, d.byteLength))));
  ws.on('close', () => closes.forEach((l) => l('closed')));
  return { send: (f) => ws.send(f), onFrame: (l) => void frames.push(l), onClose: (l) => void closes.push(l), close: () => ws.close() };
}

beforeAll(async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cdx-web-'));
  writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>CDX test</title>');
  mkdirSync(path.join(dir, 'assets'));
  writeFileSync(path.join(dir, 'assets', 'glworker-Ab1_x.js'), 'void 0;');
  writeFileSync(path.join(dir, 'assets', 'index-Ab1_x.js'), 'void 0;');
  const { entry, execArgv } = engineEntry();
  engine = new ForkedEngine({ entry, execArgv });
  engine.start();
  uploadDir = path.join(dir, 'uploads');
  downloadDir = path.join(dir, 'downloads');
  server = await startWebServer({ engine, rendererDir: dir, dataDir: path.join(dir, 'home'), uploadDir, downloadDir, downloadTtlMs: 1500, prefsFile: path.join(dir, 'prefs', 'web-prefs.json') });
});

afterAll(async () => {
  await server?.close();
  await engine?.stop();
});

describe('web host guards', () => {
  const good = () => ({ [`x-cdx-token`]: server.token });

  it('binds loopback by default and prints a URL with a one-time launch token, not the server token', () => {
    expect(server.host).toBe('127.0.0.1');
    expect(server.urlWithToken).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${server.port}/\\?token=[\\w-]{55}$`));
    expect(server.urlWithToken).not.toContain(server.token);
  });

  it('refuses a request without the token, or with a wrong one', async () => {
    expect((await request({})).status).toBe(403);
    expect((await request({ headers: { 'x-cdx-token': 'nope' } })).status).toBe(403);
    expect((await request({ path: '/?token=wrong' })).status).toBe(403);
    expect((await request({ headers: { cookie: `cdx_token_${server.port}=wrong` } })).status).toBe(403);
    // the server's token is a header secret: never accepted in the cookie or the URL
    expect((await request({ headers: { cookie: `cdx_token_${server.port}=${server.token}` } })).status).toBe(403);
    expect((await request({ path: `/?token=${server.token}` })).status).toBe(403);
  });

  it('serves the app with the right token, with a CSP and no CORS wildcard', async () => {
    const r = await request({ headers: good() });
    expect(r.status).toBe(200);
    expect(r.body).toContain('CDX test');
    expect(r.headers['content-security-policy']).toContain("default-src 'self'");
    expect(r.headers['access-control-allow-origin']).toBeUndefined();
    expect((await request({ host: `localhost:${server.port}`, headers: good() })).status).toBe(200);
  });

  it("allows eval only in the plot worker's script (regl), which gets no network; every other response keeps the strict CSP", async () => {
    const w = await request({ path: '/assets/glworker-Ab1_x.js', headers: good() });
    expect(w.status).toBe(200);
    expect(w.headers['content-security-policy']).toBe("default-src 'none'; script-src 'self' 'unsafe-eval'");
    for (const p of ['/', '/assets/index-Ab1_x.js', '/assets/glworker-missing.js', '/assets/glworker-Ab1_x.js/..', '/x/assets/glworker-Ab1_x.js']) {
      const r = await request({ path: p, headers: good() });
      expect(r.headers['content-security-policy'], p).toContain("script-src 'self';");
      expect(r.headers['content-security-policy'], p).not.toContain('unsafe-eval');
    }
  });

  it('exchanges the one-time launch token for a session cookie named after the port, once, and drops it from the address', async () => {
    const launch = new URL(server.launchUrl());
    const r = await request({ path: `/${launch.search}` });
    expect(r.status).toBe(302);
    expect(r.headers.location).toBe('/');
    const cookie = r.headers['set-cookie']![0]!;
    expect(cookie).toMatch(new RegExp(`^cdx_token_${server.port}=[\\w-]{43}; HttpOnly; SameSite=Strict; Path=/$`));
    const value = cookie.split(';')[0]!.split('=')[1]!;
    // the cookie holds a session of its own: neither the launch token nor the server's token
    expect(value).not.toBe(launch.searchParams.get('token'));
    expect(value).not.toBe(server.token);
    expect((await request({ headers: { cookie: cookie.split(';')[0]! } })).status).toBe(200);
    // the session also works in the header (programs given a session)
    expect((await request({ headers: { 'x-cdx-token': value } })).status).toBe(200);
    // a second use of the launch token is refused, and opens no session
    const again = await request({ path: `/${launch.search}` });
    expect(again.status).toBe(403);
    expect(again.body).toMatch(/used already/);
    expect(again.headers['set-cookie']).toBeUndefined();
    // ... unless the browser has its session already: it just goes on, without a new cookie
    const mine = await request({ path: `/${launch.search}`, headers: { cookie: cookie.split(';')[0]! } });
    expect([mine.status, mine.headers['set-cookie']]).toEqual([302, undefined]);
    // a launch token made with another server token, or altered, is refused
    const forged = launch.searchParams.get('token')!.slice(0, -1) + (launch.searchParams.get('token')!.endsWith('A') ? 'B' : 'A');
    expect((await request({ path: `/?token=${forged}` })).status).toBe(403);
    // the launch token itself is not a credential in the header or the cookie
    const fresh = new URL(server.launchUrl()).searchParams.get('token')!;
    expect((await request({ headers: { 'x-cdx-token': fresh } })).status).toBe(403);
    expect((await request({ headers: { cookie: `cdx_token_${server.port}=${fresh}` } })).status).toBe(403);
    expect((await request({ path: `/?token=${fresh}` })).status).toBe(302); // still unused
  });

  it('keeps the sessions of two servers on one host apart (cookies ignore the port)', async () => {
    const other = await startWebServer({ engine, rendererDir: path.dirname(uploadDir), dataDir: path.join(path.dirname(uploadDir), 'home2'), downloadDir });
    try {
      const a = await session();
      const b = (await fetch(other.launchUrl(), { redirect: 'manual' })).headers.get('set-cookie')!.split(';')[0]!;
      expect(a.split('=')[0]).toBe(`cdx_token_${server.port}`);
      expect(b.split('=')[0]).toBe(`cdx_token_${other.port}`);
      // the browser sends both cookies to both servers: each uses its own
      const both = `${a}; ${b}`;
      expect((await fetch(server.url, { headers: { cookie: both } })).status).toBe(200);
      expect((await fetch(other.url, { headers: { cookie: both } })).status).toBe(200);
      // a session of one server is nothing to the other
      expect((await fetch(other.url, { headers: { cookie: `cdx_token_${other.port}=${a.split('=')[1]}` } })).status).toBe(403);
    } finally {
      await other.close();
    }
  });

  it('refuses a foreign Host even with the token (DNS rebinding)', async () => {
    for (const host of ['evil.example', `evil.example:${server.port}`, `localhost.evil.example:${server.port}`, `127.0.0.1.evil.example:${server.port}`, `127.0.0.1:${server.port + 1}`]) {
      expect((await request({ host, headers: good() })).status, host).toBe(403);
    }
  });

  it('stores an upload from the app itself (and only from it) under a fresh folder, and refuses one without the token', async () => {
    const origin = `http://127.0.0.1:${server.port}`;
    const post = (headers: Record<string, string>, body: string) =>
      fetch(`${origin}/upload`, { method: 'POST', headers: { 'x-cdx-filename': encodeURIComponent('../../évil name.csv'), ...headers }, body });
    expect((await post({ 'x-cdx-token': server.token }, 'a,b\n1,2\n')).status).toBe(403); // no Origin
    expect((await post({ 'x-cdx-token': server.token, origin: 'http://evil.example' }, 'x')).status).toBe(403);
    expect((await post({ origin }, 'x')).status).toBe(403); // no token
    const r = await post({ 'x-cdx-token': server.token, origin }, 'a,b\n1,2\n');
    expect(r.status).toBe(200);
    const { path: saved, size } = (await r.json()) as { path: string; size: number };
    expect(path.basename(saved)).toBe('évil name.csv');
    expect(saved.startsWith(uploadDir + path.sep)).toBe(true);
    expect(size).toBe(8);
    expect(readFileSync(saved, 'utf8')).toBe('a,b\n1,2\n');
  });

  it('does not serve files outside the app folder', async () => {
    const r = await request({ path: '/..%2f..%2f..%2fetc%2fpasswd', headers: good() });
    expect(r.body).not.toContain('root:');
  });

  it('refuses a WebSocket from a foreign Origin, without Origin, or without the token', async () => {
    const origin = `http://127.0.0.1:${server.port}`;
    expect((await wsOpen({ ...good(), origin: `http://127.0.0.1.evil.example` })).status).toBe(403);
    expect((await wsOpen({ ...good(), origin: `http://127.0.0.1.evil.example:${server.port}` })).status).toBe(403);
    expect((await wsOpen({ ...good(), origin: `http://localhost.evil.example:${server.port}` })).status).toBe(403);
    expect((await wsOpen({ ...good(), origin: `https://127.0.0.1:${server.port}` })).status).toBe(403);
    expect((await wsOpen({ ...good() })).status).toBe(403);
    expect((await wsOpen({ origin })).status).toBe(403);
    expect((await wsOpen({ ...good(), origin, host: `evil.example:${server.port}` })).status).toBe(403);
    const ok = await wsOpen({ ...good(), origin });
    expect(ok.ws).toBeDefined();
    ok.ws!.close();
  });
});

describe('exports downloaded to the browser', () => {
  const origin = () => `http://127.0.0.1:${server.port}`;
  const prepare = (name: string, headers: Record<string, string> = { 'x-cdx-token': server.token, origin: origin() }) =>
    fetch(`${origin()}/download`, { method: 'POST', headers: { 'x-cdx-filename': encodeURIComponent(name), ...headers } });
  const get = (id: string, headers: Record<string, string> = { 'x-cdx-token': server.token }) => fetch(`${origin()}/download/${id}`, { headers });

  it('prepares a slot only for the app itself, with the token', async () => {
    expect((await prepare('a.csv', { origin: origin() })).status).toBe(403); // no token
    expect((await prepare('a.csv', { 'x-cdx-token': server.token })).status).toBe(403); // no Origin
    expect((await prepare('a.csv', { 'x-cdx-token': server.token, origin: 'http://evil.example' })).status).toBe(403);
    const r = await prepare('../../été report.csv');
    expect(r.status).toBe(200);
    const slot = (await r.json()) as { id: string; path: string; name: string };
    expect(slot.name).toBe('été report.csv');
    expect(path.basename(slot.path)).toBe('été report.csv');
    expect(slot.path.startsWith(downloadDir + path.sep)).toBe(true);
    expect(slot.id).toMatch(/^[\w-]{20,}$/);
  });

  it('serves the written file once, as an attachment with its name and type, and deletes it', async () => {
    const slot = (await (await prepare('été report.csv')).json()) as { id: string; path: string };
    writeFileSync(slot.path, 'a,b\n1,2\n'); // what the engine writes
    expect((await get(slot.id, {})).status).toBe(403); // the token is required
    expect((await get(slot.id, { cookie: `cdx_token_${server.port}=wrong` })).status).toBe(403);
    const r = await get(slot.id, { cookie: await session() });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(r.headers.get('content-disposition')).toBe(`attachment; filename="_t_ report.csv"; filename*=UTF-8''%C3%A9t%C3%A9%20report.csv`);
    expect(r.headers.get('content-length')).toBe('8');
    expect(r.headers.get('access-control-allow-origin')).toBeNull();
    expect(await r.text()).toBe('a,b\n1,2\n');
    await new Promise((res) => setTimeout(res, 50));
    expect(existsSync(slot.path)).toBe(false);
    expect(existsSync(path.dirname(slot.path))).toBe(false);
    const again = await get(slot.id);
    expect(again.status).toBe(404);
    expect(await again.text()).toMatch(/served once/);
  });

  it('gives Parquet and Arrow their content types; an unknown or unwritten slot is 404', async () => {
    for (const [name, type] of [['x.parquet', 'application/vnd.apache.parquet'], ['x.arrow', 'application/vnd.apache.arrow.file'], ['x.csv.gz', 'application/gzip'], ['x.npy', 'application/octet-stream']]) {
      const slot = (await (await prepare(name!)).json()) as { id: string; path: string };
      writeFileSync(slot.path, 'PAR1');
      const r = await get(slot.id);
      expect(r.headers.get('content-type'), name).toBe(type);
      await r.arrayBuffer();
    }
    expect((await get('nope')).status).toBe(404);
    const empty = (await (await prepare('never.csv')).json()) as { id: string; path: string };
    expect((await get(empty.id)).status).toBe(404); // the engine never wrote it (the export failed)
    expect(existsSync(path.dirname(empty.path))).toBe(false);
  });

  it('deletes an abandoned slot at once, and one never fetched after its time', async () => {
    const a = (await (await prepare('a.csv')).json()) as { id: string; path: string };
    writeFileSync(a.path, 'x');
    expect((await fetch(`${origin()}/download/${a.id}`, { method: 'DELETE', headers: { 'x-cdx-token': server.token } })).status).toBe(403); // no Origin
    const del = await fetch(`${origin()}/download/${a.id}`, { method: 'DELETE', headers: { 'x-cdx-token': server.token, origin: origin() } });
    expect(await del.json()).toEqual({ dropped: true });
    expect(existsSync(a.path)).toBe(false);
    expect((await get(a.id)).status).toBe(404);

    const b = (await (await prepare('b.csv')).json()) as { id: string; path: string };
    writeFileSync(b.path, 'x');
    await new Promise((res) => setTimeout(res, 2000)); // the server's downloadTtlMs is 1500
    expect(existsSync(b.path)).toBe(false);
    expect((await get(b.id)).status).toBe(404);
  });

  it('keeps its slots in one private folder, removed with every slot when the host closes', () => {
    expect(readdirSync(downloadDir).length).toBe(1);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cdx-dl-'));
    const slots = new DownloadSlots({ dir });
    const s = slots.create('x.csv');
    writeFileSync(s.path, 'x');
    expect(readdirSync(dir).length).toBe(1);
    slots.close();
    expect(readdirSync(dir)).toEqual([]);
    expect(slots.size).toBe(0);
  });
});

describe('preferences kept on the host', () => {
  it('reads and merges string preferences, set only from the app itself with the token', async () => {
    const origin = `http://127.0.0.1:${server.port}`;
    const put = (body: string, headers: Record<string, string> = { 'x-cdx-token': server.token, origin }) => fetch(`${origin}/prefs`, { method: 'PUT', headers, body });
    expect((await fetch(`${origin}/prefs`)).status).toBe(403);
    expect(await (await fetch(`${origin}/prefs`, { headers: { 'x-cdx-token': server.token } })).json()).toEqual({});
    expect((await put('{"exportDir":"/x"}', { 'x-cdx-token': server.token })).status).toBe(403); // no Origin
    expect((await put('{"exportDir":"/x"}', { origin })).status).toBe(403); // no token
    expect((await put('[1]')).status).toBe(400);
    expect((await put('{"exportDir": 3}')).status).toBe(400);
    expect((await put('{"exportDir":"/data/out"}')).status).toBe(200);
    expect((await put('{"browseDir":"/data/in"}')).status).toBe(200);
    expect(await (await fetch(`${origin}/prefs`, { headers: { 'x-cdx-token': server.token } })).json()).toEqual({ exportDir: '/data/out', browseDir: '/data/in' });
  });
});

describe('crash isolation through the web host', () => {
  it('rejects the call in flight with a clear error when the engine is killed, then serves the next call from a new engine', async () => {
    const { ws } = await wsOpen({ 'x-cdx-token': server.token, origin: `http://127.0.0.1:${server.port}` });
    const client = new RpcClient<EngineApi>(portOf(ws!));
    const states: EngineStateEvent[] = [];
    client.on(ENGINE_STATE_EVENT, (d) => {
      const s = d as EngineStateEvent;
      states.push(s);
      if (s.state === 'crashed') client.failAll({ code: 'E_ENGINE_DIED', message: s.reason ?? 'engine died' });
    });
    const before = await client.api.info({});
    expect(before.pid).toBe(engine.pid);
    const inflight = client.api.ping({ ms: 20_000 });
    await new Promise((r) => setTimeout(r, 200));
    process.kill(before.pid, 'SIGKILL');
    const err = await inflight.then(
      () => null,
      (e) => e,
    );
    expect(err).toMatchObject({ code: 'E_ENGINE_DIED' });
    expect(err.message).toMatch(/killed by SIGKILL/);
    // the next call is served by a new engine process
    let after;
    for (let i = 0; i < 100 && !after; i++) {
      try {
        after = await client.api.info({});
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    expect(after!.pid).not.toBe(before.pid);
    expect(states.map((s) => s.state)).toEqual(expect.arrayContaining(['crashed', 'ready']));
    ws!.close();
  }, 30_000);
});
