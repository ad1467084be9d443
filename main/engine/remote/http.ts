/**
 * Files behind an http(s) URL, fetched into the cache folder. A GET streams the body into a
 * temporary file beside its final name (renamed when complete, removed on any failure, so nothing
 * half-written stays in the cache); a transfer that breaks off is resumed with a Range request
 * guarded by If-Range (the ETag, else Last-Modified), so a file that changed between the two reads
 * is detected (E_STALE) instead of being stitched together from two versions. A server that ignores
 * ranges (200 with the whole body) is simply read again as a stream from the start. Transient
 * failures (connection reset, 5xx, 429) are retried a few times with back-off; progress counts
 * bytes. Credentials in the URL (`https://user:password@host/…`) are sent (Basic) but never shown:
 * every message and every stored location uses `displayUrl`.
 */
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { renameDurable, tempBeside } from '../durable';
import path from 'node:path';
import { CdxError, type ErrorCode } from '../../../shared/errors';
import type { ReadOptions, RemoteFile } from './file';

export function isHttpLocation(location: string): boolean {
  return /^https?:\/\//i.test(location);
}

/** The URL without `user:password@` (what the catalog stores and every message shows). */
export function displayUrl(location: string): string {
  try {
    const u = new URL(location);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return location.replace(/^(https?:\/\/)[^/@]*@/i, '$1');
  }
}

/** What identifies one version of the remote file. */
export interface RemoteStamp {
  size: number | null;
  etag: string | null;
  lastModified: string | null;
  /** the server said it answers byte ranges (Accept-Ranges: bytes) */
  ranges: boolean;
}

export interface HttpOptions {
  signal?: AbortSignal;
  /** bytes received so far, and the total when known */
  onBytes?: (done: number, total: number | null) => void;
  /** tries for one request, the first included (default 4) */
  tries?: number;
  /** the first back-off wait; doubled at each retry (default 250 ms) */
  backoffMs?: number;
}

const RETRIABLE = new Set(['ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ECONNABORTED', 'ENETUNREACH', 'EHOSTUNREACH', 'SHORT_BODY']);

class Transient extends Error {
  constructor(message: string, readonly retryAfterMs?: number) {
    super(message);
  }
}

function fail(code: ErrorCode, url: string, problem: string, cause?: unknown): CdxError {
  return CdxError.file(code, displayUrl(url), problem, cause !== undefined ? { cause } : {});
}

function stampOf(res: IncomingMessage): RemoteStamp {
  const h = res.headers;
  let size: number | null = null;
  const cr = /\/(\d+)\s*$/.exec(String(h['content-range'] ?? ''));
  if (cr) size = Number(cr[1]);
  else if (res.statusCode === 200 && h['content-length'] !== undefined) size = Number(h['content-length']);
  return {
    size: size !== null && Number.isSafeInteger(size) ? size : null,
    etag: (h.etag as string | undefined) ?? null,
    lastModified: (h['last-modified'] as string | undefined) ?? null,
    ranges: String(h['accept-ranges'] ?? '').toLowerCase() === 'bytes' || res.statusCode === 206,
  };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
    const onAbort = () => { clearTimeout(t); reject(CdxError.cancelled('the download')); };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** One request; the response once its headers are in (redirects followed). */
function send(url: string, method: 'GET' | 'HEAD', headers: Record<string, string>, signal?: AbortSignal, hops = 0): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      reject(fail('E_BAD_ARG', url, 'not a valid URL'));
      return;
    }
    const mod = u.protocol === 'https:' ? https : http;
    // the URL's user:password becomes Basic authorization (node does this from the URL's auth)
    const req = mod.request(u, { method, headers: { 'user-agent': 'cdx', 'accept-encoding': 'identity', ...headers }, signal, timeout: 30_000 }, (res) => {
      const s = res.statusCode ?? 0;
      if (s >= 300 && s < 400 && res.headers.location && s !== 304) {
        res.resume();
        if (hops >= 5) { reject(fail('E_READ', url, 'too many redirects')); return; }
        const next = new URL(res.headers.location, u);
        // credentials go only to the host they were written for
        if (next.host !== u.host) { next.username = ''; next.password = ''; }
        send(next.toString(), method, headers, signal, hops + 1).then(resolve, reject);
        return;
      }
      resolve(res);
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('no answer for 30 s'), { code: 'ETIMEDOUT' })));
    req.on('error', (e) => reject(e));
    req.end();
  });
}

