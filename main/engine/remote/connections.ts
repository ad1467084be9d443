/**
 * Saved connections to files that are not on this disk, beside the databases of sql/remote.ts:
 *   - an http(s) base URL (`https://host/data/`): a server's folder; browsing it reads the
 *     server's directory index (nginx autoindex in HTML or JSON, Apache's and Python's pages alike:
 *     the links below the folder, with the sizes and dates the page shows);
 *   - an S3 bucket: `s3://KEYID@bucket/prefix/?endpoint=<urlencoded endpoint>&region=<region>`
 *     (endpoint and region optional; no key id: the standard AWS chain decides). Browsing lists
 *     one level of the prefix (s3.ts listS3 with a delimiter).
 * They are rows of the catalog's `connections` table like the databases (url, name, kind, where the
 * secret is kept — never the secret). An S3 secret access key is kept as a database password is
 * (sql/secrets.ts: this engine's session, the OS keychain, or the app's safeStorage handed over
 * with setSecret), under the label `s3://bucket`, where s3.ts looks for it. An http(s) connection
 * keeps no credentials: a URL with `user:password@` is refused (a file behind Basic authentication
 * is opened by its own URL, the password then lives for the session only, as http.ts does it).
 *
 * Every URL this module stores, lists or puts in a message is without a secret.
 */
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { BrowseEntry, ConnectionInfo, ConnectionTest } from '../../../shared/api';
import { CdxError, throwIfCancelled } from '../../../shared/errors';
import type { Catalog } from '../catalog';
import { formatByName } from '../browse';
import { forgetSessionSecret, hasSessionSecret, keychainDelete, keychainGet, keychainSet, setSessionSecret } from '../sql/secrets';
import { displayUrl } from './http';
import { parseS3 } from './s3';

/** An http(s) or s3 URL: a connection (or a location) this module handles. */
export function isFileConnectionUrl(url: string): boolean {
  return /^(https?|s3):\/\//i.test(url.trim());
}

const isS3 = (url: string) => /^s3:\/\//i.test(url.trim());

// ---------------------------------------------------------------------------------------------
// URLs

/**
 * The canonical form of an http(s) base: no fragment, a path that ends with `/` (a base is a
 * folder). Credentials are refused: the catalog would hold them.
 */
