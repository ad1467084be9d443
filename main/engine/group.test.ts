/**
 * Group-by (main/engine/group.ts over native/src/group.cc) against DuckDB on the same file: keys of
 * every kind (Unicode text with nulls, int64 beyond 2^53, dates, floats with NaN and -0, bools),
 * every measure, with and without a filter, as Parquet and CSV (ingested: dictionary strings) —
 * values, null groups, NaN order and sort order must be DuckDB's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { createEngineHandlers } from './service';
import type { HandlerContext } from '../../shared/rpc';
import { duckQuery } from './sources/testing/oracle';
import { groupDataset, parseMeasures } from './group';
import { rawColumn } from '../../native/index';

const ctx = (): HandlerContext => ({ signal: new AbortController().signal, progress: () => {}, connection: 'test' });
const dir = mkdtempSync(path.join(os.tmpdir(), 'cdx-group-'));
const home = mkdtempSync(path.join(os.tmpdir(), 'cdx-group-home-'));
const h = createEngineHandlers({ home, samplePath: null });
const N = 120_000;
const parquet = path.join(dir, 'g.parquet');
const csv = path.join(dir, 'g.csv');
const lit = (p: string) => `'${p.replace(/'/g, "''")}'`;

beforeAll(async () => {
  const q = `SELECT i AS id,
      CASE WHEN i % 17 = 0 THEN NULL ELSE ['Zürich', '東京', 'São Paulo', 'a', 'A', ''][i % 6 + 1] END AS city,
      (i % 5)::BIGINT * 3000000000000000 + 9007199254740993 AS big,
      DATE '2024-01-01' + (i % 9)::INTEGER AS day,
      CASE WHEN i % 23 = 0 THEN 'nan'::DOUBLE WHEN i % 29 = 0 THEN -0.0 WHEN i % 31 = 0 THEN 0.0 ELSE (i % 4) * 0.5 END AS f,
      i % 3 = 0 AS flag,
      CASE WHEN i % 7 = 0 THEN NULL ELSE ((i * 7919) % 10007) / 7.0 END AS x,
      CASE WHEN i % 13 = 0 THEN 'nan'::DOUBLE ELSE (i % 101)::DOUBLE END AS y,
      (i * 31) % 1000 - 500 AS n,
      'w' || (i % 37) AS word
    FROM range(${N}) t(i)`;
  await duckQuery(`COPY (${q}) TO ${lit(parquet)} (FORMAT parquet, ROW_GROUP_SIZE 20000)`);
  await duckQuery(`COPY (SELECT id, city, big, day, flag, x, n, word FROM (${q})) TO ${lit(csv)} (FORMAT csv, HEADER)`);
}, 60_000);

afterAll(() => {
  h.close();
  rmSync(dir, { recursive: true, force: true });
  rmSync(home, { recursive: true, force: true });
});

type Row = Record<string, unknown>;

async function ours(location: string, by: string[], agg: string, extra: { where?: string; sort?: string[]; limit?: number } = {}) {
  const ov = await h.open({ location }, ctx());
  const r = await h.groupBy({ dataset: ov.entry.id, by, agg, ...extra }, ctx());
  const t = tableFromIPC(r.ipc);
  const rows: Row[] = [];
  for (let i = 0; i < t.numRows; i++) {
    const o: Row = {};
    for (const f of t.schema.fields) o[f.name] = t.getChild(f.name)!.get(i);
    rows.push(o);
  }
  return { r, rows, t };
}

async function theirs(location: string, sql: string): Promise<Row[]> {
  const { duckdb } = await import('./sources/testing/oracle');
  const d = (await duckdb())!;
  try {
    await d.all(`CREATE OR REPLACE VIEW t AS SELECT * FROM ${location.endsWith('.csv') ? `read_csv(${lit(location)})` : lit(location)}`);
    return (await d.all(sql)) as unknown as Row[];
  } finally {
    d.close();
  }
}

/** A value of ours and DuckDB's as comparable numbers/strings (dates as days, bigint exact). */
function norm(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Date) return Math.round(v.getTime() / 86_400_000);
  if (typeof v === 'object' && v && 'days' in (v as object)) return (v as { days: number }).days;
  return v;
}

function expectClose(a: unknown, b: unknown, what: string) {
  const x = norm(a), y = norm(b);
  if (typeof x === 'number' && typeof y === 'number') {
    if (Number.isNaN(y)) return expect(x, what).toBeNaN();
    expect(Math.abs(x - y), `${what}: ${x} vs ${y}`).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(y)));
  } else if (typeof x === 'number' && typeof y === 'string') {
    expect(String(x), what).toBe(y);
  } else {
    expect(x, what).toEqual(y);
  }
}

