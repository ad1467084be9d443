/**
 * Joins (main/engine/join.ts over native/src/join.cc, through the engine's `join` request) against
 * DuckDB on the same files: keys of every kind — int64 beyond 2^53, int64 with int32 (by value),
 * an int with a float (as doubles), floats with NaN, -0 and 0, Unicode text with nulls (Parquet:
 * plain strings; CSV ingested: dictionary strings), dates, two keys at once — with duplicate keys
 * on both sides (many-to-many), inner and left, filters on each side, empty sides. The result is a
 * catalogued dataset whose rows (left id, right id, a value of each side) must be DuckDB's, in left
 * row order then right row order. Then the errors: an unknown key column (the dataset and a close
 * name named), text with a number, too many result rows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { createEngineHandlers } from './service';
import type { HandlerContext } from '../../shared/rpc';
import { duckQuery } from './sources/testing/oracle';
import { joinRequest } from './join-request';
import { Datasets } from './datasets';
import { parseOn } from './join';

const ctx = (): HandlerContext => ({ signal: new AbortController().signal, progress: () => {}, connection: 'test' });
const dir = mkdtempSync(path.join(os.tmpdir(), 'cdx-join-'));
const home = mkdtempSync(path.join(os.tmpdir(), 'cdx-join-home-'));
const h = createEngineHandlers({ home, samplePath: null });
const NL = 20_000, NR = 6_000;
const lit = (p: string) => `'${p.replace(/'/g, "''")}'`;
const files = {
  left: path.join(dir, 'left.parquet'), right: path.join(dir, 'right.parquet'), rightCsv: path.join(dir, 'right.csv'), leftCsv: path.join(dir, 'left.csv'),
};
const ids: Record<string, string> = {};

// the same key expressions on both sides, from different row numbers: duplicates on both sides
const keys = (n: string) => `
    CASE WHEN ${n} % 19 = 0 THEN NULL ELSE (${n} % 997)::BIGINT * 3000000000000000 + 9007199254740993 END AS big,
    (${n} % 1009)::BIGINT AS i64,
    (${n} % 1009)::INTEGER AS i32,
    CASE WHEN ${n} % 401 = 0 THEN 'nan'::DOUBLE WHEN ${n} % 409 = 0 THEN -0.0 WHEN ${n} % 419 = 0 THEN 0.0 WHEN ${n} % 13 = 0 THEN NULL ELSE (${n} % 1021) * 0.25 END AS f,
    (${n} % 1013)::DOUBLE AS fint,
    CASE WHEN ${n} % 17 = 0 THEN NULL ELSE ['Zürich', '東京', 'São Paulo', 'a', 'A', '', 'e\u0301', '😀'][${n} % 8 + 1] || (${n} % 97)::VARCHAR END AS city,
    DATE '2024-01-01' + (${n} % 1499)::INTEGER AS day`;

beforeAll(async () => {
  const l = `SELECT i AS id, ${keys('(i * 7)')}, (i * 13) % 1000 AS v FROM range(${NL}) t(i)`;
  const r = `SELECT i AS id, ${keys('(i * 3 + 1)')}, 'w' || (i % 97) AS w FROM range(${NR}) t(i)`;
  await duckQuery(`COPY (${l}) TO ${lit(files.left)} (FORMAT parquet, ROW_GROUP_SIZE 7000)`);
  await duckQuery(`COPY (${r}) TO ${lit(files.right)} (FORMAT parquet, ROW_GROUP_SIZE 2000)`);
  await duckQuery(`COPY (SELECT id, city, day, v FROM (${l})) TO ${lit(files.leftCsv)} (FORMAT csv, HEADER)`);
  await duckQuery(`COPY (SELECT id, city, day, w FROM (${r})) TO ${lit(files.rightCsv)} (FORMAT csv, HEADER)`);
  for (const [k, f] of Object.entries(files)) ids[k] = (await h.open({ location: f }, ctx())).entry.id;
}, 120_000);

afterAll(() => {
  h.close();
  rmSync(dir, { recursive: true, force: true });
  rmSync(home, { recursive: true, force: true });
});

const src = (f: string) => (f.endsWith('.csv') ? `read_csv(${lit(f)})` : `read_parquet(${lit(f)})`);

/** Our join's rows of `cols` (as text), read back from the joined dataset. */
async function ours(left: keyof typeof files, right: keyof typeof files, on: string, extra: { how?: 'inner' | 'left'; whereLeft?: string; whereRight?: string } = {}, cols = ['id', 'id_1']) {
  const r = await h.join({ left: ids[left]!, right: ids[right]!, on: parseOn(on), ...extra }, ctx());
  const w = await h.rows({ dataset: r.overview.entry.id, offset: 0, limit: 1_000_000, columns: cols }, ctx());
  const t = tableFromIPC(w.ipc);
  const rows: string[] = [];
  for (let i = 0; i < t.numRows; i++) rows.push(cols.map((c) => { const v = t.getChild(c)!.get(i); return v === null ? 'null' : String(v); }).join('|'));
  return { r, rows };
}