export function httpBase(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw.trim());
  } catch {
    throw new CdxError('E_BAD_ARG', `"${displayUrl(raw.trim())}" is not a URL (https://host/folder/)`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new CdxError('E_BAD_ARG', `"${displayUrl(raw)}" is not an http(s) URL`);
  if (u.username || u.password) {
    throw new CdxError('E_BAD_ARG', `${displayUrl(raw)}: an http(s) connection keeps no user or password (the catalog would hold them); open a protected file by its own URL with user:password@ instead (kept for this session only)`);
  }
  u.hash = '';
  if (!u.pathname.endsWith('/')) u.pathname += '/';
  return u.toString();
}

export interface S3Parts {
  bucket: string;
  /** '' or a prefix ending in `/` */
  prefix: string;
  keyId?: string;
  endpoint?: string;
  region?: string;
}

/**
 * An s3 URL's parts, and a secret key written in it (taken out: it is never stored). Read as
 * s3.ts parseS3 reads it: the key (the prefix) literally, no %-decoding; a query string only when
 * it holds endpoint and region.
 */
export function parseS3Url(raw: string): { parts: S3Parts; secret?: string } {
  const text = raw.trim();
  if (!isS3(text)) throw new CdxError('E_BAD_ARG', `"${redactS3(text)}" is not an S3 URL (s3://bucket/prefix/)`);
  // the engine's own parser (s3.ts), read as a connection: the key is a prefix
  const loc = parseS3(text);
  let prefix = loc.key;
  if (prefix && !prefix.endsWith('/')) prefix += '/';
  const parts: S3Parts = { bucket: loc.bucket, prefix };
  if (loc.keyId) parts.keyId = loc.keyId;
  if (loc.endpoint) parts.endpoint = loc.endpoint;
  if (loc.region) parts.region = loc.region;
  const { keyId, secret } = loc;
  return { parts, ...(keyId && secret ? { secret } : {}) };
}

/** The canonical S3 URL: `s3://KEYID@bucket/prefix/?endpoint=…&region=…` (never a secret; the prefix as written). */
export function formatS3Url(p: S3Parts): string {
  const q: string[] = [];
  if (p.endpoint) q.push(`endpoint=${encodeURIComponent(p.endpoint)}`);
  if (p.region) q.push(`region=${encodeURIComponent(p.region)}`);
  return `s3://${p.keyId ? `${encodeURIComponent(p.keyId)}@` : ''}${p.bucket}/${p.prefix}${q.length ? `?${q.join('&')}` : ''}`;
}

/** Where an S3 secret key is kept (agreed with s3.ts, which reads it there). */
export function s3Label(bucket: string): string {
  return `s3://${bucket}`;
}

function redactS3(text: string): string {
  return text.replace(/^(s3:\/\/[^:/@]*):[^@/]*@/i, '$1@');
}

/** A URL as this module shows it: http(s) without credentials, s3 without its secret. */
export function shownUrl(url: string): string {
  return isS3(url) ? redactS3(url) : displayUrl(url);
}

// ---------------------------------------------------------------------------------------------
// http(s): one request, its body read up to a limit

/** the most of a directory index read (a page of tens of thousands of links) */
const INDEX_BYTES = 16 * 1024 * 1024;

interface Answer {
  status: number;
  headers: IncomingMessage['headers'];
  /** the URL that answered, after redirects */
  url: string;
  body: Buffer;
  ms: number;
}

function request(url: string, signal?: AbortSignal, hops = 0, t0 = performance.now()): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const mod = u.protocol === 'https:' ? https : http;
    const req = mod.request(u, { method: 'GET', headers: { 'user-agent': 'cdx', accept: 'text/html, application/json;q=0.9, */*;q=0.5' }, signal, timeout: 30_000 }, (res) => {
      const s = res.statusCode ?? 0;
      if (s >= 300 && s < 400 && s !== 304 && res.headers.location) {
        res.resume();
        if (hops >= 5) { reject(CdxError.file('E_READ', displayUrl(url), 'too many redirects')); return; }
        const next = new URL(res.headers.location, u);
        next.username = '';
        next.password = '';
        request(next.toString(), signal, hops + 1, t0).then(resolve, reject);
        return;
      }
      const chunks: Buffer[] = [];
      let n = 0;
      res.on('data', (c: Buffer) => {
        n += c.length;
        if (n > INDEX_BYTES) {
          res.destroy();
          reject(CdxError.file('E_TOO_LARGE', displayUrl(url), `the page is larger than ${INDEX_BYTES / 1024 / 1024} MiB: not a directory index CDX reads`));
          return;
        }
        chunks.push(c);
      });
      res.on('end', () => resolve({ status: s, headers: res.headers, url: u.toString(), body: Buffer.concat(chunks), ms: performance.now() - t0 }));
      res.on('error', (e) => reject(e));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('no answer for 30 s'), { code: 'ETIMEDOUT' })));
    req.on('error', (e) => {
      if (signal?.aborted || (e as { name?: string }).name === 'AbortError') reject(CdxError.cancelled('the request'));
      else reject(CdxError.file('E_READ', displayUrl(url), `the server could not be reached (${(e as NodeJS.ErrnoException).code ?? e.message})`, { cause: e }));
    });
    req.end();
  });
}

// ---------------------------------------------------------------------------------------------
// directory indexes

const MONTHS: Record<string, number> = { jan: 0, feb: 1, mar: 2, apr: 3, may: 4, jun: 5, jul: 6, aug: 7, sep: 8, oct: 9, nov: 10, dec: 11 };
const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos|#39);/gi, (m, e: string) => {
    const k = e.toLowerCase();
    if (k === 'amp') return '&';
    if (k === 'lt') return '<';
    if (k === 'gt') return '>';
    if (k === 'quot') return '"';
    if (k === 'apos' || k === '#39') return "'";
    const code = k.startsWith('#x') ? parseInt(k.slice(2), 16) : parseInt(k.slice(1), 10);
    return Number.isFinite(code) ? String.fromCodePoint(code) : m;
  });
}

