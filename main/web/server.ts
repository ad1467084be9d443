/**
 * The web host: plain Node HTTP(S) + WebSocket, serving the same renderer build as the Electron app
 * and bridging each WebSocket to the forked engine (one connection each). Used where Electron is
 * absent, by the end-to-end tests, and to explore a big remote box from a laptop. Binds 127.0.0.1
 * unless told otherwise (another address needs TLS or an explicit `insecure`); every request needs
 * the token, a session, or a one-time launch token; Host and Origin are checked (guard.ts); every
 * path the page sends the engine stays inside the root folders (confine.ts).
 */
import { createReadStream, createWriteStream, mkdirSync, readFileSync, readdirSync, lstatSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { Transform, pipeline } from 'node:stream';
import { dataHome } from '../engine/paths';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ForkedEngine } from '../engine/forked';
import { DownloadSlots, attachmentHeader, contentTypeOf } from './downloads';
import { PAGE_CSP, PLOT_WORKER_CSP, STATIC_CONTENT_TYPES } from '../../shared/csp';
import { decodeFrame, encodeFrame } from '../../shared/wire';
import type { WireMessage } from '../../shared/rpc';
import { CdxError, toErrorInfo, type ErrorInfo } from '../../shared/errors';
import { HOST_METHODS, Roots, browseInRoots, checkCall } from './confine';
import {
  TOKEN_HEADER,
  allowedHosts,
  hostAllowed,
  isLoopback,
  launchNonce,
  mintLaunchToken,
  newToken,
  originAllowed,
  parseCookies,
  tokenCookie,
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
  /** the data folder (default: CDX_HOME or the platform's): a root, whose own files and cache no request writes */
  dataDir?: string;
  /** more root folders the page may browse, open, upload to and export to (`cdx serve --root DIR`) */
  roots?: string[];
  /** serve https with this certificate and key (PEM) */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** bind a non-loopback address without TLS (the token and the data cross the network in clear text) */
  insecure?: boolean;
  /** the largest upload (bytes; default 8 GiB) */
  maxUploadBytes?: number;
  /** the most the uploads folder may hold (bytes; default 32 GiB) */
  uploadQuotaBytes?: number;
  /** an upload that sends nothing for this long is dropped (default 2 minutes) */
  uploadIdleMs?: number;
  /** the time a client has to send a request's headers (default 20 s) */
  headersTimeoutMs?: number;
  /** the time a client has to send a whole request, an upload's body included (default 6 hours) */
  requestTimeoutMs?: number;
  /** the largest WebSocket message from the page (bytes; default 16 MiB: calls are small, bulk data flows the other way) */
  wsMaxPayload?: number;
}

export const DEFAULT_MAX_UPLOAD = 8 * 2 ** 30;
export const DEFAULT_UPLOAD_QUOTA = 32 * 2 ** 30;
export const DEFAULT_WS_MAX_PAYLOAD = 16 * 2 ** 20;
/** renderer files up to this size are read whole before the answer starts (a read error is then a clean 500) */
const STATIC_IN_MEMORY = 16 * 2 ** 20;

/** at most this many preferences, each a short string: they are folders and names, not data */
const MAX_PREFS = 64;
const MAX_PREF_CHARS = 4096;

export interface WebServer {
  url: string;
  /** the URL with a one-time launch token: what `cdx serve` prints */
  urlWithToken: string;
  /** another one-time launch URL (each opens one browser session) */
  launchUrl(): string;
  /** the server's token: only in the x-cdx-token header (programs), never in a URL */
  token: string;
  port: number;
  host: string;
  /** https */
  secure: boolean;
  /** the folders the page may use */
  roots: string[];
  close(): Promise<void>;
}

/**
 * What `cdx serve` says when the server is reachable from the network: who can do what with the
 * token (read every file under the roots, overwrite what the user may write there).
 */
