/**
 * S3 against a real S3-compatible server on loopback (testing/s3.ts: @20minutes/s3rver, SigV4
 * signatures checked, behind a logging proxy of ours), never a mock:
 *  - one object through s3File: its version, byte ranges equal to the file's bytes, a download
 *    equal to the file (also when the stream is cut mid-transfer: resumed with Range + IfMatch),
 *    a read for a version that was replaced is E_STALE; CSV and Parquet objects opened through the
 *    engine equal the same local files (summary, first and last rows);
 *  - a 200-object Hive-partitioned prefix (DuckDB's PARTITION_BY tree, uploaded) equals DuckDB's
 *    read_parquet(hive_partitioning) over the local files, filtered summaries included; a
 *    partition-key filter given to prune skips the other objects before any GET of them (counted
 *    at the proxy); a glob over the keys and a CSV prefix equal DuckDB too; a reopen of an
 *    unchanged prefix is one listing, a new object makes it read again;
 *  - credentials from the environment with AWS_ENDPOINT_URL, from an AWS profile file, and from a
 *    saved connection (key id in the catalog, secret in the session);
 *  - bad input: a wrong secret or key id (E_AUTH naming neither), a missing bucket or key, an empty
 *    prefix, a glob that matches nothing, an endpoint nobody answers; nothing half-written left.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createEngineHandlers } from '../service';
import { Datasets } from '../datasets';
import type { HandlerContext } from '../../../shared/rpc';
import { parseExpr } from '../../../shared/expr/index';
import { duckQuery as duck } from '../sources/testing/oracle';
import { freePort } from '../sql/testing/net';
import { startS3, type S3Served } from './testing/s3';
import { closeS3Clients, forgetS3Secret, isS3MultiLocation, listS3, parseS3, s3ConnectionFor, s3File, s3StoredLocation, setS3Secret, testS3 } from './s3';
import { openS3MultiSource, s3Policy } from './s3open';

// the OS keychain is not this test's to write
process.env.CDX_NO_KEYCHAIN = '1';
s3Policy.backoffMs = 20;

const BUCKET = 'cdx-data';
const ctx = (progress: (p: unknown) => void = () => {}): HandlerContext => ({ signal: new AbortController().signal, progress, connection: 'test' });
const root = mkdtempSync(path.join(os.tmpdir(), 'cdx-s3-test-'));
const data = path.join(root, 'data');
const tree = path.join(data, 'tree');
const csvs = path.join(data, 'csvs');
const HIVE = `read_parquet('${tree}/**/*.parquet', hive_partitioning = true)`;
const homes: string[] = [];
const engines: { close(): void }[] = [];
let s3: S3Served;

function engine() {
  const home = mkdtempSync(path.join(root, 'home-'));
  homes.push(home);
  const h = createEngineHandlers({ home, samplePath: null });
  engines.push(h);
  return { h, home, cache: path.join(home, 'cache') };
}

const AWS_VARS = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_S3', 'AWS_SHARED_CREDENTIALS_FILE', 'AWS_CONFIG_FILE', 'AWS_EC2_METADATA_DISABLED'];
const envBefore = Object.fromEntries(AWS_VARS.map((k) => [k, process.env[k]]));
let envFiles = 0;

/** The AWS environment of one case: nothing of this machine's (no ~/.aws, no instance role), then `vars`. */
function useEnv(vars: Record<string, string>): void {
  for (const k of AWS_VARS) delete process.env[k];
  // files that do not exist (a new name each time: the SDK caches what it read of a path)
  process.env.AWS_SHARED_CREDENTIALS_FILE = path.join(root, `no-credentials-${++envFiles}`);
  process.env.AWS_CONFIG_FILE = path.join(root, `no-config-${envFiles}`);
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  Object.assign(process.env, vars);
}

const envCreds = () => ({ AWS_ENDPOINT_URL: s3.endpoint, AWS_ACCESS_KEY_ID: s3.keyId, AWS_SECRET_ACCESS_KEY: s3.secret });

