/**
 * Computed columns (main/engine/computed.ts, expr-native.ts, native/src/expr.cc) against DuckDB on
 * the same Parquet file: every operator and function over data with nulls, NaN, ±inf, int64
 * beyond 2^53, Unicode text, dates and microsecond timestamps; then the column used everywhere — a
 * filter, the summary, a group-by key, a sort, an export read back by DuckDB — kept across an
 * engine restart, and mistakes refused with their position.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { createEngineHandlers } from './service';
import type { HandlerContext } from '../../shared/rpc';
import { duckQuery } from './sources/testing/oracle';

const ctx = (): HandlerContext => ({ signal: new AbortController().signal, progress: () => {}, connection: 'test' });
const dir = mkdtempSync(path.join(os.tmpdir(), 'cdx-computed-'));
const home = mkdtempSync(path.join(os.tmpdir(), 'cdx-computed-home-'));
let h = createEngineHandlers({ home, samplePath: null });
const N = 60_000;
const parquet = path.join(dir, 'c.parquet');
const lit = (p: string) => `'${p.replace(/'/g, "''")}'`;
let id = '';

beforeAll(async () => {
  await duckQuery(`COPY (SELECT i AS id,
      CASE WHEN i % 17 = 0 THEN NULL ELSE ['Zürich', '東京', 'São Paulo', 'a', 'AbC', ''][i % 6 + 1] END AS city,
      CASE WHEN i % 11 = 0 THEN NULL ELSE (i % 5)::BIGINT * 3000000000000000 + 9007199254740993 END AS big,
      CASE WHEN i % 19 = 0 THEN NULL ELSE DATE '2023-12-25' + (i % 400)::INTEGER END AS day,
      TIMESTAMP '2024-02-27 22:00:00' + to_microseconds((i::BIGINT * 7777777) % 900000000000) AS ts,
      CASE WHEN i % 23 = 0 THEN 'nan'::DOUBLE WHEN i % 29 = 0 THEN 'inf'::DOUBLE WHEN i % 31 = 0 THEN NULL ELSE ((i * 7919) % 10007) / 7.0 - 500 END AS x,
      (i * 31) % 1000 - 500 AS n,
      (i % 7)::INTEGER - 3 AS k,
      i % 3 = 0 AS flag
    FROM range(${N}) t(i)) TO ${lit(parquet)} (FORMAT parquet, ROW_GROUP_SIZE 7000)`);
  id = (await h.open({ location: parquet }, ctx())).entry.id;
}, 60_000);

afterAll(() => {
  h.close();
  rmSync(dir, { recursive: true, force: true });
  rmSync(home, { recursive: true, force: true });
});

async function duck(sql: string): Promise<unknown[][]> {
  const { duckdb } = await import('./sources/testing/oracle');
  const d = (await duckdb())!;
  try {
    await d.all(`CREATE OR REPLACE VIEW t AS SELECT * FROM ${lit(parquet)}`);
    return (await d.all(sql)).map((r) => Object.values(r as object));
  } finally {
    d.close();
  }
}

/** Our column `c` as comparable values, by id. */
async function oursColumn(): Promise<unknown[]> {
  const r = await h.rows({ dataset: id, offset: 0, limit: N, columns: ['c'] }, ctx());
  const t = tableFromIPC(r.ipc);
  const v = t.getChild('c')!;
  return Array.from({ length: t.numRows }, (_, i) => norm(v.get(i)));
}

function norm(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Date) return v.getTime();
  if (typeof v === 'object' && 'micros' in (v as object)) return Number((v as { micros: bigint }).micros) / 1000;
  if (typeof v === 'object' && 'days' in (v as object)) return (v as { days: number }).days * 86_400_000;
  return v;
}

function same(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') {
    if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
    if (!Number.isFinite(a) || !Number.isFinite(b)) return a === b;
    return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));
  }
  if (typeof a === 'string' && typeof b === 'number') return a === String(b);
  return a === b;
}