/** The date and size an index page writes after a link (nginx: `06-Dec-2026 16:08  1234`; Apache: `2024-01-31 10:00  1.2K`). Times are the server's, read as UTC. */
function factsOf(text: string): { mtimeMs?: number; size?: number } {
  const out: { mtimeMs?: number; size?: number } = {};
  const plain = decodeEntities(text.replace(/<[^>]*>/g, ' '));
  let m = /(\d{1,2})-([A-Za-z]{3})-(\d{4})\s+(\d{2}):(\d{2})(?::(\d{2}))?/.exec(plain);
  let rest = plain;
  if (m && MONTHS[m[2]!.toLowerCase()] !== undefined) {
    out.mtimeMs = Date.UTC(Number(m[3]), MONTHS[m[2]!.toLowerCase()]!, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0));
    rest = plain.slice(m.index + m[0].length);
  } else if ((m = /(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?/.exec(plain))) {
    out.mtimeMs = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0));
    rest = plain.slice(m.index + m[0].length);
  } else if (!/\d/.test(plain)) return out;
  const s = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?\b/i.exec(rest);
  if (s) out.size = Math.round(Number(s[1]) * UNITS[s[2]!.toLowerCase()]!);
  return out;
}

/**
 * The entries of a directory index page at `base` (a folder URL ending in `/`): the links to its
 * direct children — folders end in `/` — in the page's order, folders first. Sort links (`?C=N`),
 * the parent (`../`), absolute links elsewhere and deeper paths are not entries. nginx's JSON
 * format (`autoindex_format json`) is read too.
 */
export function parseIndex(body: string, base: string, contentType = ''): BrowseEntry[] {
  const baseUrl = new URL(base);
  const entries: BrowseEntry[] = [];
  const seen = new Set<string>();
  const add = (name: string, dir: boolean, facts: { size?: number; mtimeMs?: number }) => {
    if (!name || name === '.' || name === '..' || name.includes('/') || seen.has(name)) return;
    seen.add(name);
    const url = new URL(encodeURIComponent(name) + (dir ? '/' : ''), baseUrl).toString();
    entries.push(dir
      ? { name, path: url, kind: 'dir', ...(facts.mtimeMs !== undefined ? { mtimeMs: facts.mtimeMs } : {}) }
      : { name, path: url, kind: 'file', ...facts, ...(formatByName(name) ? { format: formatByName(name) } : {}) });
  };
  const trimmed = body.trimStart();
  if (/json/i.test(contentType) || trimmed.startsWith('[')) {
    try {
      const list = JSON.parse(trimmed) as { name?: unknown; type?: unknown; size?: unknown; mtime?: unknown }[];
      if (Array.isArray(list)) {
        for (const e of list) {
          if (typeof e?.name !== 'string') continue;
          const t = typeof e.mtime === 'string' ? Date.parse(e.mtime) : NaN;
          add(e.name, e.type === 'directory', {
            ...(typeof e.size === 'number' ? { size: e.size } : {}),
            ...(Number.isFinite(t) ? { mtimeMs: t } : {}),
          });
        }
        return sortEntries(entries);
      }
    } catch {
      /* not JSON after all: read as a page */
    }
  }
  const re = /<a\s[^>]*?href\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))[^>]*>[\s\S]*?<\/a>/gi;
  const links = [...body.matchAll(re)];
  links.forEach((m, i) => {
    const href = decodeEntities(m[1] ?? m[2] ?? m[3] ?? '');
    if (!href || href.startsWith('?') || href.startsWith('#') || /^(mailto|javascript):/i.test(href)) return;
    let target: URL;
    try {
      target = new URL(href, baseUrl);
    } catch {
      return;
    }
    if (target.origin !== baseUrl.origin || target.search || !target.pathname.startsWith(baseUrl.pathname)) return;
    let rel = target.pathname.slice(baseUrl.pathname.length);
    const dir = rel.endsWith('/');
    if (dir) rel = rel.slice(0, -1);
    let name: string;
    try {
      name = decodeURIComponent(rel);
    } catch {
      return;
    }
    // what the page writes between this link and the next: the date and size columns
    const end = i + 1 < links.length ? links[i + 1]!.index! : body.length;
    const after = body.slice(m.index! + m[0].length, end).split(/<\/tr>|\r?\n/i)[0] ?? '';
    add(name, dir, factsOf(after));
  });
  return sortEntries(entries);
}

function sortEntries(entries: BrowseEntry[]): BrowseEntry[] {
  return entries.sort((a, b) => (a.kind === b.kind ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) : a.kind === 'dir' ? -1 : 1));
}