function walk(dir: string, out: string[] = []): string[] {
  for (const n of readdirSync(dir)) {
    const p = path.join(dir, n);
    if (statSync(p).isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

async function put(client: S3Client, key: string, body: Buffer | string): Promise<void> {
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
}

let uploader: S3Client;

beforeAll(async () => {
  mkdirSync(csvs, { recursive: true });
  const p = (f: string) => path.join(data, f).replace(/'/g, "''");
  const q = `SELECT i AS id, (i * 7919) % 1000 / 10.0 AS fare, 'k' || (i % 13) AS payment, i % 5 = 0 AS flag,
    CASE WHEN i % 11 = 0 THEN NULL ELSE i * 0.5 END AS maybe FROM range(50000) t(i)`;
  await duck(`COPY (${q}) TO '${p('data.parquet')}' (FORMAT parquet, ROW_GROUP_SIZE 10000)`);
  await duck(`COPY (${q}) TO '${p('data.csv')}' (FORMAT csv, HEADER)`);
  // 20 years × 10 months = 200 partitions, one object each
  await duck(`COPY (SELECT i AS id, (i * 7919) % 100003 AS v, (i * 0.25 - 300)::DOUBLE AS x, 'n' || (i % 37) AS s,
      2005 + (i % 20) AS year, 1 + ((i // 20) % 10) AS month FROM range(40000) t(i))
    TO '${tree}' (FORMAT parquet, PARTITION_BY (year, month))`);
  for (let k = 0; k < 6; k++) {
    const extra = k % 3 === 0 ? `, 'e' || (i % 5) AS extra` : '';
    await duck(`COPY (SELECT i + ${k * 1000} AS id, i * 0.5 + ${k} AS val${extra} FROM range(${300 + k * 17}) t(i)) TO '${csvs}/part-${k}.csv' (HEADER)`);
  }
  s3 = await startS3([BUCKET]);
  uploader = new S3Client({ endpoint: s3.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: s3.keyId, secretAccessKey: s3.secret } });
  const uploads: [string, string][] = [
    ['data.parquet', path.join(data, 'data.parquet')],
    ['data.csv', path.join(data, 'data.csv')],
    ...walk(csvs).map((f): [string, string] => [`csvs/${path.basename(f)}`, f]),
    ...walk(tree).map((f): [string, string] => [`tree/${path.relative(tree, f).split(path.sep).join('/')}`, f]),
    ['tree/_SUCCESS', ''], // a Spark marker: not data
  ];
  let next = 0;
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < uploads.length) {
      const [key, file] = uploads[next++]!;
      await put(uploader, key, file ? readFileSync(file) : '');
    }
  }));
}, 60_000);

afterAll(async () => {
  for (const h of engines) h.close();
  closeS3Clients();
  uploader?.destroy();
  await s3?.stop();
  for (const [k, v] of Object.entries(envBefore)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  rmSync(root, { recursive: true, force: true });
});

/** Summary and the first and last rows of a dataset, without its catalog id. */
async function contents(h: ReturnType<typeof createEngineHandlers>, location: string) {
  const ov = await h.open({ location }, ctx());
  const s = await h.summary({ dataset: ov.entry.id }, ctx());
  const rows = await h.rows({ dataset: ov.entry.id, offset: 0, limit: 500 }, ctx());
  const tail = await h.rows({ dataset: ov.entry.id, offset: Math.max(0, ov.rows - 300), limit: 300 }, ctx());
  return { ov, summary: { ...s, dataset: undefined }, rows: Buffer.from(rows.ipc).toString('base64'), tail: Buffer.from(tail.ipc).toString('base64') };
}

/** Where two summaries differ (floats to a relative 1e-9: the parallel summary's last bits vary from run to run). */
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

async function expectSameStats(s: { columns: { name: string; count: number; min?: unknown; max?: unknown; mean?: unknown }[] }, from: string, columns: string[], where?: string) {
  for (const name of columns) {
    const [[cnt, mn, mx, avg]] = (await duck(
      `SELECT count("${name}"), min("${name}")::DOUBLE, max("${name}")::DOUBLE, avg("${name}")::DOUBLE FROM ${from}${where ? ` WHERE ${where}` : ''}`,
    )) as [[bigint, number, number, number]];
    const c = s.columns.find((x) => x.name === name)!;
    expect(c, name).toBeDefined();
    expect(c.count, name).toBe(Number(cnt));
    expect(Number(c.min), name).toBeCloseTo(mn, 6);
    expect(Number(c.max), name).toBeCloseTo(mx, 6);
    expect(Number(c.mean), name).toBeCloseTo(avg, 6);
  }
}

async function failure(p: unknown): Promise<any> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a failure');
}

