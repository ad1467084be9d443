/**
 * Sort (main/engine/sort.ts over native/src/sort.cc) against DuckDB on the same file: keys of every
 * kind (Unicode text with nulls, int64 beyond 2^53, dates, floats with NaN and -0, bools,
 * dictionary text from an ingested CSV), ascending and descending, one and several columns, with
 * and without a filter — the order of row ids must be DuckDB's `ORDER BY … NULLS LAST, id` (NaN
 * the greatest number, text by bytes), for the table's windows at several offsets and for top-N.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { createEngineHandlers } from './service';
import type { HandlerContext } from '../../shared/rpc';
import { duckQuery } from './sources/testing/oracle';
import { Datasets } from './datasets';
import { compileFor, whereExpr } from './filter';
import { Sorts, parseSort, sortedRows } from './sort';
import { rawColumn } from '../../native/index';

const ctx = (): HandlerContext => ({ signal: new AbortController().signal, progress: () => {}, connection: 'test' });
const dir = mkdtempSync(path.join(os.tmpdir(), 'cdx-sort-'));
const home = mkdtempSync(path.join(os.tmpdir(), 'cdx-sort-home-'));
const home2 = mkdtempSync(path.join(os.tmpdir(), 'cdx-sort-home2-'));
const h = createEngineHandlers({ home, samplePath: null });
const N = 150_000;
const parquet = path.join(dir, 's.parquet');
const csv = path.join(dir, 's.csv');
const lit = (p: string) => `'${p.replace(/'/g, "''")}'`;

beforeAll(async () => {
  const q = `SELECT i AS id,
      CASE WHEN i % 17 = 0 THEN NULL ELSE ['Zürich', '東京', 'São Paulo', 'a', 'A', '', 'ab', 'abcdefghij', 'abcdefghi', '😀'][i % 10 + 1] END AS city,
      CASE WHEN i % 19 = 0 THEN NULL ELSE (i % 5)::BIGINT * 3000000000000000 + 9007199254740993 - (i % 3) * 3074457345618258602 END AS big,
      CASE WHEN i % 11 = 0 THEN NULL ELSE DATE '2024-01-01' + ((i * 37) % 400)::INTEGER END AS day,
      CASE WHEN i % 23 = 0 THEN 'nan'::DOUBLE WHEN i % 29 = 0 THEN -0.0 WHEN i % 31 = 0 THEN 0.0 WHEN i % 37 = 0 THEN NULL
           WHEN i % 41 = 0 THEN 'inf'::DOUBLE WHEN i % 43 = 0 THEN '-inf'::DOUBLE ELSE ((i * 7919) % 10007) / 7.0 - 700 END AS f,
      CASE WHEN i % 13 = 0 THEN NULL ELSE i % 3 = 0 END AS flag,
      CASE WHEN i % 23 = 0 THEN 'nan'::DOUBLE WHEN i % 29 = 0 THEN -0.0 WHEN i % 31 = 0 THEN 0.0
           WHEN i % 41 = 0 THEN 'inf'::DOUBLE WHEN i % 43 = 0 THEN '-inf'::DOUBLE ELSE ((i * 7919) % 10007) / 7.0 + 1 END AS g,
      (i * 31) % 1000 - 500 AS n,
      'w' || (i % 37) AS word
    FROM range(${N}) t(i)`;
  await duckQuery(`COPY (${q}) TO ${lit(parquet)} (FORMAT parquet, ROW_GROUP_SIZE 20000)`);
  await duckQuery(`COPY (SELECT id, city, big, day, flag, n, word FROM (${q})) TO ${lit(csv)} (FORMAT csv, HEADER)`);
}, 60_000);

afterAll(() => {
  h.close();
  rmSync(dir, { recursive: true, force: true });
  rmSync(home, { recursive: true, force: true });
  rmSync(home2, { recursive: true, force: true });
});

/** DuckDB's ORDER BY of the same sort (nulls last, ties by id) as ids. */
async function theirs(location: string, sort: string[], where?: string, limit?: number): Promise<number[]> {
  const src = location.endsWith('.csv') ? `read_csv(${lit(location)})` : lit(location);
  const order = parseSort(sort).map((k) => `"${k.name}" ${k.desc ? 'DESC' : 'ASC'} NULLS LAST`).concat(['id']).join(', ');
  const rows = await duckQuery(`SELECT id FROM ${src}${where ? ` WHERE ${where}` : ''} ORDER BY ${order}${limit !== undefined ? ` LIMIT ${limit}` : ''}`);
  return rows.map((r) => Number(r[0]));
}

async function window(id: string, sort: string[], offset: number, limit: number, where?: string) {
  const r = await h.rows({ dataset: id, offset, limit, columns: ['id'], sort, ...(where ? { where } : {}) }, ctx());
  const t = tableFromIPC(r.ipc);
  const ids = Array.from({ length: t.numRows }, (_, i) => Number(t.getChild('id')!.get(i)));
  return { r, ids };
}