async function expectColumn(expr: string, duckExpr: string) {
  await h.defineColumn({ dataset: id, name: 'c', expr }, ctx());
  const ours = await oursColumn();
  const want = (await duck(`SELECT ${duckExpr} FROM t ORDER BY id`)).map((r) => norm(r[0]));
  expect(ours.length).toBe(N);
  const bad: string[] = [];
  for (let i = 0; i < N && bad.length < 5; i++) if (!same(ours[i], want[i])) bad.push(`row ${i}: ours ${String(ours[i])}, DuckDB ${String(want[i])}`);
  expect(bad, expr).toEqual([]);
}

// ours = DuckDB's expression with guards where the language defines what DuckDB raises an error for
const CASES: [string, string][] = [
  ['n * 3 + k - 1', 'n * 3 + k - 1'],
  ['n / k', 'CASE WHEN k = 0 THEN NULL ELSE n / k END'],
  ['n % k', 'CASE WHEN k = 0 THEN NULL ELSE n % k END'],
  ['big + n', '(big + n)::VARCHAR'],
  ['x * 2 - n / 4', 'x * 2 - n / 4'],
  // a float column scaled and shifted is the whole program: written straight into the chunk
  ['x * 2 - 0.5', 'x * 2 - 0.5'],
  ['x * 1.8 + 32', 'x * 1.8 + 32'],
  ['x - 0.25', 'x - 0.25'],
  ['x * 3', 'x * 3'],
  ['x % 7', "CASE WHEN isnan(x) OR isinf(x) THEN 'nan'::DOUBLE ELSE x - trunc(x / 7) * 7 END"],
  ['-x', '-x'],
  ['abs(n) + abs(x)', 'abs(n) + abs(x)'],
  ['sqrt(x)', "CASE WHEN x < 0 THEN NULL ELSE sqrt(x) END"],
  ['ln(x)', "CASE WHEN x <= 0 THEN NULL ELSE ln(x) END"],
  ['log10(n)', "CASE WHEN n <= 0 THEN NULL ELSE log10(n) END"],
  ['exp(k)', 'exp(k)'],
  ['pow(k, 3)', 'pow(k, 3)'],
  ['round(x, 1)', 'round(x, 1)'],
  ['round(x)', 'round(x)'],
  ['floor(x) + ceil(x)', 'floor(x) + ceil(x)'],
  ['year(day) * 100 + month(day)', 'year(day) * 100 + month(day)'],
  ['weekday(day)', 'isodow(day)'],
  ['quarter(ts) * 1000 + day(ts) * 10 + hour(ts)', 'quarter(ts) * 1000 + day(ts) * 10 + hour(ts)'],
  ['minute(ts) * 100 + second(ts)', 'minute(ts) * 100 + second(ts)'],
  ["date_trunc('month', day)", "date_trunc('month', day)::DATE"],
  ["date_trunc('week', ts)", "date_trunc('week', ts)"],
  ["date_trunc('quarter', ts)", "date_trunc('quarter', ts)"],
  ["date_trunc('hour', ts)", "date_trunc('hour', ts)"],
  ['day + 30', 'day + 30'],
  ["day - date '2024-01-01'", "day - DATE '2024-01-01'"],
  ['lower(city)', 'lower(city)'],
  ['upper(city)', 'upper(city)'],
  ['length(city)', 'length(city)'],
  ['substr(city, 2, 3)', 'substr(city, 2, 3)'],
  ['substr(city, 3)', 'substr(city, 3)'],
  ["city || '-' || k", "city || '-' || k"],
  ["concat(city, '/', k)", "concat(city, '/', k)"],
  ["coalesce(city, 'none')", "coalesce(city, 'none')"],
  ['coalesce(x, n)', 'coalesce(x, n)'],
  // (DuckDB orders NaN above every number; the language compares NaN as IEEE: every comparison false)
  ["if(x > 0, 'pos', 'neg')", "CASE WHEN x > 0 AND NOT isnan(x) THEN 'pos' ELSE 'neg' END"],
  ["case when n < -250 then 'low' when n < 250 then 'mid' else 'high' end", "CASE WHEN n < -250 THEN 'low' WHEN n < 250 THEN 'mid' ELSE 'high' END"],
  ['cast(x as int)', "CASE WHEN isnan(x) OR isinf(x) THEN NULL ELSE CAST(x AS BIGINT) END"],
  ['cast(n as string)', 'CAST(n AS VARCHAR)'],
  ['cast(day as string)', 'CAST(day AS VARCHAR)'],
  ['cast(ts as date)', 'CAST(ts AS DATE)'],
  ['cast(flag as int) + 1', 'CAST(flag AS INTEGER) + 1'],
  ["cast(substr(cast(n as string), 1, 2) as int)", "TRY_CAST(substr(CAST(n AS VARCHAR), 1, 2) AS BIGINT)"],
  ['x > n', 'CASE WHEN isnan(x) THEN false ELSE x > n END'],
  ["contains(lower(city), 'a') and k > 0", "contains(lower(city), 'a') AND k > 0"],
  ["starts_with(city, 'S') or ends_with(city, 'C')", "starts_with(city, 'S') OR ends_with(city, 'C')"],
];

