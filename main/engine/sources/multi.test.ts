/**
 * Many files as one dataset (multi.ts), end to end through the engine's handlers, against DuckDB
 * reading the same files: a 200-file Hive-partitioned Parquet tree written by DuckDB's
 * `COPY … PARTITION_BY (year, month)` equals `read_parquet('dir/**\/*.parquet', hive_partitioning = true)`
 * (rows, per-column count/min/max/mean, partition-key filters); a folder of CSVs whose schemas
 * differ equals `read_csv('dir/*.csv', union_by_name = true)`. A filter on partition keys does not
 * read the other files (one of them corrupt: the filtered conversion works, the whole folder names
 * it). Bad input: no match, an empty folder, a partition value that does not parse, incompatible
 * schemas, a corrupt file — each an error naming the place, nothing left in the cache.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { duckQuery as duck } from './testing/oracle';
import { createEngineHandlers } from '../service';
import type { HandlerContext } from '../../../shared/rpc';
import { folderFilter, globRegex, widen } from './multi';

const ctx = (): HandlerContext => ({ signal: new AbortController().signal, progress: () => {}, connection: 'test' });
const root = mkdtempSync(path.join(os.tmpdir(), 'cdx-multi-'));
const home = path.join(root, 'home');
const h = createEngineHandlers({ home, samplePath: null });
const tree = path.join(root, 'tree');
const csvDir = path.join(root, 'csvs');
afterAll(() => {
  h.close();
  rmSync(root, { recursive: true, force: true });
});

const HIVE = `read_parquet('${tree}/**/*.parquet', hive_partitioning = true)`;

beforeAll(async () => {
  // 20 years × 10 months = 200 partitions, one file each
  await duck(`COPY (SELECT i AS id, (i * 7919) % 100003 AS v, (i * 0.25 - 300)::DOUBLE AS x, CAST(i % 5000 AS INTEGER) AS small,
      'n' || (i % 37) AS s, 2005 + (i % 20) AS year, 1 + ((i // 20) % 10) AS month FROM range(40000) t(i))
    TO '${tree}' (FORMAT parquet, PARTITION_BY (year, month))`);
  mkdirSync(csvDir);
  // the same columns in most files; some add a column, some hold integers where others hold floats
  for (let k = 0; k < 12; k++) {
    const extra = k % 3 === 0 ? `, 'e' || (i % 5) AS extra` : '';
    const val = k % 4 === 1 ? `CAST(i % 97 AS BIGINT)` : `i * 0.5 + ${k}`;
    await duck(`COPY (SELECT i + ${k * 1000} AS id, ${val} AS val${extra} FROM range(${300 + k * 17}) t(i)) TO '${csvDir}/part-${String(k).padStart(2, '0')}.csv' (HEADER)`);
  }
});

async function summaryOf(location: string, where?: string) {
  const ov = await h.open({ location }, ctx());
  return { ov, s: await h.summary({ dataset: ov.entry.id, where }, ctx()) };
}