/** The error for a final status, or a Transient to retry (5xx, 429). */
function statusError(url: string, res: IncomingMessage): Error {
  const s = res.statusCode ?? 0;
  res.resume();
  if (s === 429 || s >= 500) {
    const ra = Number(res.headers['retry-after']);
    return new Transient(`HTTP ${s} ${res.statusMessage ?? ''}`.trim(), Number.isFinite(ra) && ra >= 0 ? Math.min(ra * 1000, 5000) : undefined);
  }
  if (s === 404 || s === 410) return fail('ENOENT', url, `no such file on the server (HTTP ${s})`);
  if (s === 401 || s === 403) return fail('EACCES', url, `the server refused access (HTTP ${s}${s === 401 ? ': credentials needed' : ''})`);
  if (s === 416) return fail('E_TRUNCATED', url, 'the server has fewer bytes than expected (HTTP 416): the file is shorter than before');
  return fail('E_READ', url, `the server answered HTTP ${s} ${res.statusMessage ?? ''}`.trim());
}

function transientOf(e: unknown): Transient | null {
  if (e instanceof Transient) return e;
  const code = (e as { code?: string } | null)?.code;
  if (code && RETRIABLE.has(code)) return new Transient(`${code}${(e as Error).message ? ` (${(e as Error).message})` : ''}`);
  return null;
}

function cancelledOr(e: unknown, signal?: AbortSignal): unknown {
  if (signal?.aborted || (e as { name?: string } | null)?.name === 'AbortError') return CdxError.cancelled('the download');
  return e;
}

/** Runs `fn` again on transient failures, waiting longer each time; the last failure as a CdxError naming the URL. */
async function retrying<T>(url: string, opts: HttpOptions, fn: () => Promise<T>): Promise<T> {
  const tries = Math.max(1, opts.tries ?? 4);
  const base = opts.backoffMs ?? 250;
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (e0) {
      const e = cancelledOr(e0, opts.signal);
      if (e instanceof CdxError) throw e;
      const t = transientOf(e);
      if (!t) throw fail('E_READ', url, `the request failed: ${(e as Error)?.message ?? String(e)}`, e);
      if (i >= tries) throw fail('E_READ', url, `the request failed ${tries} times; last: ${t.message}`, e);
      await sleep(t.retryAfterMs ?? base * 2 ** (i - 1), opts.signal);
    }
  }
}

/** The remote file's size, ETag and Last-Modified (a HEAD; a one-byte GET where HEAD is refused). */
export async function statRemote(url: string, opts: HttpOptions = {}): Promise<RemoteStamp> {
  return retrying(url, opts, async () => {
    let res = await send(url, 'HEAD', {}, opts.signal);
    res.resume();
    if (res.statusCode === 405 || res.statusCode === 501) {
      res = await send(url, 'GET', { range: 'bytes=0-0' }, opts.signal);
      res.resume();
    }
    if (res.statusCode !== 200 && res.statusCode !== 206) throw statusError(url, res);
    return stampOf(res);
  });
}

/**
 * The last `n` bytes of the remote file (one suffix-range request), or null where the server does
 * not answer ranges (its 200 body is dropped unread: the caller downloads the file as a stream).
 */
export async function readTail(url: string, n: number, opts: HttpOptions = {}): Promise<{ bytes: Uint8Array; stamp: RemoteStamp } | null> {
  return retrying(url, opts, async () => {
    const res = await send(url, 'GET', { range: `bytes=-${n}` }, opts.signal);
    if (res.statusCode === 200) {
      res.destroy();
      return null;
    }
    if (res.statusCode !== 206) throw statusError(url, res);
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    return { bytes: new Uint8Array(Buffer.concat(chunks)), stamp: stampOf(res) };
  });
}

/** Whether two stamps name the same version (ETag when both have one, else Last-Modified; sizes agree). */
export function sameVersion(a: RemoteStamp, b: RemoteStamp): boolean {
  if (a.size !== null && b.size !== null && a.size !== b.size) return false;
  if (a.etag && b.etag) return a.etag === b.etag;
  if (a.lastModified && b.lastModified) return a.lastModified === b.lastModified;
  return false; // nothing to compare: never taken for the same
}