const SORTS: string[][] = [
  ['f'], ['-f'], ['city'], ['-city'], ['big'], ['-big'], ['day'], ['-day'], ['flag'], ['-flag'],
  ['-f', 'city'], ['city', '-big'], ['flag', '-day', 'f'], ['word', '-n'], ['-flag', 'city', 'f'],
];

describe('sort against DuckDB (Parquet)', () => {
  let id = '';
  beforeAll(async () => { id = (await h.open({ location: parquet }, ctx())).entry.id; });

  for (const sort of SORTS) {
    it(`full order by ${sort.join(',')}`, async () => {
      const want = await theirs(parquet, sort);
      const { r, ids } = await window(id, sort, 0, N);
      expect(r.total).toBe(N);
      expect(ids.length).toBe(N);
      expect(Array.from(r.rowIds!)).toEqual(ids); // ids are row numbers
      expect(ids).toEqual(want);
    });
  }

  it('windows at several offsets read through the one permutation', async () => {
    const sort = ['-f', 'city'];
    const want = await theirs(parquet, sort);
    for (const off of [0, 1, 999, 70_000, N - 5, N, N + 10]) {
      const { r, ids } = await window(id, sort, off, 100);
      expect(r.total).toBe(N);
      expect(r.offset).toBe(Math.min(off, N));
      expect(ids).toEqual(want.slice(off, off + 100));
    }
  });

  it('with a filter', async () => {
    const where = 'n > 100 and city != "a"';
    const duckWhere = `n > 100 AND city <> 'a'`;
    for (const sort of [['-big', 'day'], ['f'], ['city', '-f']]) {
      const want = await theirs(parquet, sort, duckWhere);
      const { r, ids } = await window(id, sort, 0, N, where);
      expect(r.total).toBe(want.length);
      expect(ids).toEqual(want);
      const mid = await window(id, sort, Math.floor(want.length / 2), 50, where);
      expect(mid.r.total).toBe(want.length);
      expect(mid.ids).toEqual(want.slice(Math.floor(want.length / 2), Math.floor(want.length / 2) + 50));
      const w2 = await window(id, sort, 0, N, where);
      expect(w2.ids).toEqual(want);
    }
  });

  it('without sort the rows handler is unchanged', async () => {
    const { r, ids } = await window(id, [], 10, 5);
    expect(ids).toEqual([10, 11, 12, 13, 14]);
    expect(r.rowIds).toBeUndefined();
  });

  it('an unknown column is E_UNKNOWN_COLUMN', async () => {
    await expect(window(id, ['nope'], 0, 10)).rejects.toMatchObject({ code: 'E_UNKNOWN_COLUMN' });
  });
});

describe('sort against DuckDB (ingested CSV: dictionary text)', () => {
  let id = '';
  beforeAll(async () => { id = (await h.open({ location: csv }, ctx())).entry.id; }, 60_000);
  for (const sort of [['city'], ['-city', 'id'], ['word', '-big'], ['-word', 'flag']]) {
    it(`full order by ${sort.join(',')}`, async () => {
      const want = await theirs(csv, sort);
      const { ids } = await window(id, sort, 0, N);
      expect(ids).toEqual(want);
    });
  }
});

describe('top-N (no full sort)', () => {
  const store = new Datasets(home2, null);
  afterAll(() => store.close());
  for (const [sort, limit, where] of [
    [['f'], 10, undefined], [['-f'], 1000, undefined], [['-big', 'city'], 37, undefined],
    [['city', '-f'], 5000, 'n > 0'], [['day'], 200_000, undefined], [['-f'], 0, undefined], [['flag', 'f'], 15_000, 'n < 0'],
    // one non-text key, limit well below the rows: the one-pass top-N (nulls reached when few others pass)
    [['-day'], 100, undefined], [['flag'], 15_000, undefined], [['-big'], 3, 'n > 10'], [['f'], 1400, 'n > 490'], [['-f'], 1400, 'n > 490'],
    // a key without nulls and no filter: the vectorised pass (g: -inf, then -0 and 0 as one value
    // in id order, then positive numbers; NaN above inf; n: int64)
    [['g'], 10, undefined], [['g'], 9000, undefined], [['-g'], 5000, undefined], [['-g'], 12_000, undefined], [['n'], 700, undefined], [['-n'], 3, undefined],
  ] as [string[], number, string | undefined][]) {
    it(`${sort.join(',')} limit ${limit}${where ? ` where ${where}` : ''}`, async () => {
      const ds = await store.open(parquet);
      const filter = compileFor(ds, whereExpr(where));
      const got = await sortedRows(ds, parseSort(sort), filter, { limit });
      const all = await theirs(parquet, sort, where);
      expect(got.total).toBe(all.length);
      expect(Array.from(got.rowIds)).toEqual(all.slice(0, limit));
    });
  }
});

