/**
 * Pivot (groupBy's `pivot`) against DuckDB's PIVOT, on a Parquet file written by DuckDB (a text
 * row key with nulls, a pivot key of text with nulls, an int key, a date key, floats with nulls):
 * the columns are named as DuckDB names them (`v_m`, or `v` with one measure), every cell equals
 * DuckDB's (a count 0 where a cell has no rows, other measures null), plus a `null` column for the
 * rows whose pivot key is null (DuckDB's PIVOT leaves them out: checked against a GROUP BY);
 * sort and limit apply to the pivoted rows; more values than the limit is E_TOO_LARGE naming the
 * key and the count; a pivot saved as a dataset; on a PostgreSQL table (the group-by pushed
 * down) the same pivot as the local file. `cdx group --pivot` prints it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import type { EngineApi, GroupByResult } from '../../shared/api';
import { RpcClient, createMemoryPortPair, serveRpc } from '../../shared/rpc';
import { createEngineHandlers } from './service';
import { duckQuery } from './sources/testing/oracle';
import { postgresAvailable, startPostgres, type PostgresServer } from './sql/testing/postgres';

const ROWS = 12_000;
const root = mkdtempSync(path.join(os.tmpdir(), 'cdx-pivot-'));
const file = path.join(root, 'trips.parquet');
const handlers = createEngineHandlers({ home: path.join(root, 'home'), samplePath: null });
const [a, b] = createMemoryPortPair();
serveRpc<EngineApi>(handlers, a);
const client = new RpcClient<EngineApi>(b);
const lit = (p: string) => `'${p.replace(/'/g, "''")}'`;
let id = '';

beforeAll(async () => {
  await duckQuery(`COPY (SELECT i AS id,
      CASE WHEN i % 11 = 0 THEN NULL ELSE ['Queens', 'Brooklyn', 'Zürich', 'a b'][i % 4 + 1] END AS borough,
      CASE WHEN i % 13 = 0 THEN NULL ELSE ['cash', 'card', 'app'][i % 3 + 1] END AS payment,
      -- a combination with no rows: Zürich never pays by app
      (i % 5)::INTEGER AS k,
      DATE '2025-03-01' + (i % 4)::INTEGER AS day,
      CASE WHEN i % 7 = 0 THEN NULL ELSE ((i * 7919) % 1009) / 8.0 END AS fare
    FROM range(${ROWS}) t(i) WHERE NOT (i % 4 = 2 AND i % 3 = 2 AND i % 11 <> 0))
    TO ${lit(file)} (FORMAT parquet)`);
  id = (await client.api.open({ location: file })).entry.id;
}, 60_000);

afterAll(() => {
  b.close();
  handlers.close();
  rmSync(root, { recursive: true, force: true });
});

const norm = (v: unknown) => (typeof v === 'bigint' ? Number(v) : v instanceof Date ? v.getTime() : v);
function cells(r: GroupByResult): { names: string[]; rows: unknown[][] } {
  const t = tableFromIPC(r.ipc);
  const names = r.schema.map((f) => f.name);
  return { names, rows: Array.from({ length: t.numRows }, (_, i) => names.map((n) => norm(t.getChild(n)!.get(i)))) };
}
function expectClose(got: unknown[][], want: unknown[][], what: string) {
  expect(got.length, what).toBe(want.length);
  got.forEach((r, i) =>
    r.forEach((v, j) => {
      const w = norm(want[i]![j]);
      if (typeof w === 'number' && typeof v === 'number') expect(Math.abs(v - w), `${what} row ${i} col ${j}: ${v} vs ${w}`).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(w)));
      else expect(v, `${what} row ${i} col ${j}`).toEqual(w);
    }),
  );
}

describe('pivot', () => {
  it('by payment with count() and mean(fare): DuckDB PIVOT\'s columns and cells (count 0 and mean null where no rows), and a null column', async () => {
    const r = await client.api.groupBy({ dataset: id, by: ['borough'], agg: 'count(), mean(fare)', pivot: 'payment' });
    const got = cells(r);
    expect(got.names).toEqual(['borough', 'app_count', 'app_mean_fare', 'card_count', 'card_mean_fare', 'cash_count', 'cash_mean_fare', 'null_count', 'null_mean_fare']);
    expect(r.groups).toBe(5);
    const duck = await duckQuery(`SELECT * FROM (PIVOT read_parquet(${lit(file)}) ON payment IN ('app', 'card', 'cash') USING count(*) AS count, avg(fare) AS mean_fare GROUP BY borough) ORDER BY borough NULLS LAST`);
    expectClose(got.rows.map((row) => row.slice(0, 7)), duck, 'vs DuckDB PIVOT');
    // the Zürich/app cell has no rows: count 0, mean null
    const z = got.rows.find((row) => row[0] === 'Zürich')!;
    expect([z[1], z[2]]).toEqual([0, null]);
    // the rows whose payment is null (DuckDB's PIVOT drops them): a GROUP BY
    const nulls = await duckQuery(`SELECT count(*), avg(fare) FROM read_parquet(${lit(file)}) WHERE payment IS NULL GROUP BY borough ORDER BY borough NULLS LAST`);
    expectClose(got.rows.map((row) => row.slice(7)), nulls, 'the null column');
  });

  it('one measure names a column by its value alone; two row keys; sorted by a pivot column descending and limited', async () => {
    const r = await client.api.groupBy({ dataset: id, by: ['borough', 'k'], agg: 'sum(fare)', pivot: 'day', sort: ['-2025-03-02', 'borough', 'k'], limit: 7 });
    const got = cells(r);
    expect(got.names).toEqual(['borough', 'k', '2025-03-01', '2025-03-02', '2025-03-03', '2025-03-04']);
    expect(r.groups).toBe(25);
    expect(r.rows).toBe(7);
    const duck = await duckQuery(`SELECT * FROM (PIVOT read_parquet(${lit(file)}) ON day USING sum(fare) GROUP BY borough, k)
      ORDER BY "2025-03-02" DESC NULLS LAST, borough NULLS LAST, k NULLS LAST LIMIT 7`);
    expectClose(got.rows, duck, 'vs DuckDB PIVOT');
  });

  it('under a filter, pivot by an int key; saved as a dataset equal to what is sent', async () => {
    const r = await client.api.groupBy({ dataset: id, by: ['payment'], agg: 'count(), max(fare)', where: 'fare > 50', pivot: 'k', save: {} });
    const got = cells(r);
    expect(got.names).toEqual(['payment', '0_count', '0_max_fare', '1_count', '1_max_fare', '2_count', '2_max_fare', '3_count', '3_max_fare', '4_count', '4_max_fare']);
    const duck = await duckQuery(`SELECT * FROM (PIVOT (SELECT * FROM read_parquet(${lit(file)}) WHERE fare > 50) ON k USING count(*) AS count, max(fare) AS max_fare GROUP BY payment) ORDER BY payment NULLS LAST`);
    expectClose(got.rows, duck, 'filtered vs DuckDB');
    expect(r.saved!.name).toBe('trips by payment, pivot k where fare > 50');
    const saved = await client.api.rows({ dataset: r.saved!.id, offset: 0, limit: 100 });
    const t = tableFromIPC(saved.ipc);
    expect(t.schema.fields.map((f) => f.name)).toEqual(got.names);
    expectClose(Array.from({ length: t.numRows }, (_, i) => got.names.map((n) => norm(t.getChild(n)!.get(i)))), got.rows, 'saved');
  });

  it('refuses more than 100 values naming the key and the count, and a pivot key that is a row key', async () => {
    const n = Number((await duckQuery(`SELECT count(DISTINCT id) FROM read_parquet(${lit(file)})`))[0]![0]);
    await expect(client.api.groupBy({ dataset: id, by: ['borough'], agg: 'count()', pivot: 'id' })).rejects.toMatchObject({
      code: 'E_TOO_LARGE', message: expect.stringContaining(`pivot by id: it has ${n.toLocaleString('en-US')} values, more than 100`),
    });
    await expect(client.api.groupBy({ dataset: id, by: ['borough'], agg: 'count()', pivot: 'borough' })).rejects.toMatchObject({ code: 'E_BAD_ARG' });
  });
});

describe.skipIf(!existsSync(path.join(__dirname, '../../out/main/cli.js')))('cdx group --pivot', () => {
  it('prints the pivot as NDJSON', () => {
    const r = spawnSync(process.execPath, [path.join(__dirname, '../../bin/cdx.mjs'), 'group', file, '--by', 'borough', '--agg', 'count()', '--pivot', 'payment', '--json'], {
      env: { ...process.env, CDX_HOME: path.join(root, 'cli-home') }, encoding: 'utf8', timeout: 120_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(Object.keys(rows[0]!)).toEqual(['borough', 'app', 'card', 'cash', 'null']);
    expect(rows.reduce((s, x) => s + Number(x.app) + Number(x.card) + Number(x.cash) + Number(x.null), 0)).toBeGreaterThan(10_000);
  }, 120_000);
});

describe.skipIf(!postgresAvailable())('pivot of a PostgreSQL table', () => {
  let pg: PostgresServer;
  let remote = '';
  beforeAll(async () => {
    pg = await startPostgres();
    const rows = await duckQuery(`SELECT id, borough, payment, k, fare FROM read_parquet(${lit(file)})`);
    const q = (v: unknown) => (v === null ? 'NULL' : typeof v === 'string' ? lit(v) : String(v));
    await pg.psql(`CREATE TABLE public.trips (id BIGINT PRIMARY KEY, borough TEXT, payment TEXT, k INTEGER, fare DOUBLE PRECISION);
      INSERT INTO public.trips VALUES ${rows.map((r) => `(${r.map(q).join(', ')})`).join(',\n')};
      GRANT SELECT ON public.trips TO cdx; ANALYZE public.trips;`);
    await client.api.setSecret({ url: pg.url, password: pg.password });
    remote = (await client.api.open({ location: `${pg.url}::public.trips` })).entry.id;
  }, 120_000);
  afterAll(async () => {
    await pg?.stop();
  });

  it('the group-by pushed down, reshaped: equal to the local file\'s pivot', async () => {
    const spec = { by: ['borough'], agg: 'count(), mean(fare)', pivot: 'payment', sort: ['-cash_count'] };
    const there = cells(await client.api.groupBy({ dataset: remote, ...spec }));
    const here = cells(await client.api.groupBy({ dataset: id, ...spec }));
    expect(there.names).toEqual(here.names);
    expectClose(there.rows, here.rows, 'postgres vs local');
  }, 60_000);
});