/** expectClose as a test: whether a and b are equal (numbers within 1e-9 relative, NaN equal to NaN). */
function same(a: unknown, b: unknown): boolean {
  const x = norm(a), y = norm(b);
  if (typeof x === 'number' && typeof y === 'number') return Number.isNaN(y) ? Number.isNaN(x) : Math.abs(x - y) <= 1e-9 * Math.max(1, Math.abs(y));
  if (typeof x === 'number' && typeof y === 'string') return String(x) === y;
  return JSON.stringify(x) === JSON.stringify(y);
}

describe('group-by equals DuckDB', () => {
  const measures = 'count(), count(x), sum(x), mean(x), min(x), max(x), std(x), var(x), distinct(word), median(x), p99(x), sum(n), min(n), max(big), max(y), min(y), mean(y), distinct(y)';
  const duckMeasures = `count(*), count(x), sum(x), avg(x), min(x), max(x), stddev_samp(x), var_samp(x), count(DISTINCT word), quantile_cont(x, 0.5), quantile_cont(x, 0.99),
    sum(n), min(n), max(big)::VARCHAR, max(y), min(y), avg(y), count(DISTINCT y)`;

  for (const file of ['parquet', 'csv'] as const) {
    it(`${file}: by a text key with nulls and Unicode, every measure`, async () => {
      const loc = file === 'parquet' ? parquet : csv;
      const m = file === 'csv' ? measures.replace(/, max\(y\), min\(y\), mean\(y\), distinct\(y\)/, '') : measures;
      const dm = file === 'csv' ? duckMeasures.replace(/, max\(y\), min\(y\), avg\(y\), count\(DISTINCT y\)/, '') : duckMeasures;
      const { rows, r } = await ours(loc, ['city'], m);
      const want = await theirs(loc, `SELECT city, ${dm} FROM t GROUP BY city ORDER BY city NULLS LAST`);
      expect(r.groups).toBe(want.length);
      expect(rows.length).toBe(want.length);
      const names = ['city', ...parseMeasures(m).map((x) => x.name)];
      rows.forEach((row, i) => names.forEach((n, j) => expectClose(row[n], (want[i] as unknown as unknown[])[j], `${file} ${String(row.city)} ${n}`)));
    });
  }

  it('by int64 beyond 2^53, a date, a bool and a float with NaN and -0, with a filter', async () => {
    const where = 'x > 100 and flag = false';
    const { rows } = await ours(parquet, ['big', 'day', 'flag', 'f'], 'count(), sum(n), max(x)', { where });
    const want = await theirs(parquet, `SELECT big::VARCHAR, day, flag, f, count(*), sum(n), max(x) FROM t WHERE x > 100 AND flag = false
      GROUP BY big, day, flag, f ORDER BY big, day, flag, f NULLS LAST`);
    expect(rows.length).toBe(want.length);
    rows.forEach((row, i) => {
      const w = want[i] as unknown as unknown[];
      expect(String(row.big)).toBe(w[0]);
      expectClose(Number(row.day) / 86_400_000, w[1], 'day'); // Arrow JS gives a date as ms
      expect(row.flag).toBe(w[2]);
      expectClose(row.f, w[3], 'f');
      expectClose(row.count, w[4], 'count');
      expectClose(row.sum_n, w[5], 'sum_n');
      expectClose(row.max_x, w[6], 'max_x');
    });
    // -0 and 0 are one group, every NaN one group
    expect(new Set(rows.filter((r) => r.f === 0).map((r) => `${r.big}|${String(r.day)}|${r.flag}`)).size).toBe(rows.filter((r) => r.f === 0).length);
  });

  it('sorted by a measure descending, top 3, and by two keys', async () => {
    const { rows, r } = await ours(parquet, ['word'], 'count() as n, sum(x) as total', { sort: ['-total'], limit: 3 });
    const want = await theirs(parquet, `SELECT word, count(*), sum(x) FROM t GROUP BY word ORDER BY sum(x) DESC LIMIT 3`);
    expect(r.groups).toBe(37);
    expect(rows.map((x) => x.word)).toEqual(want.map((w) => (w as unknown as unknown[])[0]));
    rows.forEach((row, i) => expectClose(row.total, (want[i] as unknown as unknown[])[2], 'total'));
  });

  it('clear errors: an unknown column, a text column summed, a bad measure, too many groups', async () => {
    const ov = await h.open({ location: parquet }, ctx());
    await expect(h.groupBy({ dataset: ov.entry.id, by: ['nope'], agg: 'count()' }, ctx())).rejects.toMatchObject({ code: 'E_UNKNOWN_COLUMN' });
    await expect(h.groupBy({ dataset: ov.entry.id, by: ['city'], agg: 'sum(word)' }, ctx())).rejects.toMatchObject({ code: 'E_BAD_TYPE' });
    await expect(h.groupBy({ dataset: ov.entry.id, by: ['city'], agg: 'frobnicate(x)' }, ctx())).rejects.toThrow(/unknown function frobnicate/);
    await expect(h.groupBy({ dataset: ov.entry.id, by: ['city'], agg: 'count()', sort: ['-zzz'] }, ctx())).rejects.toMatchObject({ code: 'E_UNKNOWN_COLUMN' });
    // more groups than the limit: E_TOO_LARGE naming it, not an allocation failure
    const raw = path.join(dir, 'v.f64');
    writeFileSync(raw, Buffer.from(Float64Array.from({ length: 5000 }, (_, i) => i).buffer));
    const ds = { location: raw, schema: { fields: [{ name: 'v', type: 'float64' as const, nullable: false }] }, columns: new Map([['v', rawColumn(raw, 'v', 'float64', 0, 5000)]]) };
    await expect(groupDataset(ds, { by: ['v'], measures: [{ fn: 'rows', name: 'count' }] }, { maxGroups: 1000 })).rejects.toMatchObject({ code: 'E_TOO_LARGE', message: expect.stringMatching(/more than 1,000 groups/) });
    const ok = await groupDataset(ds, { by: ['v'], measures: [{ fn: 'rows', name: 'count' }] });
    expect(ok.groups).toBe(5000);
    expect(Array.from(ok.table.getChild('v')!.toArray() as Float64Array).slice(0, 3)).toEqual([0, 1, 2]);
    // top-N of many groups (the threshold path) equals the full sort's first N
    const top = await groupDataset(ds, { by: ['v'], measures: [{ fn: 'rows', name: 'count' }], sort: ['-v'], limit: 5 });
    expect(Array.from(top.table.getChild('v')!.toArray() as Float64Array)).toEqual([4999, 4998, 4997, 4996, 4995]);
    expect(top.groups).toBe(5000);
  });
});

