/**
 * A group-by's result saved as a dataset (groupBy's `save`, the Group view's "Open as dataset"),
 * on a Parquet file written by DuckDB (a Unicode text key with nulls, an int key, floats with
 * nulls): the saved dataset holds every group — not only the limit sent — in the group-by's order,
 * its values equal the group-by's result and DuckDB's GROUP BY; it is catalogued under a readable
 * name (or the one given), opens like any dataset (overview, summary, rows, export), and removing
 * it deletes its file. On a PostgreSQL table (pushed down as one GROUP BY) the saved groups equal
 * those of the same rows in the local file. `cdx group --out` writes every group too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import type { EngineApi } from '../../shared/api';
import { RpcClient, createMemoryPortPair, serveRpc } from '../../shared/rpc';
import { createEngineHandlers } from './service';
import { duckQuery } from './sources/testing/oracle';
import { postgresAvailable, startPostgres, type PostgresServer } from './sql/testing/postgres';
import { groupDatasetName } from './group-save';

const ROWS = 20_000;
const root = mkdtempSync(path.join(os.tmpdir(), 'cdx-groupsave-'));
const file = path.join(root, 'trips.parquet');
const handlers = createEngineHandlers({ home: path.join(root, 'home'), samplePath: null });
const [a, b] = createMemoryPortPair();
serveRpc<EngineApi>(handlers, a);
const client = new RpcClient<EngineApi>(b);
const lit = (p: string) => `'${p.replace(/'/g, "''")}'`;
let id = '';

const SELECT = `SELECT i AS id,
    CASE WHEN i % 11 = 0 THEN NULL ELSE ['Queens', 'Brooklyn', 'Zürich', 'a b'][i % 4 + 1] END AS borough,
    (i % 3)::INTEGER AS k,
    CASE WHEN i % 7 = 0 THEN NULL ELSE ((i * 7919) % 1009) / 8.0 END AS fare
  FROM range(${ROWS}) t(i)`;

beforeAll(async () => {
  await duckQuery(`COPY (${SELECT}) TO ${lit(file)} (FORMAT parquet)`);
  id = (await client.api.open({ location: file })).entry.id;
}, 60_000);

afterAll(() => {
  b.close();
  handlers.close();
  rmSync(root, { recursive: true, force: true });
});

type Row = unknown[];
const norm = (v: unknown) => (typeof v === 'bigint' ? Number(v) : v);
/** every row of a dataset through the table's own call, as arrays of column values */
async function rowsOf(dataset: string): Promise<{ names: string[]; rows: Row[] }> {
  const ov = await client.api.overview({ dataset });
  const r = await client.api.rows({ dataset, offset: 0, limit: ov.rows });
  const t = tableFromIPC(r.ipc);
  const names = t.schema.fields.map((f) => f.name);
  const rows: Row[] = [];
  for (let i = 0; i < t.numRows; i++) rows.push(names.map((n) => norm(t.getChild(n)!.get(i))));
  return { names, rows };
}

function expectClose(got: Row[], want: Row[], what: string) {
  expect(got.length, what).toBe(want.length);
  got.forEach((r, i) =>
    r.forEach((v, j) => {
      const w = norm(want[i]![j]);
      if (typeof w === 'number' && typeof v === 'number') expect(Math.abs(v - w), `${what} row ${i} col ${j}: ${v} vs ${w}`).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(w)));
      else expect(v, `${what} row ${i} col ${j}`).toEqual(w);
    }),
  );
}

