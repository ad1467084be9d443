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
  // ten columns, four row groups: three of them are a small part of the file
  await duckQuery(`COPY (SELECT i AS id, (i * 7919) % 1000 / 10.0 AS fare, 'k' || (i % 13) AS payment, random() AS r1, random() AS r2,
    md5(i::VARCHAR) AS h1, CASE WHEN i % 11 = 0 THEN NULL ELSE (i * 0.5)::DOUBLE END AS maybe, md5((i * 3)::VARCHAR) AS h2, random() AS r3, i * 2 AS twice
    FROM range(200000) t(i)) TO '${p('wide.parquet')}' (FORMAT parquet, ROW_GROUP_SIZE 50000)`);
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
      // a Parquet file is read by ranges (its footer at open, its columns when needed); the rest is downloaded
      const stage = f.endsWith('.parquet') ? /reading the footer/ : /downloading \d+ bytes/;
      expect(progress.some((p) => stage.test(JSON.stringify(p)))).toBe(true);
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

  it('a remote Parquet summary of 3 columns reads at most 1.2x their compressed bytes plus the footer (counted at nginx), and a reopen reads nothing again', async () => {
    const { h, home } = engine();
    const file = path.join(data, 'wide.parquet');
    const want = ['fare', 'payment', 'maybe'];
    // bytes of the three columns' chunks, by DuckDB's reading of the footer; the footer's own length from the file's last 8 bytes
    const chunks = await duckQuery(`SELECT path_in_schema AS col, total_compressed_size AS n FROM parquet_metadata('${file.replace(/'/g, "''")}')`);
    const colBytes = chunks.filter((r) => want.includes(String(r[0]))).reduce((n, r) => n + Number(r[1]), 0);
    const all = chunks.reduce((n, r) => n + Number(r[1]), 0);
    const buf = (await import('node:fs')).readFileSync(file);
    const footer = buf.readUInt32LE(buf.length - 8) + 8;
    expect(colBytes).toBeLessThan(all / 3); // the test means something: most of the file is other columns
    const url = `${ng.base}/wide.parquet`;
    const n0 = ng.log().length;
    const ov = await h.open({ location: url }, ctx());
    const atOpen = ng.log().slice(n0).reduce((n, l) => n + l.bytes, 0);
    expect(atOpen).toBeLessThanOrEqual(footer + 12); // the footer, its 8-byte tail and the 4-byte head: no column yet
    const s = await h.summary({ dataset: ov.entry.id, columns: want }, ctx());
    const sent = ng.log().slice(n0).reduce((n, l) => n + l.bytes, 0);
    expect(sent).toBeGreaterThanOrEqual(colBytes);
    expect(sent).toBeLessThanOrEqual(1.2 * (colBytes + footer));
    expect(ng.log().slice(n0).every((l) => l.status === 206 || l.bytes === 0)).toBe(true); // only ranges (and a HEAD)
    // the values: DuckDB over the local file
    const [row] = await duckQuery(`SELECT count(fare) AS n, min(fare) AS lo, max(fare) AS hi, avg(fare) AS mean, count(maybe) AS nm, sum(maybe) AS sm,
      count(DISTINCT payment) AS dp FROM '${file.replace(/'/g, "''")}'`);
    const o = { n: row![0], lo: row![1], hi: row![2], mean: row![3], nm: row![4], sm: row![5], dp: row![6] };
    const col = (n: string) => s.columns.find((c) => c.name === n)! as any;
    expect(s.rows).toBe(200_000);
    expect(col('fare').count).toBe(Number(o.n));
    expect(col('fare').min).toBe(Number(o.lo));
    expect(col('fare').max).toBe(Number(o.hi));
    expect(col('fare').mean).toBeCloseTo(Number(o.mean), 9);
    expect(col('maybe').count).toBe(Number(o.nm));
    expect(col('maybe').mean * col('maybe').count).toBeCloseTo(Number(o.sm), 3);
    expect(col('payment').distinct).toBe(Number(o.dp));
    // the rows of a column read later: only that column travels, and its values are the file's
    const n1 = ng.log().length;
    const r = await h.rows({ dataset: ov.entry.id, offset: 199_990, limit: 10, columns: ['id'] }, ctx());
    const idBytes = chunks.filter((x) => x[0] === 'id').reduce((n, x) => n + Number(x[1]), 0);
    expect(ng.log().slice(n1).reduce((n, l) => n + l.bytes, 0)).toBeLessThanOrEqual(1.2 * idBytes + footer);
    const { tableFromIPC } = await import('apache-arrow');
    expect(Array.from(tableFromIPC(r.ipc).getChild('id')!.toArray(), Number)).toEqual(Array.from({ length: 10 }, (_, i) => 199_990 + i));
    // another engine on the same cache: the version is unchanged (a HEAD), the columns read before are mapped, not read again
    const h2 = createEngineHandlers({ home, samplePath: null });
    engines.push(h2);
    const n2 = ng.log().length;
    const ov2 = await h2.open({ location: url }, ctx());
    const s2 = await h2.summary({ dataset: ov2.entry.id, columns: want }, ctx());
    expect(ng.log().slice(n2).reduce((n, l) => n + l.bytes, 0)).toBe(0);
    expect(differences({ ...s2, dataset: undefined }, { ...s, dataset: undefined })).toEqual([]);
  }, 60_000);

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

  it('a truncated remote Parquet is told from its last bytes, without downloading it', async () => {
    const { h } = engine();
    const n0 = ng.log().length;
    const err = await openError(h, `${ng.base}/cut.parquet`);
    expect(err?.code).toBe('E_TRUNCATED');
    expect(err.message).toBe(`${ng.base}/cut.parquet: no PAR1 magic at the end: the file is truncated or incomplete`);
    // a HEAD, the first 4 bytes and the last 8
    expect(ng.log().slice(n0).reduce((n, l) => n + l.bytes, 0)).toBe(12);
  }, 30_000);

  it('cdx convert from a URL: the columns and filter asked for, read by ranges (not the whole file), equal DuckDB over the local file', async () => {
    const { h } = engine();
    const file = path.join(data, 'wide.parquet');
    const out = path.join(mkdtempSync(path.join(os.tmpdir(), 'cdx-remote-out-')), 'some.csv');
    const n0 = ng.log().length;
    const r = await h.exportDataset({ location: `${ng.base}/wide.parquet`, output: out, columns: ['id', 'payment'], where: 'fare > 90 and maybe is not null' }, ctx());
    const sent = ng.log().slice(n0).reduce((n, l) => n + l.bytes, 0);
    expect(sent).toBeLessThan(statSync(file).size * 0.6); // h1/h2/r1..r3/twice never travel
    const want = await duckQuery(`SELECT id, payment FROM '${file.replace(/'/g, "''")}' WHERE fare > 90 AND maybe IS NOT NULL ORDER BY id`);
    expect(r.rows).toBe(want.length);
    const got = (await import('node:fs')).readFileSync(out, 'utf8').trim().split('\n');
    expect(got[0]).toBe('id,payment');
    expect(got.slice(1)).toEqual(want.map((w) => `${w[0]},${w[1]}`));
    rmSync(path.dirname(out), { recursive: true, force: true });
  }, 60_000);

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
    const csv = path.join(data, 'data.csv');
    const size = statSync(csv).size;
    const srv = await startNodeServer(data, { dropAfter: Math.floor(size / 3), dropTimes: 2 });
    try {
      const { h, cache } = engine();
      const local = await contents(h, csv);
      const remote = await contents(h, `${srv.base}/data.csv`);
      expect(differences(remote.summary, local.summary)).toEqual([]);
      const gets = srv.log().filter((l) => l.path === '/data.csv' && l.bytes > 0);
      expect(gets.length).toBe(3);
      // resumed where the copy stopped: at most where the server cut (bytes it wrote just before
      // destroying the socket may never arrive), and the third read after the second's start
      const from = (l: { range?: string | null }) => Number(/^bytes=(\d+)-$/.exec(l.range ?? '')?.[1] ?? NaN);
      expect(from(gets[1]!)).toBeGreaterThan(0);
      expect(from(gets[1]!)).toBeLessThanOrEqual(Math.floor(size / 3));
      expect(from(gets[2]!)).toBeGreaterThan(from(gets[1]!));
      expect(gets.reduce((n, l) => n + l.bytes, 0)).toBeLessThan(size * 1.2); // resumed, not read again from the start
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

  it('a parquet file read by ranges that changes between two reads (ETag) is an E_STALE error, not a mixed read', async () => {
    // requests 1-4 open it (HEAD, its first 4 bytes, its last 8, the footer); the column reads from 5 on see a new version
    const srv = await startNodeServer(data, { changeAt: 5 });
    try {
      const { h, cache } = engine();
      const url = `${srv.base}/data.parquet`;
      const ov = await h.open({ location: url }, ctx());
      const err = await Promise.resolve(h.summary({ dataset: ov.entry.id, columns: ['fare'] }, ctx())).then(() => null, (e: any) => e);
      expect(err?.code).toBe('E_STALE');
      expect(err.message).toContain(url);
      expect(err.message).toMatch(/changed on the server while it was read/);
      expect(leftovers(cache)).toEqual([]);
      const cols = readdirSync(path.join(cache, 'remote'));
      expect(cols.flatMap((d) => readdirSync(path.join(cache, 'remote', d)))).toEqual([]); // no column file, no manifest
      // opened again, the new version is read whole and consistent
      const again = await h.open({ location: url }, ctx());
      const s = await h.summary({ dataset: again.entry.id, columns: ['fare'] }, ctx());
      expect(s.columns[0]!.count).toBe(60000);
    } finally {
      await srv.stop();
    }
  }, 30_000);

  it('a file that changes between two range reads of a download (ETag) is an E_STALE error, not a mixed copy', async () => {
    const size = statSync(path.join(data, 'data.csv')).size;
    // request 1 is the GET that drops, 2 (the resume) sees the new version
    const srv = await startNodeServer(data, { dropAfter: Math.floor(size / 2), dropTimes: 1, changeAt: 2 });
    try {
      const { h, cache } = engine();
      const url = `${srv.base}/data.csv`;
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
      const p = h.open({ location: `${srv.base}/data.csv` }, {
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