/** Temporary and staged files left in a cache folder. */
function leftovers(cache: string): string[] {
  if (!existsSync(cache)) return [];
  return walk(cache).filter((f) => /partial|[\\/]s3-[0-9a-f]+-/.test(f));
}

/** The object GETs the proxy saw (listings are GETs of the bucket itself). */
const objectGets = () => s3.log().filter((l) => l.method === 'GET' && l.path !== `/${BUCKET}/` && l.path !== `/${BUCKET}`);

describe('locations', () => {
  it('parse objects, prefixes, globs and a saved connection form; the stored form has no key id', () => {
    expect(parseS3('s3://b1/a/b.parquet')).toEqual({ bucket: 'b1', key: 'a/b.parquet' });
    expect(parseS3('s3://b1')).toEqual({ bucket: 'b1', key: '' });
    const c = parseS3(`s3://AKID@b1/pre/?endpoint=${encodeURIComponent('http://127.0.0.1:9000')}&region=eu-west-3`);
    expect(c).toEqual({ bucket: 'b1', key: 'pre/', keyId: 'AKID', endpoint: 'http://127.0.0.1:9000', region: 'eu-west-3' });
    expect(s3StoredLocation(c)).toBe('s3://b1/pre/?endpoint=http%3A%2F%2F127.0.0.1%3A9000&region=eu-west-3');
    // `?` is a glob character unless it starts a query of ours
    expect(parseS3('s3://b1/logs/2024-0?.csv').key).toBe('logs/2024-0?.csv');
    expect([isS3MultiLocation('s3://b1/a.csv'), isS3MultiLocation('s3://b1/t/'), isS3MultiLocation('s3://b1/t/*.csv'), isS3MultiLocation('s3://b1')]).toEqual([false, true, true, true]);
    expect(() => parseS3('s3:///key')).toThrow(/no bucket/);
  });
});

