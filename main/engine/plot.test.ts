/**
 * The plot handlers through the engine contract on an Arrow file written here: density grids equal
 * a direct count (row 0 = lowest y, half-open cells), per-category counts, filters, the point
 * budget, points equal to a direct selection, and column ranges.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Table, tableToIPC, vectorFromArray, Dictionary, Utf8, Int32, Float64, TimestampMicrosecond, makeData, makeVector } from 'apache-arrow';
import { createEngineHandlers } from './service';
import type { HandlerContext } from '../../shared/rpc';

const ctx = (): HandlerContext => ({ signal: new AbortController().signal, progress: () => {}, connection: 'test' });
const dir = mkdtempSync(path.join(os.tmpdir(), 'cdx-plot-'));
const h = createEngineHandlers({ home: path.join(dir, 'home'), samplePath: null });
afterAll(() => h.close());

const N = 20_000;
const xs = new Float64Array(N), ys = new Float64Array(N);
const cats: string[] = [];
let id = '';
let plainId = '';
beforeAll(async () => {
  let s = 12345;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (let i = 0; i < N; i++) {
    const a = i % 2 === 0;
    xs[i] = (a ? 2 : 7) + rnd();
    ys[i] = (a ? 2 : 6) + rnd() * 2;
    cats.push(a ? 'left' : i % 3 === 0 ? 'right3' : 'right');
  }
  const withCat = new Table({
    x: vectorFromArray(xs),
    y: vectorFromArray(ys),
    n: vectorFromArray(Float64Array.from({ length: N }, (_, i) => i)),
    c: vectorFromArray(cats, new Dictionary(new Utf8(), new Int32())),
  });
  const file = path.join(dir, 'two.arrow');
  writeFileSync(file, tableToIPC(withCat, 'file'));
  id = (await h.open({ location: file }, ctx())).entry.id;
  const plain = new Table({ x: vectorFromArray(xs), y: vectorFromArray(ys), n: vectorFromArray(Float64Array.from({ length: N }, (_, i) => i)), s: vectorFromArray(cats, new Utf8()) });
  const file2 = path.join(dir, 'plain.arrow');
  writeFileSync(file2, tableToIPC(plain, 'file'));
  plainId = (await h.open({ location: file2 }, ctx())).entry.id;
});

function directGrid(x0: number, x1: number, y0: number, y1: number, W: number, H: number, keep: (i: number) => boolean = () => true): Uint32Array {
  const g = new Uint32Array(W * H);
  for (let k = 0; k < N; k++) {
    if (!keep(k)) continue;
    const x = xs[k]!, y = ys[k]!;
    if (x < x0 || x >= x1 || y < y0 || y >= y1) continue;
    const i = Math.min(W - 1, Math.floor(((x - x0) / (x1 - x0)) * W));
    const j = Math.min(H - 1, Math.floor(((y - y0) / (y1 - y0)) * H));
    g[j * W + i]!++;
  }
  return g;
}

describe('plot handlers', () => {
  it('density coloured by a numeric column gives the mean of that column per cell (filtered), NaN where a cell is empty', async () => {
    const W = 40, H = 40, keep = (k: number) => k < 15_000;
    const r = await h.density({ dataset: id, x: 'x', y: 'y', x0: 0, x1: 10, y0: 0, y1: 10, width: W, height: H, where: 'n < 15000', color: 'n' }, ctx());
    expect(r.meanOf).toBe('n');
    expect(r.note).toMatch(/mean of "n"/);
    expect([...r.counts]).toEqual([...directGrid(0, 10, 0, 10, W, H, keep)]);
    // an independent mean per cell (n = the row index)
    const sum = new Float64Array(W * H), cnt = new Float64Array(W * H);
    for (let k = 0; k < N; k++) {
      if (!keep(k)) continue;
      const i = Math.min(W - 1, Math.floor((xs[k]! / 10) * W)), j = Math.min(H - 1, Math.floor((ys[k]! / 10) * H));
      sum[j * W + i]! += k;
      cnt[j * W + i]!++;
    }
    let filled = 0;
    for (let c = 0; c < W * H; c++) {
      if (cnt[c]) {
        filled++;
        expect(r.means![c]).toBeCloseTo(sum[c]! / cnt[c]!, 6);
      } else expect(r.means![c]).toBeNaN();
    }
    expect(filled).toBeGreaterThan(2);
  });

  it('density equals a direct count, row 0 = lowest y', async () => {
    const r = await h.density({ dataset: id, x: 'x', y: 'y', x0: 0, x1: 10, y0: 0, y1: 10, width: 20, height: 10 }, ctx());
    expect(r.width).toBe(20);
    expect(r.binned).toBe(N);
    expect([...r.counts]).toEqual([...directGrid(0, 10, 0, 10, 20, 10)]);
    // the left cluster (x 2..3, y 2..4) is in the low rows, the right one (y 6..8) in high rows
    expect(r.counts[2 * 20 + 4]).toBeGreaterThan(0);
    expect(r.counts[0]).toBe(0);
  });
  it('density with a filter and per-category counts', async () => {
    const r = await h.density({ dataset: id, x: 'x', y: 'y', x0: 0, x1: 10, y0: 0, y1: 10, width: 8, height: 8, where: 'n < 1000', color: 'c' }, ctx());
    expect(r.categories).toEqual(['left', 'right', 'right3']);
    expect(r.binned).toBe(1000);
    expect([...r.counts]).toEqual([...directGrid(0, 10, 0, 10, 8, 8, (i) => i < 1000)]);
    const n = 64;
    const left = r.categoryCounts!.subarray(0, n);
    expect([...left]).toEqual([...directGrid(0, 10, 0, 10, 8, 8, (i) => i < 1000 && cats[i] === 'left')]);
  });
  it('points: none above the budget, exactly the selection below it', async () => {
    const vp = { x0: 6.5, x1: 7.5, y0: 5, y1: 10 };
    const inside = [...Array(N).keys()].filter((i) => xs[i]! >= vp.x0 && xs[i]! < vp.x1 && ys[i]! >= vp.y0 && ys[i]! < vp.y1);
    const over = await h.points({ dataset: id, x: 'x', y: 'y', viewport: vp, limit: inside.length - 1 }, ctx());
    expect(over).toMatchObject({ count: inside.length, sent: false });
    expect(over.x.length).toBe(0);
    const r = await h.points({ dataset: id, x: 'x', y: 'y', viewport: vp, limit: inside.length, color: 'c' }, ctx());
    expect(r.sent).toBe(true);
    expect([...r.ids]).toEqual(inside);
    expect([...r.x]).toEqual(inside.map((i) => xs[i]));
    expect(r.categories).toEqual(['left', 'right', 'right3']);
    expect([...r.color!].map((c) => r.categories![c])).toEqual(inside.map((i) => cats[i]));
    const hinted = await h.points({ dataset: id, x: 'x', y: 'y', viewport: vp, limit: inside.length, count: inside.length }, ctx());
    expect([...hinted.ids]).toEqual(inside);
    const f = await h.points({ dataset: id, x: 'x', y: 'y', viewport: vp, limit: 1e6, where: 'c = "right3"' }, ctx());
    expect([...f.ids]).toEqual(inside.filter((i) => cats[i] === 'right3'));
  });
  it('histogram equals a direct count, with a filter', async () => {
    const r = await h.histogram({ dataset: id, column: 'x', lo: 0, hi: 10, bins: 20, where: 'n >= 500' }, ctx());
    const want = new Array(20).fill(0);
    for (let i = 500; i < N; i++) want[Math.floor(xs[i]! * 2)]++;
    expect([...r.counts]).toEqual(want);
    expect(r.binned).toBe(N - 500);
  });
  it('string colours without a dictionary: one filtered pass per value, and codes for points', async () => {
    const r = await h.density({ dataset: plainId, x: 'x', y: 'y', x0: 0, x1: 10, y0: 0, y1: 10, width: 8, height: 8, color: 's', where: 'n < 5000' }, ctx());
    expect(new Set(r.categories)).toEqual(new Set(['left', 'right', 'right3']));
    const k = r.categories!.indexOf('right3');
    expect([...r.categoryCounts!.subarray(k * 64, (k + 1) * 64)]).toEqual([...directGrid(0, 10, 0, 10, 8, 8, (i) => i < 5000 && cats[i] === 'right3')]);
    expect([...r.counts]).toEqual([...directGrid(0, 10, 0, 10, 8, 8, (i) => i < 5000)]);
    const p = await h.points({ dataset: plainId, x: 'x', y: 'y', color: 's', viewport: { x0: 6, x1: 9, y0: 5, y1: 9 }, limit: N }, ctx());
    expect([...p.color!].map((c) => p.categories![c])).toEqual([...p.ids].map((i) => cats[i]));
  });
  it('points in stored units: a microsecond timestamp axis, nulls and NaN never sent, int64 colour', async () => {
    const n = 5000;
    const t0 = 1_700_000_000_000_000n; // µs
    const ts = Array.from({ length: n }, (_, i) => t0 + BigInt(i) * 1_000_003n);
    const v: (number | null)[] = Array.from({ length: n }, (_, i) => (i % 97 === 0 ? null : i % 89 === 0 ? NaN : (i * 7919) % 1000));
    const k = BigInt64Array.from({ length: n }, (_, i) => BigInt(i) * 3n - 7000n);
    const tbl = new Table({
      // raw µs (vectorFromArray would take numbers as epoch ms)
      t: makeVector(makeData({ type: new TimestampMicrosecond(), length: n, data: BigInt64Array.from(ts) })),
      v: vectorFromArray(v, new Float64()),
      k: makeVector(k),
    });
    const file = path.join(dir, 'times.arrow');
    writeFileSync(file, tableToIPC(tbl, 'file'));
    const tid = (await h.open({ location: file }, ctx())).entry.id;
    const vp = { x0: Number(t0) + 1e9, x1: Number(t0) + 3e9, y0: 100, y1: 600 };
    const want = [...Array(n).keys()].filter((i) => {
      const x = Number(ts[i]!), y = v[i];
      return x >= vp.x0 && x < vp.x1 && y !== null && y >= vp.y0 && y < vp.y1; // NaN compares false
    });
    expect(want.length).toBeGreaterThan(100);
    const r = await h.points({ dataset: tid, x: 't', y: 'v', color: 'k', viewport: vp, limit: n }, ctx());
    expect(r.sent).toBe(true);
    expect([...r.ids]).toEqual(want);
    expect([...r.x]).toEqual(want.map((i) => Number(ts[i]!)));
    expect([...r.y]).toEqual(want.map((i) => v[i]));
    expect([...r.color!]).toEqual(want.map((i) => Number(k[i]!)));
    // with a filter on a third column, and a limit cutting the list in row order
    const f = await h.points({ dataset: tid, x: 't', y: 'v', viewport: vp, limit: n, where: 'k > 0' }, ctx());
    expect([...f.ids]).toEqual(want.filter((i) => k[i]! > 0n));
  });
  it('ranges', async () => {
    const r = await h.plotRanges({ dataset: id, columns: ['x', 'c'] }, ctx());
    expect(r[0]).toMatchObject({ name: 'x', kind: 'number', min: Math.min(...xs), max: Math.max(...xs) });
    expect(r[1]).toMatchObject({ name: 'c', kind: 'category', categories: ['left', 'right', 'right3'] });
    // a column whose limits the caller has: its kind only, no range computed
    const k = await h.plotRanges({ dataset: id, columns: ['x', 'y'], noRange: ['x'] }, ctx());
    expect(k[0]).toMatchObject({ name: 'x', kind: 'number' });
    expect(k[0]!.min).toBeNaN();
    expect(k[0]!.max).toBeNaN();
    expect(Number.isFinite(k[1]!.min)).toBe(true);
  });
  it('bad arguments are clear errors', async () => {
    await expect(h.density({ dataset: id, x: 'nope', y: 'y', x0: 0, x1: 1, y0: 0, y1: 1, width: 2, height: 2 }, ctx())).rejects.toThrow(/no column "nope"/);
    await expect(h.density({ dataset: id, x: 'c', y: 'y', x0: 0, x1: 1, y0: 0, y1: 1, width: 2, height: 2 }, ctx())).rejects.toThrow(/not numeric/);
    await expect(h.density({ dataset: id, x: 'x', y: 'y', x0: 1, x1: 1, y0: 0, y1: 1, width: 2, height: 2 }, ctx())).rejects.toThrow(/empty viewport/);
  });
});
