/**
 * Web mode hardened (issue 16), over real HTTP(S) and WebSockets on loopback with a real engine:
 * every path the page sends stays inside the root folders (symlinks resolved, `..` folded, the
 * data folder's own files never written); a non-loopback address needs TLS or --insecure; uploads
 * have a size limit and a quota and leave nothing when refused or interrupted; slow headers time
 * out; a static file that fails to read is an error answer, not the end of the server; an oversize
 * WebSocket message ends that connection only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { ForkedEngine } from '../engine/forked';
import { engineEntry } from '../engine/entry';
import { exposureWarning, parseSize, startWebServer, type WebServer, type WebServerOptions } from './server';
import { Roots, checkCall } from './confine';
import { RpcClient, type FramePort } from '../../shared/rpc';
import type { EngineApi } from '../../shared/api';
import { encodeFrame } from '../../shared/wire';

let base: string;
let renderer: string;
let dataDir: string;
let rootA: string;
let outside: string;
let engine: ForkedEngine;
const servers: WebServer[] = [];

async function start(opts: Partial<WebServerOptions> = {}): Promise<WebServer> {
  const s = await startWebServer({ engine, rendererDir: renderer, dataDir, downloadDir: path.join(base, 'downloads'), roots: [rootA], ...opts });
  servers.push(s);
  return s;
}

function wsConnect(s: WebServer, extra: WebSocket.ClientOptions = {}): Promise<WebSocket> {
  const scheme = s.secure ? 'wss' : 'ws';
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${scheme}://127.0.0.1:${s.port}/ws`, { headers: { 'x-cdx-token': s.token, origin: `${s.secure ? 'https' : 'http'}://127.0.0.1:${s.port}` }, ...extra });
    ws.on('open', () => resolve(ws));
    ws.on('unexpected-response', (_q, r) => reject(new Error(`status ${r.statusCode}`)));
    ws.on('error', reject);
  });
}

function portOf(ws: WebSocket): FramePort {
  const frames: ((f: Uint8Array) => void)[] = [];
  const closes: ((r: string) => void)[] = [];
  ws.on('message', (d: Buffer) => frames.forEach((l) => l(new Uint8Array(d.buffer, d.byteOffset, d.byteLength))));
  ws.on('close', () => closes.forEach((l) => l('closed')));
  return { send: (f) => ws.send(f), onFrame: (l) => void frames.push(l), onClose: (l) => void closes.push(l), close: () => ws.close() };
}

async function client(s: WebServer): Promise<{ api: RpcClient<EngineApi>['api']; close(): void }> {
  const ws = await wsConnect(s);
  const c = new RpcClient<EngineApi>(portOf(ws));
  return { api: c.api, close: () => ws.close() };
}

/** the rejection of a promise (fails the test when it resolves) */
async function refused(p: Promise<unknown>): Promise<{ code: string; message: string; file?: string }> {
  return p.then(
    (v) => {
      throw new Error(`expected a refusal, got ${JSON.stringify(v)?.slice(0, 200)}`);
    },
    (e) => e,
  );
}

beforeAll(async () => {
  base = mkdtempSync(path.join(os.tmpdir(), 'cdx-harden-'));
  renderer = path.join(base, 'renderer');
  mkdirSync(path.join(renderer, 'assets'), { recursive: true });
  writeFileSync(path.join(renderer, 'index.html'), '<!doctype html><title>CDX test</title>');
  dataDir = path.join(base, 'home');
  rootA = path.join(base, 'rootA');
  outside = path.join(base, 'outside');
  mkdirSync(path.join(rootA, 'sub'), { recursive: true });
  mkdirSync(outside);
  writeFileSync(path.join(rootA, 'data.csv'), 'a,b\n1,x\n2,y\n3,z\n');
  writeFileSync(path.join(outside, 'secret.csv'), 'secret\n42\n');
  writeFileSync(path.join(outside, 'bashrc'), 'echo hello\n');
  symlinkSync(outside, path.join(rootA, 'escape'));
  symlinkSync(path.join(outside, 'secret.csv'), path.join(rootA, 'link.csv'));
  symlinkSync(path.join(outside, 'bashrc'), path.join(rootA, 'out-link.csv'));
  const { entry, execArgv } = engineEntry();
  engine = new ForkedEngine({ entry, execArgv, env: { ...process.env, CDX_HOME: dataDir } });
  engine.start();
});

afterAll(async () => {
  for (const s of servers) await s.close();
  await engine?.stop();
});

