/**
 * The web host: plain Node HTTP + WebSocket, serving the same renderer build as the Electron app and
 * bridging each WebSocket to the forked engine (one connection each). Used where Electron is absent,
 * by the end-to-end tests, and to explore a big remote box from a laptop. Binds 127.0.0.1 unless
 * told otherwise; every request needs the token; Host and Origin are checked (guard.ts).
 */
import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dataHome } from '../engine/paths';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ForkedEngine } from '../engine/forked';
import { DownloadSlots, attachmentHeader, contentTypeOf } from './downloads';
import { PAGE_CSP, PLOT_WORKER_CSP, STATIC_CONTENT_TYPES } from '../../shared/csp';
import {
  TOKEN_COOKIE,
  TOKEN_HEADER,
  allowedHosts,
  hostAllowed,
  newToken,
  originAllowed,
  parseCookies,
  tokensEqual,
} from './guard';

export interface WebServerOptions {
  engine: ForkedEngine;
  rendererDir: string;
  host?: string;
  port?: number;
  token?: string;
  /** extra Host names accepted when bound to a non-loopback address (e.g. the machine's DNS name) */
  extraHosts?: string[];
  /** where files dropped from the browser's machine are stored (default: <data folder>/uploads) */
  uploadDir?: string;
  /** where exports wait to be downloaded to the browser (default: the OS temporary folder) */
  downloadDir?: string;
  /** how long an export waits for its download before it is deleted (default 15 minutes) */
  downloadTtlMs?: number;
  /** the UI's preferences on this host, e.g. the last folders used (default: <data folder>/web-prefs.json) */
  prefsFile?: string;
}

/** at most this many preferences, each a short string: they are folders and names, not data */
const MAX_PREFS = 64;
const MAX_PREF_CHARS = 4096;

export interface WebServer {
  url: string;
  /** the URL with the one-time token parameter: what `cdx serve` prints */
  urlWithToken: string;
  token: string;
  port: number;
  host: string;
  close(): Promise<void>;
}

const TYPES = STATIC_CONTENT_TYPES;

// the page's policy and the plot worker's own (shared/csp.ts: the desktop app's protocol sends the same)
const CSP = PAGE_CSP;
const PLOT_WORKER = /^\/assets\/glworker-[\w-]+\.js$/;

