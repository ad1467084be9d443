/**
 * Real HTTP servers on loopback for the remote-file tests (never mocks):
 *   - `startNginx(root)`: Debian's nginx serving a folder (ranges, ETag, Last-Modified as nginx
 *     does them), in its own prefix folder on a free port, single process in the foreground; its
 *     access log records each request's status, Range header and body bytes sent; with
 *     `{ autoindex: true | 'json' }` it lists folders (its HTML index page, or its JSON);
 *   - `startNodeServer(root, behaviour)`: a small server of our own that can refuse ranges (always
 *     200 with the whole body), drop the connection after N bytes, answer 5xx a few times first, or
 *     change the file's ETag between requests. It counts the body bytes it sent.
 * `nginxBinary()` is undefined where nginx is not installed: the tests skip, saying so.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../sql/testing/net';

export function nginxBinary(): string | undefined {
  for (const p of ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/bin/nginx']) if (existsSync(p)) return p;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) if (dir && existsSync(path.join(dir, 'nginx'))) return path.join(dir, 'nginx');
  return undefined;
}

export interface Served {
  base: string;
  /** body bytes sent per request so far: [path, status, bytes, range] */
  log(): { path: string; status: number; bytes: number; range: string }[];
  stop(): Promise<void>;
}

export interface NginxOptions {
  /** list folders (nginx autoindex): as its HTML page, or as its JSON (`autoindex_format json`) */
  autoindex?: boolean | 'json';
}

export async function startNginx(root: string, opts: NginxOptions = {}): Promise<Served> {
  const bin = nginxBinary();
  if (!bin) throw new Error('nginx is not installed (apt-get install nginx-light)');
  const prefix = mkdtempSync(path.join(os.tmpdir(), 'cdx-nginx-'));
  const port = await freePort();
  const logFile = path.join(prefix, 'access.log');
  const conf = path.join(prefix, 'nginx.conf');
  writeFileSync(conf, `
master_process off;
daemon off;
worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 64; }
http {
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  types { application/octet-stream parquet arrow; text/csv csv; }
  default_type application/octet-stream;
  log_format cdx '$uri\\t$status\\t$body_bytes_sent\\t$http_range';
  access_log ${logFile} cdx;
  sendfile on;
  server {
    listen 127.0.0.1:${port};
    root ${root};
${opts.autoindex ? `    autoindex on;${opts.autoindex === 'json' ? ' autoindex_format json;' : ''}\n` : ''}    location /private/ { return 403; }
  }
}
`);
  const child: ChildProcess = spawn(bin, ['-p', prefix, '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr += String(d)));
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`nginx exited: ${stderr}${existsSync(`${prefix}/error.log`) ? readFileSync(`${prefix}/error.log`, 'utf8') : ''}`);
    const up = await new Promise<boolean>((resolve) => {
      const req = http.get(`${base}/`, (res) => { res.resume(); resolve(true); });
      req.on('error', () => resolve(false));
    });
    if (up) break;
    if (i > 100) throw new Error('nginx did not start in 5 s');
    await new Promise((r) => setTimeout(r, 50));
  }
  const cleanup = () => { try { child.kill('SIGKILL'); } catch { /* gone */ } };
  process.once('exit', cleanup);
  return {
    base,
    log() {
      if (!existsSync(logFile)) return [];
      return readFileSync(logFile, 'utf8').split('\n').filter(Boolean).map((l) => {
        const [p, s, b, r] = l.split('\t');
        return { path: p!, status: Number(s), bytes: Number(b), range: r === '-' ? '' : r ?? '' };
      });
    },
    async stop() {
      process.off('exit', cleanup);
      if (child.exitCode === null) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await gone;
      }
      rmSync(prefix, { recursive: true, force: true });
    },
  };
}

export interface Behaviour {
  /** answer 200 with the whole body whatever the Range header says, and no Accept-Ranges */
  noRanges?: boolean;
  /** destroy the socket after this many body bytes, for the first `dropTimes` GETs (default: every one) */
  dropAfter?: number;
  dropTimes?: number;
  /** answer this status to the first `failTimes` requests */
  failStatus?: number;
  failTimes?: number;
  /** a different ETag (and bytes) from this request number on (1-based, HEAD requests counted) */
  changeAt?: number;
  /** send this many body bytes, then nothing more (the connection stays open) */
  stallAfter?: number;
  /** `user:password` the server asks for (Basic); anything else is 401 */
  auth?: string;
}

export async function startNodeServer(root: string, b: Behaviour = {}): Promise<Served & { requests: () => number }> {
  const entries: { path: string; status: number; bytes: number; range: string }[] = [];
  let n = 0;
  let drops = 0;
  const server = http.createServer((req, res) => {
    n++;
    const rel = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const file = path.join(root, rel);
    const entry = { path: rel, status: 0, bytes: 0, range: String(req.headers.range ?? '') };
    entries.push(entry);
    if (b.failStatus && n <= (b.failTimes ?? 1)) {
      entry.status = b.failStatus;
      res.writeHead(b.failStatus, { 'retry-after': '0' });
      res.end();
      return;
    }
    if (b.auth && req.headers.authorization !== `Basic ${Buffer.from(b.auth).toString('base64')}`) {
      entry.status = 401;
      res.writeHead(401, { 'www-authenticate': 'Basic realm="cdx"' });
      res.end();
      return;
    }
    if (!file.startsWith(root) || !existsSync(file) || !statSync(file).isFile()) {
      entry.status = 404;
      res.writeHead(404);
      res.end();
      return;
    }
    let body = readFileSync(file);
    const changed = b.changeAt !== undefined && n >= b.changeAt;
    if (changed) {
      body = Buffer.from(body);
      body[body.length >> 1] ^= 1; // a byte in the middle: a Parquet file keeps its magic
    }
    const etag = changed ? '"v2"' : '"v1"';
    const headers: Record<string, string | number> = { etag, 'last-modified': new Date(1_700_000_000_000 + (changed ? 1000 : 0)).toUTCString() };
    let start = 0;
    let end = body.length;
    let status = 200;
    const m = /^bytes=(\d*)-(\d*)$/.exec(String(req.headers.range ?? ''));
    const ifRange = req.headers['if-range'];
    if (!b.noRanges) headers['accept-ranges'] = 'bytes';
    if (!b.noRanges && m && (!ifRange || ifRange === etag)) {
      // bytes=A-B, bytes=A- and the suffix form bytes=-N
      start = m[1] ? Number(m[1]) : Math.max(0, body.length - Number(m[2]));
      end = m[1] && m[2] ? Math.min(body.length, Number(m[2]) + 1) : body.length;
      status = 206;
      headers['content-range'] = `bytes ${start}-${end - 1}/${body.length}`;
    }
    headers['content-length'] = end - start;
    entry.status = status;
    res.writeHead(status, headers);
    if (req.method === 'HEAD') { res.end(); return; }
    const part = body.subarray(start, end);
    if (b.stallAfter !== undefined && part.length > b.stallAfter) {
      entry.bytes += b.stallAfter;
      res.write(part.subarray(0, b.stallAfter));
      return;
    }
    if (b.dropAfter !== undefined && drops < (b.dropTimes ?? Infinity) && part.length > b.dropAfter) {
      drops++;
      res.write(part.subarray(0, b.dropAfter), () => {
        entry.bytes += b.dropAfter!;
        setTimeout(() => res.socket?.destroy(), 20);
      });
      return;
    }
    entry.bytes += part.length;
    res.end(part);
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    base: `http://127.0.0.1:${port}`,
    log: () => entries,
    requests: () => n,
    stop: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