/** DuckDB's rows for the same join, ordered by left id then right id (our order). */
async function theirs(left: keyof typeof files, right: keyof typeof files, cond: string, sel: string, extra: { how?: 'inner' | 'left'; whereLeft?: string; whereRight?: string } = {}) {
  const lw = extra.whereLeft ? ` WHERE ${extra.whereLeft}` : '', rw = extra.whereRight ? ` WHERE ${extra.whereRight}` : '';
  const rows = await duckQuery(`SELECT ${sel} FROM (SELECT * FROM ${src(files[left])}${lw}) l ${extra.how === 'left' ? 'LEFT' : 'INNER'} JOIN (SELECT * FROM ${src(files[right])}${rw}) r ON ${cond} ORDER BY l.id, r.id NULLS LAST`);
  return rows.map((row) => row.map((v) => (v === null ? 'null' : String(v))).join('|'));
}

describe('join equals DuckDB', () => {
  const cases: [string, string, string][] = [
    ['int64 beyond 2^53 (nulls never match)', 'big', 'l.big = r.big'],
    ['int64 with int32, by value', 'i64=i32', 'l.i64 = r.i32'],
    ['floats: NaN = NaN, -0 = 0, nulls never match', 'f', 'l.f = r.f'],
    ['an int with a float (as doubles)', 'i64=fint', 'l.i64 = r.fint'],
    ['Unicode text with nulls', 'city', 'l.city = r.city'],
    ['dates', 'day', 'l.day = r.day'],
    ['two keys: text and date', 'city,day', 'l.city = r.city AND l.day = r.day'],
  ];
  for (const [what, on, cond] of cases) {
    for (const how of ['inner', 'left'] as const) {
      it(`${how}: ${what}`, async () => {
        const { r, rows } = await ours('left', 'right', on, { how });
        const want = await theirs('left', 'right', cond, 'l.id, r.id', { how });
        expect(rows.length).toBe(want.length);
        expect(rows).toEqual(want);
        expect(r.via).toBe('native');
        expect(r.rows).toBe(want.length);
        expect(r.leftRows).toBe(NL);
        expect(r.rightRows).toBe(NR);
        const matched = await duckQuery(`SELECT count(DISTINCT l.id) FROM ${src(files.left)} l JOIN ${src(files.right)} r ON ${cond}`);
        expect(r.matched).toBe(Number(matched[0]![0]));
      });
    }
  }

  // the left under half the right's rows: the hash table on the left, the pairs put back in left-row order
  for (const [what, on, cond] of [cases[0]!, cases[2]!, cases[4]!, cases[6]!]) {
    for (const how of ['inner', 'left'] as const) {
      it(`${how}, the table on the smaller left side: ${what}, filters on both sides`, async () => {
        const f = { how, whereLeft: 'id % 3 != 0', whereRight: 'id % 5 != 0' };
        const { r, rows } = await ours('right', 'left', on, f, ['id', 'id_1']);
        const want = await theirs('right', 'left', cond, 'l.id, r.id', f);
        expect(rows.length).toBe(want.length);
        expect(rows).toEqual(want);
        expect(r.leftRows).toBe(NR - Math.ceil(NR / 3));
        expect(r.rightRows).toBe(NL - Math.ceil(NL / 5));
        const matched = await duckQuery(`SELECT count(DISTINCT l.id) FROM (SELECT * FROM ${src(files.right)} WHERE id % 3 != 0) l JOIN (SELECT * FROM ${src(files.left)} WHERE id % 5 != 0) r ON ${cond}`);
        expect(r.matched).toBe(Number(matched[0]![0]));
      });
    }
  }

  it('dictionary text (CSV ingested) with plain text (Parquet), the values of each side, filters on both sides', async () => {
    const extra = { how: 'left' as const, whereLeft: 'v < 500', whereRight: 'w != "w3"' };
    const { r, rows } = await ours('leftCsv', 'right', 'city', { how: 'left', whereLeft: 'v < 500', whereRight: "w != 'w3'" }, ['id', 'city', 'v', 'id_1', 'w']);
    void extra;
    const want = await theirs('leftCsv', 'right', 'l.city = r.city', 'l.id, l.city, l.v, r.id, r.w', { how: 'left', whereLeft: 'v < 500', whereRight: "w != 'w3'" });
    expect(rows).toEqual(want);
    expect(r.leftRows).toBe(Number((await duckQuery(`SELECT count(*) FROM ${src(files.leftCsv)} WHERE v < 500`))[0]![0]));
    // the joined dataset: catalogued, named, tagged, with how it was made
    const list = await h.listDatasets({}, ctx());
    const e = list.find((x) => x.id === r.overview.entry.id)!;
    expect(e.name).toBe('join(left.csv, right.parquet)');
    expect(e.tags).toContain('join');
    expect(JSON.parse(r.overview.metadata['cdx.join']!)).toMatchObject({ on: [['city', 'city']], how: 'left', whereLeft: 'v < 500' });
    // the key appears once; the right's clashing names get _1
    expect(r.overview.schema.fields.map((f) => f.name)).toEqual(['id', 'city', 'day', 'v', 'id_1', 'big', 'i64', 'i32', 'f', 'fint', 'day_1', 'w']);
    // an ordinary dataset: its summary works
    const s = await h.summary({ dataset: r.overview.entry.id, columns: ['v'] }, ctx());
    expect(s.rows).toBe(want.length);
  });

  it('dictionary text on both sides, with a date key, inner', async () => {
    const { rows } = await ours('leftCsv', 'rightCsv', 'city,day');
    const want = await theirs('leftCsv', 'rightCsv', 'l.city = r.city AND l.day = r.day', 'l.id, r.id');
    expect(rows).toEqual(want);
  });

  it('empty sides: a filter passing nothing on the right (inner: no rows; left: every left row, nulls on the right) or on the left', async () => {
    const a = await ours('left', 'right', 'i64', { whereRight: 'id < 0' });
    expect(a.rows).toEqual([]);
    expect(a.r.rows).toBe(0);
    expect(a.r.overview.rows).toBe(0);
    const b = await ours('left', 'right', 'i64', { how: 'left', whereRight: 'id < 0', whereLeft: 'id < 100' });
    expect(b.rows).toEqual(Array.from({ length: 100 }, (_, i) => `${i}|null`));
    const c = await ours('left', 'right', 'i64', { how: 'left', whereLeft: 'id < 0' });
    expect(c.rows).toEqual([]);
  });

  it('a chosen set of columns', async () => {
    const r = await h.join({ left: ids.left!, right: ids.right!, on: [['i64', 'i32']], columns: ['id', 'w', 'i32'], name: 'mine' }, ctx());
    expect(r.overview.schema.fields.map((f) => f.name)).toEqual(['id', 'w', 'i32']);
    expect(r.overview.entry.name).toBe('mine');
    const want = await duckQuery(`SELECT count(*) FROM ${src(files.left)} l JOIN ${src(files.right)} r ON l.i64 = r.i32`);
    expect(r.rows).toBe(Number(want[0]![0]));
  });
});

