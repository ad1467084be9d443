/**
 * The app protocol: the renderer is served to Electron's windows from `cdx-app://app/…` instead of
 * file://, so that each file comes with its own headers, exactly as in web mode (main/web/server.ts):
 * the page's CSP as a header, the plot worker's own policy with its script (a worker's CSP is the one
 * delivered with it, not the page's; file:// cannot deliver one), a content type and nosniff.
 *
 * Only files under the renderer build (out/renderer) are served, and only by names a build makes:
 * every path segment is plain (letters, digits, `_ . @ + -`, not starting with a dot), so `..`,
 * `%2e%2e`, backslashes, drive letters (`C:`), UNC paths (`//server`), NUL and other escapes are
 * refused before any path is joined; the joined path and its real path (symlinks) are checked to lie
 * inside the root as well. Pure: Electron's `protocol.handle` is wired in index.ts, and only types
 * come from 'electron', so vitest runs this as it stands.
 */
import nodePath from 'node:path';
import type { CustomScheme } from 'electron';

export const APP_SCHEME = 'cdx-app';
export const APP_HOST = 'app';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
export const APP_INDEX_URL = `${APP_ORIGIN}/index.html`;

/**
 * Registered before `ready` (protocol.registerSchemesAsPrivileged): standard (an origin, relative
 * URLs, storage), secure (a secure context, like https), fetch and CORS-mode loads (module scripts,
 * the worker) allowed; no service workers, no CSP bypass.
 */
export const APP_SCHEME_PRIVILEGES: CustomScheme = {
  scheme: APP_SCHEME,
  privileges: { standard: true, secure: true, supportFetchAPI: true, corsEnabled: true, codeCache: true },
};

// the page's policy and the plot worker's own: one definition with web mode's (shared/csp.ts)
export { PAGE_CSP, PLOT_WORKER_CSP } from '../../shared/csp';
import { PAGE_CSP, PLOT_WORKER_CSP, STATIC_CONTENT_TYPES } from '../../shared/csp';
const PLOT_WORKER = /^assets\/glworker-[\w-]+\.js$/;

const TYPES = STATIC_CONTENT_TYPES;

const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9_.@+-]*$/;

export type Resolved = { ok: true; rel: string; file: string } | { ok: false; status: 400 | 403 | 404; reason: string };

/**
 * The file a `cdx-app:` URL names under `root`, or why it is refused. `root` is absolute in the
 * platform's own terms; `path` is the platform's path module (path.win32 in tests of Windows roots).
 */
export function resolveAppUrl(url: string, root: string, path: typeof nodePath = nodePath): Resolved {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { ok: false, status: 400, reason: 'not a URL' };
  }
  if (u.protocol !== `${APP_SCHEME}:` || u.host !== APP_HOST || u.username || u.password) return { ok: false, status: 403, reason: 'not the app origin' };
  // the raw path, before any decoding: Chromium has already resolved `.`/`..` of a standard URL,
  // so what still spells a parent or a separator here was encoded to get past that
  const raw = u.pathname === '/' || u.pathname === '' ? '/index.html' : u.pathname;
  if (!raw.startsWith('/') || raw.includes('\\')) return { ok: false, status: 403, reason: 'bad path' };
  const segments: string[] = [];
  for (const part of raw.slice(1).split('/')) {
    let seg: string;
    try {
      seg = decodeURIComponent(part);
    } catch {
      return { ok: false, status: 400, reason: 'malformed escape' };
    }
    if (!SEGMENT.test(seg)) return { ok: false, status: 403, reason: 'bad path segment' };
    segments.push(seg);
  }
  const rel = segments.join('/');
  const base = path.resolve(root);
  const file = path.resolve(base, ...segments);
  if (!within(base, file, path)) return { ok: false, status: 403, reason: 'outside the app' };
  return { ok: true, rel, file };
}

function within(base: string, file: string, path: typeof nodePath): boolean {
  const r = path.relative(base, file);
  return r !== '' && !r.startsWith('..') && !path.isAbsolute(r);
}

/** The headers a file of the renderer is served with (the same set web mode sends). */
export function appHeaders(rel: string): Record<string, string> {
  const ext = nodePath.posix.extname(rel).toLowerCase();
  return {
    'content-type': TYPES[ext] ?? 'application/octet-stream',
    'content-security-policy': PLOT_WORKER.test(rel) ? PLOT_WORKER_CSP : PAGE_CSP,
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    'cache-control': ext === '.html' ? 'no-store' : 'private, max-age=3600',
  };
}

/** What the handler reads files with (node:fs/promises fits; tests may pass their own). */
export interface FileReader {
  readFile(file: string): Promise<Uint8Array>;
  realpath(file: string): Promise<string>;
}

/**
 * The `protocol.handle(APP_SCHEME, …)` handler: GET/HEAD of files under `root`, with their headers;
 * anything else is answered with a plain-text status (never a file outside the root, never a
 * directory listing, no fallback to index.html for names that do not exist).
 */
export function createAppProtocolHandler(opts: { root: string; fs: FileReader; path?: typeof nodePath }): (req: { url: string; method?: string }) => Promise<Response> {
  const path = opts.path ?? nodePath;
  const root = path.resolve(opts.root);
  const refuse = (status: number, reason: string) =>
    new Response(`${status === 404 ? 'Not found' : 'Refused'}: ${reason}\n`, {
      status,
      headers: { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff', 'cache-control': 'no-store' },
    });
  return async (req) => {
    const method = (req.method ?? 'GET').toUpperCase();
    if (method !== 'GET' && method !== 'HEAD') return refuse(405, 'method not allowed');
    const r = resolveAppUrl(req.url, root, path);
    if (!r.ok) return refuse(r.status, r.reason);
    let body: Uint8Array;
    try {
      // a link inside the build must not lead out of it
      const real = await opts.fs.realpath(r.file);
      if (!within(await opts.fs.realpath(root), real, path)) return refuse(403, 'outside the app');
      body = await opts.fs.readFile(real);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException | null)?.code;
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return refuse(404, r.rel);
      return refuse(500, `cannot read ${r.rel}`);
    }
    return new Response(method === 'HEAD' ? null : (body as BodyInit), { status: 200, headers: appHeaders(r.rel) });
  };
}