/** One http(s) folder's entries, from its directory index; a clear error where the server lists nothing. */
export async function listHttp(url: string, signal?: AbortSignal): Promise<BrowseEntry[]> {
  const base = httpBase(url);
  const a = await request(base, signal);
  throwIfCancelled(signal, 'the listing');
  const shown = displayUrl(base);
  const typeIt = 'type the path of a file under it to open it';
  if (a.status === 404 || a.status === 410) throw CdxError.file('ENOENT', shown, `no such folder on the server (HTTP ${a.status})`);
  if (a.status === 401 || a.status === 403) {
    throw CdxError.file('EACCES', shown, `the server lists nothing here (HTTP ${a.status}: no directory index, or access refused); ${typeIt}`);
  }
  if (a.status < 200 || a.status >= 300) throw CdxError.file('E_READ', shown, `the server answered HTTP ${a.status}`);
  const entries = parseIndex(a.body.toString('utf8'), a.url.endsWith('/') ? a.url : base, String(a.headers['content-type'] ?? ''));
  if (!entries.length && !/<title>\s*Index of/i.test(a.body.toString('utf8', 0, 4096))) {
    throw CdxError.file('E_UNSUPPORTED', shown, `the server lists nothing here: its page (HTTP ${a.status}) is not a directory index; ${typeIt}`);
  }
  return entries;
}

// ---------------------------------------------------------------------------------------------
// s3 (s3.ts, loaded at first use: the AWS SDK is large)

type Store = Pick<Catalog, 'connections'>;
interface S3Module {
  listS3(url: string, opts?: { delimiter?: boolean; signal?: AbortSignal; connections?: Store }): Promise<{ key: string; url: string; size: number; mtimeMs: number; dir: boolean }[]>;
  testS3(url: string, opts?: { signal?: AbortSignal; secret?: string; connections?: Store }): Promise<{ objects: number; ms: number; endpoint: string }>;
}

let s3Module: Promise<S3Module> | null = null;
const loadS3 = (): Promise<S3Module> => (s3Module ??= import('./s3') as Promise<S3Module>);

/**
 * One level of an S3 prefix: its objects and the prefixes below it (as folders). The entries'
 * URLs carry no key id: s3.ts finds the saved connection of the bucket in `connections`.
 */
export async function listS3Level(url: string, connections: Store, signal?: AbortSignal): Promise<BrowseEntry[]> {
  const { parts } = parseS3Url(url);
  const items = await (await loadS3()).listS3(url, { delimiter: true, signal, connections });
  const out: BrowseEntry[] = [];
  for (const it of items) {
    const rel = it.key.startsWith(parts.prefix) ? it.key.slice(parts.prefix.length) : it.key;
    const name = rel.replace(/\/$/, '');
    if (!name) continue; // the prefix's own marker object
    out.push(it.dir
      ? { name, path: it.url, kind: 'dir' }
      : { name, path: it.url, kind: 'file', size: it.size, mtimeMs: it.mtimeMs, ...(formatByName(name) ? { format: formatByName(name) } : {}) });
  }
  return sortEntries(out);
}

// ---------------------------------------------------------------------------------------------
// saved connections

type Row = { url: string; name: string; kind: string; keep: string; addedAt: number };

/** Where the secret of an S3 connection comes from now (no key id: the AWS chain's own). */
function s3SecretSource(parts: S3Parts, keep: string): ConnectionInfo['secret'] {
  if (!parts.keyId) return 'convention';
  const label = s3Label(parts.bucket);
  if (hasSessionSecret(label)) return 'session';
  if (keep === 'app') return 'app';
  if (keychainGet(label) !== undefined) return 'keychain';
  if (process.env.AWS_ACCESS_KEY_ID === parts.keyId && process.env.AWS_SECRET_ACCESS_KEY) return 'convention';
  return 'none';
}

export class FileConnections {
  constructor(private readonly catalog: Catalog) {}

  private rows(): Row[] {
    return this.catalog.connections().filter((r) => isFileConnectionUrl(r.url));
  }

  private info(r: Row): ConnectionInfo {
    if (isS3(r.url)) {
      const { parts } = parseS3Url(r.url);
      return { url: r.url, name: r.name, kind: 's3', secret: s3SecretSource(parts, r.keep), addedAt: r.addedAt };
    }
    return { url: r.url, name: r.name, kind: 'http', secret: 'none', addedAt: r.addedAt };
  }

  list(): ConnectionInfo[] {
    return this.rows().map((r) => this.info(r));
  }

  /** The canonical URL of a connection as given (no secret) and a secret written in it. */
  canonical(url: string): { url: string; kind: 'http' | 's3'; secret?: string; parts?: S3Parts } {
    if (isS3(url)) {
      const { parts, secret } = parseS3Url(url);
      return { url: formatS3Url(parts), kind: 's3', parts, ...(secret !== undefined ? { secret } : {}) };
    }
    return { url: httpBase(url), kind: 'http' };
  }