describe('one object (env credentials, AWS_ENDPOINT_URL)', () => {
  beforeAll(() => useEnv(envCreds()));

  it('stat, byte ranges and a download equal the file', async () => {
    const bytes = readFileSync(path.join(data, 'data.parquet'));
    const f = s3File(`s3://${BUCKET}/data.parquet`);
    expect([f.display, f.name]).toEqual([`s3://${BUCKET}/data.parquet`, 'data.parquet']);
    const st = await f.stat();
    expect(st.size).toBe(bytes.length);
    expect(st.etag).toMatch(/^".+"$/);
    expect(st.ranges).toBe(true);
    for (const [a, b] of [[0, 4], [1000, 70000], [bytes.length - 8, bytes.length]] as const) {
      expect(Buffer.from(await f.read(a, b, { version: st }))).toEqual(bytes.subarray(a, b));
    }
    expect(await failure(f.read(bytes.length - 4, bytes.length + 10, { version: st }))).toMatchObject({ code: 'E_TRUNCATED', message: expect.stringContaining(`s3://${BUCKET}/data.parquet`) });
    const dest = path.join(root, 'dl', 'data.parquet');
    const got = await f.download(dest);
    expect(got.etag).toBe(st.etag);
    expect(readFileSync(dest).equals(bytes)).toBe(true);
    expect(readdirSync(path.dirname(dest))).toEqual(['data.parquet']);
  });

  it('a stream cut mid-transfer is resumed with Range + IfMatch and the copy equals the file', async () => {
    const bytes = readFileSync(path.join(data, 'data.csv'));
    s3.clearLog();
    s3.cutNext('/data.csv', 300_000);
    const dest = path.join(root, 'dl', 'data.csv');
    await s3File(`s3://${BUCKET}/data.csv`, { backoffMs: 10 }).download(dest);
    expect(readFileSync(dest).equals(bytes)).toBe(true);
    const gets = objectGets().filter((l) => l.path.endsWith('/data.csv'));
    expect(gets.length).toBe(2);
    expect(gets[0]!.bytes).toBe(300_000);
    // resumed where the file's written bytes end (what was in flight when the stream broke is asked again)
    const from = Number(/^bytes=(\d+)-$/.exec(gets[1]!.range)?.[1]);
    expect(from).toBeGreaterThan(0);
    expect(from).toBeLessThanOrEqual(300_000);
    expect(gets[1]!.bytes).toBe(bytes.length - from);
    expect(readdirSync(path.dirname(dest)).filter((n) => n.includes('partial'))).toEqual([]);
  });

  it('a read for a version that was replaced is E_STALE naming the object', async () => {
    await put(uploader, 'changing.csv', 'a,b\n1,2\n');
    const f = s3File(`s3://${BUCKET}/changing.csv`);
    const v1 = await f.stat();
    expect(Buffer.from(await f.read(0, 3, { version: v1 })).toString()).toBe('a,b');
    await put(uploader, 'changing.csv', 'a,b\n3,4\n5,6\n');
    expect(await failure(f.read(0, 3, { version: v1 }))).toMatchObject({ code: 'E_STALE', message: expect.stringContaining(`s3://${BUCKET}/changing.csv`) });
  });

  for (const name of ['data.parquet', 'data.csv']) {
    it(`${name} opened from the bucket equals the local file (summary, first and last rows)`, async () => {
      const { h, cache } = engine();
      const local = await contents(h, path.join(data, name));
      const remote = await contents(h, `s3://${BUCKET}/${name}`);
      expect(remote.ov.rows).toBe(local.ov.rows);
      expect(remote.ov.schema).toEqual(local.ov.schema);
      expect(differences(remote.summary, local.summary)).toEqual([]);
      expect(remote.rows).toBe(local.rows);
      expect(remote.tail).toBe(local.tail);
      expect(leftovers(cache)).toEqual([]);
    });
  }
});