async function expectSameStats(s: Awaited<ReturnType<typeof summaryOf>>['s'], from: string, columns: string[], where?: string) {
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

describe('globs', () => {
  it('match like a shell (with ** for any depth)', () => {
    expect(globRegex('*.csv').test('a.csv')).toBe(true);
    expect(globRegex('*.csv').test('x/a.csv')).toBe(false);
    expect(globRegex('**/*.parquet').test('year=2024/month=1/data_0.parquet')).toBe(true);
    expect(globRegex('**/*.parquet').test('top.parquet')).toBe(true);
    expect(globRegex('2024-0[1-3]-?.csv').test('2024-02-x.csv')).toBe(true);
    expect(globRegex('2024-0[1-3]-?.csv').test('2024-04-x.csv')).toBe(false);
  });
  it('a listing walks only the folders that can hold a match', () => {
    const f = folderFilter('year=202[34]/month=*/*.parquet');
    expect([f(['year=2024']), f(['year=2022']), f(['year=2023', 'month=1']), f(['year=2023', 'month=1', 'deeper'])]).toEqual([true, false, true, false]);
    const g = folderFilter('a/**/*.csv');
    expect([g(['a']), g(['b']), g(['a', 'x', 'y', 'z'])]).toEqual([true, false, true]);
    expect(folderFilter('**')(['any', 'depth'])).toBe(true);
    expect(folderFilter('*.csv')(['sub'])).toBe(false);
  });
  it('widen types as the schemas meet', () => {
    const f = (type: string) => ({ name: 'c', type, nullable: false }) as never;
    expect(widen(f('int32'), f('int64'))?.type).toBe('int64');
    expect(widen(f('int64'), f('float64'))?.type).toBe('float64');
    expect(widen(f('uint8'), f('int8'))?.type).toBe('int16');
    expect(widen(f('string'), f('int64'))).toBeNull();
  });
});

describe('a Hive-partitioned Parquet tree as one dataset', () => {
  it('has 200 files, partition keys as typed columns, and equals DuckDB read_parquet(hive_partitioning)', async () => {
    // the app asks whether a location holds several datasets before opening it: a folder is one
    expect(await h.listInner({ path: tree }, ctx())).toEqual([]);
    const { ov, s } = await summaryOf(tree);
    const meta = JSON.parse(ov.metadata.files!) as { path: string; rows: number }[];
    expect(meta.length).toBe(200);
    const [[files]] = (await duck(`SELECT count(DISTINCT filename) FROM read_parquet('${tree}/**/*.parquet', filename = true)`)) as [[bigint]];
    expect(meta.length).toBe(Number(files));
    expect(meta.reduce((a, f) => a + f.rows, 0)).toBe(40000);
    expect(ov.metadata.partitionKeys).toBe('year,month');
    const [[rows]] = (await duck(`SELECT count(*) FROM ${HIVE}`)) as [[bigint]];
    expect(ov.rows).toBe(Number(rows));
    expect(ov.schema.fields.find((f) => f.name === 'year')?.type).toBe('int64');
    expect(ov.schema.fields.find((f) => f.name === 'month')?.type).toBe('int64');
    await expectSameStats(s, HIVE, ['id', 'v', 'x', 'small', 'year', 'month']);
    // one file's row count, as DuckDB counts it
    const one = meta.find((f) => f.path.startsWith('year=2010/month=3/'))!;
    const [[n]] = (await duck(`SELECT count(*) FROM read_parquet('${tree}/${one.path}')`)) as [[bigint]];
    expect(one.rows).toBe(Number(n));
  });

  it("the Info view's file list: every file's rows and partition values, as DuckDB reads each file", async () => {
    const ov = await h.open({ location: tree }, ctx());
    const meta = JSON.parse(ov.metadata.files!) as { path: string; rows: number; size: number; partitions: Record<string, string> }[];
    const per = (await duck(`SELECT filename, count(*), any_value(year), any_value(month) FROM read_parquet('${tree}/**/*.parquet', hive_partitioning = true, filename = true) GROUP BY filename`)) as [string, bigint, bigint, bigint][];
    const want = new Map(per.map(([f, c, y, m]) => [path.relative(tree, f).split(path.sep).join('/'), { rows: Number(c), partitions: { year: String(y), month: String(m) } }]));
    expect(meta.length).toBe(want.size);
    for (const f of meta) expect({ rows: f.rows, partitions: f.partitions }, f.path).toEqual(want.get(f.path));
    // a folder of files without partitions lists no partition values
    const csv = await h.open({ location: csvDir }, ctx());
    const files = JSON.parse(csv.metadata.files!) as { path: string; rows: number; partitions?: unknown }[];
    expect(files.map((f) => f.partitions)).toEqual(files.map(() => undefined));
    expect(files.reduce((a, f) => a + f.rows, 0)).toBe(csv.rows);
  });

  it('filters on partition keys agree with DuckDB (summary and convert)', async () => {
    for (const where of ['year = 2010', 'year >= 2020 and month in (2, 7)', 'month between 3 and 4 and x > 100']) {
      const { s } = await summaryOf(tree, where);
      const [[n]] = (await duck(`SELECT count(*) FROM ${HIVE} WHERE ${where}`)) as [[bigint]];
      expect(s.filteredRows, where).toBe(Number(n));
      await expectSameStats(s, HIVE, ['id', 'x', 'year', 'month'], where);
    }
    const out = path.join(root, 'conv-2010.parquet');
    const r = await h.exportDataset({ location: tree, output: out, where: 'year = 2010 and month <= 5' }, ctx());
    const [[n, sum]] = (await duck(`SELECT count(*), sum(v)::DOUBLE FROM ${HIVE} WHERE year = 2010 and month <= 5`)) as [[bigint, number]];
    expect(r.rows).toBe(Number(n));
    const [[n2, sum2, years]] = (await duck(`SELECT count(*), sum(v)::DOUBLE, count(DISTINCT year) FROM read_parquet('${out}')`)) as [[bigint, number, bigint]];
    expect(Number(n2)).toBe(Number(n));
    expect(sum2).toBe(sum);
    expect(Number(years)).toBe(1);
    // the partition keys alone
    const keysOnly = path.join(root, 'keys.csv');
    const rk = await h.exportDataset({ location: tree, output: keysOnly, columns: ['year', 'month'], where: 'month = 4' }, ctx());
    const [[nk, sy]] = (await duck(`SELECT count(*), sum(year)::DOUBLE FROM read_csv('${keysOnly}')`)) as [[bigint, number]];
    const [[nd, syd]] = (await duck(`SELECT count(*), sum(year)::DOUBLE FROM ${HIVE} WHERE month = 4`)) as [[bigint, number]];
    expect([rk.rows, Number(nk), sy]).toEqual([Number(nd), Number(nd), syd]);
  });

  it('a filter on partition keys never reads the other files (a corrupt one among them); the whole tree names it', async () => {
    const copy = path.join(root, 'tree-bad');
    cpSync(tree, copy, { recursive: true });
    const badDir = path.join(copy, 'year=2005', 'month=1');
    const bad = path.join(badDir, readdirSync(badDir)[0]!);
    writeFileSync(bad, 'PAR1 this is not a parquet file at all PAR1');
    const out = path.join(root, 'conv-2024.parquet');
    const r = await h.exportDataset({ location: copy, output: out, where: 'year = 2024' }, ctx());
    const [[n]] = (await duck(`SELECT count(*) FROM ${HIVE} WHERE year = 2024`)) as [[bigint]];
    expect(r.rows).toBe(Number(n));
    // a glob with the same filter
    const r2 = await h.exportDataset({ location: `${copy}/**/*.parquet`, output: path.join(root, 'conv-glob.csv'), where: 'year = 2024 and month = 2' }, ctx());
    const [[n2]] = (await duck(`SELECT count(*) FROM ${HIVE} WHERE year = 2024 and month = 2`)) as [[bigint]];
    expect(r2.rows).toBe(Number(n2));
    // unfiltered: the corrupt file is named, and nothing is left in the cache
    await expect(h.open({ location: copy }, ctx())).rejects.toThrow(bad);
    const cache = path.join(home, 'cache');
    expect(readdirSync(cache).filter((f) => f.includes('.partial-'))).toEqual([]);
  });

  it("a sub-folder or a glob over partitions is that part of the tree, its keys still columns (no other file read)", async () => {
    for (const [loc, where] of [[`${tree}/year=2012`, 'year = 2012'], [`${tree}/year=201[3-5]/month=[2-4]/*.parquet`, 'year between 2013 and 2015 and month between 2 and 4']]) {
      const { ov, s } = await summaryOf(loc!);
      const [[n]] = (await duck(`SELECT count(*) FROM ${HIVE} WHERE ${where}`)) as [[bigint]];
      expect(ov.rows, loc).toBe(Number(n));
      expect(ov.metadata.partitionKeys).toBe('year,month');
      await expectSameStats(s, HIVE, ['id', 'x', 'year', 'month'], where);
    }
  });

  it('a new file makes the catalog entry stale: it is read again', async () => {
    const dir = path.join(root, 'grow');
    mkdirSync(dir);
    await duck(`COPY (SELECT range AS a FROM range(10)) TO '${dir}/p1.parquet' (FORMAT parquet)`);
    const a = await h.open({ location: dir }, ctx());
    expect(a.rows).toBe(10);
    await duck(`COPY (SELECT range AS a FROM range(5)) TO '${dir}/p2.parquet' (FORMAT parquet)`);
    const b = await h.open({ location: dir }, ctx());
    expect(b.entry.id).toBe(a.entry.id);
    expect(b.rows).toBe(15);
    rmSync(path.join(dir, 'p1.parquet'));
    expect((await h.open({ location: dir }, ctx())).rows).toBe(5);
  });
});

describe('a folder of CSVs as one dataset', () => {
  it('equals DuckDB read_csv(union_by_name) with a column some files lack and ints widened to floats', async () => {
    const from = `read_csv('${csvDir}/*.csv', union_by_name = true)`;
    for (const loc of [csvDir, `${csvDir}/part-*.csv`]) {
      const { ov, s } = await summaryOf(loc);
      const [[rows]] = (await duck(`SELECT count(*) FROM ${from}`)) as [[bigint]];
      expect(ov.rows).toBe(Number(rows));
      expect(ov.schema.fields.map((f) => f.name)).toEqual(['id', 'val', 'extra']);
      expect(ov.schema.fields.find((f) => f.name === 'val')?.type).toBe('float64');
      await expectSameStats(s, from, ['id', 'val']);
      const extra = s.columns.find((c) => c.name === 'extra')!;
      const [[cnt, nulls, distinct]] = (await duck(`SELECT count(extra), count(*) - count(extra), count(DISTINCT extra) FROM ${from}`)) as [[bigint, bigint, bigint]];
      expect(extra.count).toBe(Number(cnt));
      expect(extra.nulls).toBe(Number(nulls));
      expect(extra.distinct).toBe(Number(distinct));
      expect(JSON.parse(ov.metadata.files!).length).toBe(12);
    }
    // a narrower glob
    const { ov } = await summaryOf(`${csvDir}/part-0[0-3].csv`);
    const [[rows]] = (await duck(`SELECT count(*) FROM read_csv('${csvDir}/part-0[0-3].csv', union_by_name = true)`)) as [[bigint]];
    expect(ov.rows).toBe(Number(rows));
  });
});

describe('bad input', () => {
  it('a glob that matches nothing, and an empty folder', async () => {
    await expect(h.open({ location: `${csvDir}/nothing-*.csv` }, ctx())).rejects.toMatchObject({ code: 'ENOENT', message: expect.stringContaining('nothing-*.csv') });
    const empty = path.join(root, 'empty');
    mkdirSync(empty);
    await expect(h.open({ location: empty }, ctx())).rejects.toMatchObject({ code: 'E_EMPTY', message: expect.stringContaining(empty) });
  });

  it('a partition value that does not parse as the others do', async () => {
    const dir = path.join(root, 'badkey');
    for (const y of ['2020', '2021', '2022', '20x3']) {
      mkdirSync(path.join(dir, `year=${y}`), { recursive: true });
      await duck(`COPY (SELECT 1 AS a) TO '${dir}/year=${y}/p.parquet' (FORMAT parquet)`);
    }
    await expect(h.open({ location: dir }, ctx())).rejects.toMatchObject({ code: 'E_BAD_VALUE', message: expect.stringMatching(/year=20x3.*year="20x3"/) });
    // the default partition is a null, not a bad value
    rmSync(path.join(dir, 'year=20x3'), { recursive: true });
    mkdirSync(path.join(dir, 'year=__HIVE_DEFAULT_PARTITION__'));
    await duck(`COPY (SELECT 2 AS a) TO '${dir}/year=__HIVE_DEFAULT_PARTITION__/p.parquet' (FORMAT parquet)`);
    const { s } = await summaryOf(dir);
    const year = s.columns.find((c) => c.name === 'year')!;
    expect([year.count, year.nulls, year.min, year.max]).toEqual([3, 1, 2020, 2022]);
  });

  it('files whose schemas do not meet are named, with the column', async () => {
    const dir = path.join(root, 'clash');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'a.csv'), 'id,name\n1,x\n2,y\n');
    writeFileSync(path.join(dir, 'b.csv'), 'id,name\nfoo,x\nbar,y\n');
    await expect(h.open({ location: dir }, ctx())).rejects.toMatchObject({ code: 'E_TYPE_MISMATCH', message: expect.stringMatching(/"id".*a\.csv.*b\.csv/) });
  });

  it('one corrupt file: named; nothing half-written in the cache', async () => {
    const dir = path.join(root, 'corrupt');
    mkdirSync(dir);
    await duck(`COPY (SELECT range AS a FROM range(100)) TO '${dir}/a.parquet' (FORMAT parquet)`);
    await duck(`COPY (SELECT range AS a FROM range(100)) TO '${dir}/b.parquet' (FORMAT parquet)`);
    appendFileSync(path.join(dir, 'b.parquet'), 'trailing junk');
    await expect(h.open({ location: dir }, ctx())).rejects.toThrow(path.join(dir, 'b.parquet'));
    expect(readdirSync(path.join(home, 'cache')).filter((f) => f.includes('.partial-'))).toEqual([]);
  });
});