describe('top-N of dictionary text (ingested CSV)', () => {
  const store = new Datasets(path.join(home2, 'csv'), null);
  afterAll(() => store.close());
  for (const sort of [['city'], ['-city'], ['-word']]) {
    it(`${sort.join(',')} limit 500`, async () => {
      const ds = await store.open(csv);
      const got = await sortedRows(ds, parseSort(sort), undefined, { limit: 500 });
      expect(Array.from(got.rowIds)).toEqual((await theirs(csv, sort)).slice(0, 500));
    }, 60_000);
  }
});

describe('a sort of more rows than one thread sorts alone (sample sort: splitters, buckets)', () => {
  const big = path.join(dir, 'big.parquet');
  const M = 300_000;
  const store = new Datasets(path.join(home2, 'big'), null);
  beforeAll(async () => {
    await duckQuery(`COPY (SELECT i AS id,
        CASE WHEN i % 23 = 0 THEN 'nan'::DOUBLE WHEN i % 37 = 0 THEN NULL ELSE ((i * 7919) % 100003) / 7.0 END AS f,
        CASE WHEN i % 17 = 0 THEN NULL ELSE ['Zürich', '東京', 'a', 'A', '', 'abcdefghij', 'abcdefghi'][i % 7 + 1] END AS city,
        (i % 5)::BIGINT * 3000000000000000 + 9007199254740993 AS big
      FROM range(${M}) t(i)) TO ${lit(big)} (FORMAT parquet, ROW_GROUP_SIZE 100000)`);
  }, 60_000);
  afterAll(() => store.close());
  for (const [sort, where] of [[['f'], undefined], [['-f'], 'id > 1000'], [['city', '-f'], undefined], [['-big', 'city'], undefined], [['big'], 'big > 9007199254740993'], [['-big'], undefined]] as [string[], string | undefined][]) {
    it(`${sort.join(',')}${where ? ` where ${where}` : ''}`, async () => {
      const ds = await store.open(big);
      const got = await sortedRows(ds, parseSort(sort), compileFor(ds, whereExpr(where)));
      const want = await theirs(big, sort, where);
      expect(got.total).toBe(want.length);
      expect(Array.from(got.rowIds)).toEqual(want);
    }, 60_000);
  }
});

describe('the permutation cache', () => {
  const store = new Datasets(path.join(home2, 'cache'), null);
  afterAll(() => store.close());
  it('windows read through one permutation per (sort, filter); the oldest go past the byte budget, the newest stays', async () => {
    const ds = await store.open(parquet);
    const sorts = new Sorts({ capacity: 4, maxBytes: N * 8 + 1 });
    const keys = parseSort(['-f', 'city']);
    const want = await theirs(parquet, ['-f', 'city']);
    // the first window near the top is a top-N; the next computes and keeps the permutation
    expect(Array.from((await sorts.windowOf(ds, keys, undefined, undefined, 0, 10)).rowIds)).toEqual(want.slice(0, 10));
    expect(sorts.keys().length).toBe(0);
    expect(Array.from((await sorts.windowOf(ds, keys, undefined, undefined, 10, 10)).rowIds)).toEqual(want.slice(10, 20));
    expect(sorts.keys().length).toBe(1);
    expect(Array.from((await sorts.windowOf(ds, keys, undefined, undefined, 0, 10)).rowIds)).toEqual(want.slice(0, 10));
    await sorts.permutation(ds, parseSort(['big']), undefined, undefined);
    expect(sorts.keys().length).toBe(1);
    expect(sorts.keys()[0]).toContain('big');
    sorts.forget(ds.id);
    expect(sorts.keys()).toEqual([]);
  }, 60_000);
});

describe('a sort too large for memory', () => {
  it('is refused with E_TOO_LARGE naming the rows and memory before any array is touched (a sparse file of 2^36 float64)', async () => {
    const raw = path.join(dir, 'huge.f64');
    const { closeSync, ftruncateSync, openSync } = await import('node:fs');
    const fd = openSync(raw, 'w');
    ftruncateSync(fd, 2 ** 39); // 512 GiB, sparse: nothing written
    closeSync(fd);
    const rows = 2 ** 36;
    const ds = { id: 'huge', location: raw, rows, columns: new Map([['v', rawColumn(raw, 'v', 'float64', 0, rows)]]) };
    await expect(sortedRows(ds, parseSort(['v']), undefined)).rejects.toMatchObject({ code: 'E_TOO_LARGE', message: expect.stringMatching(/sorting 68,719,476,736 rows needs about [\d,]+ MiB, more than this machine's memory allows/) });
  }, 30_000);
});