  save(p: { url: string; name?: string; password?: string; remember?: boolean; keep?: 'app' }): ConnectionInfo {
    const c = this.canonical(p.url);
    let keep = 'none';
    let name = p.name?.trim();
    if (c.kind === 'http') {
      if (p.password) throw new CdxError('E_BAD_ARG', `${c.url}: an http(s) connection keeps no password`);
      if (!name) {
        const u = new URL(c.url);
        name = `${u.host}${u.pathname === '/' ? '' : u.pathname.replace(/\/$/, '')}`;
      }
    } else {
      const parts = c.parts!;
      const label = s3Label(parts.bucket);
      const secret = p.password ?? c.secret;
      if (secret !== undefined && secret !== '' && !parts.keyId) {
        throw new CdxError('E_BAD_ARG', `${c.url}: a secret access key needs its access key id (s3://KEYID@${parts.bucket}/…)`);
      }
      keep = parts.keyId ? 'convention' : 'none';
      if (secret !== undefined && secret !== '') {
        setSessionSecret(label, secret);
        if (p.keep === 'app') keep = 'app';
        else if (p.remember && keychainSet(label, secret)) keep = 'keychain';
        else keep = 'session';
      } else if (p.keep === 'app') keep = 'app';
      if (!name) name = `${parts.bucket}${parts.prefix ? `/${parts.prefix.replace(/\/$/, '')}` : ''}${parts.endpoint ? ` on ${new URL(parts.endpoint).host}` : ''}`;
    }
    const row = this.catalog.saveConnection({ url: c.url, name, kind: c.kind, keep });
    return this.info(row);
  }

  /**
   * http(s): a GET of the base — its status, the Server header, the entries its index lists, how
   * long it took; a base that is not there (404) or a server error is an error. s3: s3.ts testS3
   * (the objects under the prefix, signed with the connection's key).
   */
  async test(p: { url: string; password?: string }, signal?: AbortSignal): Promise<ConnectionTest> {
    const c = this.canonical(p.url);
    if (c.kind === 'http') {
      const a = await request(c.url, signal);
      if (a.status === 404 || a.status === 410) throw CdxError.file('ENOENT', c.url, `no such folder on the server (HTTP ${a.status})`);
      if (a.status >= 500) throw CdxError.file('E_READ', c.url, `the server answered HTTP ${a.status}`);
      let entries: BrowseEntry[] = [];
      if (a.status >= 200 && a.status < 300) entries = parseIndex(a.body.toString('utf8'), a.url.endsWith('/') ? a.url : c.url, String(a.headers['content-type'] ?? ''));
      return {
        url: c.url, serverVersion: String(a.headers.server ?? 'an http server (no Server header)'), tables: entries.length,
        ms: Math.round(a.ms), status: a.status, listed: entries.length > 0,
      };
    }
    // a key typed in the form (not saved yet) signs this test only
    const secret = p.password || c.secret;
    const t = await (await loadS3()).testS3(c.url, { signal, connections: this.catalog, ...(secret ? { secret } : {}) });
    return { url: c.url, serverVersion: t.endpoint, tables: t.objects, ms: Math.round(t.ms) };
  }

  /** Forgets a connection; its kept S3 key too, unless another saved connection to the bucket still uses it. */
  remove(url: string): { removed: boolean } {
    const c = this.canonical(url);
    const removed = this.catalog.removeConnection(c.url);
    if (c.kind === 's3') {
      const bucket = c.parts!.bucket;
      const others = this.rows().some((r) => isS3(r.url) && parseS3Url(r.url).parts.bucket === bucket);
      if (!others) {
        keychainDelete(s3Label(bucket));
        forgetSessionSecret(s3Label(bucket));
      }
    }
    return { removed };
  }

  /** A secret for this engine's session (the app's safeStorage hands S3 keys over here). */
  setSecret(url: string, password: string): { kept: 'session' } {
    const c = this.canonical(url);
    if (c.kind !== 's3') throw new CdxError('E_BAD_ARG', `${c.url}: an http(s) connection keeps no password`);
    setSessionSecret(s3Label(c.parts!.bucket), password);
    return { kept: 'session' };
  }

  /** One level of what a connection (or a folder / prefix below it) holds. */
  browse(url: string, signal?: AbortSignal): Promise<BrowseEntry[]> {
    return isS3(url) ? listS3Level(url, this.catalog, signal) : listHttp(url, signal);
  }
}
