/**
 * Saved http(s) and S3 connections (connections.ts) through the engine's handlers, against real
 * servers on loopback: Debian's nginx with its directory index (HTML and JSON), nginx without one,
 * and Python's http.server (another index page). A browsed folder must list what the folder on
 * disk holds (names, exact sizes, times to the minute the page shows), its entries must open as
 * datasets equal to the files read by DuckDB, and a server that lists nothing must say so, naming
 * the URL. Secrets: an http(s) URL with a password is refused, an S3 secret key is never in the
 * catalog file, and database connections in the same table are untouched.
 */
process.env.CDX_NO_KEYCHAIN = '1'; // no OS keychain in the tests' world: kept secrets are the session's

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createEngineHandlers } from '../service';
import type { HandlerContext } from '../../../shared/rpc';
import type { BrowseEntry } from '../../../shared/api';
import type { CdxError } from '../../../shared/errors';
import { duckQuery } from '../sources/testing/oracle';
import { freePort } from '../sql/testing/net';
import { nginxBinary, startNginx, type Served } from './testing/servers';
import { startS3, type S3Served } from './testing/s3';
import { closeS3Clients } from './s3';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { formatS3Url, httpBase, parseIndex, parseS3Url } from './connections';

/** the error a call fails with (a call that does not fail fails the test) */
async function failure(f: () => unknown): Promise<CdxError> {
  try {
    await f();
  } catch (e) {
    return e as CdxError;
  }
  throw new Error('the call did not fail');
}

const ctx = (): HandlerContext => ({ signal: new AbortController().signal, progress: () => {}, connection: 'test' });
const root = mkdtempSync(path.join(os.tmpdir(), 'cdx-conns-'));
const data = path.join(root, 'data');
const home = path.join(root, 'home');
const h = createEngineHandlers({ home, samplePath: null });
const servers: Served[] = [];
let html: Served, json: Served, plain: Served;
let python: { base: string; child: ChildProcess } | null = null;

// names a page has to escape or cut short (nginx writes names over 50 characters cut with `..>`)
const ODD = ['q&a<b>.csv', 'a very long file name with spaces and ünïcode, longer than fifty characters.csv'];

const skip = !nginxBinary();

