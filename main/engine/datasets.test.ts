/**
 * Datasets end to end inside the engine: the sample used in place, a Parquet file ingested into the
 * columnar cache once and re-ingested only when it changes, and summaries that agree with DuckDB.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { duckQuery as duck } from './sources/testing/oracle';
import { tableFromIPC } from 'apache-arrow';
import { createEngineHandlers } from './service';
import { appRoot } from './paths';
import type { HandlerContext } from '../../shared/rpc';

const corpus = path.join(appRoot(), '..', 'shared', 'corpus', 'parquet-testing', 'data');
const sample = path.join(appRoot(), 'resources', 'sample', 'trips.arrow');
const ctx = (): HandlerContext => ({ signal: new AbortController().signal, progress: () => {}, connection: 'test' });
const home = mkdtempSync(path.join(os.tmpdir(), 'cdx-ds-'));
const h = createEngineHandlers({ home, samplePath: sample });
afterAll(() => h.close());

describe('datasets', () => {
  it('lists the bundled sample on first start and maps it in place (no cache copy)', async () => {
    const list = await h.listDatasets({}, ctx());
    const s = list.find((d) => d.sample)!;
    expect(s.path).toBe(sample);
    const ov = await h.overview({ dataset: s.id }, ctx());
    expect(ov.storage).toEqual({ kind: 'in-place', path: sample });
    expect(ov.rows).toBe(60000);
    expect(ov.dataShape).toMatch(/^60000 \* \{trip_id: int64, pickup_at: timestamp\[ms, tz='UTC'\]/);
  });

  it.runIf(existsSync(corpus))('ingests a Parquet file into the cache once, and again only when the file changes', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cdx-pq-'));
    const file = path.join(dir, 'alltypes.parquet');
    copyFileSync(path.join(corpus, 'alltypes_plain.parquet'), file);
    const a = await h.open({ location: file }, ctx());
    expect(a.storage.kind).toBe('cache');
    expect(a.rows).toBe(8);
    const cacheFile = a.storage.path;
    const t1 = statSync(cacheFile).mtimeMs;
    await new Promise((r) => setTimeout(r, 20));
    const b = await h.open({ location: file }, ctx());
    expect(b.entry.id).toBe(a.entry.id);
    expect(statSync(cacheFile).mtimeMs).toBe(t1);
    // the source changes: a new ingest
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    const c = await h.open({ location: file }, ctx());
    expect(c.entry.id).toBe(a.entry.id);
    expect(statSync(c.storage.path).mtimeMs).toBeGreaterThan(t1);
    // no partial files are left in the cache folder
    expect(readdirSync(path.dirname(cacheFile)).filter((f) => f.includes('.partial-'))).toEqual([]);
  });

  it.runIf(existsSync(corpus))('summaries agree with DuckDB on a Parquet file', async () => {
    const file = path.join(corpus, 'alltypes_plain.parquet');
    const ov = await h.open({ location: file }, ctx());
    const s = await h.summary({ dataset: ov.entry.id }, ctx());
    const numeric = ['id', 'tinyint_col', 'smallint_col', 'int_col', 'bigint_col', 'float_col', 'double_col'];
    for (const name of numeric) {
      const [[cnt, nulls, mn, mx, avg]] = (await duck(
        `SELECT count("${name}"), count(*) - count("${name}"), min("${name}")::DOUBLE, max("${name}")::DOUBLE, avg("${name}")::DOUBLE FROM read_parquet('${file}')`,
      )) as [[bigint, bigint, number, number, number]];
      const c = s.columns.find((x) => x.name === name)!;
      expect(c.count, name).toBe(Number(cnt));
      expect(c.nulls, name).toBe(Number(nulls));
      expect(Number(c.min), name).toBeCloseTo(mn, 5);
      expect(Number(c.max), name).toBeCloseTo(mx, 5);
      expect(Number(c.mean), name).toBeCloseTo(avg, 5);
    }
    const str = s.columns.find((x) => x.name === 'date_string_col')!;
    const [[distinct]] = (await duck(`SELECT count(DISTINCT date_string_col) FROM read_parquet('${file}')`)) as [[bigint]];
    expect(str.distinct).toBe(Number(distinct));
  });

  it('summary with a filter counts the matching rows (checked against a plain JS count of the sample)', async () => {
    const list = await h.listDatasets({}, ctx());
    const id = list.find((d) => d.sample)!.id;
    const s = await h.summary({ dataset: id, where: "fare > 20 and payment in ('cash', 'app')", columns: ['fare', 'payment'] }, ctx());
    const r = await h.rows({ dataset: id, offset: 0, limit: 60000, columns: ['fare', 'payment'] }, ctx());
    const t = tableFromIPC(r.ipc);
    let n = 0;
    let min = Infinity;
    for (let i = 0; i < t.numRows; i++) {
      const fare = t.getChild('fare')!.get(i) as number;
      const pay = t.getChild('payment')!.get(i) as string | null;
      if (fare > 20 && (pay === 'cash' || pay === 'app')) {
        n++;
        min = Math.min(min, fare);
      }
    }
    expect(s.filteredRows).toBe(n);
    const fare = s.columns.find((c) => c.name === 'fare')!;
    expect(fare.count).toBe(n);
    expect(fare.min).toBe(min);
  });

  it('reads a row window far into the file, with the values at those rows', async () => {
    const id = (await h.listDatasets({}, ctx())).find((d) => d.sample)!.id;
    const r = await h.rows({ dataset: id, offset: 59990, limit: 50, columns: ['trip_id', 'note'] }, ctx());
    expect(r).toMatchObject({ offset: 59990, rows: 10 });
    const t = tableFromIPC(r.ipc);
    expect(t.numRows).toBe(10);
    expect(t.getChild('trip_id')!.get(9)).toBe(10_000_000_000n + 59999n * 7n);
  });

  it('ingests a CSV with bad rows once, reports them by line, and reopens from the cache with the same warnings', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cdx-csv-'));
    const file = path.join(dir, 'people.csv');
    writeFileSync(file, 'id,name,score\n1,Ada,3.5\n2,Bob\n3,"Cy, Jr.",4\n4,Di,5,extra\n5,Eve,\n');
    const a = await h.open({ location: file }, ctx());
    expect(a.storage.kind).toBe('cache');
    expect(a.rows).toBe(3);
    const lines = a.warnings.filter((w) => w.line).map((w) => w.line);
    expect(lines).toEqual([3, 5]);
    const t1 = statSync(a.storage.path).mtimeMs;
    // a new engine process (same data folder): the cache and the warnings come from the catalog
    const h2 = createEngineHandlers({ home, samplePath: sample });
    try {
      const b = await h2.open({ location: file }, ctx());
      expect(b.storage.path).toBe(a.storage.path);
      expect(statSync(b.storage.path).mtimeMs).toBe(t1);
      expect(b.warnings.filter((w) => w.line).map((w) => w.line)).toEqual([3, 5]);
      const s = await h2.summary({ dataset: b.entry.id }, ctx());
      expect(s.columns.find((c) => c.name === 'score')).toMatchObject({ count: 2, nulls: 1, min: 3.5, max: 4 });
      expect(s.columns.find((c) => c.name === 'name')).toMatchObject({ count: 3, nulls: 0 });
    } finally {
      h2.close();
    }
  });

  it('gives clear errors naming the file for a missing path, a directory and an empty file', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cdx-bad-'));
    const empty = path.join(dir, 'empty.csv');
    writeFileSync(empty, '');
    await expect(h.open({ location: path.join(dir, 'nope.parquet') }, ctx())).rejects.toMatchObject({ code: 'ENOENT', message: expect.stringContaining('nope.parquet') });
    // a folder is its files as one dataset (sources/multi.ts): here its one file is empty, and named
    await expect(h.open({ location: dir }, ctx())).rejects.toMatchObject({ code: 'E_EMPTY', message: expect.stringContaining('empty.csv') });
    await expect(h.open({ location: empty }, ctx())).rejects.toMatchObject({ code: 'E_EMPTY', message: expect.stringContaining('empty.csv') });
    await expect(h.summary({ dataset: 'no-such-id' }, ctx())).rejects.toMatchObject({ code: 'E_NO_DATASET' });
  });
});