/**
 * Downloads `url` to `dest` (a temporary file beside it, renamed when complete). Returns the stamp
 * of the version written. A transfer that breaks off is resumed where it stopped (Range + If-Range)
 * when the server answers ranges, else read again from the start; a version change in between is
 * E_STALE. On any failure nothing is left at `dest` or beside it.
 */
export async function download(url: string, dest: string, opts: HttpOptions = {}): Promise<RemoteStamp> {
  await mkdir(path.dirname(dest), { recursive: true });
  const tmp = tempBeside(dest);
  try {
    const stamp = await transfer(url, tmp, opts);
    await renameDurable(tmp, dest);
    return stamp;
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw e;
  }
}

async function transfer(url: string, tmp: string, opts: HttpOptions): Promise<RemoteStamp> {
  let stamp: RemoteStamp | null = null;
  let got = 0;
  const tries = Math.max(1, opts.tries ?? 4);
  const base = opts.backoffMs ?? 250;
  for (let attempt = 1; ; attempt++) {
    const headers: Record<string, string> = {};
    const validator = stamp?.etag ?? stamp?.lastModified;
    if (got > 0 && stamp?.ranges && validator) {
      headers.range = `bytes=${got}-`;
      headers['if-range'] = validator;
    }
    try {
      const res = await send(url, 'GET', headers, opts.signal);
      const s = res.statusCode ?? 0;
      if (s !== 200 && s !== 206) throw statusError(url, res);
      const now = stampOf(res);
      if (stamp && (now.etag || now.lastModified) && !sameVersion({ ...stamp, size: null }, { ...now, size: null })) {
        res.resume();
        throw fail('E_STALE', url, `the file changed on the server while it was read (${describe(stamp)} → ${describe(now)}); open it again`);
      }
      if (s === 206) {
        const m = /bytes\s+(\d+)-/.exec(String(res.headers['content-range'] ?? ''));
        if (!stamp || !m || Number(m[1]) !== got) {
          res.resume();
          throw fail('E_READ', url, `the server answered a range that was not asked for (${res.headers['content-range'] ?? 'none'})`);
        }
      } else {
        got = 0; // the whole body again (first read, or a server that ignores ranges)
        stamp = now;
      }
      const at = { done: got };
      try {
        await writeBody(res, tmp, at, stamp!, opts);
      } finally {
        got = at.done; // what the file holds, also when the body broke off: the resume starts there
      }
      if (stamp!.size !== null && got !== stamp!.size) throw Object.assign(new Error(`the connection closed after ${got} of ${stamp!.size} bytes`), { code: 'SHORT_BODY' });
      if (stamp!.size === null) stamp!.size = got;
      return stamp!;
    } catch (e0) {
      const e = cancelledOr(e0, opts.signal);
      if (e instanceof CdxError) throw e;
      const t = transientOf(e);
      if (!t) throw fail('E_READ', url, `the download failed: ${(e as Error)?.message ?? String(e)}`, e);
      if (attempt >= tries) {
        const code: ErrorCode = (e as { code?: string }).code === 'SHORT_BODY' ? 'E_TRUNCATED' : 'E_READ';
        throw fail(code, url, `the download failed ${tries} times${stamp?.size ? ` (${got} of ${stamp.size} bytes)` : ''}; last: ${t.message}`, e);
      }
      await sleep(t.retryAfterMs ?? base * 2 ** (attempt - 1), opts.signal);
    }
  }
}

function describe(s: RemoteStamp): string {
  return s.etag ? `ETag ${s.etag}` : s.lastModified ? `Last-Modified ${s.lastModified}` : 'unknown version';
}

/** Streams a response body into `file` from byte `at.done`, counting in `at.done` the bytes written. */
function writeBody(res: IncomingMessage, file: string, at: { done: number }, stamp: RemoteStamp, opts: HttpOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const out = createWriteStream(file, { flags: at.done > 0 ? 'r+' : 'w', start: at.done });
    let done = at.done;
    let written = at.done;
    let failed: unknown = null;
    const finish = (e: unknown) => {
      if (failed) return;
      failed = e ?? null;
      res.destroy();
      out.destroy();
      out.once('close', () => reject(e));
    };
    res.on('data', (chunk: Buffer) => {
      done += chunk.length;
      opts.onBytes?.(done, stamp.size);
      if (!out.write(chunk, (err) => { if (!err) at.done = written += chunk.length; })) {
        res.pause();
        out.once('drain', () => res.resume());
      }
    });
    // a body that stops short without an error event is caught by the size check afterwards
    res.on('aborted', () => finish(Object.assign(new Error(`the connection closed after ${done} bytes`), { code: 'SHORT_BODY' })));
    res.on('error', (e) => finish((e as { code?: string }).code ? e : Object.assign(e, { code: 'SHORT_BODY' })));
    out.on('error', (e) => finish(CdxError.file('E_WRITE', file, `cannot write the downloaded file: ${e.message}`, { cause: e })));
    res.on('end', () => {
      if (failed) return;
      failed = true;
      out.end(() => resolve());
    });
  });
}

