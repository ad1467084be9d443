/**
 * Files over http(s) opened through the engine's handlers, against real servers on loopback:
 * Debian's nginx (ranges, ETag, Last-Modified as a real server does them) and small Node servers
 * of our own that refuse ranges, drop the connection mid-transfer, fail with 5xx first, or change
 * the file between two reads. Every remote dataset must equal the same file opened locally
 * (summary and rows), errors must name the URL without its credentials, and nothing half-written
 * may stay in the cache.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { createEngineHandlers } from '../service';
import { appRoot } from '../paths';
import type { HandlerContext } from '../../../shared/rpc';
import { duckQuery } from '../sources/testing/oracle';
import { nginxBinary, startNginx, startNodeServer, type Served } from './testing/servers';
import { displayUrl } from './http';
import { httpPolicy } from './open';

const ctx = (progress: (p: unknown) => void = () => {}): HandlerContext => ({ signal: new AbortController().signal, progress, connection: 'test' });
const sample = path.join(appRoot(), 'resources', 'sample', 'trips.arrow');
const data = mkdtempSync(path.join(os.tmpdir(), 'cdx-remote-data-'));
const homes: string[] = [];
const engines: ReturnType<typeof createEngineHandlers>[] = [];
function engine() {
  const home = mkdtempSync(path.join(os.tmpdir(), 'cdx-remote-home-'));
  homes.push(home);
  const h = createEngineHandlers({ home, samplePath: null });
  engines.push(h);
  return { h, home, cache: path.join(home, 'cache') };
}

httpPolicy.backoffMs = 20;

beforeAll(async () => {
  const p = (f: string) => path.join(data, f).replace(/'/g, "''");
  const q = `SELECT i AS id, (i * 7919) % 1000 / 10.0 AS fare, 'k' || (i % 13) AS payment, i % 5 = 0 AS flag,
    CASE WHEN i % 11 = 0 THEN NULL ELSE i * 0.5 END AS maybe, repeat('x', i % 40) AS pad FROM range(60000) t(i)`;
  await duckQuery(`COPY (${q}) TO '${p('data.parquet')}' (FORMAT parquet, ROW_GROUP_SIZE 15000)`);
  await duckQuery(`COPY (${q}) TO '${p('data.csv')}' (FORMAT csv, HEADER)`);
  await duckQuery(`COPY (${q}) TO '${p('data.csv.gz')}' (FORMAT csv, HEADER, COMPRESSION gzip)`);
  await duckQuery(`COPY (SELECT * FROM (${q}) LIMIT 2000) TO '${p('data.json')}' (FORMAT json)`);
  copyFileSync(sample, path.join(data, 'trips.arrow'));
  mkdirSync(path.join(data, 'private'));
  copyFileSync(path.join(data, 'data.csv'), path.join(data, 'private', 'data.csv'));
  // a Parquet file cut short: the footer is gone
  const full = path.join(data, 'data.parquet');
  writeFileSync(path.join(data, 'cut.parquet'), (await import('node:fs')).readFileSync(full).subarray(0, Math.floor(statSync(full).size * 0.6)));
  try {
    execFileSync('python3', ['-c', `import numpy as np; np.save(${JSON.stringify(path.join(data, 'x.npy'))}, np.arange(5000, dtype=np.float64) * 1.5)`]);
  } catch {
    /* numpy missing: the npy case skips */
  }
}, 60_000);

afterAll(() => {
  for (const h of engines) h.close();
  for (const d of [...homes, data]) rmSync(d, { recursive: true, force: true });
});

/** Summary and the first rows of a dataset, without its catalog id (which differs local / remote). */
async function contents(h: ReturnType<typeof createEngineHandlers>, location: string) {
  const ov = await h.open({ location }, ctx());
  const s = await h.summary({ dataset: ov.entry.id }, ctx());
  const rows = await h.rows({ dataset: ov.entry.id, offset: 0, limit: 500 }, ctx());
  const tail = await h.rows({ dataset: ov.entry.id, offset: Math.max(0, ov.rows - 300), limit: 300 }, ctx());
  return { ov, summary: { ...s, dataset: undefined }, rows: Buffer.from(rows.ipc).toString('base64'), tail: Buffer.from(tail.ipc).toString('base64') };
}

/**
 * Where two summaries differ: floats are compared to a relative 1e-9, as the engine's parallel
 * summary of one and the same local file differs in the last bits from one run to the next (mean
 * 49.95 against 49.949999999999996, std 121244.566888… against …889), whatever the file came through.
 */