function hostForUrl(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

export async function startWebServer(opts: WebServerOptions): Promise<WebServer> {
  const host = opts.host ?? '127.0.0.1';
  const token = opts.token ?? newToken();
  const root = path.resolve(opts.rendererDir);
  let allowed = new Set<string>();
  const downloads = new DownloadSlots({ dir: opts.downloadDir, ttlMs: opts.downloadTtlMs });

  const forbid = (res: http.ServerResponse, why: string) => {
    res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
    res.end(`Forbidden: ${why}\n`);
  };

  const hasToken = (req: http.IncomingMessage, url: URL): boolean => {
    const header = req.headers[TOKEN_HEADER];
    return (
      tokensEqual(typeof header === 'string' ? header : undefined, token) ||
      tokensEqual(parseCookies(req.headers.cookie)[TOKEN_COOKIE], token) ||
      tokensEqual(url.searchParams.get('token'), token)
    );
  };

  const server = http.createServer((req, res) => {
    if (!hostAllowed(req.headers.host, allowed)) return forbid(res, 'unexpected Host header.');
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      return forbid(res, 'bad request URL.');
    }
    if (!hasToken(req, url)) return forbid(res, 'open the URL printed by `cdx serve` (it carries the access token).');
    if (url.searchParams.has('token')) {
      // swap the one-time URL parameter for a cookie, and drop it from the address bar
      url.searchParams.delete('token');
      res.writeHead(302, {
        'set-cookie': `${TOKEN_COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`,
        location: url.pathname + url.search,
        'cache-control': 'no-store',
      });
      return res.end();
    }
    if (url.pathname === '/upload') return upload(req, res);
    if (url.pathname === '/prefs') return prefs(req, res);
    if (url.pathname === '/download' || url.pathname.startsWith('/download/')) return download(req, res, url.pathname.slice('/download/'.length));
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' });
      return res.end();
    }
    let rel: string;
    try {
      rel = decodeURIComponent(url.pathname);
    } catch {
      return forbid(res, 'bad path.');
    }
    let file = path.resolve(root, '.' + rel);
    if (file !== root && !file.startsWith(root + path.sep)) return forbid(res, 'path outside the app.');
    if (!existsSync(file) || statSync(file).isDirectory()) file = path.join(root, 'index.html');
    if (!existsSync(file)) {
      res.writeHead(500, { 'content-type': 'text/plain' });
      return res.end(`The renderer is not built (${root}). Run \`npm run build\`.\n`);
    }
    const ext = path.extname(file);
    res.writeHead(200, {
      'content-type': TYPES[ext] ?? 'application/octet-stream',
      'content-security-policy': PLOT_WORKER.test(rel) && file !== path.join(root, 'index.html') ? PLOT_WORKER_CSP : CSP,
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
      'cross-origin-opener-policy': 'same-origin',
      'cache-control': ext === '.html' ? 'no-store' : 'private, max-age=3600',
    });
    if (req.method === 'HEAD') return res.end();
    createReadStream(file).pipe(res);
  });

  /**
   * A file dropped from the browser's own machine: streamed into the uploads folder under the data
   * folder (temp name, renamed when complete), then opened like any local file. Same-origin only.
   */
  const upload = (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'POST' });
      return res.end();
    }
    if (!originAllowed(req.headers.origin, allowed)) return forbid(res, 'uploads are accepted from this app only.');
    const raw = String(req.headers['x-cdx-filename'] ?? '');
    let name: string;
    try {
      name = path.basename(decodeURIComponent(raw)).replace(/[^\p{L}\p{N}._ -]/gu, '_').slice(0, 200);
    } catch {
      name = '';
    }
    if (!name || name === '.' || name === '..') {
      res.writeHead(400, { 'content-type': 'text/plain' });
      return res.end('Bad request: the file name is missing.\n');
    }
    const dir = path.join(opts.uploadDir ?? path.join(dataHome(), 'uploads'), randomBytes(6).toString('hex'));
    const final = path.join(dir, name);
    const tmp = final + '.partial';
    mkdirSync(dir, { recursive: true });
    const out = createWriteStream(tmp);
    const fail = (why: string) => {
      out.destroy();
      rmSync(dir, { recursive: true, force: true });
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`Upload failed: ${why}\n`);
      }
    };
    req.on('aborted', () => fail('the upload was interrupted'));
    out.on('error', (e) => fail(e.message));
    req.pipe(out);
    out.on('finish', () => {
      try {
        renameSync(tmp, final);
      } catch (e) {
        return fail((e as Error).message);
      }
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify({ path: final, size: statSync(final).size }));
    });
  };

  /**
   * The UI's preferences (the last folders used), kept on the host rather than in the browser:
   * they name the host's folders, and the page's origin changes with the port (`cdx serve` picks a
   * free one), so the browser's storage would forget them. GET reads them; PUT (from the app's own
   * origin) merges a JSON object of strings into them.
   */
  const prefsFile = opts.prefsFile ?? path.join(dataHome(), 'web-prefs.json');
  const readPrefs = (): Record<string, string> => {
    try {
      const v = JSON.parse(readFileSync(prefsFile, 'utf8')) as unknown;
      return v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).filter(([, x]) => typeof x === 'string')) : {};
    } catch {
      return {};
    }
  };
  const prefs = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'GET') return json(200, readPrefs());
    if (req.method !== 'PUT') {
      res.writeHead(405, { allow: 'GET, PUT' });
      return res.end();
    }
    if (!originAllowed(req.headers.origin, allowed)) return forbid(res, 'preferences are set by this app only.');
    let body = '';
    let tooBig = false;
    req.setEncoding('utf8');
    req.on('data', (d: string) => {
      body += d;
      if (body.length > MAX_PREFS * MAX_PREF_CHARS) {
        tooBig = true;
        req.destroy();
      }
    });
    req.on('end', () => {
      if (tooBig) return;
      let patch: unknown;
      try {
        patch = JSON.parse(body);
      } catch {
        return json(400, { error: 'preferences must be a JSON object' });
      }
      if (!patch || typeof patch !== 'object' || Array.isArray(patch)) return json(400, { error: 'preferences must be a JSON object' });
      const next = readPrefs();
      for (const [k, v] of Object.entries(patch)) {
        if (typeof v !== 'string' || v.length > MAX_PREF_CHARS || k.length > 100) return json(400, { error: `preference "${k.slice(0, 100)}" must be a string of at most ${MAX_PREF_CHARS} characters` });
        next[k] = v;
      }
      if (Object.keys(next).length > MAX_PREFS) return json(400, { error: `at most ${MAX_PREFS} preferences` });
      try {
        mkdirSync(path.dirname(prefsFile), { recursive: true });
        writeFileSync(prefsFile + '.tmp', JSON.stringify(next, null, 1));
        renameSync(prefsFile + '.tmp', prefsFile);
      } catch (e) {
        return json(500, { error: `cannot save the preferences in ${prefsFile}: ${(e as Error).message}` });
      }
      json(200, next);
    });
  };

  /**
   * Exports to the browser's machine (downloads.ts): POST /download (header x-cdx-filename) makes a
   * slot and answers the host path for the engine to write; GET /download/<id> serves the written
   * file once as an attachment and deletes it; DELETE /download/<id> abandons a slot. The token is
   * required as for every route (checked above); POST and DELETE only from the app's own origin.
   */
  const download = (req: http.IncomingMessage, res: http.ServerResponse, id: string) => {
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'POST' && !id) {
      if (!originAllowed(req.headers.origin, allowed)) return forbid(res, 'downloads are prepared by this app only.');
      let name = '';
      try {
        name = decodeURIComponent(String(req.headers['x-cdx-filename'] ?? ''));
      } catch {
        /* a bad escape: refused below */
      }
      if (!name.trim()) return json(400, { error: 'the file name is missing' });
      req.resume(); // no body is expected
      return json(200, downloads.create(name));
    }
    if (req.method === 'DELETE' && id) {
      if (!originAllowed(req.headers.origin, allowed)) return forbid(res, 'downloads are managed by this app only.');
      return json(200, { dropped: downloads.drop(id) });
    }
    if (req.method !== 'GET' || !id) {
      res.writeHead(405, { allow: id ? 'GET, DELETE' : 'POST' });
      return res.end();
    }
    const got = downloads.take(id);
    if (!got) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      return res.end('This download is gone: each export is served once. Export it again.\n');
    }
    res.writeHead(200, {
      'content-type': contentTypeOf(got.name),
      'content-length': String(got.size),
      'content-disposition': attachmentHeader(got.name),
      'content-security-policy': "default-src 'none'; sandbox",
      'x-content-type-options': 'nosniff',
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
    });
    // deleted once the response is over, whether it finished or the browser went away
    res.on('close', () => got.release());
    const stream = createReadStream(got.path);
    stream.on('error', () => res.destroy());
    stream.pipe(res);
  };

  const wss = new WebSocketServer({ noServer: true, maxPayload: 1 << 30 });
  server.on('upgrade', (req, socket, head) => {
    const refuse = () => {
      socket.write('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      socket.destroy();
    };
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      return refuse();
    }
    if (url.pathname !== '/ws') return refuse();
    if (!hostAllowed(req.headers.host, allowed)) return refuse();
    if (!originAllowed(req.headers.origin, allowed)) return refuse();
    if (!hasToken(req, url)) return refuse();
    wss.handleUpgrade(req, socket, head, (ws) => bridge(ws));
  });

  const bridge = (ws: WebSocket) => {
    const port = opts.engine.connect();
    port.onFrame((f) => {
      if (ws.readyState === ws.OPEN) ws.send(f, { binary: true });
    });
    port.onClose(() => ws.close(1011, 'engine connection closed'));
    ws.on('message', (data, isBinary) => {
      if (!isBinary) return;
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer);
      try {
        port.send(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      } catch {
        ws.close(1011, 'engine unavailable');
      }
    });
    ws.on('close', () => port.close());
    // the engine's state reaches the client on this same connection (ForkedEngine sends it)
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  allowed = allowedHosts(host, port, opts.extraHosts);
  const base = `http://${hostForUrl(host)}:${port}/`;
  return {
    url: base,
    urlWithToken: `${base}?token=${token}`,
    token,
    port,
    host,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        downloads.close();
        server.close(() => resolve());
        server.closeAllConnections?.();
      }),
  };
}