beforeAll(async () => {
  if (skip) return;
  mkdirSync(path.join(data, 'sub', 'deeper'), { recursive: true });
  mkdirSync(path.join(data, 'year=2024'));
  mkdirSync(path.join(data, 'private'));
  mkdirSync(path.join(data, 'site'));
  const csv = (f: string) => path.join(data, f).replace(/'/g, "''");
  await duckQuery(`COPY (SELECT i AS id, i * 0.5 AS v, 'k' || (i % 7) AS k FROM range(1234) t(i)) TO '${csv('trips.csv')}' (HEADER)`);
  await duckQuery(`COPY (SELECT i AS id, i * 2 AS w FROM range(321) t(i)) TO '${csv('sub/part.parquet')}' (FORMAT parquet)`);
  writeFileSync(path.join(data, 'sub', 'deeper', 'x.json'), '[{"a":1}]');
  writeFileSync(path.join(data, 'year=2024', 'p.csv'), 'a\n1\n');
  for (const n of ODD) writeFileSync(path.join(data, n), 'a,b\n1,2\n');
  writeFileSync(path.join(data, 'private', 'secret.csv'), 'a\n1\n');
  writeFileSync(path.join(data, 'site', 'index.html'), '<html><body><h1>Welcome</h1><a href="https://example.org/">elsewhere</a></body></html>');
  html = await startNginx(data, { autoindex: true });
  json = await startNginx(data, { autoindex: 'json' });
  plain = await startNginx(data);
  servers.push(html, json, plain);
  // Python's own file server: another kind of index page (a list of links, no sizes or dates)
  try {
    const port = await freePort();
    const child = spawn('python3', ['-m', 'http.server', String(port), '--bind', '127.0.0.1', '--directory', data], { stdio: 'ignore' });
    const base = `http://127.0.0.1:${port}/`;
    for (let i = 0; i < 100; i++) {
      const up = await new Promise<boolean>((r) => http.get(base, (res) => { res.resume(); r(true); }).on('error', () => r(false)));
      if (up) { python = { base, child }; break; }
      await new Promise((r) => setTimeout(r, 50));
    }
    if (!python) child.kill();
  } catch {
    python = null;
  }
}, 60_000);

afterAll(async () => {
  h.close();
  python?.child.kill();
  for (const s of servers) await s.stop();
  rmSync(root, { recursive: true, force: true });
});

/** what the folder on disk holds, as a browse should list it (folders first, by name) */
function onDisk(dir: string) {
  return readdirSync(dir).filter((n) => !n.startsWith('.')).map((n) => {
    const st = statSync(path.join(dir, n));
    return { name: n, dir: st.isDirectory(), size: st.isDirectory() ? undefined : st.size, mtimeMs: st.mtimeMs };
  }).sort((a, b) => (a.dir === b.dir ? (a.name < b.name ? -1 : 1) : a.dir ? -1 : 1));
}

function expectListing(got: BrowseEntry[], dir: string, base: string, times: 'minute' | 'second' | 'none') {
  const want = onDisk(dir);
  expect(got.map((e) => [e.name, e.kind])).toEqual(want.map((w) => [w.name, w.dir ? 'dir' : 'file']));
  for (const [i, w] of want.entries()) {
    const e = got[i]!;
    // the entry's URL is the server's own for that name: the folder's URL and the name, escaped
    expect(e.path).toBe(new URL(encodeURIComponent(w.name) + (w.dir ? '/' : ''), base).toString());
    if (times !== 'none' && !w.dir) expect(e.size, w.name).toBe(w.size);
    if (times === 'minute') expect(Math.floor(e.mtimeMs! / 60_000), w.name).toBe(Math.floor(w.mtimeMs / 60_000));
    if (times === 'second') expect(Math.floor(e.mtimeMs! / 1000), w.name).toBe(Math.floor(w.mtimeMs / 1000));
  }
}

describe.skipIf(skip)('http(s) connections', () => {
  it('save, list, test: the base as a folder URL, the server and what its index lists', async () => {
    const saved = await h.saveConnection({ url: `${html.base}/data-does-not-matter/../`, name: 'Files' }, ctx());
    expect(saved).toMatchObject({ url: `${html.base}/`, name: 'Files', kind: 'http', secret: 'none' });
    // a base written without its trailing slash is the same folder
    const again = await h.saveConnection({ url: `${html.base}/sub` }, ctx());
    expect(again.url).toBe(`${html.base}/sub/`);
    expect(again.name).toBe(`${new URL(html.base).host}/sub`);
    const list = await h.listConnections({}, ctx());
    expect(list.map((c) => [c.kind, c.url])).toEqual([['http', `${html.base}/`], ['http', `${html.base}/sub/`]]);

    const t = await h.testConnection({ url: `${html.base}/` }, ctx());
    expect(t.serverVersion).toMatch(/^nginx\/\d/);
    expect(t.status).toBe(200);
    expect(t.listed).toBe(true);
    expect(t.tables).toBe(onDisk(data).length);
    expect(t.ms).toBeGreaterThanOrEqual(0);
    await h.removeConnection({ url: `${html.base}/sub/` }, ctx());
    await h.removeConnection({ url: `${html.base}/` }, ctx());
    expect(await h.listConnections({}, ctx())).toEqual([]);
  });

  it("browses nginx's HTML index: every name (escaped, cut short on the page) with its exact size and time, folders to descend", async () => {
    const top = await h.browseRemote({ url: `${html.base}/` }, ctx());
    expectListing(top, data, `${html.base}/`, 'minute');
    expect(top.find((e) => e.name === 'trips.csv')?.format).toBe('csv');
    expect(top.find((e) => e.name === 'year=2024')?.path).toBe(`${html.base}/year%3D2024/`);
    const sub = top.find((e) => e.name === 'sub')!;
    const inSub = await h.browseRemote({ url: sub.path }, ctx());
    expectListing(inSub, path.join(data, 'sub'), sub.path, 'minute');
    expect(inSub.find((e) => e.name === 'part.parquet')?.format).toBe('parquet');
    // a folder URL written without its slash is followed to the folder
    expect((await h.browseRemote({ url: `${html.base}/sub` }, ctx())).map((e) => e.name)).toEqual(inSub.map((e) => e.name));
  });

  it("browses nginx's JSON index the same way (times to the second)", async () => {
    expectListing(await h.browseRemote({ url: `${json.base}/` }, ctx()), data, `${json.base}/`, 'second');
    expectListing(await h.browseRemote({ url: `${json.base}/sub/` }, ctx()), path.join(data, 'sub'), `${json.base}/sub/`, 'second');
  });

  it("browses Python's http.server page (links only)", async () => {
    if (!python) return; // no python3 here
    expectListing(await h.browseRemote({ url: python.base }, ctx()), data, python.base, 'none');
  });

  it('an entry opens as its dataset, equal to the file read by DuckDB', async () => {
    const top = await h.browseRemote({ url: `${html.base}/` }, ctx());
    const ov = await h.open({ location: top.find((e) => e.name === 'trips.csv')!.path }, ctx());
    const [[n, sum]] = (await duckQuery(`SELECT count(*), sum(v)::DOUBLE FROM read_csv('${path.join(data, 'trips.csv')}')`)) as [[bigint, number]];
    expect(ov.rows).toBe(Number(n));
    const s = await h.summary({ dataset: ov.entry.id }, ctx());
    const v = s.columns.find((c) => c.name === 'v')!;
    expect(Number(v.mean) * v.count).toBeCloseTo(sum, 6);
    const sub = await h.browseRemote({ url: `${html.base}/sub/` }, ctx());
    const pq = await h.open({ location: sub.find((e) => e.name === 'part.parquet')!.path }, ctx());
    expect(pq.rows).toBe(321);
  });

  it('a server that lists nothing says so, naming the URL; Test still reaches it', async () => {
    // nginx without autoindex: a folder is 403
    const e1 = await failure(() => h.browseRemote({ url: `${plain.base}/sub/` }, ctx()));
    expect(e1.code).toBe('EACCES');
    expect(e1.message).toBe(`${plain.base}/sub/: the server lists nothing here (HTTP 403: no directory index, or access refused); type the path of a file under it to open it`);
    const t = await h.testConnection({ url: `${plain.base}/sub/` }, ctx());
    expect(t).toMatchObject({ status: 403, listed: false, tables: 0 });
    expect(t.serverVersion).toMatch(/^nginx\//);
    // a file typed under it still opens
    expect((await h.open({ location: `${plain.base}/sub/part.parquet` }, ctx())).rows).toBe(321);
    // a page that is not an index (the folder's index.html)
    const e2 = await failure(() => h.browseRemote({ url: `${html.base}/site/` }, ctx()));
    expect(e2.code).toBe('E_UNSUPPORTED');
    expect(e2.message).toContain(`${html.base}/site/: the server lists nothing here`);
    // no such folder, and no server at all
    const e3 = await failure(() => h.browseRemote({ url: `${html.base}/nope/` }, ctx()));
    expect([e3.code, e3.message]).toEqual(['ENOENT', `${html.base}/nope/: no such folder on the server (HTTP 404)`]);
    await expect(h.testConnection({ url: `${html.base}/nope/` }, ctx())).rejects.toMatchObject({ code: 'ENOENT' });
    const port = await freePort();
    await expect(h.testConnection({ url: `http://127.0.0.1:${port}/x/` }, ctx())).rejects.toMatchObject({
      code: 'E_READ', message: expect.stringMatching(new RegExp(`^http://127\\.0\\.0\\.1:${port}/x/: the server could not be reached \\(ECONNREFUSED\\)`)),
    });
  });

  it('an http(s) URL with a password is refused, and nothing saved', async () => {
    const e = await failure(() => h.saveConnection({ url: `http://ana:hunter2@127.0.0.1:9/data/` }, ctx()));
    expect(e.code).toBe('E_BAD_ARG');
    expect(e.message).toContain('http://127.0.0.1:9/data/: an http(s) connection keeps no user or password');
    expect(e.message).not.toContain('hunter2');
    expect(await h.listConnections({}, ctx())).toEqual([]);
  });
});

describe('S3 connections: the URL and the secret key', () => {
  it('canonical URLs: key id, bucket, prefix as a folder, endpoint and region; a secret written in it is taken out', () => {
    const { parts, secret } = parseS3Url('s3://AKIA1:shh%2Fh@my-bucket/logs/2024?endpoint=http%3A%2F%2F127.0.0.1%3A9000%2F&region=eu-west-1');
    expect(secret).toBe('shh/h');
    expect(parts).toEqual({ bucket: 'my-bucket', prefix: 'logs/2024/', keyId: 'AKIA1', endpoint: 'http://127.0.0.1:9000', region: 'eu-west-1' });
    expect(formatS3Url(parts)).toBe('s3://AKIA1@my-bucket/logs/2024/?endpoint=http%3A%2F%2F127.0.0.1%3A9000&region=eu-west-1');
    expect(formatS3Url(parseS3Url('s3://bucket').parts)).toBe('s3://bucket/');
    expect(() => parseS3Url('s3:///x')).toThrow(/no bucket named/);
    // the prefix as written (s3.ts reads keys literally)
    expect(parseS3Url('s3://b/a%20b/c d').parts.prefix).toBe('a%20b/c d/');
    expect(() => parseS3Url('s3://bucket/?endpoint=ftp%3A%2F%2Fx')).toThrow(/not an http\(s\) URL/);
    expect(httpBase('https://host/data#x')).toBe('https://host/data/');
  });

  it('a saved key is kept for the session (no keychain here), never in the catalog; a database connection beside it is untouched', async () => {
    const pg = await h.saveConnection({ url: 'postgresql://ana@db.example:5432/sales', name: 'Sales' }, ctx());
    const url = 's3://AKIATEST@cdx-bucket/raw/?endpoint=http%3A%2F%2F127.0.0.1%3A9&region=us-east-1';
    const s3 = await h.saveConnection({ url, password: 'the-secret-key-9f3a', remember: true }, ctx());
    expect(s3).toMatchObject({ url, kind: 's3', secret: 'session', name: 'cdx-bucket/raw on 127.0.0.1:9' });
    // a key written in the URL is taken out the same way
    const inUrl = await h.saveConnection({ url: 's3://AKIATEST:other-secret-77@cdx-bucket/cooked/?endpoint=http%3A%2F%2F127.0.0.1%3A9' }, ctx());
    expect(inUrl.url).toBe('s3://AKIATEST@cdx-bucket/cooked/?endpoint=http%3A%2F%2F127.0.0.1%3A9');
    // no key id: the AWS chain decides
    const chain = await h.saveConnection({ url: 's3://open-data/' }, ctx());
    expect(chain.secret).toBe('convention');
    await expect(h.saveConnection({ url: 's3://open-data/', password: 'x' }, ctx())).rejects.toMatchObject({ code: 'E_BAD_ARG' });
    const list = await h.listConnections({}, ctx());
    expect(list.map((c) => c.kind)).toEqual(['postgresql', 's3', 's3', 's3']);
    expect(list[0]).toMatchObject({ url: pg.url, name: 'Sales' });
    const file = readFileSync(path.join(home, 'catalog.sqlite'));
    expect(file.includes('the-secret-key-9f3a')).toBe(false);
    expect(file.includes('other-secret-77')).toBe(false);
    // removing one connection to the bucket keeps the key the other still uses; the last takes it along
    await h.removeConnection({ url: inUrl.url }, ctx());
    expect((await h.listConnections({}, ctx())).find((c) => c.url === url)?.secret).toBe('session');
    await h.removeConnection({ url }, ctx());
    await h.saveConnection({ url }, ctx());
    expect((await h.listConnections({}, ctx())).find((c) => c.url === url)?.secret).toBe('none');
    // the app hands a key it keeps over with setSecret
    await h.setSecret({ url, password: 'from-safe-storage' }, ctx());
    expect((await h.listConnections({}, ctx())).find((c) => c.url === url)?.secret).toBe('session');
    for (const c of await h.listConnections({}, ctx())) await h.removeConnection({ url: c.url }, ctx());
    expect(await h.listConnections({}, ctx())).toEqual([]);
  });
});

describe('directory index pages', () => {
  it("Apache's table page: links, dates and human sizes; sort links and the parent left out", () => {
    const page = `<table><tr><th><a href="?C=N;O=D">Name</a></th><th><a href="?C=M;O=A">Last modified</a></th></tr>
<tr><td valign="top"><img src="/icons/back.gif" alt="[PARENTDIR]"></td><td><a href="/pub/">Parent Directory</a></td><td>&nbsp;</td><td align="right">  - </td></tr>
<tr><td valign="top"><img src="/icons/folder.gif" alt="[DIR]"></td><td><a href="2024/">2024/</a></td><td align="right">2024-03-01 10:15  </td><td align="right">  - </td></tr>
<tr><td valign="top"><img src="/icons/unknown.gif" alt="[   ]"></td><td><a href="big.parquet">big.parquet</a></td><td align="right">2024-02-29 23:59  </td><td align="right">1.5M</td></tr>
<tr><td valign="top"><img src="/icons/text.gif" alt="[TXT]"></td><td><a href="a%20b.csv">a b.csv</a></td><td align="right">2023-12-31 00:00  </td><td align="right">120 </td></tr>
</table>`;
    expect(parseIndex(page, 'https://files.example/pub/data/')).toEqual([
      { name: '2024', path: 'https://files.example/pub/data/2024/', kind: 'dir', mtimeMs: Date.UTC(2024, 2, 1, 10, 15) },
      { name: 'a b.csv', path: 'https://files.example/pub/data/a%20b.csv', kind: 'file', mtimeMs: Date.UTC(2023, 11, 31), size: 120, format: 'csv' },
      { name: 'big.parquet', path: 'https://files.example/pub/data/big.parquet', kind: 'file', mtimeMs: Date.UTC(2024, 1, 29, 23, 59), size: 1.5 * 1024 * 1024, format: 'parquet' },
    ]);
  });
});

describe('S3 connections against an S3-compatible server (s3rver, signatures checked)', () => {
  let s3: S3Served;
  const BUCKET = 'cdx-conn';
  const files: Record<string, string> = {};
  beforeAll(async () => {
    s3 = await startS3([BUCKET]);
    const up = new S3Client({ endpoint: s3.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: s3.keyId, secretAccessKey: s3.secret } });
    const local = path.join(root, 's3src');
    mkdirSync(local, { recursive: true });
    const csv = (f: string, n: number, k: number) => duckQuery(`COPY (SELECT i + ${k} AS id, i * 0.25 AS v FROM range(${n}) t(i)) TO '${path.join(local, f)}' (HEADER)`);
    await csv('trips.csv', 777, 0);
    await csv('a.csv', 120, 1000);
    await csv('b.csv', 80, 2000);
    for (const [key, f] of [['raw/trips.csv', 'trips.csv'], ['raw/2024/a.csv', 'a.csv'], ['raw/2024/b.csv', 'b.csv'], ['other.csv', 'a.csv']] as const) {
      files[key] = path.join(local, f);
      await up.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: readFileSync(path.join(local, f)) }));
    }
    up.destroy();
  }, 60_000);
  afterAll(async () => {
    closeS3Clients();
    await s3?.stop();
  });

  it('adds a bucket and prefix with its key, tests it, browses it a level at a time, opens an object and a whole prefix', async () => {
    const url = `s3://${s3.keyId}@${BUCKET}/raw/?endpoint=${encodeURIComponent(s3.endpoint)}&region=us-east-1`;
    // Test before saving: a wrong key is refused by the server, and named without it
    const bad = await failure(() => h.testConnection({ url, password: 'not-the-secret' }, ctx()));
    expect(bad.code).toBe('E_AUTH');
    expect(bad.message).not.toContain('not-the-secret');
    expect(bad.message).not.toContain(s3.keyId);
    const t = await h.testConnection({ url, password: s3.secret }, ctx());
    expect(t).toMatchObject({ url, serverVersion: s3.endpoint, tables: 3 });
    // the key typed for the test was not kept
    expect(await failure(() => h.testConnection({ url }, ctx()))).toMatchObject({ code: 'E_AUTH' });

    const saved = await h.saveConnection({ url, password: s3.secret, remember: true, name: 'Raw' }, ctx());
    expect(saved).toMatchObject({ url, kind: 's3', secret: 'session' });
    expect((await h.testConnection({ url }, ctx())).tables).toBe(3);
    expect(readFileSync(path.join(home, 'catalog.sqlite')).includes(s3.secret)).toBe(false);

    const top = await h.browseRemote({ url }, ctx());
    const q = `?endpoint=${encodeURIComponent(s3.endpoint)}&region=us-east-1`;
    expect(top).toEqual([
      { name: '2024', path: `s3://${BUCKET}/raw/2024/${q}`, kind: 'dir' },
      { name: 'trips.csv', path: `s3://${BUCKET}/raw/trips.csv${q}`, kind: 'file', size: statSync(files['raw/trips.csv']!).size, mtimeMs: expect.any(Number), format: 'csv' },
    ]);
    // a level below: its URL names no key id, the saved connection signs it
    const y = await h.browseRemote({ url: top[0]!.path }, ctx());
    expect(y.map((e) => [e.name, e.size])).toEqual([['a.csv', statSync(files['raw/2024/a.csv']!).size], ['b.csv', statSync(files['raw/2024/b.csv']!).size]]);

    const ov = await h.open({ location: top[1]!.path }, ctx());
    const [[n]] = (await duckQuery(`SELECT count(*) FROM read_csv('${files['raw/trips.csv']}')`)) as [[bigint]];
    expect(ov.rows).toBe(Number(n));
    // the prefix as one dataset of many files
    const many = await h.open({ location: top[0]!.path }, ctx());
    expect(many.rows).toBe(200);
    expect(JSON.parse(many.metadata.files!).map((f: { rows: number }) => f.rows)).toEqual([120, 80]);
    expect((await h.listDatasets({}, ctx())).find((d) => d.id === many.entry.id)?.files).toBe(2);

    await h.removeConnection({ url }, ctx());
    expect(await failure(() => h.testConnection({ url }, ctx()))).toMatchObject({ code: 'E_AUTH' });
  }, 60_000);
});