describe('a group-by saved as a dataset', () => {
  it('holds every group (not only the limit sent), in the group-by order, equal to DuckDB; named "trips by borough, k"; opens like any dataset', async () => {
    const agg = 'count(), mean(fare), max(fare), distinct(fare)';
    const g = await client.api.groupBy({ dataset: id, by: ['borough', 'k'], agg, sort: ['-count', 'borough', 'k'], limit: 3, save: {} });
    expect(g.rows).toBe(3);
    expect(g.groups).toBe(15);
    expect(g.saved).toMatchObject({ name: 'trips by borough, k', rows: 15 });
    // the group-by asked without a limit: the same rows, in the same order
    const all = await client.api.groupBy({ dataset: id, by: ['borough', 'k'], agg, sort: ['-count', 'borough', 'k'] });
    const at = tableFromIPC(all.ipc);
    const want: Row[] = [];
    for (let i = 0; i < at.numRows; i++) want.push(at.schema.fields.map((f) => norm(at.getChild(f.name)!.get(i))));
    const saved = await rowsOf(g.saved!.id);
    expect(saved.names).toEqual(['borough', 'k', 'count', 'mean_fare', 'max_fare', 'distinct_fare']);
    expectClose(saved.rows, want, 'saved vs groupBy');
    // the limited answer is the first rows of it
    const lt = tableFromIPC(g.ipc);
    expect(Array.from({ length: lt.numRows }, (_, i) => lt.getChild('borough')!.get(i))).toEqual(want.slice(0, 3).map((r) => r[0]));
    // DuckDB's GROUP BY of the same rows (its order: count desc, then the keys, nulls last)
    const duck = await duckQuery(`SELECT borough, k, count(*) AS c, avg(fare), max(fare), count(DISTINCT fare) FROM read_parquet(${lit(file)})
      GROUP BY borough, k ORDER BY c DESC, borough NULLS LAST, k NULLS LAST`);
    expectClose(saved.rows, duck, 'saved vs DuckDB');

    // in the catalog under its name, with its overview, summary and export like any dataset
    const entry = (await client.api.listDatasets({})).find((e) => e.id === g.saved!.id)!;
    expect(entry).toMatchObject({ name: 'trips by borough, k', format: 'arrow', rows: 15 });
    expect(entry.tags).toContain('group');
    const ov = await client.api.overview({ dataset: g.saved!.id });
    expect(ov.rows).toBe(15);
    const s = await client.api.summary({ dataset: g.saved!.id });
    expect(s.columns.find((c) => c.name === 'count')!.max).toBe(Math.max(...duck.map((r) => Number(r[2]))));
    const csv = path.join(root, 'groups.csv');
    const ex = await client.api.exportDataset({ dataset: g.saved!.id, output: csv });
    expect(ex.rows).toBe(15);
    expect((await duckQuery(`SELECT sum("count") FROM read_csv(${lit(csv)})`))[0]![0]).toBe(BigInt(ROWS));

    // removing it deletes its file
    const where = ov.entry.path;
    expect(existsSync(where)).toBe(true);
    await client.api.removeDataset({ dataset: g.saved!.id });
    expect(existsSync(where)).toBe(false);
  });

  it('under a filter, with the name given; the name says the filter when none is given', async () => {
    const g = await client.api.groupBy({ dataset: id, by: ['k'], agg: 'count(), sum(fare)', where: "borough = 'Zürich'", save: { name: 'zürich by k' } });
    expect(g.saved!.name).toBe('zürich by k');
    const duck = await duckQuery(`SELECT k, count(*), sum(fare) FROM read_parquet(${lit(file)}) WHERE borough = 'Zürich' GROUP BY k ORDER BY k`);
    expectClose((await rowsOf(g.saved!.id)).rows, duck, 'filtered');
    expect(groupDatasetName({ dataset: 'trips.parquet', by: ['k'], agg: 'count()', where: "borough = 'Zürich'" })).toBe("trips by k where borough = 'Zürich'");
    expect(groupDatasetName({ dataset: 'pg::public.trips', by: ['a', 'b'], agg: 'count()', where: 'x'.repeat(60) })).toBe('pg by a, b, filtered');
  });
});

describe.skipIf(!existsSync(path.join(__dirname, '../../out/main/cli.js')))('cdx group --out', () => {
  it('writes every group (20,000 of them), not a shown limit', async () => {
    const out = path.join(root, 'by-id.parquet');
    const r = spawnSync(process.execPath, [path.join(__dirname, '../../bin/cdx.mjs'), 'group', file, '--by', 'id', '--agg', 'count(), max(fare)', '--out', out], {
      env: { ...process.env, CDX_HOME: path.join(root, 'cli-home') }, encoding: 'utf8', timeout: 120_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const got = await duckQuery(`SELECT count(*), sum("count"), min(id), max(id) FROM read_parquet(${lit(out)})`);
    expect(got[0]!.map(Number)).toEqual([ROWS, ROWS, 0, ROWS - 1]);
  }, 120_000);
});

describe.skipIf(!postgresAvailable())('a group-by of a PostgreSQL table saved as a dataset', () => {
  let pg: PostgresServer;
  let remote = '';
  beforeAll(async () => {
    pg = await startPostgres();
    await pg.psql(`CREATE TABLE public.trips AS SELECT i AS id,
        CASE WHEN i % 11 = 0 THEN NULL ELSE (ARRAY['Queens', 'Brooklyn', 'Zürich', 'a b'])[i % 4 + 1] END AS borough,
        (i % 3)::INTEGER AS k,
        CASE WHEN i % 7 = 0 THEN NULL ELSE ((i * 7919) % 1009) / 8.0 END::DOUBLE PRECISION AS fare
      FROM generate_series(0, ${ROWS - 1}) i;
      GRANT SELECT ON public.trips TO cdx; ANALYZE public.trips`);
    await client.api.setSecret({ url: pg.url, password: pg.password });
    remote = (await client.api.open({ location: `${pg.url}::public.trips` })).entry.id;
  }, 120_000);
  afterAll(async () => {
    await pg?.stop();
  });

  it('pushed down: every group saved, equal to the same group-by of the local file', async () => {
    const spec = { by: ['borough', 'k'], agg: 'count(), mean(fare), min(fare)', sort: ['-mean_fare', 'borough', 'k'] };
    const there = await client.api.groupBy({ dataset: remote, ...spec, limit: 2, save: {} });
    expect(there.rows).toBe(2);
    expect(there.saved!.rows).toBe(15);
    expect(there.saved!.name).toMatch(/ by borough, k$/);
    const here = await client.api.groupBy({ dataset: id, ...spec });
    const ht = tableFromIPC(here.ipc);
    const want: Row[] = [];
    for (let i = 0; i < ht.numRows; i++) want.push(ht.schema.fields.map((f) => norm(ht.getChild(f.name)!.get(i))));
    expectClose((await rowsOf(there.saved!.id)).rows, want, 'postgres saved vs local');
  }, 60_000);
});
