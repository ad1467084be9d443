/**
 * The Table view's sort (table.svelte.ts TableSort + TableWindow) against the real engine — its
 * handlers served over the in-memory transport, as the window talks to it — on a Parquet file
 * written by DuckDB (floats with nulls and NaN, text with nulls and ties), with DuckDB as the
 * oracle: header clicks give the keys a user expects (ascending, descending, off; Shift adds a
 * key), the rows the window holds — at the top (top-N) and far down (the whole order) — and their
 * row numbers are those of DuckDB's `ORDER BY … NULLS LAST, id` under the dataset's filter, the
 * sort is kept with the dataset across new windows (tabs), and cancelling a sort takes it off.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { EngineApi } from '../../shared/api';
import { RpcClient, createMemoryPortPair, serveRpc } from '../../shared/rpc';
import { parseExpr } from '../../shared/expr/parse';
import { createEngineHandlers } from '../../main/engine/service';
import { duckQuery } from '../../main/engine/sources/testing/oracle';
import { DatasetView } from './dataset.svelte';
import type { EngineConnection } from './engine.svelte';
import { BLOCK, TableSort, TableWindow, sortLabel, tableSortOf } from './table.svelte';

const ROWS = 40_000;
const root = mkdtempSync(path.join(os.tmpdir(), 'cdx-tablesort-'));
const file = path.join(root, 's.parquet');
const handlers = createEngineHandlers({ home: path.join(root, 'home'), samplePath: null });
const [a, b] = createMemoryPortPair();
serveRpc<EngineApi>(handlers, a);
const client = new RpcClient<EngineApi>(b);
const engine = { api: client.api, mode: 'web', generation: 1 } as unknown as EngineConnection;
const lit = (p: string) => `'${p.replace(/'/g, "''")}'`;
let id = '';

beforeAll(async () => {
  await duckQuery(`COPY (SELECT i AS id,
      CASE WHEN i % 9 = 0 THEN NULL WHEN i % 97 = 0 THEN 'NaN'::DOUBLE ELSE ((i * 7919) % 1009) / 4.0 END AS fare,
      CASE WHEN i % 11 = 0 THEN NULL ELSE ['Queens', 'Brooklyn', 'Zürich', 'a b', 'Bronx'][i % 5 + 1] END AS borough
    FROM range(${ROWS}) t(i)) TO ${lit(file)} (FORMAT parquet)`);
  id = (await client.api.open({ location: file })).entry.id;
}, 60_000);

afterAll(() => {
  b.close();
  handlers.close();
  rmSync(root, { recursive: true, force: true });
});

/** DuckDB's order of the row ids (nulls last, ties by row number) */
async function oracle(order: string, where?: string): Promise<number[]> {
  const rows = await duckQuery(`SELECT id FROM ${lit(file)}${where ? ` WHERE ${where}` : ''} ORDER BY ${order}, id`);
  return rows.map((r) => Number(r[0]));
}