describe('the page reaches only the root folders', () => {
  let s: WebServer;
  let c: Awaited<ReturnType<typeof client>>;
  beforeAll(async () => {
    s = await start();
    c = await client(s);
  });
  afterAll(() => c.close());

  const noAccess = (e: { code: string; message: string }, p: string) => {
    expect(e.code).toBe('EACCES');
    expect(e.message).toContain(p);
    expect(e.message).toContain(dataDir);
    expect(e.message).toContain(rootA);
    expect(e.message).toMatch(/--root DIR/);
  };

  it('lists the roots (the data folder and --root), and only inside them; the way up stops at a root', async () => {
    expect(s.roots).toEqual([dataDir, rootA]); // the uploads folder lies in the data folder
    const top = await c.api.browse({});
    expect(top).toMatchObject({ dir: '', parent: null });
    expect(top.entries.map((e) => e.path)).toEqual([dataDir, rootA]);
    const a = await c.api.browse({ dir: rootA });
    expect(a.parent).toBeNull();
    expect(a.entries.map((e) => e.name)).toEqual(expect.arrayContaining(['sub', 'data.csv']));
    expect((await c.api.browse({ dir: path.join(rootA, 'sub') })).parent).toBe(rootA);
    noAccess(await refused(c.api.browse({ dir: outside })), outside);
    noAccess(await refused(c.api.browse({ dir: '/' })), '/');
    noAccess(await refused(c.api.browse({ dir: path.join(rootA, '..', 'outside') })), outside); // `..` folded
    const link = await refused(c.api.browse({ dir: path.join(rootA, 'escape') })); // a link that leaves
    noAccess(link, path.join(rootA, 'escape'));
    expect(link.message).toContain(`(a link to ${outside})`);
    noAccess(await refused(c.api.browse({ dir: os.homedir() })), os.homedir());
  });

  it('opens files inside the roots and refuses the others, `..` escapes and links that leave', async () => {
    const ov = await c.api.open({ location: path.join(rootA, 'data.csv') });
    expect(ov.rows).toBe(3);
    for (const p of [path.join(outside, 'secret.csv'), path.join(rootA, 'link.csv'), path.join(rootA, '..', 'outside', 'secret.csv'), path.join(rootA, 'escape', 'secret.csv'), '/etc/passwd', `${outside}/*.csv`, outside]) {
      noAccess(await refused(c.api.open({ location: p })), path.resolve(p));
    }
    noAccess(await refused(c.api.listInner({ path: path.join(outside, 'secret.csv') })), path.join(outside, 'secret.csv'));
    // PATH::INNER: the file part is checked
    noAccess(await refused(c.api.open({ location: `${path.join(outside, 'secret.csv')}::x` })), outside);
  });

  it('exports inside the roots; never over a file outside them (force or not), through a link, or over the data folder\'s own files', async () => {
    const ov = await c.api.open({ location: path.join(rootA, 'data.csv') });
    const before = readFileSync(path.join(outside, 'bashrc'), 'utf8');
    for (const out of [path.join(outside, 'bashrc'), path.join(rootA, 'out-link.csv'), path.join(rootA, '..', 'outside', 'bashrc'), path.join(rootA, 'escape', 'bashrc'), path.join(os.homedir(), '.bashrc')]) {
      const e = await refused(c.api.exportDataset({ dataset: ov.entry.id, output: out, format: 'csv', force: true }));
      expect(e.code, out).toBe('EACCES');
    }
    expect(readFileSync(path.join(outside, 'bashrc'), 'utf8')).toBe(before);
    for (const out of [path.join(dataDir, 'catalog.sqlite'), path.join(dataDir, 'web-prefs.json'), path.join(dataDir, 'cache', 'x.csv'), dataDir]) {
      const e = await refused(c.api.exportDataset({ dataset: ov.entry.id, output: out, format: 'csv', force: true }));
      expect(e.code, out).toBe('EACCES');
      expect(e.message).toMatch(/the data folder's own file or cache/);
    }
    // reading a file outside through export's `location` is refused as well
    expect((await refused(c.api.exportDataset({ location: path.join(outside, 'secret.csv'), output: path.join(rootA, 'copy.csv'), force: true }))).code).toBe('EACCES');
    expect(existsSync(path.join(rootA, 'copy.csv'))).toBe(false);
    // allowed: inside a root, and a folder of one's own in the data folder
    const r = await c.api.exportDataset({ dataset: ov.entry.id, output: path.join(rootA, 'sub', 'out.csv'), format: 'csv' });
    expect(r.rows).toBe(3);
    expect(readFileSync(path.join(rootA, 'sub', 'out.csv'), 'utf8').trim().split('\n')).toEqual(['a,b', '1,x', '2,y', '3,z']);
    mkdirSync(path.join(dataDir, 'exports'), { recursive: true });
    expect((await c.api.exportDataset({ dataset: ov.entry.id, output: path.join(dataDir, 'exports', 'o.csv'), format: 'csv' })).rows).toBe(3);
  });

  it('an upload lands in a root (it opens), and an export to the browser writes its download slot', async () => {
    const origin = `http://127.0.0.1:${s.port}`;
    const up = await fetch(`${origin}/upload`, { method: 'POST', headers: { 'x-cdx-token': s.token, origin, 'x-cdx-filename': 'up.csv' }, body: 'q\n7\n8\n' });
    const { path: saved } = (await up.json()) as { path: string };
    expect(saved.startsWith(path.join(dataDir, 'uploads') + path.sep)).toBe(true);
    const ov = await c.api.open({ location: saved });
    expect(ov.rows).toBe(2);
    const slot = (await (await fetch(`${origin}/download`, { method: 'POST', headers: { 'x-cdx-token': s.token, origin, 'x-cdx-filename': 'd.csv' } })).json()) as { id: string; path: string };
    expect((await c.api.exportDataset({ dataset: ov.entry.id, output: slot.path, format: 'csv' })).rows).toBe(2);
    expect(await (await fetch(`${origin}/download/${slot.id}`, { headers: { 'x-cdx-token': s.token } })).text()).toBe('q\n7\n8\n');
    // the download folder is for outputs only: not browsed or opened
    expect((await refused(c.api.browse({ dir: path.dirname(slot.path) }))).code).toBe('EACCES');
  });

  it('passes remote locations (http(s), s3, databases) as they are: they are not paths of this host', () => {
    const roots = new Roots({ roots: [rootA] });
    for (const loc of ['https://example.org/data/x.csv', 'http://127.0.0.1:9/a.parquet', 's3://bucket/prefix/*.parquet?endpoint=http%3A%2F%2F127.0.0.1%3A9', 'postgres://u@127.0.0.1:5432/db::public.t', 'postgresql://u@h/db', 'clickhouse://u@h:8123/db::(SELECT 1)']) {
      expect(checkCall(roots, 'open', { location: loc })).toEqual({ params: { location: loc } });
      expect(checkCall(roots, 'exportDataset', { dataset: 'x', output: loc })).toEqual({ params: { dataset: 'x', output: loc } });
    }
    // relative paths are made absolute (from the engine's folder) before the engine sees them
    expect(new Roots({ roots: [rootA], cwd: rootA }).checkLocation('data.csv')).toBe(path.join(rootA, 'data.csv'));
    expect(new Roots({ roots: [rootA], cwd: rootA }).checkLocation('f.h5::/grp/ds')).toBe(path.join(rootA, 'f.h5') + '::/grp/ds');
    expect(checkCall(roots, 'open', { location: 'file:///etc/passwd' })).toMatchObject({ error: { code: 'EACCES' } });
    expect(checkCall(roots, 'open', 'nope')).toMatchObject({ error: { code: 'E_BAD_REQUEST' } });
    // a root that does not exist is an error at start, naming it
    expect(() => new Roots({ roots: [path.join(base, 'missing')] })).toThrow(/missing: no such folder/);
  });

  it('drops a frame it cannot read, and the connection goes on', async () => {
    const ws = await wsConnect(s);
    ws.send(Buffer.from('not a frame at all'));
    ws.send(encodeFrame({ t: 'call', id: 'x', method: 'browse', params: {} }));
    const c2 = new RpcClient<EngineApi>(portOf(ws));
    expect((await c2.api.browse({ dir: rootA })).dir).toBe(rootA);
    ws.close();
  });
});

describe('binding beyond loopback', () => {
  let cert: string;
  let key: string;
  beforeAll(() => {
    execFileSync('openssl', ['version']); // Debian's openssl: the test needs it
    cert = path.join(base, 'cert.pem');
    key = path.join(base, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore' });
  });

  it('refuses a non-loopback address without TLS or --insecure', async () => {
    const e = await refused(start({ host: '0.0.0.0' }));
    expect(e.code).toBe('E_BAD_OPTION');
    expect(e.message).toMatch(/--tls-cert FILE --tls-key FILE.*--insecure/);
  });

  it('serves https with the certificate given: the page, the launch cookie (Secure) and the WebSocket (https Origin only)', async () => {
    const s = await start({ host: '0.0.0.0', tls: { cert: readFileSync(cert), key: readFileSync(key) } });
    expect(s.secure).toBe(true);
    expect(s.urlWithToken).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/\?token=/);
    const get = (p: string, headers: Record<string, string> = {}) =>
      new Promise<{ status: number; headers: http.IncomingHttpHeaders }>((resolve, reject) => {
        https.get({ host: '127.0.0.1', port: s.port, path: p, ca: readFileSync(cert), headers: { host: `127.0.0.1:${s.port}`, ...headers } }, (r) => {
          r.resume();
          resolve({ status: r.statusCode!, headers: r.headers });
        }).on('error', reject);
      });
    expect((await get('/', { 'x-cdx-token': s.token })).status).toBe(200);
    expect((await get('/')).status).toBe(403);
    const launch = await get(new URL(s.launchUrl()).search ? `/${new URL(s.launchUrl()).search}` : '/');
    expect(launch.headers['set-cookie']![0]).toMatch(new RegExp(`^cdx_token_${s.port}=[\\w-]+; HttpOnly; SameSite=Strict; Path=/; Secure$`));
    // plain http on the https port gets no page
    const plain = await fetch(`http://127.0.0.1:${s.port}/`, { headers: { 'x-cdx-token': s.token } }).then((r) => r.status, () => -1);
    expect(plain).not.toBe(200);
    const ws = await wsConnect(s, { ca: readFileSync(cert) });
    ws.close();
    await expect(wsConnect(s, { ca: readFileSync(cert), headers: { 'x-cdx-token': s.token, origin: `http://127.0.0.1:${s.port}` } })).rejects.toThrow(/403/);
  });

  it('with --insecure serves plain http there, and the warning says who can read and overwrite what', async () => {
    const s = await start({ host: '0.0.0.0', insecure: true });
    expect((await fetch(`http://127.0.0.1:${s.port}/`, { headers: { 'x-cdx-token': s.token } })).status).toBe(200);
    const w = exposureWarning('0.0.0.0', false, s.roots);
    expect(w).toMatch(/listening on 0\.0\.0\.0 \(every network interface\) WITHOUT TLS/);
    expect(w).toMatch(/can read every file in, and overwrite every file you may write in:/);
    expect(w).toContain(`  ${dataDir}`);
    expect(w).toContain(`  ${rootA}`);
    expect(exposureWarning('10.0.0.5', true, s.roots)).toMatch(/listening on 10\.0\.0\.5 over TLS\./);
  });
});

describe('uploads, time-outs, static files and WebSocket messages', () => {
  let s: WebServer;
  let uploads: string;
  const origin = () => `http://127.0.0.1:${s.port}`;
  beforeAll(async () => {
    uploads = path.join(base, 'up-limited');
    s = await start({ uploadDir: uploads, maxUploadBytes: 1000, uploadQuotaBytes: 3000, uploadIdleMs: 400, headersTimeoutMs: 400, wsMaxPayload: 4096 });
  });
  const post = (body: string, name = 'u.csv') =>
    fetch(`${origin()}/upload`, { method: 'POST', headers: { 'x-cdx-token': s.token, origin: origin(), 'x-cdx-filename': name }, body });
  const entries = () => readdirSync(uploads);
  const until = async (cond: () => boolean, ms = 5000) => {
    const t = Date.now();
    while (!cond() && Date.now() - t < ms) await new Promise((r) => setTimeout(r, 20));
    return cond();
  };

  it('parses sizes for the flags', () => {
    expect([parseSize('1000'), parseSize('500M'), parseSize('2G'), parseSize('1.5GiB'), parseSize('8k')]).toEqual([1000, 500 * 2 ** 20, 2 * 2 ** 30, 1.5 * 2 ** 30, 8192]);
    expect(() => parseSize('lots')).toThrow(/not a size/);
  });

  it('refuses an upload over the size limit (declared or streamed) and keeps nothing of it', async () => {
    const r = await post('x'.repeat(1001));
    expect(r.status).toBe(413);
    expect(await r.text()).toMatch(/larger than the 1000 bytes an upload may be \(cdx serve --max-upload\)/);
    // no length declared (chunked): cut when the bytes pass the limit
    const chunked = await new Promise<number>((resolve, reject) => {
      const q = http.request({ host: '127.0.0.1', port: s.port, path: '/upload', method: 'POST', headers: { 'x-cdx-token': s.token, origin: origin(), 'x-cdx-filename': 'c.csv', 'transfer-encoding': 'chunked' } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      q.on('error', reject);
      for (let i = 0; i < 20; i++) q.write('y'.repeat(100));
      q.end();
    });
    expect(chunked).toBe(413);
    expect(await until(() => entries().length === 0)).toBe(true);
  });

  it('keeps the uploads folder within its quota', async () => {
    for (let i = 0; i < 3; i++) expect((await post('z'.repeat(900), `q${i}.csv`)).status).toBe(200);
    const r = await post('z'.repeat(900), 'q3.csv');
    expect(r.status).toBe(507);
    expect(await r.text()).toMatch(/more than its quota of 2\.9 KiB/);
    expect(entries().length).toBe(3);
  });

  it('removes the partial file of an upload aborted mid-body, and of one that stalls', async () => {
    const n = entries().length;
    for (const how of ['abort', 'stall'] as const) {
      const q = http.request({ host: '127.0.0.1', port: s.port, path: '/upload', method: 'POST', headers: { 'x-cdx-token': s.token, origin: origin(), 'x-cdx-filename': `${how}.csv`, 'content-length': '50' } });
      q.on('error', () => {});
      q.write('a'.repeat(20));
      // the partial file is there while the body comes
      expect(await until(() => entries().some((d) => existsSync(path.join(uploads, d, `${how}.csv.partial`))))).toBe(true);
      if (how === 'abort') q.destroy();
      // stall: nothing more is sent; the server drops it after uploadIdleMs
      expect(await until(() => entries().length === n)).toBe(true);
      q.destroy();
    }
  });

  it('closes a connection whose headers do not arrive in time', async () => {
    const sock = net.connect(s.port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    sock.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${s.port}\r\n`); // never finished
    const t0 = Date.now();
    let got = '';
    sock.on('data', (d) => (got += d));
    await new Promise((r) => sock.once('close', r));
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(got).toMatch(/^HTTP\/1\.1 408/);
  });

  it('survives a static file that fails to read (500) and one removed while requested', async () => {
    if (existsSync('/proc/self/mem')) {
      // stat says a file; reading it fails (EIO): the old stream error ended `cdx serve`
      symlinkSync('/proc/self/mem', path.join(renderer, 'assets', 'mem.js'));
      const r = await fetch(`${origin()}/assets/mem.js`, { headers: { 'x-cdx-token': s.token } });
      expect(r.status).toBe(500);
      expect(await r.text()).toMatch(/Cannot read \/assets\/mem\.js/);
      unlinkSync(path.join(renderer, 'assets', 'mem.js'));
    }
    // a file made and removed over and over while it is asked for (stat, then open, then read)
    const f = path.join(renderer, 'assets', 'flap.js');
    let flapping = true;
    const flap = (async () => {
      while (flapping) {
        writeFileSync(f, 'void 0;'.repeat(1000));
        await new Promise((r) => setImmediate(r));
        try {
          unlinkSync(f);
        } catch {
          /* gone */
        }
        await new Promise((r) => setImmediate(r));
      }
    })();
    const statuses = new Set<number>();
    for (let i = 0; i < 40; i++) {
      const rs = await Promise.all(Array.from({ length: 10 }, () => fetch(`${origin()}/assets/flap.js`, { headers: { 'x-cdx-token': s.token } }).then(async (r) => (await r.arrayBuffer(), r.status))));
      rs.forEach((x) => statuses.add(x));
    }
    flapping = false;
    await flap;
    expect([...statuses].every((x) => x === 200 || x === 404 || x === 500)).toBe(true);
    expect((await fetch(`${origin()}/`, { headers: { 'x-cdx-token': s.token } })).status).toBe(200);
  });

  it('ends a WebSocket that sends a message over the limit (1009); the server and other connections go on', async () => {
    const other = await wsConnect(s);
    const ws = await wsConnect(s);
    const code = await new Promise<number>((resolve) => {
      ws.on('close', (c) => resolve(c));
      ws.on('error', () => {});
      ws.send(new Uint8Array(8192));
    });
    expect(code).toBe(1009);
    const c = new RpcClient<EngineApi>(portOf(other));
    expect((await c.api.info({})).pid).toBeGreaterThan(0);
    const fresh = await client(s);
    expect((await fresh.api.browse({ dir: rootA })).dir).toBe(rootA);
    fresh.close();
    other.close();
  });
});
