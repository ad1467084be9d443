/**
 * The web host's request guards (security baseline in DESIGN.md): a random token (header, cookie,
 * or a one-time URL parameter swapped for a cookie), a Host allow-list against DNS rebinding, and an
 * exact Origin check for WebSockets. Pure functions so that every rule is unit-tested.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';

export const TOKEN_COOKIE = 'cdx_token';
export const TOKEN_HEADER = 'x-cdx-token';

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

function isLoopback(host: string): boolean {
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
 */
export function originAllowed(origin: string | undefined, allowed: Set<string>): boolean {
  if (!origin) return false;
  let u: URL;
  try {
    u = new URL(origin);
  } catch {
    return false;
  }
  if (u.protocol !== 'http:') return false;
  if (u.origin !== origin.replace(/\/$/, '')) return false; // no path, credentials or oddities
  const port = u.port || '80';
  return allowed.has(`${u.hostname}:${port}`.toLowerCase());
}