// Keys with many groups (most of a sample's keys distinct, over 65,536 rows): the kernel's threads
// split the groups by hash instead of the rows (native/src/group.cc SplitEstimate) — the same
// answers as DuckDB for int64 keys beyond 2^53, text keys, float keys with NaN and -0, small
// integers (each thread's direct array of codes), with nulls.
describe('group-by of many groups (the threads split the groups) equals DuckDB', () => {
  const M = 100_000;
  const wide = path.join(dir, 'wide.parquet');
  beforeAll(async () => {
    await duckQuery(`COPY (SELECT i AS id,
        CASE WHEN i % 101 = 0 THEN NULL ELSE 9007199254740993 + ((i * 7919) % 150000)::BIGINT * 3 END AS hk,
        CASE WHEN i % 103 = 0 THEN NULL ELSE 'ü' || ((i * 31) % 120000)::VARCHAR END AS hs,
        CASE WHEN i % 107 = 0 THEN NULL ELSE ((i * 7) % 60000)::INTEGER - 30000 END AS hd,
        CASE WHEN i % 97 = 0 THEN 'nan'::DOUBLE WHEN i % 89 = 0 THEN -0.0 ELSE ((i * 13) % 90000) * 0.25 END AS hf,
        CASE WHEN i % 7 = 0 THEN NULL ELSE ((i * 7919) % 10007) / 7.0 END AS x,
        (i * 31) % 1000 - 500 AS n,
        'w' || (i % 37) AS word
      FROM range(${M}) t(i)) TO ${lit(wide)} (FORMAT parquet, ROW_GROUP_SIZE 50000)`);
  }, 60_000);

  const measures = 'count(), count(x), sum(x), mean(x), min(x), max(x), std(x), distinct(word), median(x), sum(n), min(n)';
  const duckMeasures = 'count(*), count(x), sum(x), avg(x), min(x), max(x), stddev_samp(x), count(DISTINCT word), quantile_cont(x, 0.5), sum(n), min(n)';
  for (const [key, cast] of [['hk', 'hk::VARCHAR'], ['hs', 'hs'], ['hf', 'hf'], ['hd', 'hd']] as const) {
    it(`by ${key}, every kind of measure, with a filter`, async () => {
      for (const where of [undefined, 'n > -300']) {
        const { rows, r } = await ours(wide, [key], measures, where ? { where } : {});
        const want = await theirs(wide, `SELECT ${cast}, ${duckMeasures} FROM t ${where ? `WHERE ${where}` : ''} GROUP BY ${key} ORDER BY ${key} NULLS LAST`);
        expect(r.groups).toBe(want.length);
        expect(want.length).toBeGreaterThan(40_000);
        const names = [key, ...parseMeasures(measures).map((x) => x.name)];
        // every cell compared; the first few that differ reported (an expect per cell is slow here)
        const bad: string[] = [];
        rows.forEach((row, i) => {
          const w = want[i] as unknown as unknown[];
          names.forEach((n, j) => {
            const a = j === 0 && key === 'hk' && row.hk !== null ? String(row.hk) : row[n];
            if (!same(a, w[j]) && bad.length < 5) bad.push(`${key} ${String(row[key])} ${n}: ${String(norm(a))} vs ${String(norm(w[j]))}`);
          });
        });
        expect(bad).toEqual([]);
      }
    }, 60_000);
  }

  // the kernel returns only the top's candidates (native/src/group.cc SelectTop): the same first N
  // as sorting every group — ties in the kernel's order — and `groups` still counts every group
  it('top-N by a measure: DuckDB\'s first N values, and with ties the same N as sorting every group', async () => {
    const { rows, r } = await ours(wide, ['hk'], 'count() as c, sum(x) as s', { sort: ['-s'], limit: 10 });
    const want = await theirs(wide, `SELECT hk::VARCHAR, sum(x) FROM t GROUP BY hk ORDER BY sum(x) DESC NULLS LAST LIMIT 10`);
    // keys of equal sums may come in another order than DuckDB's: the sums compared
    expect(rows.length).toBe(10);
    rows.forEach((row, i) => expectClose(row.s, (want[i] as unknown as unknown[])[1], 's'));
    const all = await theirs(wide, 'SELECT count(DISTINCT hk) + 1 FROM t');
    expect(r.groups).toBe(Number((all[0] as unknown as unknown[])[0]));
    for (const sort of [['-c'], ['c', 'hs'], ['min_n'], ['-min_n', '-c']]) {
      const agg = 'count() as c, min(n), sum(x)';
      const cut = await ours(wide, ['hs'], agg, { sort, limit: 25 });
      const full = await ours(wide, ['hs'], agg, { sort });
      expect(cut.r.groups).toBe(full.r.groups);
      expect(cut.rows, sort.join()).toEqual(full.rows.slice(0, 25));
    }
  }, 60_000);

  it('more groups than the limit: E_TOO_LARGE; every group otherwise, in key order', async () => {
    const raw = path.join(dir, 'wide.f64');
    writeFileSync(raw, Buffer.from(Float64Array.from({ length: 100_000 }, (_, i) => 99_999 - i).buffer));
    const ds = { location: raw, schema: { fields: [{ name: 'v', type: 'float64' as const, nullable: false }] }, columns: new Map([['v', rawColumn(raw, 'v', 'float64', 0, 100_000)]]) };
    const spec = { by: ['v'], measures: [{ fn: 'rows' as const, name: 'count' }] };
    await expect(groupDataset(ds, spec, { maxGroups: 1000 })).rejects.toMatchObject({ code: 'E_TOO_LARGE', message: expect.stringMatching(/more than 1,000 groups/) });
    const ok = await groupDataset(ds, spec);
    expect(ok.groups).toBe(100_000);
    const v = ok.table.getChild('v')!.toArray() as Float64Array;
    expect(v.every((x, i) => x === i)).toBe(true);
    expect((ok.table.getChild('count')!.toArray() as BigInt64Array).every((c) => c === 1n)).toBe(true);
  });
});

describe('parseMeasures', () => {
  it('names, aliases and percentiles', () => {
    expect(parseMeasures('count(), avg(fare) as "mean fare", p99.9(t), quantile(t, 0.25), median(t), count(*)')).toEqual([
      { fn: 'rows', name: 'count' },
      { fn: 'mean', column: 'fare', name: 'mean fare' },
      { fn: 'quantile', column: 't', q: 0.999, name: 'p99.9_t' },
      { fn: 'quantile', column: 't', q: 0.25, name: 'quantile_t' },
      { fn: 'quantile', column: 't', q: 0.5, name: 'median_t' },
      { fn: 'rows', name: 'count_2' },
    ]);
    expect(() => parseMeasures('')).toThrow(/no measure/);
    expect(() => parseMeasures('mean()')).toThrow(/needs a column/);
    expect(() => parseMeasures('quantile(x, 2)')).toThrow(/between 0 and 1/);
  });
});