/**
 * Bytes [start, end) of the file (one range request, retried on transient failures). With
 * `opts.version` the request carries `If-Match` (its ETag) or `If-Unmodified-Since` (its
 * Last-Modified): a server whose file changed answers 412 and the read fails with E_STALE, so two
 * versions are never mixed; the answer's own validators are checked too, for servers that ignore
 * the condition. A server that ignores ranges (200) is refused here: the caller reads it as a stream.
 */
export async function readRange(url: string, start: number, end: number, opts: HttpOptions & ReadOptions = {}): Promise<Uint8Array> {
  if (!(end > start)) return new Uint8Array(0);
  const headers: Record<string, string> = { range: `bytes=${start}-${end - 1}` };
  const v = opts.version;
  if (v?.etag) headers['if-match'] = v.etag;
  else if (v?.lastModified) headers['if-unmodified-since'] = v.lastModified;
  return retrying(url, opts, async () => {
    const res = await send(url, 'GET', headers, opts.signal);
    const s = res.statusCode ?? 0;
    if (s === 412) {
      res.resume();
      throw fail('E_STALE', url, `the file changed on the server while it was read (it is no longer ${describe(v!)}); open it again`);
    }
    if (s === 200) {
      res.destroy();
      throw fail('E_UNSUPPORTED', url, 'the server does not answer byte ranges (it sent the whole file)');
    }
    if (s !== 206) throw statusError(url, res);
    const now = stampOf(res);
    if (v && (now.etag || now.lastModified) && !sameVersion({ ...v, size: null }, { ...now, size: null })) {
      res.resume();
      throw fail('E_STALE', url, `the file changed on the server while it was read (${describe(v)} → ${describe(now)}); open it again`);
    }
    const m = /bytes\s+(\d+)-(\d+)/.exec(String(res.headers['content-range'] ?? ''));
    if (!m || Number(m[1]) !== start) {
      res.resume();
      throw fail('E_READ', url, `the server answered a range that was not asked for (${res.headers['content-range'] ?? 'none'})`);
    }
    const want = Math.min(end, now.size ?? end) - start;
    const buf = new Uint8Array(want);
    let got = 0;
    await new Promise<void>((resolve, reject) => {
      res.on('data', (c: Buffer) => {
        const n = Math.min(c.length, want - got);
        if (n > 0) buf.set(c.subarray(0, n), got);
        got += n;
        opts.onBytes?.(n);
      });
      res.on('aborted', () => reject(Object.assign(new Error(`the connection closed after ${got} of ${want} bytes`), { code: 'SHORT_BODY' })));
      res.on('error', (e) => reject((e as { code?: string }).code ? e : Object.assign(e, { code: 'SHORT_BODY' })));
      res.on('end', () => resolve());
    });
    if (got < want) throw Object.assign(new Error(`the connection closed after ${got} of ${want} bytes`), { code: 'SHORT_BODY' });
    if (end > (now.size ?? end)) throw fail('E_TRUNCATED', url, `the file has ${now.size} bytes, fewer than the ${end} expected: it is truncated or changed`);
    return buf;
  });
}

/** An http(s) URL as a RemoteFile (file.ts). */
export function httpFile(location: string, policy: Pick<HttpOptions, 'tries' | 'backoffMs'> = {}): RemoteFile {
  const display = displayUrl(location);
  const name = (() => {
    try {
      return decodeURIComponent(new URL(display).pathname.split('/').pop() || 'download');
    } catch {
      return 'download';
    }
  })();
  return {
    display,
    name,
    stat: (opts = {}) => statRemote(location, { ...policy, ...opts }),
    read: (start, end, opts = {}) => readRange(location, start, end, { ...policy, ...opts }),
    download: (dest, opts = {}) => download(location, dest, { ...policy, ...opts }),
  };
}