describe('computed columns equal DuckDB', () => {
  for (const [expr, duckExpr] of CASES) it(expr, () => expectColumn(expr, duckExpr), 30_000);
});

describe('a computed column everywhere', () => {
  beforeAll(async () => {
    await Promise.resolve().then(() => h.defineColumn({ dataset: id, name: 'c', expr: null }, ctx())).catch(() => undefined);
    await h.defineColumn({ dataset: id, name: 'ratio', expr: 'x / (abs(n) + 1)' }, ctx());
    await h.defineColumn({ dataset: id, name: 'month', expr: "date_trunc('month', day)" }, ctx());
    await h.defineColumn({ dataset: id, name: 'label', expr: "upper(coalesce(city, '?')) || ':' || k" }, ctx());
  }, 30_000);

  it('is in the schema, with its expression', async () => {
    const ov = await h.overview({ dataset: id }, ctx());
    const f = ov.schema.fields.find((x) => x.name === 'ratio')!;
    expect(f).toMatchObject({ type: 'float64', expr: 'x / (abs(n) + 1)' });
    expect(ov.schema.fields.find((x) => x.name === 'month')!.type).toBe('date');
    expect(ov.schema.fields.find((x) => x.name === 'label')!.type).toBe('string');
  });

  it('filters (alone and inside other expressions) as DuckDB does', async () => {
    for (const [where, dw] of [
      ['ratio > 1', 'x / (abs(n) + 1) > 1 AND NOT isnan(x)'],
      ["month = date '2024-03-01' and ratio < 0", "date_trunc('month', day) = DATE '2024-03-01' AND x / (abs(n) + 1) < 0"],
      ["label like 'S%' or ratio * 2 > 3", "upper(coalesce(city, '?')) || ':' || k LIKE 'S%' OR (x / (abs(n) + 1) * 2 > 3 AND NOT isnan(x))"],
    ]) {
      const r = await h.rows({ dataset: id, offset: 0, limit: 1, where }, ctx());
      const [[want]] = await duck(`SELECT count(*) FROM t WHERE ${dw}`);
      expect(r.total, where).toBe(Number(want));
    }
  });

  it('has a summary equal to DuckDB', async () => {
    const s = await h.summary({ dataset: id, columns: ['ratio', 'label'] }, ctx());
    const [[cnt, mn, mx, avg, dl]] = await duck(`SELECT count(x / (abs(n) + 1)) FILTER (WHERE NOT isnan(x / (abs(n) + 1))), min(x / (abs(n) + 1)) FILTER (WHERE NOT isnan(x) AND NOT isinf(x)), max(x / (abs(n) + 1)) FILTER (WHERE NOT isnan(x) AND NOT isinf(x)), avg(x / (abs(n) + 1)) FILTER (WHERE NOT isnan(x) AND NOT isinf(x)), count(DISTINCT upper(coalesce(city, '?')) || ':' || k) FROM t`);
    const ratio = s.columns[0]!;
    expect(ratio.count - (ratio.nanCount ?? 0)).toBe(Number(cnt));
    expect(Number(ratio.min)).toBeCloseTo(Number(mn), 9);
    expect(ratio.distinct).toBeGreaterThan(0);
    void mx; void avg;
    expect(s.columns[1]!.distinct).toBe(Number(dl));
  });

  it('is a group-by key, and so is an expression of the request', async () => {
    const g = await h.groupBy({ dataset: id, by: ['month'], agg: 'count(), mean(ratio)' }, ctx());
    const t = tableFromIPC(g.ipc);
    const want = await duck(`SELECT date_trunc('month', day)::DATE AS m, count(*), avg(x / (abs(n) + 1)) FROM t GROUP BY m ORDER BY m NULLS LAST`);
    expect(t.numRows).toBe(want.length);
    for (let i = 0; i < t.numRows; i++) expect(Number(t.getChild('count')!.get(i))).toBe(Number(want[i]![1]));
    const g2 = await h.groupBy({ dataset: id, by: ["floor(n / 100) * 100 as bin"], agg: 'count()' }, ctx());
    const t2 = tableFromIPC(g2.ipc);
    const want2 = await duck(`SELECT floor(n / 100) * 100 AS bin, count(*) FROM t GROUP BY bin ORDER BY bin`);
    expect(t2.schema.fields.map((f) => f.name)).toEqual(['bin', 'count']);
    expect(Array.from({ length: t2.numRows }, (_, i) => [Number(t2.getChild('bin')!.get(i)), Number(t2.getChild('count')!.get(i))])).toEqual(want2.map((r) => [Number(r[0]), Number(r[1])]));
  });

  it('sorts the table', async () => {
    const r = await h.rows({ dataset: id, offset: 0, limit: 5, columns: ['id', 'ratio'], sort: ['-ratio'] }, ctx());
    const t = tableFromIPC(r.ipc);
    // NaN is the greatest number, then +inf
    const want = await duck(`SELECT id FROM t ORDER BY CASE WHEN isnan(x / (abs(n) + 1)) THEN 1 ELSE 0 END DESC, x / (abs(n) + 1) DESC NULLS LAST, id LIMIT 5`);
    expect(Array.from({ length: 5 }, (_, i) => Number(t.getChild('id')!.get(i)))).toEqual(want.map((w) => Number(w[0])));
  });

  it('is written by an export, read back by DuckDB', async () => {
    const out = path.join(dir, 'out.parquet');
    const res = await h.exportDataset({ dataset: id, output: out, columns: ['id', 'ratio', 'month', 'label'], where: 'k = 1' }, ctx());
    expect(res.via).toBe('mapped');
    const got = await duck(`SELECT count(*), sum(ratio) FILTER (WHERE NOT isnan(ratio) AND NOT isinf(ratio)), count(DISTINCT month), count(DISTINCT label) FROM ${lit(out)}`);
    const want = await duck(`SELECT count(*), sum(x / (abs(n) + 1)) FILTER (WHERE NOT isnan(x) AND NOT isinf(x)), count(DISTINCT date_trunc('month', day)), count(DISTINCT upper(coalesce(city, '?')) || ':' || k) FROM t WHERE k = 1`);
    expect(Number(got[0]![0])).toBe(Number(want[0]![0]));
    expect(Number(got[0]![1])).toBeCloseTo(Number(want[0]![1]), 6);
    expect(got[0]!.slice(2).map(Number)).toEqual(want[0]!.slice(2).map(Number));
  });

  it('is kept in the catalog across an engine restart', async () => {
    h.close();
    h = createEngineHandlers({ home, samplePath: null });
    const ov = await h.overview({ dataset: id }, ctx());
    expect(ov.schema.fields.filter((f) => f.expr).map((f) => f.name)).toEqual(['ratio', 'month', 'label']);
    const r = await h.rows({ dataset: id, offset: 0, limit: 1, where: 'ratio > 1' }, ctx());
    const [[want]] = await duck('SELECT count(*) FROM t WHERE x / (abs(n) + 1) > 1 AND NOT isnan(x)');
    expect(r.total).toBe(Number(want));
  });

  it('refuses mistakes with their position, the dataset unchanged', async () => {
    await expect(h.defineColumn({ dataset: id, name: 'bad', expr: "city + 1" }, ctx())).rejects.toThrow(/'\+' cannot take text and an integer \(at position 5\)/);
    await expect(h.defineColumn({ dataset: id, name: 'bad', expr: 'sqrt(nn)' }, ctx())).rejects.toThrow(/no column "nn" — did you mean/);
    await expect(h.defineColumn({ dataset: id, name: 'bad', expr: 'n +* 2' }, ctx())).rejects.toMatchObject({ code: 'E_SYNTAX' });
    await expect(h.defineColumn({ dataset: id, name: 'x', expr: 'n + 1' }, ctx())).rejects.toThrow(/already has a column "x"/);
    await expect(h.defineColumn({ dataset: id, name: 'ratio', expr: null }, ctx())).resolves.toBeTruthy();
    await h.defineColumn({ dataset: id, name: 'r2', expr: 'month + 1' }, ctx());
    await expect(h.defineColumn({ dataset: id, name: 'month', expr: null }, ctx())).rejects.toThrow(/used by "r2"/);
    const ov = await h.overview({ dataset: id }, ctx());
    expect(ov.schema.fields.filter((f) => f.expr).map((f) => f.name)).toEqual(['month', 'label', 'r2']);
  });
});

