/**
 * The Group view's state (group.svelte.ts) against the real engine — its handlers served over the
 * in-memory transport, as the window talks to it — on a Parquet file written by DuckDB (a text key
 * with nulls, a date key, an int key, floats with nulls), with DuckDB as the oracle: the values the
 * view holds, the order after a header click (descending, nulls last), the limit and the number
 * of groups, the dataset's filter applied, drill-down filters that select exactly a group's rows,
 * and engine errors kept as values. On a PostgreSQL table (pushed down as one GROUP BY) the view
 * holds what it holds over the same rows in a local file, and its drill-down filters count there.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tableFromIPC } from 'apache-arrow';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { EngineApi } from '../../shared/api';
import { RpcClient, createMemoryPortPair, serveRpc } from '../../shared/rpc';
import { parseExpr } from '../../shared/expr/parse';
import { formatExpr } from '../../shared/expr/format';
import { createEngineHandlers } from '../../main/engine/service';
import { postgresAvailable, startPostgres, type PostgresServer } from '../../main/engine/sql/testing/postgres';
import { duckdb, duckQuery } from '../../main/engine/sources/testing/oracle';
import { DatasetView } from './dataset.svelte';
import type { EngineConnection } from './engine.svelte';
import { aggText, columnsFor, GroupState } from './group.svelte';

const root = mkdtempSync(path.join(os.tmpdir(), 'cdx-groupview-'));
const file = path.join(root, 'g.parquet');
const handlers = createEngineHandlers({ home: path.join(root, 'home'), samplePath: null });
const [a, b] = createMemoryPortPair();
serveRpc<EngineApi>(handlers, a);
const client = new RpcClient<EngineApi>(b);
const engine = { api: client.api, mode: 'web', generation: 1 } as unknown as EngineConnection;
const lit = (p: string) => `'${p.replace(/'/g, "''")}'`;
let id = '';

beforeAll(async () => {
  await duckQuery(`COPY (SELECT i AS id,
      CASE WHEN i % 11 = 0 THEN NULL ELSE ['Queens', 'Brooklyn', 'Zürich', 'a b'][i % 4 + 1] END AS borough,
      DATE '2025-03-01' + (i % 5)::INTEGER AS day,
      (i % 3)::INTEGER AS k,
      CASE WHEN i % 7 = 0 THEN NULL ELSE ((i * 7919) % 1009) / 8.0 END AS fare,
      'w' || (i % 13) AS word,
      TIMESTAMP '2025-03-01 10:00:00.123456' + to_microseconds((i % 3)::BIGINT * 1001) AS at
    FROM range(20000) t(i)) TO ${lit(file)} (FORMAT parquet)`);
  const ov = await client.api.open({ location: file });
  id = ov.entry.id;
}, 60_000);

afterAll(() => {
  b.close();
  handlers.close();
  rmSync(root, { recursive: true, force: true });
});

async function theirs(sql: string): Promise<unknown[][]> {
  const d = (await duckdb())!;
  try {
    await d.all(`CREATE OR REPLACE VIEW t AS SELECT * FROM ${lit(file)}`);
    return await d.all(sql);
  } finally {
    d.close();
  }
}

const num = (v: unknown) => (typeof v === 'bigint' ? Number(v) : (v as number));
function close(x: unknown, y: unknown, what: string) {
  if (y === null) return expect(x, what).toBeNull();
  expect(Math.abs(num(x) - num(y)), `${what}: ${String(x)} vs ${String(y)}`).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(num(y))));
}

async function opened(): Promise<{ view: DatasetView; g: GroupState }> {
  const view = new DatasetView(engine, id);
  await view.load();
  return { view, g: new GroupState(view) };
}

describe('the Group view state', () => {
  it('offers numeric columns only where the function needs numbers', async () => {
    const { g } = await opened();
    const names = (fn: Parameters<typeof columnsFor>[0]) => columnsFor(fn, g.fields).map((f) => f.name);
    expect(names('mean')).toEqual(['id', 'k', 'fare']);
    expect(names('max')).toEqual(['id', 'day', 'k', 'fare', 'at']);
    expect(names('distinct')).toEqual(['id', 'borough', 'day', 'k', 'fare', 'word', 'at']);
    expect(aggText([{ fn: 'count', column: null }, { fn: 'p99', column: 'odd name' }])).toBe('count(), p99("odd name")');
  });

  it('groups by a key with nulls: values equal DuckDB; a header click re-asks sorted descending, nulls last', async () => {
    const { g } = await opened();
    expect(g.incomplete).toMatch(/key/);
    g.setKey(0, 'borough');
    g.addMeasure('mean');
    g.setMeasureColumn(1, 'fare');
    g.addMeasure('p90');
    g.setMeasureColumn(2, 'fare');
    expect(g.agg).toBe('count(), mean(fare), p90(fare)');
    await g.refresh();
    const want = await theirs(`SELECT borough, count(*), avg(fare), quantile_cont(fare, 0.9) FROM t GROUP BY borough ORDER BY borough NULLS LAST`);
    const res = g.result!;
    expect(res.groups).toBe(5);
    expect(res.fields.map((f) => f.name)).toEqual(['borough', 'count', 'mean_fare', 'p90_fare']);
    expect(res.rows.map((r) => r[0])).toEqual(want.map((w) => w[0]));
    res.rows.forEach((r, i) => [1, 2, 3].forEach((j) => close(r[j], want[i]![j], `${String(r[0])} ${res.fields[j]!.name}`)));

    // mean_fare descending: the engine is asked again with sort
    g.toggleSort('mean_fare');
    expect(g.sortParam).toEqual(['-mean_fare', 'borough']);
    await g.refresh();
    const desc = await theirs(`SELECT borough, avg(fare) FROM t GROUP BY borough ORDER BY avg(fare) DESC, borough NULLS LAST`);
    expect(g.result!.rows.map((r) => r[0])).toEqual(desc.map((w) => w[0]));
    // a key ascending then descending: the null group last both ways
    g.toggleSort('borough');
    await g.refresh();
    expect(g.result!.rows.map((r) => r[0]).at(-1)).toBeNull();
    g.toggleSort('borough');
    expect(g.sortOf('borough')).toBe('descending');
    await g.refresh();
    const keys = g.result!.rows.map((r) => r[0]);
    // text in byte order (lower case after upper), the null group last
    expect(keys).toEqual(['a b', 'Zürich', 'Queens', 'Brooklyn', null]);
  });

  it('applies the dataset filter, limits the groups and says how many there are', async () => {
    const { view, g } = await opened();
    view.addFilter(parseExpr('fare > 50'));
    g.setKey(0, 'word');
    g.setKey(1, 'k');
    g.limit = 100;
    g.toggleSort('count');
    await g.refresh();
    const want = await theirs(`SELECT word, k, count(*) FROM t WHERE fare > 50 GROUP BY word, k ORDER BY count(*) DESC, word, k`);
    expect(g.result!.where).toBe('fare > 50');
    expect(g.result!.groups).toBe(want.length);
    expect(g.result!.rows.map((r) => [r[0], r[1], num(r[2])])).toEqual(want.slice(0, 100).map((w) => [w[0], w[1], num(w[2])]));
    g.limit = 10;
    await g.refresh();
    expect(g.result!.rows).toHaveLength(10);
    expect(g.result!.groups).toBe(want.length);
  });

  it('"Open as dataset": every group under the filter (not only the limit shown), in the table order, as a catalogued dataset', async () => {
    const { view, g } = await opened();
    view.addFilter(parseExpr('fare > 50'));
    g.setKey(0, 'word');
    g.setKey(1, 'k');
    g.limit = 100;
    g.toggleSort('count');
    await g.refresh();
    const saved = await g.saveAsDataset();
    expect(g.saveError).toBeNull();
    expect(saved).toMatchObject({ name: 'g by word, k where fare > 50', rows: g.result!.groups });
    const want = await theirs(`SELECT word, k, count(*) FROM t WHERE fare > 50 GROUP BY word, k ORDER BY count(*) DESC, word, k`);
    const r = await client.api.rows({ dataset: saved!.id, offset: 0, limit: 1000, columns: ['word', 'k', 'count'] });
    const t = tableFromIPC(r.ipc);
    expect(t.numRows).toBe(want.length);
    expect(Array.from({ length: t.numRows }, (_, i) => [t.getChild('word')!.get(i), num(t.getChild('k')!.get(i)), num(t.getChild('count')!.get(i))])).toEqual(want.map((w) => [w[0], num(w[1]), num(w[2])]));
    expect((await client.api.listDatasets({})).some((e) => e.id === saved!.id && e.name === saved!.name)).toBe(true);
    await client.api.removeDataset({ dataset: saved!.id });
  });

  it('"Pivot by": the values of a column as columns, equal to DuckDB\'s PIVOT; a header click sorts by one; a drill-down keeps to the row keys', async () => {
    const { g } = await opened();
    g.setKey(0, 'k');
    g.setPivot('borough');
    await g.refresh();
    expect(g.error).toBeNull();
    expect(g.result!.pivot).toBe('borough');
    expect(g.result!.fields.map((f) => f.name)).toEqual(['k', 'Brooklyn', 'Queens', 'Zürich', 'a b', 'null']); // (text by code point: Z before a)
    const want = await theirs(`SELECT * FROM (PIVOT t ON borough USING count(*) GROUP BY k) ORDER BY k`);
    expect(g.result!.rows.map((r) => r.slice(0, 5).map(num))).toEqual(want.map((w) => w.map(num)));
    g.toggleSort('Queens');
    await g.refresh();
    const byQueens = await theirs(`SELECT k FROM (PIVOT t ON borough USING count(*) GROUP BY k) ORDER BY Queens DESC, k`);
    expect(g.result!.rows.map((r) => num(r[0]))).toEqual(byQueens.map((w) => num(w[0])));
    expect(g.drillFilters(0).map(formatExpr)).toEqual([`k = ${num(byQueens[0]![0])}`]);
    // the pivot key cannot be a key too; a key taken as pivot drops the pivot
    g.setKey(1, 'borough');
    expect(g.pivot).toBeNull();
  });

  it('drill-down: a group becomes key = value / key is null filters that select exactly its rows', async () => {
    const { view, g } = await opened();
    g.setKey(0, 'borough');
    g.setKey(1, 'day');
    await g.refresh();
    const rows = g.result!.rows;
    const nullRow = rows.findIndex((r) => r[0] === null);
    const firstText = rows.findIndex((r) => r[0] === 'Zürich');
    expect(g.drillFilters(nullRow).map(formatExpr)).toEqual(['borough is null', `day = date '2025-03-01'`]);
    expect(g.drillFilters(firstText).map(formatExpr)).toEqual(['borough = "Zürich"', `day = date '2025-03-01'`]);
    for (const i of [nullRow, firstText]) {
      const v = new DatasetView(engine, id);
      await v.load();
      const gg = new GroupState(v);
      gg.result = g.result;
      expect(gg.drill(i)).toBe(true);
      expect(v.filters).toHaveLength(2);
      const s = await client.api.summary({ dataset: id, where: v.where, columns: ['id'] });
      expect(s.filteredRows).toBe(num(rows[i]![2]));
    }
    void view;
  });

  it('drill-down on a timestamp key with microseconds selects exactly the group', async () => {
    const { g } = await opened();
    g.setKey(0, 'at');
    await g.refresh();
    const rows = g.result!.rows;
    expect(rows).toHaveLength(3);
    // every microsecond kept (Arrow JS's float ms would round it)
    expect(formatExpr(g.drillFilters(0)[0]!)).toBe("at = timestamp '2025-03-01T10:00:00.123456Z'");
    expect(formatExpr(g.drillFilters(1)[0]!)).toBe("at = timestamp '2025-03-01T10:00:00.124457Z'");
    for (let i = 0; i < rows.length; i++) {
      const s = await client.api.summary({ dataset: id, where: g.drillFilters(i).map(formatExpr).join(' and '), columns: ['id'] });
      expect(s.filteredRows, formatExpr(g.drillFilters(i)[0]!)).toBe(num(rows[i]![1]));
    }
  });

  it('keeps engine errors as values: text summed, an unknown column', async () => {
    const { g } = await opened();
    g.setKey(0, 'borough');
    g.measures = [{ fn: 'sum', column: 'word' }];
    await expect(g.refresh()).resolves.toBeUndefined();
    expect(g.error).toMatch(/word.*text/);
    g.measures = [{ fn: 'count', column: null }];
    g.keys = ['nope'];
    await g.refresh();
    expect(g.error).toMatch(/nope/);
    g.keys = ['borough'];
    await g.refresh();
    expect(g.error).toBeNull();
    expect(g.result!.groups).toBe(5);
  });
});

describe.skipIf(!postgresAvailable())('the Group view state on a PostgreSQL table', () => {
  let pg: PostgresServer;
  let remote = '';
  beforeAll(async () => {
    pg = await startPostgres();
    await pg.psql(`CREATE TABLE public.g AS SELECT i AS id,
        CASE WHEN i % 11 = 0 THEN NULL ELSE (ARRAY['Queens', 'Brooklyn', 'Zürich', 'a b'])[i % 4 + 1] END AS borough,
        (i % 3)::INTEGER AS k,
        CASE WHEN i % 7 = 0 THEN NULL ELSE ((i * 7919) % 1009) / 8.0 END::DOUBLE PRECISION AS fare
      FROM generate_series(0, 19999) i;
      GRANT SELECT ON public.g TO cdx; ANALYZE public.g`);
    await client.api.setSecret({ url: pg.url, password: pg.password });
    remote = (await client.api.open({ location: `${pg.url}::public.g` })).entry.id;
  }, 120_000);
  afterAll(async () => {
    await pg?.stop();
  });

  async function grouped(dataset: string, sort: string | null) {
    const view = new DatasetView(engine, dataset);
    await view.load();
    const g = new GroupState(view);
    g.setKey(0, 'borough');
    g.setKey(1, 'k');
    g.measures = [{ fn: 'count', column: null }, { fn: 'mean', column: 'fare' }, { fn: 'p90', column: 'fare' }, { fn: 'max', column: 'fare' }];
    if (sort) g.toggleSort(sort);
    g.limit = 10;
    await g.refresh();
    expect(g.error).toBeNull();
    return g;
  }

  it('pushed down: the same groups, values and order as over the local file; a drill-down selects the group there', async () => {
    for (const sort of [null, 'count', 'mean_fare']) {
      const there = await grouped(remote, sort);
      const here = await grouped(id, sort);
      expect(there.result!.groups).toBe(here.result!.groups);
      expect(there.result!.rows.map((r) => r.slice(0, 2))).toEqual(here.result!.rows.map((r) => r.slice(0, 2)));
      there.result!.rows.forEach((r, i) => [2, 3, 4, 5].forEach((j) => close(r[j], here.result!.rows[i]![j], `${sort} ${String(r[0])}/${String(r[1])} #${j}`)));
    }
    const there = await grouped(remote, 'count');
    there.limit = 100;
    await there.refresh();
    expect(there.result!.rows).toHaveLength(15);
    const nullRow = there.result!.rows.findIndex((r) => r[0] === null);
    for (const i of [0, nullRow]) {
      const where = there.drillFilters(i).map(formatExpr).join(' and ');
      const s = await client.api.summary({ dataset: remote, where, columns: ['id'] });
      expect(s.filteredRows, where).toBe(num(there.result!.rows[i]![2]));
    }
  });
});
