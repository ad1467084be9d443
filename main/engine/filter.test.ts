/**
 * The engine's filter compiler (main/engine/filter.ts): a compiled filter is opaque (nothing to
 * read back, nothing to splice); filters combined as expressions — the user's `where`, a
 * viewport, a lasso polygon — compile into one program that selects exactly the rows the separate
 * filters select together (and the reference evaluator selects); the points handler compiles its
 * viewport, the user's filter and the lasso once per request.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { evalExpr3 } from '../../shared/expr/bind';
import type { Expr } from '../../shared/expr/ast';
import { NativeFilter, type ColumnDesc } from '../../native/index';
import { filteredRowIds } from '../../native/select';
import { rng, tempDir, writeArrowFile, type Cell } from '../../native/testing/fixtures';
import { readArrowColumns } from './columns/index';
import type { OpenedDataset } from './datasets';
import { andAll, compileFilter, compileFor, datasetColumns, equals, inRange, whereExpr } from './filter';
import { points } from './plot';

const dir = tempDir('cdx-filter-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

const N = 12_000;
const r = rng(5);
const cols: Record<string, { type: 'float64' | 'utf8' | 'int32'; values: Cell[] }> = {
  x: { type: 'float64', values: Array.from({ length: N }, (_, i) => (i % 41 === 0 ? null : i % 53 === 0 ? NaN : Math.round(r() * 1000) / 10)) },
  y: { type: 'float64', values: Array.from({ length: N }, (_, i) => (i % 37 === 0 ? null : Math.round(r() * 1000) / 10)) },
  s: { type: 'utf8', values: Array.from({ length: N }, (_, i) => (i % 7 === 0 ? null : ['a', 'b', 'c'][Math.floor(r() * 3)]!)) },
  n: { type: 'int32', values: Array.from({ length: N }, (_, i) => i) },
};
const path = join(dir, 'filter.arrow');
writeArrowFile(path, cols, 4);
const arrow = readArrowColumns(path);
const byName: Record<string, ColumnDesc> = Object.fromEntries(Object.keys(cols).map((k) => [k, arrow.column(k)]));
const rows = Array.from({ length: N }, (_, i) => Object.fromEntries(Object.entries(cols).map(([k, c]) => [k, c.values[i]])));
const ds: OpenedDataset = {
  id: 'filter-test', name: 'filter.arrow', location: path, format: 'arrow', size: 0, rows: N,
  schema: { fields: [] }, metadata: {}, warnings: [], storage: { kind: 'in-place', path },
  columns: new Map(Object.entries(byName)), unsupported: new Map([['blob', 'binary values are not read']]), sample: false,
};

function reference(e: Expr): number[] {
  const out: number[] = [];
  rows.forEach((row, i) => { if (evalExpr3(e, row) === true) out.push(i); });
  return out;
}
async function selected(e: Expr): Promise<number[]> {
  return [...(await filteredRowIds(compileFilter(e, byName), { limit: N, rows: N }))];
}
const intersect = (a: number[], b: number[]) => { const s = new Set(b); return a.filter((i) => s.has(i)); };

const user = whereExpr('s = "a" or x > 60')!;
const viewport = andAll([inRange('x', 10, 80), inRange('y', 5, 70)]);
const lasso: Expr = { kind: 'inpolygon', x: { kind: 'col', name: 'x' }, y: { kind: 'col', name: 'y' }, polygon: [[0, 0], [90, 10], [70, 80], [15, 60]] };

describe('compiled filters', () => {
  it('are opaque: no program or columns to read back, frozen, nothing enumerable', () => {
    const f = compileFilter(user, byName);
    expect(f).toBeInstanceOf(NativeFilter);
    expect(Reflect.ownKeys(f)).toEqual([]);
    expect(JSON.stringify(f)).toBe('{}');
    expect(Object.isFrozen(f)).toBe(true);
    expect((f as unknown as Record<string, unknown>).program).toBeUndefined();
    expect((f as unknown as Record<string, unknown>).columns).toBeUndefined();
    // @ts-expect-error -- the program is not part of the type: no caller can splice it
    void f.program;
    // @ts-expect-error -- nor are its columns
    void f.columns;
  });

  it('unknown columns are refused with E_UNKNOWN_COLUMN naming the dataset, or why a column is unreadable', () => {
    expect(() => compileFilter(whereExpr('nope > 1')!, byName)).toThrow(expect.objectContaining({ code: 'E_UNKNOWN_COLUMN', column: 'nope' }));
    expect(() => compileFor(ds, whereExpr('nope > 1'))).toThrow(expect.objectContaining({ code: 'E_UNKNOWN_COLUMN', file: path, message: expect.stringContaining('no column "nope"') }));
    expect(() => datasetColumns(ds)('blob')).toThrow(/cannot be filtered on: binary values/);
    expect(compileFor(ds, whereExpr('  '))).toBeUndefined();
  });
});

describe('filters combined as expressions', () => {
  it('the user filter AND a viewport AND a lasso, compiled once, select the rows the separate filters select together', async () => {
    const [u, v, l] = await Promise.all([selected(user), selected(viewport), selected(lasso)]);
    const want = intersect(intersect(u, v), l);
    expect(want.length).toBeGreaterThan(50); // not a vacuous check
    expect(want.length).toBeLessThan(u.length);
    const combined = await selected(andAll([user, viewport, lasso]));
    expect(combined).toEqual(want);
    expect(combined).toEqual(reference(andAll([user, viewport, lasso])));
  });

  it('an equality on a colour value combines with the user filter the same way', async () => {
    const both = andAll([user, equals('s', 'b')]);
    expect(await selected(both)).toEqual(intersect(await selected(user), await selected(equals('s', 'b'))));
    expect(await selected(both)).toEqual(reference(both));
  });

  it('points(): the viewport, the user filter and the lasso are compiled into one filter per request', async () => {
    const seal = vi.spyOn(NativeFilter, 'seal');
    const vp = { x0: 10, x1: 80, y0: 5, y1: 70 };
    const where = andAll([user, lasso]);
    const want = reference(andAll([inRange('x', vp.x0, vp.x1), inRange('y', vp.y0, vp.y1), where]));
    const res = await points(ds, { dataset: ds.id, x: 'x', y: 'y', viewport: vp, limit: N, count: want.length }, where);
    expect(seal).toHaveBeenCalledTimes(1);
    expect(res.sent).toBe(true);
    expect([...res.ids]).toEqual(want);
    expect([...res.x]).toEqual(want.map((i) => cols.x.values[i]));
  });
});
