/**
 * The web host's request guards (security baseline in DESIGN.md): a random token (header, cookie,
 * or a one-time URL parameter swapped for a cookie), a Host allow-list against DNS rebinding, and an
 * exact Origin check for WebSockets. Pure functions so that every rule is unit-tested.
 *
 * Three kinds of secret: the server's token (long-lived; only in the `x-cdx-token` header, for
 * programs: the CLI, tests, scripts given `CDX_TOKEN`), one-time launch tokens (the `?token=` of a
 * printed URL: a nonce and its HMAC under the server's token, so whoever holds the server's token
 * can make one without asking the server; each is exchanged once for a session), and sessions (a
 * browser's cookie, named after the port so that two servers on one host keep their own).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const TOKEN_HEADER = 'x-cdx-token';

/** the session cookie of the server on `port` (two servers on one host must not share one: a cookie's scope ignores the port) */
export function tokenCookie(port: number): string {
  return `cdx_token_${port}`;
}

const NONCE_CHARS = 12; // 9 random bytes as base64url

function launchMac(serverToken: string, nonce: string): string {
  return createHmac('sha256', serverToken).update(`cdx-launch:${nonce}`).digest('base64url');
}

/** a fresh one-time launch token for the server whose token is `serverToken` (URL-safe: [A-Za-z0-9_-]) */
export function mintLaunchToken(serverToken: string): string {
  const nonce = randomBytes(9).toString('base64url');
  return nonce + launchMac(serverToken, nonce);
}

/** the launch token's nonce when it was made with `serverToken`, else null (used or not: the caller remembers) */
export function launchNonce(token: string | null | undefined, serverToken: string): string | null {
  if (!token || token.length !== NONCE_CHARS + 43) return null;
  const nonce = token.slice(0, NONCE_CHARS);
  return tokensEqual(token.slice(NONCE_CHARS), launchMac(serverToken, nonce)) ? nonce : null;
}

export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

export function tokensEqual(a: string | undefined | null, b: string): boolean {
  if (!a) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!header) return out;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    const k = part.slice(0, i).trim();
    const v = part.slice(i + 1).trim();
    if (k && !(k in out)) {
      try {
        out[k] = decodeURIComponent(v);
      } catch {
        out[k] = v;
      }
    }
  }
  return out;
}

export function isLoopback(host: string): boolean {
  return host === '127.0.0.1' || host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * The `host:port` values a request may carry in its Host header: the bound address and, when bound
 * to loopback, its usual names; when bound to all interfaces, the names given in `extraHosts`
 * (e.g. the machine's DNS name) — an arbitrary name is refused, so a rebinding domain is refused.
 */
export function allowedHosts(boundHost: string, port: number, extraHosts: string[] = []): Set<string> {
  const names = new Set<string>();
  const add = (h: string) => {
    const host = h.includes(':') && !h.startsWith('[') ? `[${h}]` : h;
    names.add(`${host}:${port}`.toLowerCase());
  };
  if (boundHost === '0.0.0.0' || boundHost === '::') {
    ['127.0.0.1', 'localhost', '::1'].forEach(add);
  } else {
    add(boundHost);
    if (isLoopback(boundHost)) ['127.0.0.1', 'localhost', '::1'].forEach(add);
  }
  extraHosts.forEach(add);
  return names;
}

export function hostAllowed(hostHeader: string | undefined, allowed: Set<string>): boolean {
  if (!hostHeader) return false;
  return allowed.has(hostHeader.trim().toLowerCase());
}

/**
 * A WebSocket's Origin must be exactly this server's own origin: same scheme, host and port,
 * compared as parsed origins (so `http://127.0.0.1.evil.example` is not `http://127.0.0.1:PORT`).
 * `secure`: the server speaks https (its pages' origin is https://).
 */
export function originAllowed(origin: string | undefined, allowed: Set<string>, secure = false): boolean {
  if (!origin) return false;
  let u: URL;
  try {
    u = new URL(origin);
  } catch {
    return false;
  }
  if (u.protocol !== (secure ? 'https:' : 'http:')) return false;
  if (u.origin !== origin.replace(/\/$/, '')) return false; // no path, credentials or oddities
  const port = u.port || (secure ? '443' : '80');
  return allowed.has(`${u.hostname}:${port}`.toLowerCase());
}