describe('column types and reader notes over the files', () => {
  it("a CSV folder's column read as another type (Change type…): every file that has it", async () => {
    const dir = path.join(root, 'typed');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'a.csv'), 'code,n\n7,1\n10,2\n');
    writeFileSync(path.join(dir, 'b.csv'), 'n\n3\n');
    writeFileSync(path.join(dir, 'c.csv'), 'code,n\n1,4\nbad,row,extra\n');
    const ov = await h.open({ location: dir }, ctx());
    expect(ov.schema.fields.find((f) => f.name === 'code')?.type).toBe('int64');
    // the bad row, named with its file
    expect(ov.warnings.some((w) => w.code === 'W_BAD_ROW' && w.message.startsWith('c.csv: '))).toBe(true);
    const r = await h.setColumnType({ dataset: ov.entry.id, column: 'code', type: 'string' }, ctx());
    expect(r.overview.schema.fields.find((f) => f.name === 'code')?.type).toBe('string');
    const s = await h.summary({ dataset: ov.entry.id, columns: ['code'] }, ctx());
    expect([s.columns[0]!.count, s.columns[0]!.nulls, s.columns[0]!.min, s.columns[0]!.max]).toEqual([3, 1, '1', '7']);
  });
});

describe('what is not a pattern', () => {
  it('URLs and PATH::INNER with pattern-like names are left to their readers', async () => {
    const { isMultiLocation } = await import('./multi');
    expect(await isMultiLocation('https://example.com/data.csv?x=1')).toBe(false);
    expect(await isMultiLocation('postgresql://u@h/db::t*')).toBe(false);
    const f = path.join(root, 'c.h5');
    writeFileSync(f, 'x');
    expect(await isMultiLocation(`${f}::/group/a*`)).toBe(false);
    expect(await isMultiLocation(`${root}/*.h5`)).toBe(true);
    expect(await isMultiLocation(root)).toBe(true);
    expect(await isMultiLocation(f)).toBe(false);
  });
});