describe('a 200-object Hive-partitioned prefix as one dataset', () => {
  beforeAll(() => useEnv(envCreds()));

  it('equals DuckDB read_parquet(hive_partitioning) over the local files, filters included; progress counts bytes', async () => {
    const { h, cache } = engine();
    s3.clearLog();
    const progress: unknown[] = [];
    const ov = await h.open({ location: `s3://${BUCKET}/tree/` }, ctx((p) => progress.push(p)));
    expect(progress.some((p) => /downloading \d+ of \d+ bytes/.test(JSON.stringify(p)))).toBe(true);
    expect(objectGets().length).toBe(200);
    const files = JSON.parse(ov.metadata.files!) as { path: string; rows: number }[];
    expect(files.length).toBe(200);
    expect(ov.metadata.partitionKeys).toBe('year,month');
    const [[rows]] = (await duck(`SELECT count(*) FROM ${HIVE}`)) as [[bigint]];
    expect(ov.rows).toBe(Number(rows));
    expect(ov.schema.fields.find((f) => f.name === 'year')?.type).toBe('int64');
    const s = await h.summary({ dataset: ov.entry.id }, ctx());
    await expectSameStats(s, HIVE, ['id', 'v', 'x', 'year', 'month']);
    for (const where of ['year = 2010', 'year >= 2020 and month in (2, 7)']) {
      const f = await h.summary({ dataset: ov.entry.id, where }, ctx());
      const [[n]] = (await duck(`SELECT count(*) FROM ${HIVE} WHERE ${where}`)) as [[bigint]];
      expect(f.filteredRows, where).toBe(Number(n));
      await expectSameStats(f, HIVE, ['id', 'x', 'year', 'month'], where);
    }
    // the staging folder went after the ingest
    expect(leftovers(cache)).toEqual([]);
    // unchanged: a reopen is one listing, no object read again
    s3.clearLog();
    const again = await h.open({ location: `s3://${BUCKET}/tree/` }, ctx());
    expect(again.entry.id).toBe(ov.entry.id);
    expect(objectGets()).toEqual([]);
  });

  it('a partition-key filter given to prune skips the other objects before any byte of them is read', async () => {
    const staging = path.join(root, 'staging-prune');
    const src = await openS3MultiSource(`s3://${BUCKET}/tree/`, { stagingDir: staging });
    s3.clearLog();
    try {
      src.capabilities!.prune!(parseExpr('year = 2010 and month <= 5'));
      let n = 0;
      let sum = 0;
      for await (const b of src.scan({ columns: ['v', 'year'] })) {
        n += b.numRows;
        const v = b.getChild('v')!;
        for (let i = 0; i < b.numRows; i++) sum += Number(v.get(i));
      }
      const [[dn, dsum]] = (await duck(`SELECT count(*), sum(v)::DOUBLE FROM ${HIVE} WHERE year = 2010 and month <= 5`)) as [[bigint, number]];
      expect([n, sum]).toEqual([Number(dn), dsum]);
      const gets = objectGets().map((l) => l.path);
      expect(gets.length).toBe(5);
      expect(gets.every((g) => /\/tree\/year=2010\/month=[1-5]\//.test(g))).toBe(true);
    } finally {
      await src.close();
    }
    expect(existsSync(staging)).toBe(false);
  });

  it('a glob over the keys, and a sub-prefix, keep the partition keys (only their objects read)', async () => {
    const { h } = engine();
    for (const [loc, where, count] of [
      [`s3://${BUCKET}/tree/year=201[3-5]/month=[2-4]/*.parquet`, 'year between 2013 and 2015 and month between 2 and 4', 9],
      [`s3://${BUCKET}/tree/year=2012/`, 'year = 2012', 10],
    ] as const) {
      s3.clearLog();
      const ov = await h.open({ location: loc }, ctx());
      expect(objectGets().length, loc).toBe(count);
      const [[n]] = (await duck(`SELECT count(*) FROM ${HIVE} WHERE ${where}`)) as [[bigint]];
      expect(ov.rows, loc).toBe(Number(n));
      expect(ov.metadata.partitionKeys).toBe('year,month');
      await expectSameStats(await h.summary({ dataset: ov.entry.id }, ctx()), HIVE, ['id', 'x', 'year', 'month'], where);
    }
  });

  it('cdx convert from a glob of objects: the rows the filter keeps equal DuckDB over the local tree', async () => {
    const { h } = engine();
    const out = path.join(root, 'from-s3.csv');
    const where = 'year = 2014 and v > 0';
    const r = await h.exportDataset({ location: `s3://${BUCKET}/tree/year=2014/*/*.parquet`, output: out, columns: ['id', 'month', 'v'], where }, ctx());
    const want = (await duck(`SELECT id, month, v FROM ${HIVE} WHERE ${where} ORDER BY id`)) as unknown[][];
    expect(r.rows).toBe(want.length);
    const got = readFileSync(out, 'utf8').trim().split('\n');
    expect(got[0]).toBe('id,month,v');
    expect(got.slice(1).map((l) => l.split(',').map(Number)).sort((a, b) => a[0]! - b[0]!)).toEqual(want.map((w) => w.map(Number)));
  });

  it('a prefix of CSVs with differing columns equals DuckDB read_csv(union_by_name); a new object is read again', async () => {
    const { h } = engine();
    const from = `read_csv('${csvs}/*.csv', union_by_name = true)`;
    const ov = await h.open({ location: `s3://${BUCKET}/csvs/` }, ctx());
    const [[rows]] = (await duck(`SELECT count(*) FROM ${from}`)) as [[bigint]];
    expect(ov.rows).toBe(Number(rows));
    expect(ov.schema.fields.map((f) => f.name)).toEqual(['id', 'val', 'extra']);
    await expectSameStats(await h.summary({ dataset: ov.entry.id }, ctx()), from, ['id', 'val']);
    await put(uploader, 'csvs/part-9.csv', 'id,val\n1,2.5\n2,3.5\n');
    const grown = await h.open({ location: `s3://${BUCKET}/csvs/*.csv` }, ctx());
    expect(grown.rows).toBe(Number(rows) + 2);
  });
});

describe('credentials', () => {
  it('an AWS profile (AWS_PROFILE in a shared credentials file) with AWS_ENDPOINT_URL_S3', async () => {
    useEnv({});
    const creds = path.join(root, 'aws-credentials');
    writeFileSync(creds, `[cdx-test]\naws_access_key_id = ${s3.keyId}\naws_secret_access_key = ${s3.secret}\n`);
    Object.assign(process.env, { AWS_SHARED_CREDENTIALS_FILE: creds, AWS_PROFILE: 'cdx-test', AWS_ENDPOINT_URL_S3: s3.endpoint });
    const top = await listS3(`s3://${BUCKET}/`, { delimiter: true });
    expect(top.filter((e) => e.dir).map((e) => e.key)).toEqual(expect.arrayContaining(['csvs/', 'tree/']));
    expect(top.find((e) => e.key === 'data.csv')).toMatchObject({ dir: false, size: statSync(path.join(data, 'data.csv')).size, url: `s3://${BUCKET}/data.csv` });
    const all = await listS3(`s3://${BUCKET}/tree/`);
    expect(all.length).toBe(201); // 200 parts and the _SUCCESS marker
    const t = await testS3(`s3://${BUCKET}/tree/`);
    expect(t).toMatchObject({ objects: 201, endpoint: s3.endpoint });
  });

  it('a saved connection: key id and endpoint in the catalog, the secret in the session', async () => {
    useEnv({}); // nothing in the environment: the connection alone must do
    const home = mkdtempSync(path.join(root, 'home-conn-'));
    homes.push(home);
    const ds = new Datasets(home, null);
    engines.push(ds);
    const url = `s3://${s3.keyId}@${BUCKET}/tree/?endpoint=${encodeURIComponent(s3.endpoint)}&region=us-east-1`;
    ds.catalog.saveConnection({ url, name: 'test store', kind: 's3', keep: 'session' });
    expect(s3ConnectionFor(BUCKET, ds.catalog, 'tree/year=2010/')).toMatchObject({ bucket: BUCKET, prefix: 'tree/', keyId: s3.keyId, endpoint: s3.endpoint });
    // no secret kept yet: said so, naming the bucket but not the key id
    const none = await failure(ds.open(`s3://${BUCKET}/tree/year=2010/`));
    expect(none.code).toBe('E_AUTH');
    expect(none.message).not.toContain(s3.keyId);
    setS3Secret(BUCKET, s3.secret);
    const ov = await ds.open(`s3://${BUCKET}/tree/year=2010/`);
    const [[n]] = (await duck(`SELECT count(*) FROM ${HIVE} WHERE year = 2010`)) as [[bigint]];
    expect(ov.rows).toBe(Number(n));
    expect(ov.location).toBe(`s3://${BUCKET}/tree/year=2010/`);
    // a single object through the same connection
    expect((await s3File(`s3://${BUCKET}/data.csv`, { connections: ds.catalog }).stat()).size).toBe(statSync(path.join(data, 'data.csv')).size);
    // a wrong secret kept for it: E_AUTH naming the object, neither the key id nor any secret
    setS3Secret(BUCKET, 'not-the-secret-xyz');
    const bad = await failure(ds.open(`s3://${BUCKET}/tree/year=2011/`));
    expect(bad.code).toBe('E_AUTH');
    expect(bad.message).toContain(`s3://${BUCKET}/tree/year=2011/`);
    for (const s of [s3.keyId, s3.secret, 'not-the-secret-xyz']) expect(bad.message).not.toContain(s);
    expect(bad.message).toMatch(/saved connection/);
    forgetS3Secret(BUCKET);
  });
});

describe('bad input', () => {
  it('a wrong secret or key id in the environment: E_AUTH naming the object, not the key id or a secret', async () => {
    const { h, cache } = engine();
    for (const [id, secret] of [[s3.keyId, 'wrong-secret-abc123'], ['AKIANOSUCHKEY0000', s3.secret]] as const) {
      useEnv({ AWS_ENDPOINT_URL: s3.endpoint, AWS_ACCESS_KEY_ID: id, AWS_SECRET_ACCESS_KEY: secret });
      for (const call of [() => h.open({ location: `s3://${BUCKET}/tree/` }, ctx()), () => s3File(`s3://${BUCKET}/data.parquet`).stat(), () => h.open({ location: `s3://${BUCKET}/data.csv` }, ctx())]) {
        const e = await failure(call());
        expect(e.code).toBe('E_AUTH');
        expect(e.message).toMatch(new RegExp(`^s3://${BUCKET}/`));
        expect(e.message).toMatch(/AWS_ACCESS_KEY_ID|environment/);
        for (const s of [s3.keyId, s3.secret, id, secret]) expect(e.message).not.toContain(s);
      }
    }
    expect(leftovers(cache)).toEqual([]);
  });

  it('a missing bucket or key, an empty prefix, a glob that matches nothing: clear errors, nothing left in the cache', async () => {
    useEnv(envCreds());
    const { h, cache } = engine();
    expect(await failure(s3File(`s3://${BUCKET}/nope.parquet`).stat())).toMatchObject({ code: 'ENOENT', message: `s3://${BUCKET}/nope.parquet: no such object` });
    expect(await failure(s3File('s3://no-such-bucket/a.csv').stat())).toMatchObject({ code: 'ENOENT', message: expect.stringMatching(/^s3:\/\/no-such-bucket\/a\.csv: no such bucket no-such-bucket/) });
    expect(await failure(s3File(`s3://${BUCKET}/nope.csv`).download(path.join(cache, 'x.csv')))).toMatchObject({ code: 'ENOENT' });
    expect(await failure(h.open({ location: `s3://${BUCKET}/nope.csv` }, ctx()))).toMatchObject({ code: 'ENOENT', message: expect.stringContaining(`s3://${BUCKET}/nope.csv`) });
    expect(await failure(h.open({ location: 's3://no-such-bucket/tree/' }, ctx()))).toMatchObject({ code: 'ENOENT', message: expect.stringContaining('no such bucket') });
    expect(await failure(h.open({ location: `s3://${BUCKET}/nothing/` }, ctx()))).toMatchObject({ code: 'E_EMPTY', message: `s3://${BUCKET}/nothing/: no objects under s3://${BUCKET}/nothing/` });
    expect(await failure(h.open({ location: `s3://${BUCKET}/tree/year=1999/*.parquet` }, ctx()))).toMatchObject({ code: 'ENOENT', message: expect.stringContaining('no object matches this pattern') });
    expect(await failure(h.open({ location: `s3://${BUCKET}/csvs/*.parquet` }, ctx()))).toMatchObject({ code: 'ENOENT', message: expect.stringMatching(/csvs\/\*\.parquet: no object matches this pattern \(7 objects under/) });
    expect(leftovers(cache)).toEqual([]);
  });

  it('an endpoint nobody answers: E_CONNECT naming it', async () => {
    const port = await freePort();
    useEnv({ AWS_ENDPOINT_URL: `http://127.0.0.1:${port}`, AWS_ACCESS_KEY_ID: s3.keyId, AWS_SECRET_ACCESS_KEY: s3.secret });
    const e = await failure(listS3(`s3://${BUCKET}/tree/`));
    expect(e).toMatchObject({ code: 'E_CONNECT', message: expect.stringContaining(`cannot reach the S3 endpoint http://127.0.0.1:${port}`) });
  });

  it('a partition value that does not parse names its object, not a staging path', async () => {
    useEnv(envCreds());
    for (const y of ['2020', '2021', '20x2']) await put(uploader, `badkey/year=${y}/p.csv`, 'a\n1\n');
    const { h, cache } = engine();
    const e = await failure(h.open({ location: `s3://${BUCKET}/badkey/` }, ctx()));
    expect(e).toMatchObject({ code: 'E_BAD_VALUE', message: expect.stringContaining(`s3://${BUCKET}/badkey/year=20x2/p.csv`) });
    expect(e.message).not.toContain(cache);
    expect(leftovers(cache)).toEqual([]);
  });
});
