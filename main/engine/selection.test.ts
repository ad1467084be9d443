// Selections (filtered row windows) against a plain JS loop with the reference evaluator over an
// Arrow file of several record batches: windows at the start, middle, end and past the end of the
// filtered view, an empty view, no filter, the cache (one count per filter, LRU, a reopened
// dataset recounts) and cancellation shared between waiters.
import { closeSync, ftruncateSync, openSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { evalExprOnRow } from '../../shared/expr/bind';
import { parseExpr } from '../../shared/expr/parse';
import { readArrowColumns } from './columns/index';
import { rng, tempDir, writeArrowFile, type Cell } from '../../native/testing/fixtures';
import { rawColumn, type ColumnDesc } from '../../native/index';
import { compileFilter } from './filter';
import { blockOfRank, blockRowsFor, buildIndex, Selections, type SelectionDataset } from './selection';

const dir = tempDir('cdx-selection-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const N = 30_000;
const r = rng(11);
const cols: Record<string, { type: 'float64' | 'utf8' | 'int32'; values: Cell[] }> = {
  x: { type: 'float64', values: Array.from({ length: N }, (_, i) => (i % 9 === 0 ? null : i % 31 === 0 ? NaN : Math.round(r() * 1000) / 10)) },
  s: { type: 'utf8', values: Array.from({ length: N }, (_, i) => (i % 7 === 0 ? null : ['red', 'green', 'blue'][Math.floor(r() * 3)]!)) },
  i: { type: 'int32', values: Array.from({ length: N }, (_, i) => i) },
};
const path = join(dir, 'sel.arrow');
writeArrowFile(path, cols, 5); // batches of 6000 rows; blocks of 1000 / 4096 rows
const arrow = readArrowColumns(path);
const open = (): SelectionDataset => ({ id: 'ds1', rows: N, columns: new Map(Object.keys(cols).map((n) => [n, arrow.column(n)])) });
const ds = open();
const rows = Array.from({ length: N }, (_, k) => Object.fromEntries(Object.entries(cols).map(([n, c]) => [n, c.values[k]])));

const filterOf = (d: SelectionDataset, where: string) => compileFilter(parseExpr(where), (n) => d.columns.get(n));
const reference = (where: string) => {
  const e = parseExpr(where);
  const out: number[] = [];
  rows.forEach((row, k) => { if (evalExprOnRow(e, row as Record<string, unknown>)) out.push(k); });
  return out;
};

describe('Selections.windowOf', () => {
  const WHERES = ['x > 50', "s = 'red' and x < 20", 'x is null or s in (\'blue\')', 'i >= 29990', 'i >= 5990 and i < 6010', 'not (x <= 99)'];

  for (const blockRows of [1000, 4096]) {
    it(`windows at the start, middle, end and past the end (blocks of ${blockRows})`, async () => {
      const sel = new Selections({ blockRows });
      for (const where of WHERES) {
        const want = reference(where);
        const f = filterOf(ds, where);
        const offsets = [0, 1, Math.floor(want.length / 3), Math.floor(want.length / 2), Math.max(0, want.length - 7), want.length, want.length + 100];
        for (const offset of offsets) {
          for (const limit of [1, 10, 1000]) {
            const w = await sel.windowOf(ds, where, f, offset, limit);
            expect(w.total, where).toBe(want.length);
            expect([...w.rowIds], `${where} @${offset}+${limit}`).toEqual(want.slice(offset, offset + limit));
          }
        }
      }
    });
  }

  it('an empty view, a zero limit and no filter', async () => {
    const sel = new Selections({ blockRows: 1000 });
    const none = await sel.windowOf(ds, 'x > 1e9', filterOf(ds, 'x > 1e9'), 0, 100);
    expect(none.total).toBe(0);
    expect(none.rowIds.length).toBe(0);
    const zero = await sel.windowOf(ds, 'x > 50', filterOf(ds, 'x > 50'), 10, 0);
    expect(zero.rowIds.length).toBe(0);
    const all = await sel.windowOf(ds, undefined, undefined, N - 2, 5);
    expect(all.total).toBe(N);
    expect([...all.rowIds]).toEqual([N - 2, N - 1]);
    // a filter that reads no column
    const t = await sel.windowOf(ds, 'and()', compileFilter({ kind: 'and', args: [] }, () => undefined), 5, 3);
    expect(t.total).toBe(N);
    expect([...t.rowIds]).toEqual([5, 6, 7]);
    await expect(sel.windowOf(ds, 'x > 1', filterOf(ds, 'x > 1'), -1, 5)).rejects.toMatchObject({ code: 'E_OUT_OF_RANGE' });
  });
});

describe('Selections cache', () => {
  it('counts once per (dataset, filter), keeps an LRU of a few, recounts a reopened dataset', async () => {
    const sel = new Selections({ blockRows: 1000, capacity: 2 });
    const i1 = await sel.index(ds, 'x > 50', filterOf(ds, 'x > 50'));
    expect(await sel.index(ds, ' x > 50 ', filterOf(ds, 'x > 50'))).toBe(i1); // same text, trimmed
    expect(i1.total).toBe(reference('x > 50').length);
    await sel.index(ds, 'x > 60', filterOf(ds, 'x > 60'));
    await sel.index(ds, 'x > 50', filterOf(ds, 'x > 50')); // touch: most recent
    await sel.index(ds, 'x > 70', filterOf(ds, 'x > 70')); // evicts x > 60
    expect(sel.keys().map((k) => k.split('\u0000')[1])).toEqual(['x > 50', 'x > 70']);
    const again = open();
    const i2 = await sel.index(again, 'x > 50', filterOf(again, 'x > 50'));
    expect(i2).not.toBe(i1);
    expect(i2.total).toBe(i1.total);
    sel.forget('ds1');
    expect(sel.keys()).toEqual([]);
  });

  it('block size grows with the dataset (at most ~256Ki blocks)', () => {
    expect(blockRowsFor(0)).toBe(4096);
    expect(blockRowsFor(1e9)).toBe(4096);
    expect(blockRowsFor(2e9)).toBe(8192);
    expect(blockRowsFor(1e12) * 262_144).toBeGreaterThanOrEqual(1e12);
  });

  it('prefix sums locate the block of a rank', () => {
    const idx = buildIndex(Uint32Array.from([3, 0, 0, 2, 5]), 10, 50);
    expect([...idx.prefix]).toEqual([0, 3, 3, 3, 5, 10]);
    expect([0, 1, 2, 3, 4, 5, 9].map((k) => blockOfRank(idx.prefix, k))).toEqual([0, 0, 0, 3, 3, 4, 4]);
  });
});

describe('Selections cancellation', () => {
  const M = 30_000_000; // 240 MB sparse file of zeros
  const big = join(dir, 'zeros.f64');
  const fd = openSync(big, 'w');
  ftruncateSync(fd, M * 8);
  closeSync(fd);
  const zds = (): SelectionDataset => ({ id: 'zeros', rows: M, columns: new Map<string, ColumnDesc>([['z', rawColumn(big, 'z', 'float64', 0, M)]]) });
  const WHERE = '(z, z) in polygon [(-1, -1), (1, -1), (1, 1), (-1, 1), (0, 2)]';

  it('a cancelled waiter leaves at once; the count goes on for the others; all gone = count cancelled', async () => {
    const d = zds();
    const f = filterOf(d, WHERE);
    const sel = new Selections();
    const a1 = new AbortController();
    const seen: number[] = [];
    const p1 = sel.windowOf(d, WHERE, f, 0, 10, { signal: a1.signal });
    const p2 = sel.windowOf(d, WHERE, f, M - 5, 10, { onProgress: (p) => seen.push(p.fraction) });
    let tAbort = Infinity;
    setTimeout(() => ((tAbort = performance.now()), a1.abort()), 30);
    await expect(p1).rejects.toMatchObject({ code: 'E_CANCELLED' });
    // from the abort itself: a loaded machine may fire the timer late
    expect(performance.now() - tAbort).toBeLessThan(150);
    const w2 = await p2;
    expect(w2.total).toBe(M);
    expect([...w2.rowIds]).toEqual([M - 5, M - 4, M - 3, M - 2, M - 1]);
    expect(seen.length).toBeGreaterThan(0);

    // every waiter gone: the count itself stops and leaves nothing in the cache
    const sel2 = new Selections();
    const a3 = new AbortController();
    const p3 = sel2.windowOf(d, WHERE, f, 0, 10, { signal: a3.signal });
    setTimeout(() => a3.abort(), 30);
    await expect(p3).rejects.toMatchObject({ code: 'E_CANCELLED' });
    expect(sel2.keys()).toEqual([]);
  });
});
