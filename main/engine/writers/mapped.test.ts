/**
 * Exports of catalogued datasets read by the native kernels (mapped.ts, through the engine's
 * exportDataset): a filtered export holds exactly the rows DuckDB selects with the same filter;
 * the native read writes the file the streamed path writes (stored types — dictionary, timestamp
 * zone, nullability — and rows); a location not in the catalog is streamed and not added to it; a
 * column the kernels do not read falls back to the source; a cancel leaves nothing behind.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tableFromIPC, type Table } from 'apache-arrow';
import type { HandlerContext } from '../../../shared/rpc';
import { isCancelled } from '../../../shared/errors';
import { appRoot } from '../paths';
import { createEngineHandlers } from '../service';
import { Datasets } from '../datasets';
import { Selections } from '../selection';
import { compileFor, whereExpr } from '../filter';
import { duckdb } from '../sources/testing/oracle';
import { tempDir } from '../sources/testing/util';
import { exportHandlers } from './handlers';

let nativeOk = true;
try {
  (await import('../../../native/index')).nativeInfo();
} catch (e) {
  nativeOk = false;
  console.log(`[skip] native engine not built (${(e as Error).message.split('\n')[0]}): the native export path needs it`);
}

const SAMPLE = join(appRoot(), 'resources', 'sample', 'trips.arrow');
const ROWS = 150_000; // the filter below passes ~100k: two windows of 65536 rows

let dir: string;
let cleanup: () => void;
let csv: string;
let db: Awaited<ReturnType<typeof duckdb>>;
let h: ReturnType<typeof createEngineHandlers>;

const ctx = (signal = new AbortController().signal, progress: HandlerContext['progress'] = () => {}): HandlerContext => ({ signal, progress, connection: 'test' });
const sq = (s: string) => "'" + s.replace(/'/g, "''") + "'";

beforeAll(async () => {
  ({ dir, cleanup } = tempDir('cdx-mapped-'));
  csv = join(dir, 'people.csv');
  const lines = ['id,x,s,day,flag'];
  for (let i = 0; i < ROWS; i++) {
    const x = i % 11 === 0 ? '' : String(((i * 7919) % 1000) / 1000);
    const s = i % 13 === 0 ? '' : `k${i % 17}`;
    lines.push(`${i},${x},${s},2024-01-${String(1 + (i % 28)).padStart(2, '0')},${i % 3 === 0}`);
  }
  writeFileSync(csv, lines.join('\n') + '\n');
  h = createEngineHandlers({ home: join(dir, 'home'), samplePath: null });
  db = await duckdb();
});
afterAll(() => {
  h?.close();
  db?.close();
  cleanup();
});

function rowsOf(t: Table): unknown[][] {
  const out: unknown[][] = [];
  for (let i = 0; i < t.numRows; i++) out.push(t.schema.fields.map((_, j) => t.getChildAt(j)!.get(i)));
  return out;
}

describe.skipIf(!nativeOk)('export of a catalogued dataset, read natively', () => {
  it('a filtered export holds exactly the rows DuckDB selects with the same filter', async () => {
    const ov = await h.open({ location: csv }, ctx());
    // nulls in x and s: unknown drops the row unless the `or` is true anyway (SQL three-valued logic)
    const where = "x > 0.1 and (s != 'k5' or flag = true) and day < date '2024-01-25'";
    const out = join(dir, 'filtered.parquet');
    const r = await h.exportDataset({ dataset: ov.entry.id, output: out, where }, ctx());
    expect(r.via).toBe('mapped');
    expect(r.rowsRead).toBe(ROWS);
    if (!db) return;
    const theirs = `SELECT id, x, s, day, flag FROM read_csv(${sq(csv)}) WHERE ${where.replace("date '", "DATE '")}`;
    const want = await db.all(`SELECT count(*) FROM (${theirs})`);
    expect(r.rows).toBe(Number(want[0]![0]));
    expect(r.rows).toBeGreaterThan(65536); // more than one window of passing rows
    const ours = `SELECT id, x, s, day, flag FROM read_parquet(${sq(out)})`;
    for (const [a, b] of [[ours, theirs], [theirs, ours]]) {
      const diff = await db.all(`SELECT count(*) FROM (${a} EXCEPT ALL ${b})`);
      expect(Number(diff[0]![0])).toBe(0);
    }
    // in row order
    const ids = (await db.all(`SELECT id FROM read_parquet(${sq(out)})`)).map((x) => Number(x[0]));
    expect(ids).toEqual([...ids].sort((p, q) => p - q));
  });

  it('writes what the streamed path writes: the stored types (dictionary, timestamp zone, nullability) and the same rows', async () => {
    const home = join(dir, 'home-types');
    const store = new Datasets(home, null);
    try {
      const ds = await store.open(SAMPLE);
      const selections = new Selections();
      const nativeH = exportHandlers(() => store, { selections, compile: (d, w) => compileFor(d, whereExpr(w))! });
      const streamH = exportHandlers(() => store);
      const where = "borough in ('Bronx', 'Queens') and fare > 20";
      const a = join(dir, 'native.arrow');
      const b = join(dir, 'streamed.arrow');
      const ra = await nativeH.exportDataset({ dataset: ds.id, output: a, where }, ctx());
      const rb = await streamH.exportDataset({ dataset: ds.id, output: b, where }, ctx());
      expect([ra.via, rb.via]).toEqual(['mapped', 'source']);
      expect(selections.keys().length).toBe(1); // the filter was counted natively, once
      expect(ra.rows).toBe(rb.rows);
      expect(ra.rows).toBeGreaterThan(0);
      const ta = tableFromIPC(readFileSync(a));
      const tb = tableFromIPC(readFileSync(b));
      const shape = (t: Table) => t.schema.fields.map((f) => `${f.name}:${f.type}:${f.nullable}`);
      expect(shape(ta)).toEqual(shape(tb));
      expect(shape(ta)).toContain('borough:Dictionary<Int32, Utf8>:false');
      expect(shape(ta)).toContain('pickup_at:Timestamp<MILLISECOND, UTC>:false');
      expect(rowsOf(ta)).toEqual(rowsOf(tb));
      // whole, some columns
      const c = join(dir, 'cols.arrow');
      const rc = await nativeH.exportDataset({ dataset: ds.id, output: c, columns: ['note', 'trip_id', 'borough'] }, ctx());
      expect([rc.via, rc.rows]).toEqual(['mapped', ds.rows]);
      const tc = tableFromIPC(readFileSync(c));
      const src = tableFromIPC(readFileSync(SAMPLE));
      expect(tc.schema.fields.map((f) => f.name)).toEqual(['note', 'trip_id', 'borough']);
      expect(rowsOf(tc)).toEqual(rowsOf(src.select(['note', 'trip_id', 'borough'])));
    } finally {
      store.close();
    }
  });

  it('a location is read through its catalogued copy, and a file not in the catalog is streamed and not added', async () => {
    const byLocation = await h.exportDataset({ location: csv, output: join(dir, 'by-location.csv'), where: 'id < 10' }, ctx());
    expect([byLocation.via, byLocation.rows]).toEqual(['mapped', 10]);
    const other = join(dir, 'other.csv');
    writeFileSync(other, 'a,b\n1,x\n2,y\n3,z\n');
    const listed = async () => h.listDatasets({}, ctx());
    const before = (await listed()).length;
    const r = await h.exportDataset({ location: other, output: join(dir, 'other.parquet'), where: 'a >= 2' }, ctx());
    expect([r.via, r.rows, r.rowsRead]).toEqual(['source', 2, 3]);
    expect((await listed()).length).toBe(before);
    expect((await listed()).some((d) => d.path === other)).toBe(false);
  });

  it('a column the kernels do not read (decimal) makes the export stream from the source, with the same rows', async () => {
    if (!db) return;
    const pq = join(dir, 'dec.parquet');
    await db.all(`COPY (SELECT i AS id, (i / 8)::DECIMAL(10, 3) AS price FROM range(1000) t(i)) TO ${sq(pq)} (FORMAT parquet)`);
    const ov = await h.open({ location: pq }, ctx());
    const out = join(dir, 'dec-out.parquet');
    const r = await h.exportDataset({ dataset: ov.entry.id, output: out, where: 'price > 100' }, ctx());
    expect(r.via).toBe('source');
    expect(r.rows).toBe(Number((await db.all(`SELECT count(*) FROM read_parquet(${sq(pq)}) WHERE price > 100`))[0]![0]));
    // the id column alone is read natively
    const ids = await h.exportDataset({ dataset: ov.entry.id, output: join(dir, 'ids.parquet'), columns: ['id'], where: 'id >= 990' }, ctx());
    expect([ids.via, ids.rows]).toEqual(['mapped', 10]);
  });

  it('a cancel during a native export leaves no output and no temporary file', async () => {
    const ov = await h.open({ location: csv }, ctx());
    const sub = join(dir, 'cancel');
    mkdirSync(sub);
    const ac = new AbortController();
    let chunks = 0;
    const err = await Promise.resolve(
      h.exportDataset({ dataset: ov.entry.id, output: join(sub, 'x.parquet') }, ctx(ac.signal, (p) => {
        if (typeof p.detail === 'string' && ++chunks === 1) ac.abort();
      })),
    ).catch((e: unknown) => e);
    expect(isCancelled(err)).toBe(true);
    expect(String((err as Error).message)).toMatch(/x\.parquet: conversion cancelled; nothing was written/);
    expect(readdirSync(sub)).toEqual([]);
  });
});