describe('a catalogued folder', () => {
  it('converts from its cache while its files are as they were', async () => {
    const dir = path.join(root, 'cached');
    mkdirSync(dir);
    await duck(`COPY (SELECT range AS a FROM range(50)) TO '${dir}/p1.parquet' (FORMAT parquet)`);
    await h.open({ location: dir }, ctx());
    const r = await h.exportDataset({ location: dir, output: path.join(root, 'cached.csv'), where: 'a >= 10' }, ctx());
    expect([r.rows, r.via]).toEqual([40, 'mapped']);
    await duck(`COPY (SELECT range AS a FROM range(20)) TO '${dir}/p2.parquet' (FORMAT parquet)`);
    const r2 = await h.exportDataset({ location: dir, output: path.join(root, 'cached2.csv'), where: 'a >= 10' }, ctx());
    expect([r2.rows, r2.via]).toEqual([50, 'source']);
  });
});

describe('CSV folders through the native ingest, and mixed folders', () => {
  it('a file that is not CSV among CSVs: named, no staging folder or partial file left', async () => {
    const dir = path.join(root, 'csv-bad');
    mkdirSync(dir);
    for (let k = 0; k < 9; k++) writeFileSync(path.join(dir, `p${k}.csv`), `a,b\n${k},x\n`);
    writeFileSync(path.join(dir, 'p9.csv'), Buffer.from([0x00, 0x01, 0x02, 0xff, 0xfe, 0x00, 0x10, 0x80, 0x00]));
    await expect(h.open({ location: dir }, ctx())).rejects.toThrow(path.join(dir, 'p9.csv'));
    expect(readdirSync(path.join(home, 'cache')).filter((f) => f.includes('.partial-') || f.includes('.parts-'))).toEqual([]);
  });

  it('CSV and Parquet files in one folder (read file by file) equal DuckDB on the union', async () => {
    const dir = path.join(root, 'mixed');
    mkdirSync(dir);
    await duck(`COPY (SELECT range AS id, (range * 0.5)::DOUBLE AS x FROM range(1000)) TO '${dir}/a.parquet' (FORMAT parquet)`);
    await duck(`COPY (SELECT range + 1000 AS id, CAST(range AS BIGINT) AS x FROM range(700)) TO '${dir}/b.csv' (HEADER)`);
    const { ov, s } = await summaryOf(dir);
    expect(ov.rows).toBe(1700);
    expect(ov.entry.format).toBe('mixed');
    const from = `(SELECT id, x::DOUBLE AS x FROM read_parquet('${dir}/a.parquet') UNION ALL SELECT id, x::DOUBLE FROM read_csv('${dir}/b.csv'))`;
    await expectSameStats(s, from, ['id', 'x']);
  });
});

describe('files without rows', () => {
  it('a header-only CSV or an empty Parquet part gives no type: the files with rows decide', async () => {
    const dir = path.join(root, 'hdr');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'p1.csv'), 'a,b\n');
    writeFileSync(path.join(dir, 'p2.csv'), 'a,b\n1,x\n2,y\n');
    writeFileSync(path.join(dir, 'p3.csv'), 'a,b\n');
    const ov = await h.open({ location: dir }, ctx());
    expect(ov.dataShape).toBe('2 * {a: int64, b: string}');
    const pq = path.join(root, 'pq-empty');
    mkdirSync(pq);
    await duck(`COPY (SELECT 'x' AS a LIMIT 0) TO '${pq}/p0.parquet' (FORMAT parquet)`);
    await duck(`COPY (SELECT range AS a FROM range(3)) TO '${pq}/p1.parquet' (FORMAT parquet)`);
    const s = (await summaryOf(pq)).s;
    expect([s.rows, s.columns[0]!.type, s.columns[0]!.max]).toEqual([3, 'int64', 2]);
  });
});