describe('group-by measures of expressions', () => {
  it('mean(x / (abs(n) + 1)) as r by an expression key equals DuckDB', async () => {
    const g = await h.groupBy({ dataset: id, by: ['k * 2 as kk'], agg: 'count(), mean(x / (abs(n) + 1)) as r, max(length(city)) as longest' }, ctx());
    const t = tableFromIPC(g.ipc);
    expect(t.schema.fields.map((f) => f.name)).toEqual(['kk', 'count', 'r', 'longest']);
    const want = await duck(`SELECT k * 2 AS kk, count(*), avg(x / (abs(n) + 1)) FILTER (WHERE NOT isnan(x) AND NOT isinf(x)), max(length(city)) FROM t GROUP BY kk ORDER BY kk`);
    for (let i = 0; i < t.numRows; i++) {
      expect(Number(t.getChild('kk')!.get(i))).toBe(Number(want[i]![0]));
      expect(Number(t.getChild('longest')!.get(i))).toBe(Number(want[i]![3]));
    }
  });
});

describe('a computed column read at random rows', () => {
  it('exports a view sorted by it (every row through the permutation) as DuckDB orders it', async () => {
    await Promise.resolve().then(() => h.defineColumn({ dataset: id, name: 'score', expr: 'n * 3 - k' }, ctx())).catch(() => undefined);
    const out = path.join(dir, 'sorted.parquet');
    // (each chunk evaluated about once, not once per row gathered: 60,000 rows × 16,384 would outlast the test's limit)
    await h.exportDataset({ dataset: id, output: out, columns: ['id', 'score'], sort: ['-score', 'id'], force: true }, ctx());
    const got = await duck(`SELECT id FROM ${lit(out)}`);
    const want = await duck('SELECT id FROM t ORDER BY n * 3 - k DESC, id');
    expect(got.map((r) => Number(r[0]))).toEqual(want.map((r) => Number(r[0])));
  }, 60_000);
});