describe('join errors', () => {
  it('an unknown key column names the dataset and the close name', async () => {
    await expect(h.join({ left: ids.left!, right: ids.right!, on: [['ctiy', 'city']] }, ctx())).rejects.toMatchObject({
      code: 'E_UNKNOWN_COLUMN', message: expect.stringMatching(/left\.parquet.*no column "ctiy".*did you mean 'city'/),
    });
    await expect(h.join({ left: ids.left!, right: ids.right!, on: [['city', 'wq']] }, ctx())).rejects.toMatchObject({
      code: 'E_UNKNOWN_COLUMN', message: expect.stringMatching(/right\.parquet.*no column "wq".*did you mean 'w'/),
    });
  });

  it('text with a number is a clear E_BAD_ARG', async () => {
    await expect(h.join({ left: ids.left!, right: ids.right!, on: [['city', 'i32']] }, ctx())).rejects.toMatchObject({
      code: 'E_BAD_ARG', message: expect.stringMatching(/city \(string\) with .*i32 \(int32\).*differ.*text never equals a number/),
    });
  });

  it('a hash table too large for memory is refused before anything is read (a sparse file of 2^34 int64 on each side)', async () => {
    const { closeSync, ftruncateSync, openSync } = await import('node:fs');
    const raw = path.join(dir, 'huge.i64');
    const fd = openSync(raw, 'w');
    ftruncateSync(fd, 2 ** 37); // 128 GiB, sparse: nothing written
    closeSync(fd);
    const { hashJoin } = await import('../../native/join');
    const { rawColumn } = await import('../../native/index');
    const c = rawColumn(raw, 'k', 'int64', 0, 2 ** 34);
    await expect(hashJoin([c], [c], [{ cls: 'int' }])).rejects.toMatchObject({
      code: 'E_TOO_LARGE', message: expect.stringMatching(/huge\.i64: the join's hash table over 17,179,869,184 rows needs about [\d,]+ MiB, more than half this machine's memory \([\d,]+ MiB\)/),
    });
  }, 30_000);

  it('more result rows than the limit: E_TOO_LARGE naming the rows and the memory', async () => {
    const store = new Datasets(home, null);
    try {
      await expect(joinRequest({
        store, db: async () => null, openDb: async () => { throw new Error('no'); }, overviewOf: () => { throw new Error('no'); }, remoteOverview: () => { throw new Error('no'); }, maxPairs: 1000,
      }, { left: ids.left!, right: ids.right!, on: [['i64', 'i32']] }, ctx())).rejects.toMatchObject({ code: 'E_TOO_LARGE', message: expect.stringMatching(/more than 1,000 result rows.*MiB/) });
    } finally {
      store.close();
    }
  });
});
