/**
 * A real S3-compatible server on loopback for the S3 tests (never a mock): @20minutes/s3rver, a
 * maintained fork of s3rver that checks SigV4 signatures (s3rver 3.x accepts any v4 signature: a
 * wrong secret would pass), in its own temporary folder on a free port, stopped and removed after.
 * In front of it a small proxy of ours on another free port, which the tests use as the endpoint:
 * it logs every request (method, path, status, body bytes sent) so a test can tell which objects
 * were read, and can cut a GET's body after some bytes (a stream broken mid-transfer).
 *
 * One correction to the fork's signature check, and only to what it signs over: it rebuilds the
 * canonical URI from the bucket and key it routed, which drops the trailing `/` that SDK v3 signs
 * for bucket-level requests (ListObjectsV2 is `GET /bucket/?list-type=2`), so every listing
 * failed with SignatureDoesNotMatch whatever the key. The URI it checks is made the one the
 * client sent, as S3 does; the HMAC over it with the account's secret is the fork's own.
 */
import { createRequire } from 'node:module';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../sql/testing/net';

const require = createRequire(import.meta.url);

interface S3rverInstance {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
  middleware: ((ctx: { req: http.IncomingMessage }, next: () => Promise<void>) => Promise<void>)[];
}

let patched = false;

function patchCanonicalUri(): void {
  if (patched) return;
  patched = true;
  const v4 = require('@20minutes/s3rver/lib/signature/v4.js') as { getStringToSign: (cr: { uri: string; headers: Record<string, string> }, r: unknown) => string };
  const orig = v4.getStringToSign;
  v4.getStringToSign = (cr, r) => orig({ ...cr, uri: cr.headers['cdx-raw-path'] ?? cr.uri }, r);
}

export interface S3Served {
  /** the proxy's endpoint (http://127.0.0.1:PORT): give it as AWS_ENDPOINT_URL or a connection's endpoint */
  endpoint: string;
  /** the server's access key id and secret for this run (made for it: nothing else knows them) */
  keyId: string;
  secret: string;
  /** requests so far: method, path (with the bucket, without the query), status, body bytes sent, Range header */
  log(): { method: string; path: string; query: string; status: number; bytes: number; range: string }[];
  clearLog(): void;
  /** the next GET of `pathSuffix` is cut after `bytes` body bytes (the connection destroyed) */
  cutNext(pathSuffix: string, bytes: number): void;
  stop(): Promise<void>;
}

export async function startS3(buckets: string[]): Promise<S3Served> {
  patchCanonicalUri();
  const S3rver = require('@20minutes/s3rver') as new (o: Record<string, unknown>) => S3rverInstance;
  const Account = require('@20minutes/s3rver/lib/models/account.js') as { DUMMY_ACCOUNT: { createKeyPair(id: string, secret: string): void } };
  const keyId = `CDXTEST${Math.random().toString(36).slice(2, 10).toUpperCase()}`;
  const secret = `cdx-secret-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
  Account.DUMMY_ACCOUNT.createKeyPair(keyId, secret);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cdx-s3rver-'));
  const s3port = await freePort();
  const srv = new S3rver({ address: '127.0.0.1', port: s3port, silent: true, directory: dir, configureBuckets: buckets.map((name) => ({ name, configs: [] })) });
  srv.middleware.unshift(async (ctx, next) => {
    ctx.req.headers['cdx-raw-path'] = (ctx.req.url ?? '/').split('?')[0]!;
    await next();
  });
  await srv.run();

  const log: ReturnType<S3Served['log']> = [];
  const cuts: { suffix: string; bytes: number }[] = [];
  const proxy = http.createServer((req, res) => {
    const [p, q = ''] = (req.url ?? '/').split('?') as [string, string?];
    const entry = { method: req.method ?? 'GET', path: decodeURIComponent(p), query: q, status: 0, bytes: 0, range: String(req.headers.range ?? '') };
    log.push(entry);
    const cutAt = req.method === 'GET' ? cuts.findIndex((c) => entry.path.endsWith(c.suffix)) : -1;
    const cut = cutAt >= 0 ? cuts.splice(cutAt, 1)[0]! : null;
    const up = http.request({ host: '127.0.0.1', port: s3port, method: req.method, path: req.url, headers: req.headers }, (ur) => {
      entry.status = ur.statusCode ?? 0;
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      ur.on('data', (c: Buffer) => {
        if (cut && entry.bytes + c.length > cut.bytes) {
          const n = cut.bytes - entry.bytes;
          if (n > 0) res.write(c.subarray(0, n));
          entry.bytes += Math.max(0, n);
          ur.destroy();
          res.destroy(); // the client sees the body end short of its Content-Length
          return;
        }
        entry.bytes += c.length;
        res.write(c);
      });
      ur.on('end', () => res.end());
      ur.on('error', () => res.destroy());
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  const port = await freePort();
  await new Promise<void>((resolve) => proxy.listen(port, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${port}`,
    keyId,
    secret,
    log: () => log.slice(),
    clearLog: () => { log.length = 0; },
    cutNext: (suffix, bytes) => { cuts.push({ suffix, bytes }); },
    async stop() {
      proxy.closeAllConnections();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
      await srv.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
