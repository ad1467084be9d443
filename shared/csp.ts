/**
 * How the app's own files are served — the content security policies and content types — one
 * definition for both ways it is served: web mode's HTTP host (main/web/server.ts) and the desktop
 * app's `cdx-app://` protocol (main/app/protocol.ts). renderer/index.html carries the page's CSP
 * as a meta tag too.
 */

/** The page: scripts only from the app itself, no eval, nothing framed, no forms or base changes. */
export const PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * The plot worker's own policy (renderer/gl/glworker.ts): regl compiles its draw commands with
 * `new Function`, so 'unsafe-eval' — but only in that worker, which gets no network at all
 * (default-src 'none'), no DOM and no engine access. A worker's CSP is the one delivered with its
 * script, not the page's, so the page keeps script-src 'self' without eval.
 */
export const PLOT_WORKER_CSP = "default-src 'none'; script-src 'self' 'unsafe-eval'";

/** Content types of the app's static files, by extension. */
export const STATIC_CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
};