export function exposureWarning(host: string, secure: boolean, roots: string[]): string {
  return [
    `warning: listening on ${host}${host === '0.0.0.0' || host === '::' ? ' (every network interface)' : ''}${secure ? ' over TLS' : ' WITHOUT TLS: the token and your data cross the network in clear text (--insecure)'}.`,
    `Anyone who can reach it and holds the token (or a browser session it opened) can read every file in, and overwrite every file you may write in:`,
    ...roots.map((r) => `  ${r}`),
    `and use the connections (databases, http(s), S3) saved in CDX.`,
  ].join('\n');
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
  const secure = !!opts.tls;
  if (!isLoopback(host) && !secure && !opts.insecure) {
    throw new CdxError('E_BAD_OPTION', `listening on ${host} exposes CDX to the network: give a certificate (--tls-cert FILE --tls-key FILE) to serve https, or --insecure to serve plain http anyway`);
  }
  const token = opts.token ?? newToken();
  if (token.length < 24) throw new CdxError('E_BAD_OPTION', 'the server token must be at least 24 characters');
  const root = path.resolve(opts.rendererDir);
  let allowed = new Set<string>();
  const downloads = new DownloadSlots({ dir: opts.downloadDir, ttlMs: opts.downloadTtlMs });
  const dataDir = path.resolve(opts.dataDir ?? dataHome());
  const uploadRoot = path.resolve(opts.uploadDir ?? path.join(dataDir, 'uploads'));
  mkdirSync(dataDir, { recursive: true });
  mkdirSync(uploadRoot, { recursive: true });
  const roots = new Roots({ roots: [dataDir, ...(opts.roots ?? []), uploadRoot], dataDir, writeOnly: [downloads.dir] });
  const maxUpload = opts.maxUploadBytes ?? DEFAULT_MAX_UPLOAD;
  const uploadQuota = opts.uploadQuotaBytes ?? DEFAULT_UPLOAD_QUOTA;
  let uploading = 0; // bytes of uploads in flight, counted against the quota
  let cookieName = tokenCookie(0); // named after the port once listening
  /** sessions opened by launch tokens (a browser's cookie); the launch nonces already used */
  const sessions = new Set<string>();
  const usedLaunches = new Set<string>();
  const MAX_SESSIONS = 10_000;

  const forbid = (res: http.ServerResponse, why: string) => {
    res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
    res.end(`Forbidden: ${why}\n`);
  };

  const isSession = (s: string | undefined): boolean => !!s && s.length === 43 && sessions.has(s);
  /** the server's token or a session in the header (programs), or a session in this port's cookie (a browser) */
  const hasAccess = (req: http.IncomingMessage): boolean => {
    const header = req.headers[TOKEN_HEADER];
    const h = typeof header === 'string' ? header : undefined;
    return tokensEqual(h, token) || isSession(h) || isSession(parseCookies(req.headers.cookie)[cookieName]);
  };

  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (!hostAllowed(req.headers.host, allowed)) return forbid(res, 'unexpected Host header.');
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      return forbid(res, 'bad request URL.');
    }
    if (url.searchParams.has('token')) {
      // a one-time launch token: exchanged once for a session (this port's cookie), and dropped
      // from the address bar; a browser that has its session already just goes on
      const nonce = launchNonce(url.searchParams.get('token'), token);
      url.searchParams.delete('token');
      const go = (headers: Record<string, string> = {}) => {
        res.writeHead(302, { location: url.pathname + url.search, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer', ...headers });
        res.end();
      };
      if (nonce && !usedLaunches.has(nonce)) {
        usedLaunches.add(nonce);
        const session = randomBytes(32).toString('base64url');
        if (sessions.size >= MAX_SESSIONS) sessions.delete(sessions.values().next().value!);
        sessions.add(session);
        return go({ 'set-cookie': `${cookieName}=${session}; HttpOnly; SameSite=Strict; Path=/${secure ? '; Secure' : ''}` });
      }
      if (hasAccess(req)) return go();
      return forbid(res, nonce ? 'this link was used already: each link printed by `cdx serve` opens one browser session (press Enter where `cdx serve` runs for another).' : 'open the URL printed by `cdx serve` (it carries the access token).');
    }
    if (!hasAccess(req)) return forbid(res, 'open the URL printed by `cdx serve` (it carries the access token).');
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
    const file = path.resolve(root, '.' + rel);
    if (file !== root && !file.startsWith(root + path.sep)) return forbid(res, 'path outside the app.');
    void serveStatic(req, res, file, rel);
  };

  /**
   * One file of the renderer build, or index.html for any other path (the app routes itself).
   * Opened first and measured on the open handle, so a file removed or changed meanwhile cannot
   * fail after the answer has started (it is a 404 / 500 then, never an error that ends the
   * server); a small file is read whole before the answer starts.
   */
  const serveStatic = async (req: http.IncomingMessage, res: http.ServerResponse, file: string, rel: string) => {
    const index = path.join(root, 'index.html');
    const fail = (status: number, text: string) => {
      if (res.headersSent) return res.destroy();
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      res.end(text);
    };
    const openRegular = async (p: string) => {
      const h = await openFile(p, 'r');
      try {
        const st = await h.stat();
        if (st.isFile()) return { h, size: st.size };
      } catch {
        /* closed below */
      }
      await h.close().catch(() => {});
      return null;
    };
    let served = file;
    let got: { h: import('node:fs/promises').FileHandle; size: number } | null = null;
    try {
      got = await openRegular(file).catch(() => null);
      if (!got) {
        served = index;
        got = await openRegular(index).catch((e: NodeJS.ErrnoException) => {
          if (e.code === 'ENOENT') return null;
          throw e;
        });
        if (!got) return fail(404, `The renderer is not built (${root}). Run \`npm run build\`.\n`);
      }
    } catch (e) {
      return fail(500, `Cannot read ${rel}: ${(e as Error).message}\n`);
    }
    const ext = path.extname(served);
    const headers = {
      'content-type': TYPES[ext] ?? 'application/octet-stream',
      'content-security-policy': PLOT_WORKER.test(rel) && served !== index ? PLOT_WORKER_CSP : CSP,
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
      'cross-origin-opener-policy': 'same-origin',
      'cache-control': ext === '.html' ? 'no-store' : 'private, max-age=3600',
    };
    const { h, size } = got;
    if (req.method === 'HEAD') {
      await h.close().catch(() => {});
      res.writeHead(200, headers);
      return res.end();
    }
    if (size <= STATIC_IN_MEMORY) {
      let body: Buffer;
      try {
        body = await h.readFile();
      } catch (e) {
        return fail(500, `Cannot read ${rel}: ${(e as Error).message}\n`);
      } finally {
        await h.close().catch(() => {});
      }
      res.writeHead(200, { ...headers, 'content-length': String(body.length) });
      return res.end(body);
    }
    res.writeHead(200, headers);
    const stream = h.createReadStream({ autoClose: true });
    stream.on('error', () => res.destroy());
    res.on('close', () => stream.destroy());
    stream.pipe(res);
  };

  const checking = { connectionsCheckingInterval: Math.min(1000, Math.max(50, Math.floor((opts.headersTimeoutMs ?? 20_000) / 4))) };
  const server = secure
    ? https.createServer({ cert: opts.tls!.cert, key: opts.tls!.key, ...checking }, handler)
    : http.createServer(checking, handler);
  // explicit limits: a client has headersTimeout for its headers (slow-header attacks) and
  // requestTimeout for a whole request, an upload's body included; the checks run every second
  server.headersTimeout = opts.headersTimeoutMs ?? 20_000;
  server.requestTimeout = Math.max(opts.requestTimeoutMs ?? 6 * 3600_000, server.headersTimeout + 1);
  server.keepAliveTimeout = 5_000;

  /**
   * A file dropped from the browser's own machine: streamed into the uploads folder under the data
   * folder (temp name, renamed when complete), then opened like any local file. Same-origin only.
   * At most `maxUploadBytes` each, and the folder at most `uploadQuotaBytes` with the uploads in
   * flight; an upload refused, interrupted, idle too long or failed leaves no file behind.
   */
  const upload = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const text = (status: number, body: string) => {
      if (res.headersSent) return;
      // the client may still be sending: close the connection after this answer
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', connection: 'close' });
      res.end(body);
    };
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'POST' });
      return res.end();
    }
    if (!originAllowed(req.headers.origin, allowed, secure)) return forbid(res, 'uploads are accepted from this app only.');
    const raw = String(req.headers['x-cdx-filename'] ?? '');
    let name: string;
    try {
      name = path.basename(decodeURIComponent(raw)).replace(/[^\p{L}\p{N}._ -]/gu, '_').slice(0, 200);
    } catch {
      name = '';
    }
    if (!name || name === '.' || name === '..') return text(400, 'Bad request: the file name is missing.\n');
    const declared = req.headers['content-length'] !== undefined ? Number(req.headers['content-length']) : undefined;
    const tooBig = () => `Upload refused: ${name} is larger than the ${sizeText(maxUpload)} an upload may be (cdx serve --max-upload).\n`;
    if (declared !== undefined && declared > maxUpload) return text(413, tooBig());
    const used = folderBytes(uploadRoot) + uploading;
    const overQuota = () => `Upload refused: the uploads folder ${uploadRoot} would hold more than its quota of ${sizeText(uploadQuota)} (cdx serve --upload-quota; remove old uploads there).\n`;
    if (used + (declared ?? 0) > uploadQuota) return text(507, overQuota());

    const dir = path.join(uploadRoot, randomBytes(6).toString('hex'));
    const final = path.join(dir, name);
    const tmp = final + '.partial';
    mkdirSync(dir, { recursive: true });
    let received = 0;
    let refusal: [number, string] | null = null;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        received += chunk.length;
        uploading += chunk.length;
        if (received > maxUpload) refusal = [413, tooBig()];
        else if (used + received > uploadQuota) refusal = [507, overQuota()];
        done(refusal ? new Error(refusal[1]) : null, chunk);
      },
    });
    const idleMs = opts.uploadIdleMs ?? 120_000;
    req.setTimeout(idleMs, () => req.destroy(new Error(`nothing was received for ${Math.round(idleMs / 1000)} s`)));
    pipeline(req, counter, createWriteStream(tmp), (err) => {
      uploading -= received;
      if (err) {
        rmSync(dir, { recursive: true, force: true });
        if (refusal) return text(refusal[0], refusal[1]);
        return text(500, `Upload failed: ${req.destroyed && !req.complete ? 'the upload was interrupted' : err.message}\n`);
      }
      try {
        renameSync(tmp, final);
      } catch (e) {
        rmSync(dir, { recursive: true, force: true });
        return text(500, `Upload failed: ${(e as Error).message}\n`);
      }
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify({ path: final, size: received }));
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
    if (!originAllowed(req.headers.origin, allowed, secure)) return forbid(res, 'preferences are set by this app only.');
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
      if (!originAllowed(req.headers.origin, allowed, secure)) return forbid(res, 'downloads are prepared by this app only.');
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
      if (!originAllowed(req.headers.origin, allowed, secure)) return forbid(res, 'downloads are managed by this app only.');
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

  const wss = new WebSocketServer({ noServer: true, maxPayload: opts.wsMaxPayload ?? DEFAULT_WS_MAX_PAYLOAD });
  server.on('upgrade', (req, socket, head) => {
    const refuse = () => {
      socket.write('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      socket.destroy();
    };
    socket.on('error', () => socket.destroy());
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      return refuse();
    }
    if (url.pathname !== '/ws') return refuse();
    if (!hostAllowed(req.headers.host, allowed)) return refuse();
    if (!originAllowed(req.headers.origin, allowed, secure)) return refuse();
    if (!hasAccess(req)) return refuse();
    wss.handleUpgrade(req, socket, head, (ws) => bridge(ws));
  });

  /**
   * One page's connection to the engine. Frames from the page pass through here in order: a call
   * that names a path is checked against the roots (confine.ts) and forwarded with the path made
   * absolute, or answered with the refusal; `browse` is answered here, inside the roots; a frame
   * that cannot be read is dropped (it could not be checked).
   */
  const bridge = (ws: WebSocket) => {
    const port = opts.engine.connect();
    port.onFrame((f) => {
      if (ws.readyState === ws.OPEN) ws.send(f, { binary: true });
    });
    port.onClose(() => ws.close(1011, 'engine connection closed'));
    const answer = (id: number, result: { ok: true; value: unknown } | { ok: false; error: ErrorInfo }) => {
      if (ws.readyState === ws.OPEN) ws.send(encodeFrame({ t: 'result', id, result } satisfies WireMessage), { binary: true });
    };
    const toEngine = (frame: Uint8Array) => {
      try {
        port.send(frame);
      } catch {
        ws.close(1011, 'engine unavailable');
      }
    };
    ws.on('message', (data, isBinary) => {
      if (!isBinary) return;
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer);
      const frame = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      let msg: WireMessage;
      try {
        msg = decodeFrame(frame) as WireMessage;
      } catch {
        return;
      }
      if (msg?.t !== 'call') return toEngine(frame);
      if (typeof msg.id !== 'number' || typeof msg.method !== 'string') return;
      if (HOST_METHODS.has(msg.method)) {
        browseInRoots(roots, (msg.params ?? {}) as { dir?: string; showHidden?: boolean }).then(
          (value) => answer(msg.id, { ok: true, value }),
          (e) => answer(msg.id, { ok: false, error: toErrorInfo(e) }),
        );
        return;
      }
      const c = checkCall(roots, msg.method, msg.params);
      if ('error' in c) return answer(msg.id, { ok: false, error: c.error });
      toEngine(c.params === msg.params ? frame : encodeFrame({ ...msg, params: c.params }));
    });
    // an oversize message (maxPayload) or a broken socket: this connection ends, the server goes on
    ws.on('error', () => ws.terminate());
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
  cookieName = tokenCookie(port);
  const base = `${secure ? 'https' : 'http'}://${hostForUrl(host)}:${port}/`;
  const launchUrl = () => `${base}?token=${mintLaunchToken(token)}`;
  return {
    url: base,
    urlWithToken: launchUrl(),
    launchUrl,
    token,
    port,
    host,
    secure,
    roots: roots.list,
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

/** the bytes of the files under `dir` (the uploads folder: a few levels, links not followed) */
function folderBytes(dir: string): number {
  let total = 0;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const n of names) {
    const p = path.join(dir, n);
    try {
      const st = lstatSync(p);
      if (st.isDirectory()) total += folderBytes(p);
      else if (st.isFile()) total += st.size;
    } catch {
      /* gone meanwhile */
    }
  }
  return total;
}

export function sizeText(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} bytes` : `${Number.isInteger(v) ? v : v.toFixed(1)} ${units[i]}`;
}

/** `500M`, `2G`, `1.5GiB`, `1000000` → bytes (binary units) */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(text);
  if (!m) throw new CdxError('E_BAD_OPTION', `"${text}" is not a size (e.g. 500M, 2G, 1048576)`);
  const mult = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  return Math.floor(Number(m[1]) * mult);
}
