/**
 * Export of a sorted view (exportDataset's `sort`, `cdx convert --sort`): the file written, read
 * back by DuckDB, holds the rows of DuckDB's `ORDER BY … NULLS LAST` of the input, ties by row
 * number (DuckDB's row order is the file's: the `id` column numbers the rows), on a Parquet file
 * with nulls, NaN, Unicode text and int64 beyond 2^53 — a catalogued dataset under a filter (the
 * table's view as shown), a file not in the catalog (opened for the export and forgotten: the
 * catalog is as it was), a CSV written as CSV, the CLI, and a PostgreSQL table (its ORDER BY) where
 * a server is at hand. Errors name the column.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { EngineApi } from '../../../shared/api';
import { RpcClient, createMemoryPortPair, serveRpc } from '../../../shared/rpc';
import { createEngineHandlers } from '../service';
import { duckQuery } from '../sources/testing/oracle';
import { postgresAvailable, startPostgres, type PostgresServer } from '../sql/testing/postgres';

const ROWS = 30_000;
const root = mkdtempSync(path.join(os.tmpdir(), 'cdx-sortexport-'));
const home = path.join(root, 'home');
const file = path.join(root, 's.parquet');
const handlers = createEngineHandlers({ home, samplePath: null });
const [a, b] = createMemoryPortPair();
serveRpc<EngineApi>(handlers, a);
const client = new RpcClient<EngineApi>(b);
const lit = (p: string) => `'${p.replace(/'/g, "''")}'`;
let id = '';

/** the generated rows (`id` is the row number) */
const SELECT = `SELECT i AS id,
    CASE WHEN i % 9 = 0 THEN NULL WHEN i % 97 = 0 THEN 'NaN'::DOUBLE ELSE ((i * 7919) % 1009) / 4.0 END AS fare,
    CASE WHEN i % 11 = 0 THEN NULL ELSE ['Queens', 'Brooklyn', 'Zürich', 'a b', 'Bronx'][i % 5 + 1] END AS borough,
    9007199254740993 + (i % 7) * 2 AS big
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

/** DuckDB's ORDER BY of the input (ties by row number), as rows of id, fare, borough, big (text) */
async function want(from: string, order: string, where?: string): Promise<string[]> {
  const rows = await duckQuery(`SELECT id, fare, borough, big::VARCHAR FROM ${from}${where ? ` WHERE ${where}` : ''} ORDER BY ${order}, id`);
  return rows.map((r) => JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? String(v) : v)));
}

/** the written file's rows, in the file's order */
async function got(from: string): Promise<string[]> {
  const rows = await duckQuery(`SELECT id, fare, borough, big::VARCHAR FROM ${from}`);
  return rows.map((r) => JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? String(v) : v)));
}

describe('a sorted export', () => {
  it('of a catalogued dataset: the rows of ORDER BY fare DESC NULLS LAST, borough NULLS LAST (NaN the greatest), every column kept', async () => {
    const out = path.join(root, 'sorted.parquet');
    const r = await client.api.exportDataset({ dataset: id, output: out, sort: ['-fare', 'borough'] });
    expect(r.rows).toBe(ROWS);
    expect(r.via).toBe('mapped');
    expect(await got(`read_parquet(${lit(out)})`)).toEqual(await want(`read_parquet(${lit(file)})`, 'fare DESC NULLS LAST, borough NULLS LAST'));
  });

  it('of the view as the table shows it: a filter and a sort on an int64 key beyond 2^53 and text, some columns', async () => {
    const out = path.join(root, 'filtered.parquet');
    const where = "borough in ('Zürich', 'a b') and fare < 200";
    const r = await client.api.exportDataset({ dataset: id, output: out, where, sort: ['-big', 'borough', '-fare'], columns: ['id', 'fare', 'borough', 'big'] });
    // (NaN < 200 is false in CDX's IEEE comparisons: DuckDB is asked without NaN)
    const w = await want(`read_parquet(${lit(file)})`, 'big DESC NULLS LAST, borough NULLS LAST, fare DESC NULLS LAST', `${where} and not isnan(fare)`);
    expect(r.rows).toBe(w.length);
    expect(await got(`read_parquet(${lit(out)})`)).toEqual(w);
  });

  it('of a file not in the catalog (cdx convert IN): opened for the export, forgotten afterwards; a CSV to CSV', async () => {
    const csv = path.join(root, 'in.csv');
    await duckQuery(`COPY (${SELECT}) TO ${lit(csv)} (FORMAT csv, HEADER)`);
    const before = (await client.api.listDatasets({})).map((e) => e.id);
    const out = path.join(root, 'from-csv.csv');
    const r = await client.api.exportDataset({ location: csv, output: out, sort: ['borough', '-id'] });
    expect(r.rows).toBe(ROWS);
    expect((await client.api.listDatasets({})).map((e) => e.id)).toEqual(before);
    expect(await got(`read_csv(${lit(out)})`)).toEqual(await want(`read_csv(${lit(csv)})`, 'borough NULLS LAST, id DESC'));
  });

  it('refuses a sort on a column the dataset lacks, naming it, and writes nothing', async () => {
    const out = path.join(root, 'never.parquet');
    await expect(client.api.exportDataset({ dataset: id, output: out, sort: ['-nope'] })).rejects.toMatchObject({ code: 'E_UNKNOWN_COLUMN', message: expect.stringContaining('"nope"') });
    expect(existsSync(out)).toBe(false);
  });
});

// the CLI runs the built app (bin/cdx.mjs -> out/main/cli.js)
describe.skipIf(!existsSync(path.join(__dirname, '../../../out/main/cli.js')))('cdx convert --sort', () => {
  it('writes the rows of ORDER BY fare DESC NULLS LAST, borough NULLS LAST under --where', () => {
    const out = path.join(root, 'cli.parquet');
    const r = spawnSync(process.execPath, [path.join(__dirname, '../../../bin/cdx.mjs'), 'convert', file, out, '--sort', '-fare,borough', '--where', 'id >= 100', '-q'], {
      env: { ...process.env, CDX_HOME: path.join(root, 'cli-home') }, encoding: 'utf8', timeout: 120_000,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('sorted by -fare,borough');
    return (async () => {
      expect(await got(`read_parquet(${lit(out)})`)).toEqual(await want(`read_parquet(${lit(file)})`, 'fare DESC NULLS LAST, borough NULLS LAST', 'id >= 100'));
    })();
  }, 120_000);
});

describe.skipIf(!postgresAvailable())('a sorted export of a PostgreSQL table', () => {
  let pg: PostgresServer;
  let remote = '';
  beforeAll(async () => {
    pg = await startPostgres();
    await pg.psql(`CREATE TABLE public.s (id BIGINT PRIMARY KEY, fare DOUBLE PRECISION, borough TEXT, big BIGINT);
      GRANT SELECT ON public.s TO cdx`);
    // the same rows as the Parquet file, NaN included
    const rows = await duckQuery(`SELECT id, fare, borough, big FROM read_parquet(${lit(file)}) WHERE id < 5000`);
    const q = (v: unknown) => (v === null ? 'NULL' : typeof v === 'number' && Number.isNaN(v) ? `'NaN'` : typeof v === 'string' ? lit(v) : String(v));
    await pg.psql(`INSERT INTO public.s VALUES ${rows.map((r) => `(${r.map(q).join(', ')})`).join(',\n')};\nANALYZE public.s;\n`);
    await client.api.setSecret({ url: pg.url, password: pg.password });
    remote = (await client.api.open({ location: `${pg.url}::public.s` })).entry.id;
  }, 120_000);
  afterAll(async () => {
    await pg?.stop();
  });

  it('its ORDER BY … NULLS LAST (NaN the greatest, text by code point) gives the rows DuckDB orders, under a filter', async () => {
    const out = path.join(root, 'pg.parquet');
    const r = await client.api.exportDataset({ dataset: remote, output: out, sort: ['-fare', 'borough'], where: 'id < 4000', options: {} });
    expect(r.rows).toBe(4000);
    expect(await got(`read_parquet(${lit(out)})`)).toEqual(await want(`read_parquet(${lit(file)})`, 'fare DESC NULLS LAST, borough NULLS LAST', 'id < 4000'));
  }, 60_000);
});