function differences(a: unknown, b: unknown, at = ''): string[] {
  if (typeof a === 'number' && typeof b === 'number') {
    if (a === b || (Number.isNaN(a) && Number.isNaN(b))) return [];
    return Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b)) ? [] : [`${at}: ${a} != ${b}`];
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((k) => differences((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${at}.${k}`));
  }
  return a === b ? [] : [`${at}: ${JSON.stringify(a)} != ${JSON.stringify(b)}`];
}

/** The error an open fails with (null when it succeeds). */
async function openError(h: ReturnType<typeof createEngineHandlers>, location: string): Promise<any> {
  try {
    await h.open({ location }, ctx());
    return null;
  } catch (e) {
    return e;
  }
}

function leftovers(cache: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    if (!existsSync(d)) return;
    for (const n of readdirSync(d)) {
      const p = path.join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else if (/partial/.test(n)) out.push(p);
    }
  };
  walk(cache);
  return out;
}

const formats = ['data.parquet', 'trips.arrow', 'data.csv', 'data.csv.gz', 'data.json', 'x.npy'];

describe.skipIf(!nginxBinary())('files over http from nginx', () => {
  let ng: Served;
  beforeAll(async () => { ng = await startNginx(data); });
  afterAll(async () => { await ng?.stop(); });

  for (const f of formats) {
    it(`${f} opens from a URL and equals the local file (summary, first and last rows)`, async () => {
      if (!existsSync(path.join(data, f))) return void console.log(`[skip] ${f}: not made (numpy missing)`);
      const { h, cache } = engine();
      const local = await contents(h, path.join(data, f));
      const url = `${ng.base}/${f}`;
      const progress: unknown[] = [];
      const ov = await h.open({ location: url }, ctx((p) => progress.push(p)));
      expect(ov.entry.path).toBe(url);
      expect(ov.entry.size).toBe(statSync(path.join(data, f)).size);
      expect(progress.some((p) => /downloading \d+ bytes/.test(JSON.stringify(p)))).toBe(true);
      const remote = await contents(h, url);
      expect(remote.ov.rows).toBe(local.ov.rows);
      expect(remote.ov.schema).toEqual(local.ov.schema);
      expect(differences(remote.summary, local.summary)).toEqual([]);
      expect(remote.rows).toBe(local.rows);
      expect(remote.tail).toBe(local.tail);
      expect(leftovers(cache)).toEqual([]);
      const list = await h.listDatasets({}, ctx());
      expect(list.filter((d) => d.path === url)).toHaveLength(1);
    }, 60_000);
  }

  it('reopening asks the server once (HEAD, no body) while the file is unchanged, and downloads again when it changes', async () => {
    const { h } = engine();
    const dir = path.join(data, 'changing');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'a.csv'), 'x,y\n1,2\n3,4\n');
    const url = `${ng.base}/changing/a.csv`;
    const a = await h.open({ location: url }, ctx());
    expect(a.rows).toBe(2);
    const before = ng.log().filter((l) => l.path === '/changing/a.csv');
    const h2 = createEngineHandlers({ home: path.dirname(path.dirname(a.storage.path)), samplePath: null });
    engines.push(h2);
    const b = await h2.open({ location: url }, ctx());
    expect(b.entry.id).toBe(a.entry.id);
    const again = ng.log().filter((l) => l.path === '/changing/a.csv').slice(before.length);
    expect(again.reduce((n, l) => n + l.bytes, 0)).toBe(0); // a HEAD only
    // a new version: a different size and modification time
    await new Promise((r) => setTimeout(r, 1100));
    writeFileSync(path.join(dir, 'a.csv'), 'x,y\n1,2\n3,4\n5,6\n');
    const c = await h2.open({ location: url }, ctx());
    expect(c.entry.id).toBe(a.entry.id);
    expect(c.rows).toBe(3);
  }, 30_000);

  it('a remote Parquet is fetched once: the bytes nginx sent equal the file size and its 8-byte tail', async () => {
    const { h } = engine();
    const n0 = ng.log().length;
    const ov = await h.open({ location: `${ng.base}/data.parquet?once` }, ctx());
    await h.summary({ dataset: ov.entry.id, columns: ['fare', 'payment', 'maybe'] }, ctx());
    const sent = ng.log().slice(n0).reduce((n, l) => n + l.bytes, 0);
    expect(sent).toBe(statSync(path.join(data, 'data.parquet')).size + 8); // its last 8 bytes first (a truncated file fails there)
  }, 30_000);

  it('404, 403 and a truncated Parquet: clear errors naming the URL without its credentials, nothing left in the cache', async () => {
    const { h, cache } = engine();
    const secretBase = ng.base.replace('http://', 'http://alice:s3cret@');
    const cases: [string, string, RegExp][] = [
      [`${secretBase}/missing.parquet`, 'ENOENT', /HTTP 404/],
      [`${secretBase}/private/data.csv`, 'EACCES', /HTTP 403/],
      [`${secretBase}/cut.parquet`, 'E_TRUNCATED', /truncated/],
    ];
    for (const [url, code, re] of cases) {
      const err = await openError(h, url);
      expect(err?.code, `${url}: ${err?.message}`).toBe(code);
      expect(err.message).toMatch(re);
      expect(err.message).toContain(displayUrl(url));
      expect(err.message).not.toContain('s3cret');
      expect(err.message).not.toContain('alice');
    }
    expect(leftovers(cache)).toEqual([]);
    expect(existsSync(path.join(cache, 'remote')) ? readdirSync(path.join(cache, 'remote')) : []).toEqual([]);
    expect((await h.listDatasets({}, ctx())).length).toBe(0);
  }, 30_000);

  it('a truncated remote Parquet is told from its last 8 bytes, without downloading it', async () => {
    const { h } = engine();
    const n0 = ng.log().length;
    const err = await openError(h, `${ng.base}/cut.parquet`);
    expect(err?.code).toBe('E_TRUNCATED');
    expect(err.message).toBe(`${ng.base}/cut.parquet: does not end with the Parquet magic PAR1 (its last 8 bytes read): the file is truncated or incomplete, or not Parquet`);
    expect(ng.log().slice(n0).map((l) => [l.path, l.status, l.bytes, l.range])).toEqual([['/cut.parquet', 206, 8, 'bytes=-8']]);
  }, 30_000);

  it('keeps the URL without credentials in the catalog', async () => {
    const { h } = engine();
    const ov = await h.open({ location: `${ng.base.replace('http://', 'http://bob:pw@')}/data.csv` }, ctx());
    expect(ov.entry.path).toBe(`${ng.base}/data.csv`);
    expect(JSON.stringify(await h.listDatasets({}, ctx()))).not.toContain('pw@');
  }, 30_000);
});

describe('files over http from servers of our own', () => {
  const parquet = () => path.join(data, 'data.parquet');

  it('a server that refuses ranges is read as a stream, and equals the local file', async () => {
    const srv = await startNodeServer(data, { noRanges: true });
    try {
      const { h } = engine();
      const local = await contents(h, parquet());
      const remote = await contents(h, `${srv.base}/data.parquet`);
      expect(differences(remote.summary, local.summary)).toEqual([]);
      expect(remote.rows).toBe(local.rows);
    } finally {
      await srv.stop();
    }
  }, 30_000);

  it('a connection dropped mid-transfer is resumed with a range request and the data is whole', async () => {
    const size = statSync(parquet()).size;
    const srv = await startNodeServer(data, { dropAfter: Math.floor(size / 3), dropTimes: 2 });
    try {
      const { h, cache } = engine();
      const local = await contents(h, parquet());
      const remote = await contents(h, `${srv.base}/data.parquet`);
      expect(differences(remote.summary, local.summary)).toEqual([]);
      const gets = srv.log().filter((l) => l.path === '/data.parquet' && l.bytes > 0 && l.range !== 'bytes=-8');
      expect(gets.length).toBe(3);
      expect(gets[1]!.range).toBe(`bytes=${Math.floor(size / 3)}-`);
      expect(gets.reduce((n, l) => n + l.bytes, 0)).toBe(size); // resumed, not read again
      expect(leftovers(cache)).toEqual([]);
    } finally {
      await srv.stop();
    }
  }, 30_000);

  it('a connection that keeps dropping fails after the retries, naming the URL, with nothing in the cache', async () => {
    const srv = await startNodeServer(data, { dropAfter: 1000, noRanges: true });
    try {
      const { h, cache } = engine();
      const url = `${srv.base}/data.parquet`;
      const err = await openError(h, url);
      expect(err?.code).toBe('E_TRUNCATED');
      expect(err.message).toContain(url);
      expect(err.message).toMatch(/failed 4 times/);
      expect(leftovers(cache)).toEqual([]);
      expect(readdirSync(path.join(cache, 'remote'))).toEqual([]);
    } finally {
      await srv.stop();
    }
  }, 30_000);

  it('a file that changes between two range reads (ETag) is an E_STALE error, not a mixed copy', async () => {
    const size = statSync(parquet()).size;
    // request 1 reads the last 8 bytes, 2 is the GET that drops, 3 (the resume) sees the new version
    const srv = await startNodeServer(data, { dropAfter: Math.floor(size / 2), dropTimes: 1, changeAt: 3 });
    try {
      const { h, cache } = engine();
      const url = `${srv.base}/data.parquet`;
      const err = await openError(h, url);
      expect(err?.code).toBe('E_STALE');
      expect(err.message).toContain(url);
      expect(err.message).toMatch(/changed on the server while it was read \(ETag "v1" → ETag "v2"\)/);
      expect(leftovers(cache)).toEqual([]);
    } finally {
      await srv.stop();
    }
  }, 30_000);

  it('transient 503 and 429 answers are retried with back-off', async () => {
    for (const status of [503, 429]) {
      const srv = await startNodeServer(data, { failStatus: status, failTimes: 2 });
      try {
        const { h } = engine();
        const ov = await h.open({ location: `${srv.base}/data.csv` }, ctx());
        expect(ov.rows).toBe(60000);
        expect(srv.log().slice(0, 2).map((l) => l.status)).toEqual([status, status]);
      } finally {
        await srv.stop();
      }
    }
  }, 30_000);

  it('a server that keeps answering 500 fails with the URL and the status', async () => {
    const srv = await startNodeServer(data, { failStatus: 500, failTimes: 100 });
    try {
      const { h } = engine();
      const err = await openError(h, `${srv.base}/data.csv`);
      expect(err?.code).toBe('E_READ');
      expect(err.message).toContain(`${srv.base}/data.csv`);
      expect(err.message).toMatch(/HTTP 500/);
    } finally {
      await srv.stop();
    }
  }, 30_000);

  it('credentials in the URL are sent (Basic) and never stored or shown; wrong ones are EACCES naming the URL without them', async () => {
    const srv = await startNodeServer(data, { auth: 'alice:s3cret' });
    try {
      const { h } = engine();
      const at = srv.base.replace('http://', 'http://alice:s3cret@');
      const ov = await h.open({ location: `${at}/data.csv` }, ctx());
      expect(ov.rows).toBe(60000);
      expect(ov.entry.path).toBe(`${srv.base}/data.csv`);
      expect(JSON.stringify(await h.listDatasets({}, ctx()))).not.toContain('s3cret');
      const err = await openError(h, `${srv.base.replace('http://', 'http://alice:wrong@')}/data.json`);
      expect(err?.code).toBe('EACCES');
      expect(err.message).toBe(`${srv.base}/data.json: the server refused access (HTTP 401: credentials needed)`);
    } finally {
      await srv.stop();
    }
  }, 30_000);

  it('a cancelled download stops at once and leaves nothing in the cache', async () => {
    const srv = await startNodeServer(data, { stallAfter: 100_000 });
    try {
      const { h, cache } = engine();
      const ac = new AbortController();
      const p = h.open({ location: `${srv.base}/data.parquet` }, {
        signal: ac.signal, connection: 'test',
        progress: (x) => { if (/downloading 100000 bytes/.test(JSON.stringify(x))) ac.abort(); },
      });
      const err = await Promise.resolve(p).then(() => null, (e: unknown) => e as { code?: string });
      expect(err?.code).toBe('E_CANCELLED');
      expect(leftovers(cache)).toEqual([]);
      expect(readdirSync(path.join(cache, 'remote'))).toEqual([]);
    } finally {
      await srv.stop();
    }
  }, 30_000);

  it('a server that is not there: E_READ naming the URL, at once (a refused connection is not retried)', async () => {
    const { h } = engine();
    const { freePort } = await import('../sql/testing/net');
    const url = `http://127.0.0.1:${await freePort()}/data.csv`;
    const err = await openError(h, url);
    expect(err?.code).toBe('E_READ');
    expect(err.message).toMatch(new RegExp(`^${url.replace(/[.?]/g, '\\$&')}: the download failed: connect ECONNREFUSED`));
  }, 30_000);
});