async function until(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** rows [from, from + n) of the window: their row ids and (column 0) ids */
async function rowsOf(t: TableWindow, from: number, n: number): Promise<{ ids: number[]; values: number[] }> {
  t.show(from, n);
  await until(() => t.row(from) !== undefined && t.row(Math.min(from + n, t.total) - 1) !== undefined, `rows ${from}..${from + n}`);
  const ids: number[] = [], values: number[] = [];
  for (let r = from; r < Math.min(from + n, t.total); r++) {
    ids.push(t.row(r)!.id);
    values.push(Number(t.row(r)!.values[0]));
  }
  return { ids, values };
}

async function opened(): Promise<DatasetView> {
  const view = new DatasetView(engine, id);
  await view.load();
  return view;
}

describe('the table sort state', () => {
  it('a click sorts ascending, again descending, again off; Shift adds a key and cycles it in place', () => {
    const s = new TableSort();
    s.click('fare');
    expect(s.param).toEqual(['fare']);
    s.click('fare');
    expect(s.param).toEqual(['-fare']);
    s.click('borough', true);
    expect(s.param).toEqual(['-fare', 'borough']);
    expect([s.rank('fare'), s.rank('borough'), s.rank('id')]).toEqual([1, 2, 0]);
    expect(s.direction('borough')).toBe('ascending');
    expect(sortLabel(s.keys)).toBe('fare ↓, borough ↑');
    s.click('borough', true);
    expect(s.param).toEqual(['-fare', '-borough']);
    s.click('fare', true); // a key's third shift-click takes it off, the others stay
    expect(s.param).toEqual(['-borough']);
    s.click('id', true);
    expect(s.text).toBe('-borough,id');
    // a plain click sorts by that column alone
    s.click('id');
    expect(s.param).toEqual(['-id']);
    s.click('id');
    expect(s.param).toBeUndefined();
    s.click('fare');
    s.keepOnly(['id']);
    expect(s.keys).toEqual([]);
  });
});

describe('the sorted table against DuckDB', () => {
  it('holds the rows of ORDER BY fare DESC NULLS LAST, borough NULLS LAST, id at the top and far down, with their row numbers', async () => {
    const view = await opened();
    const t = new TableWindow(view, new TableSort());
    t.sort.click('fare');
    t.sort.click('fare');
    t.sort.click('borough', true);
    const want = await oracle('fare DESC NULLS LAST, borough NULLS LAST');
    // the first window: the engine's top-N
    const top = await rowsOf(t, 0, 50);
    expect(top.ids).toEqual(want.slice(0, 50));
    expect(top.values).toEqual(top.ids); // column 0 is id: the row number shown is the row's own
    expect(t.total).toBe(ROWS);
    // far down: the whole order (its progress is shown only when the engine reports some before it
    // is done — 40,000 rows may sort before the first report: e2e/tablesort17-large.spec.ts shows it)
    const far = ROWS - 2 * BLOCK - 17;
    t.show(far, 40);
    await until(() => t.row(far) !== undefined, 'the far window');
    const deep = await rowsOf(t, far, 40);
    expect(deep.ids).toEqual(want.slice(far, far + 40));
    expect(t.sorting).toBe(false);
    // the last rows: fare null last
    const last = await rowsOf(t, ROWS - 10, 10);
    expect(last.ids).toEqual(want.slice(-10));
  });

  it('sorts the filtered view (filter and sort together), and copies rows in that order', async () => {
    const view = await opened();
    view.addFilter(parseExpr("borough in ('Queens', 'Zürich') and fare > 100"));
    const t = new TableWindow(view, new TableSort());
    t.sort.click('borough');
    t.sort.click('fare', true);
    t.sort.click('fare', true);
    const want = await oracle('borough NULLS LAST, fare DESC NULLS LAST', "borough in ('Queens', 'Zürich') and fare > 100 and not isnan(fare)") // (NaN > 100 in DuckDB; not in CDX's IEEE comparisons);
    const got = await rowsOf(t, 0, 60);
    expect(t.total).toBe(want.length);
    expect(got.ids).toEqual(want.slice(0, 60));
    const tail = await rowsOf(t, want.length - 30, 30);
    expect(tail.ids).toEqual(want.slice(-30));
    const copy = await t.copyRows(5, 9, [{ name: 'id', type: 'int64', nullable: false }]);
    expect(copy!.tsv.split('\n')).toEqual(['id', ...want.slice(5, 10).map(String)]);
  });

  it('keeps the sort with the dataset: a new window (the tab shown again) reads in the same order', async () => {
    const view = await opened();
    const first = new TableWindow(view);
    expect(first.sort).toBe(tableSortOf(view));
    first.sort.click('borough');
    const again = new TableWindow(view);
    expect(again.sort.param).toEqual(['borough']);
    const want = await oracle('borough NULLS LAST');
    expect((await rowsOf(again, 0, 20)).ids).toEqual(want.slice(0, 20));
    // another dataset view has its own sort
    expect(tableSortOf(await opened()).param).toBeUndefined();
  });

  it('cancelling the sort in progress takes it off: the rows come back in the dataset order', async () => {
    const view = await opened();
    const t = new TableWindow(view, new TableSort());
    t.sort.click('fare');
    t.show(ROWS - 100, 40); // far down: the whole order is computed
    expect(t.sorting).toBe(true);
    t.cancelSort();
    expect(t.sort.param).toBeUndefined();
    expect(t.sortCancelled).toBe('fare ↑');
    const got = await rowsOf(t, ROWS - 100, 5);
    expect(got.ids).toEqual([0, 1, 2, 3, 4].map((i) => ROWS - 100 + i));
    expect(t.sortCancelled).toBe('fare ↑');
  });
});
