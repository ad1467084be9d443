// Filtered views (native/select.ts) against the reference evaluator of shared/expr (evalExpr3 ===
// true) on an Arrow file of several record batches whose boundaries fall inside blocks: block
// counts, row ids of windows (start, middle, end, past the end, with and without block hints),
// rows by id against readRows (and big-endian data), constant filters, bad arguments, a file
// truncated while open, cancellation and progress.
import { closeSync, ftruncateSync, openSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { afterAll, describe, expect, it } from 'vitest';
import { evalExpr3 } from '../shared/expr/bind';
import { genExpr, seeded } from '../shared/expr/testing/testgen';
import type { Expr } from '../shared/expr/ast';
import { readArrowColumns } from '../main/engine/columns/index';
import { rng, tempDir, writeArrowFile, type Cell } from './testing/fixtures';
import { compileFilter } from '../main/engine/filter';
import { NativeFile, rawColumn, readRows, type ColumnDesc } from './index';
import { filterBlockCounts, filteredRowIds, takeRows, takeRowsIPC } from './select';

const dir = tempDir('cdx-select-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const col = (name: string) => ({ kind: 'col' as const, name });
const lit = (value: number | string | boolean | null) => ({ kind: 'lit' as const, value });

// 7 record batches of 5715 rows; blocks of 1000 rows straddle every batch boundary
const N = 40_000;
const BATCHES = 7;
const r = rng(7);
const strs = ['a', 'b', 'ab', 'é', '😀', ''];
const cols: Record<string, { type: 'float64' | 'int64' | 'utf8' | 'dict' | 'bool' | 'int32'; values: Cell[] }> = {
  num: { type: 'float64', values: Array.from({ length: N }, (_, i) => (i % 17 === 0 ? null : i % 23 === 0 ? NaN : Math.round((r() - 0.5) * 200) / 10)) },
  big: { type: 'int64', values: Array.from({ length: N }, (_, i) => (i % 19 === 0 ? null : BigInt(i) * 1000003n - 20000000000n)) },
  s: { type: 'utf8', values: Array.from({ length: N }, (_, i) => (i % 13 === 0 ? null : strs[Math.floor(r() * strs.length)]!)) },
  d: { type: 'dict', values: Array.from({ length: N }, (_, i) => (i % 11 === 0 ? null : strs[(i * 7) % strs.length]!)) },
  flag: { type: 'bool', values: Array.from({ length: N }, (_, i) => (i % 29 === 0 ? null : r() < 0.3)) },
  idx: { type: 'int32', values: Array.from({ length: N }, (_, i) => i) },
};
const path = join(dir, 'select.arrow');
writeArrowFile(path, cols, BATCHES);
const a = readArrowColumns(path);
const byName: Record<string, ColumnDesc> = Object.fromEntries(Object.keys(cols).map((n) => [n, a.column(n)]));
const rows = Array.from({ length: N }, (_, i) => Object.fromEntries(Object.entries(cols).map(([k, c]) => [k, c.values[i]])));

function passing(e: Expr): number[] {
  const out: number[] = [];
  rows.forEach((row, i) => { if (evalExpr3(e, row as Record<string, unknown>) === true) out.push(i); });
  return out;
}
function refCounts(ids: number[], blockRows: number): number[] {
  const c = new Array<number>(Math.ceil(N / blockRows)).fill(0);
  for (const i of ids) c[Math.floor(i / blockRows)]!++;
  return c;
}

const CASES: Expr[] = [
  { kind: 'cmp', op: '>', left: col('num'), right: lit(0) },
  { kind: 'not', arg: { kind: 'cmp', op: '<', left: col('num'), right: lit(0) } }, // NaN < 0 false -> not = true; null stays unknown
  { kind: 'in', col: col('s'), values: [lit('a'), lit(null)], negated: true },
  { kind: 'in', col: col('d'), values: [lit('😀'), lit('é')] },
  { kind: 'cmp', op: '>=', left: col('s'), right: lit('ab') },
  { kind: 'or', args: [{ kind: 'isnull', col: col('num') }, { kind: 'cmp', op: '=', left: col('flag'), right: lit(true) }] },
  { kind: 'cmp', op: '<', left: col('big'), right: { kind: 'lit', int: '-9007199254740993' } },
  { kind: 'range', col: col('num'), lo: -1, hi: 2.5 },
  { kind: 'cmp', op: '>', left: col('idx'), right: lit(N - 10) }, // only at the very end
  { kind: 'cmp', op: '=', left: col('idx'), right: lit(-1) }, // empty
  { kind: 'and', args: [{ kind: 'cmp', op: '>=', left: col('idx'), right: lit(5700) }, { kind: 'cmp', op: '<', left: col('idx'), right: lit(5730) }] }, // one batch boundary
];

describe('filterBlockCounts', () => {
  it('matches the reference evaluator per block (blocks straddle batch boundaries)', async () => {
    for (const e of CASES) {
      const want = passing(e);
      for (const blockRows of [1000, 4096, 65536]) {
        const got = await filterBlockCounts(compileFilter(e, byName), { blockRows });
        expect([...got], `${JSON.stringify(e)} / ${blockRows}`).toEqual(refCounts(want, blockRows));
      }
    }
  });

  it('random expressions (seeded)', async () => {
    const r2 = seeded(99);
    const gen = {
      columns: [
        { name: 'num', kind: 'num' as const }, { name: 'big', kind: 'int64' as const }, { name: 's', kind: 'str' as const },
        { name: 'd', kind: 'str' as const }, { name: 'flag', kind: 'bool' as const },
      ],
      strings: strs,
    };
    for (let k = 0; k < 25; k++) {
      const e = genExpr(r2, gen);
      const got = await filterBlockCounts(compileFilter(e, byName), { blockRows: 3000, rows: N });
      const want = passing(e);
      expect([...got], JSON.stringify(e)).toEqual(refCounts(want, 3000));
      const skip = Math.floor(want.length * r2());
      const ids = await filteredRowIds(compileFilter(e, byName), { rows: N, fromRow: 0, skip, limit: 500, blocks: { blockRows: 3000, counts: got } });
      expect([...ids], JSON.stringify(e)).toEqual(want.slice(skip, skip + 500));
    }
  });

  it('constant filters need the row count; no filter passes every row', async () => {
    await expect(filterBlockCounts(compileFilter({ kind: 'and', args: [] }, byName), { blockRows: 1000 })).rejects.toMatchObject({ code: 'E_BAD_ARG' });
    const all = await filterBlockCounts(compileFilter({ kind: 'and', args: [] }, byName), { blockRows: 1000, rows: 2500 });
    expect([...all]).toEqual([1000, 1000, 500]);
    const none = await filterBlockCounts(compileFilter({ kind: 'or', args: [] }, byName), { blockRows: 1000, rows: 2500 });
    expect([...none]).toEqual([0, 0, 0]);
    expect([...(await filterBlockCounts(undefined, { blockRows: 1000, rows: 1001 }))]).toEqual([1000, 1]);
    // a row count that disagrees with the filter's columns is refused
    await expect(filterBlockCounts(compileFilter(CASES[0]!, byName), { blockRows: 1000, rows: N + 1 })).rejects.toMatchObject({ code: 'E_BAD_ARG' });
    await expect(filterBlockCounts(compileFilter(CASES[0]!, byName), { blockRows: 0 })).rejects.toMatchObject({ code: 'E_BAD_ARG' });
  });
});

describe('filteredRowIds', () => {
  it('windows at the start, middle, end and past the end, with and without block hints', async () => {
    for (const e of CASES) {
      const want = passing(e);
      const f = compileFilter(e, byName);
      const blockRows = 1000;
      const counts = await filterBlockCounts(f, { blockRows });
      const windows: [number, number, number, number][] = [
        // fromRow, toRow, skip, limit
        [0, N, 0, 50],
        [0, N, Math.floor(want.length / 2), 100],
        [0, N, Math.max(0, want.length - 30), 100],
        [0, N, want.length, 10],
        [0, N, want.length + 5, 10],
        [0, N, 0, N],
        [5714, 5716 + 1000, 0, 10_000], // across a batch boundary
        [12_345, 30_001, 7, 333],
        [N, N, 0, 10],
      ];
      for (const [fromRow, toRow, skip, limit] of windows) {
        const ref = want.filter((i) => i >= fromRow && i < toRow).slice(skip, skip + limit);
        const plain = await filteredRowIds(f, { fromRow, toRow, skip, limit });
        expect([...plain], `${JSON.stringify(e)} ${[fromRow, toRow, skip, limit]}`).toEqual(ref);
        const hinted = await filteredRowIds(f, { fromRow, toRow, skip, limit, blocks: { blockRows, counts } });
        expect([...hinted], `hinted ${JSON.stringify(e)} ${[fromRow, toRow, skip, limit]}`).toEqual(ref);
        if (fromRow < toRow) {
          // a slice of the counts that just covers [fromRow, toRow)
          const first = Math.floor(fromRow / blockRows), last = Math.floor((toRow - 1) / blockRows);
          const sliced = await filteredRowIds(f, { fromRow, toRow, skip, limit, blocks: { blockRows, counts: counts.subarray(first, last + 1), first } });
          expect([...sliced], `sliced ${JSON.stringify(e)} ${[fromRow, toRow, skip, limit]}`).toEqual(ref);
        }
      }
    }
  });

  it('constant filters, no filter, and bad arguments', async () => {
    expect([...(await filteredRowIds(compileFilter({ kind: 'and', args: [] }, byName), { rows: 100, fromRow: 10, skip: 5, limit: 3 }))]).toEqual([15, 16, 17]);
    expect([...(await filteredRowIds(compileFilter({ kind: 'or', args: [] }, byName), { rows: 100, limit: 3 }))]).toEqual([]);
    expect([...(await filteredRowIds(undefined, { rows: 100, fromRow: 98, limit: 5 }))]).toEqual([98, 99]);
    const f = compileFilter(CASES[0]!, byName);
    await expect(filteredRowIds(f, { fromRow: N + 1, limit: 1 })).rejects.toMatchObject({ code: 'E_OUT_OF_RANGE' });
    await expect(filteredRowIds(f, { limit: -1 })).rejects.toMatchObject({ code: 'E_BAD_ARG' });
    await expect(filteredRowIds(f, { limit: 1, skip: 0.5 })).rejects.toMatchObject({ code: 'E_BAD_ARG' });
    await expect(filteredRowIds(f, { limit: 1, blocks: { blockRows: 1000, counts: new Uint32Array(3) } })).rejects.toMatchObject({ code: 'E_BAD_ARG' });
    // a slice that does not cover the rows asked for, or runs past the last block
    await expect(filteredRowIds(f, { fromRow: 0, toRow: 2500, limit: 1, blocks: { blockRows: 1000, counts: new Uint32Array(2), first: 1 } })).rejects.toMatchObject({ code: 'E_BAD_ARG' });
    await expect(filteredRowIds(f, { fromRow: 1000, toRow: 2500, limit: 1, blocks: { blockRows: 1000, counts: new Uint32Array(2), first: 1 } })).resolves.toBeInstanceOf(Float64Array);
    await expect(filteredRowIds(f, { fromRow: 39_500, limit: 1, blocks: { blockRows: 1000, counts: new Uint32Array(2), first: 39 } })).rejects.toMatchObject({ code: 'E_BAD_ARG' });
  });
});

describe('takeRows', () => {
  const names = ['num', 'big', 's', 'd', 'flag', 'idx'];
  const descs = names.map((n) => byName[n]!);

  async function expectSameAsReadRows(ids: number[]) {
    const t = await takeRows(descs, Float64Array.from(ids));
    expect(t.numRows).toBe(ids.length);
    for (const [k, id] of ids.entries()) {
      const one = await readRows(descs, id, 1);
      for (const n of names) {
        const got = t.getChild(n)!.get(k);
        const want = one.getChild(n)!.get(0);
        if (typeof want === 'number' && Number.isNaN(want)) expect(Number.isNaN(got as number)).toBe(true);
        else expect(got, `${n}[${id}]`).toEqual(want);
      }
    }
  }

  it('reads arbitrary rows (sorted across batches, unsorted, repeated) like readRows', async () => {
    const r3 = rng(3);
    const sorted = [...new Set(Array.from({ length: 300 }, () => Math.floor(r3() * N)))].sort((x, y) => x - y);
    await expectSameAsReadRows([0, 5714, 5715, 5716, 11_429, 11_430, N - 1]);
    await expectSameAsReadRows(sorted);
    await expectSameAsReadRows([N - 1, 0, 17, 17, 6000, 13]);
    // values against the source arrays directly, incl. nulls
    const t = await takeRows(descs, Float64Array.from(sorted));
    sorted.forEach((id, k) => {
      expect(t.getChild('idx')!.get(k)).toBe(id);
      expect(t.getChild('s')!.get(k)).toBe(cols.s.values[id]);
      expect(t.getChild('d')!.get(k)).toBe(cols.d.values[id]);
      expect(t.getChild('big')!.get(k)).toBe(cols.big.values[id]);
    });
  });

  it('IPC bytes, empty selections and bad ids', async () => {
    const ipc = await takeRowsIPC(descs, Float64Array.from([3, 4, 39_999]));
    const t = tableFromIPC(ipc);
    expect(t.numRows).toBe(3);
    expect([...t.getChild('idx')!.toArray()]).toEqual([3, 4, 39_999]);
    expect((await takeRows(descs, new Float64Array(0))).numRows).toBe(0);
    await expect(takeRows(descs, Float64Array.from([N]))).rejects.toMatchObject({ code: 'E_OUT_OF_RANGE' });
    await expect(takeRows(descs, Float64Array.from([1.5]))).rejects.toMatchObject({ code: 'E_BAD_ARG' });
    await expect(takeRows(descs, Float64Array.from([-1]))).rejects.toMatchObject({ code: 'E_BAD_ARG' });
  });
});

describe('byte order and bad files', () => {
  it('takeRows swaps big-endian values; every kernel refuses a file truncated while open', async () => {
    const n = 10_000;
    const be = new DataView(new ArrayBuffer(n * 8));
    for (let i = 0; i < n; i++) be.setFloat64(i * 8, i * 1.5, false);
    const p = join(dir, 'be.f64');
    writeFileSync(p, new Uint8Array(be.buffer));
    const f = NativeFile.open(p);
    try {
      const c = rawColumn(f, 'v', 'float64', 0, n, false);
      const t = await takeRows([c], Float64Array.from([0, 1, 9_999]));
      expect([...t.getChild('v')!.toArray()]).toEqual([0, 1.5, 9_999 * 1.5]);
      const filt = compileFilter({ kind: 'cmp', op: '>=', left: col('v'), right: lit(14_997) }, { v: c });
      expect([...(await filteredRowIds(filt, { limit: 5 }))]).toEqual([9_998, 9_999]);
      expect([...(await filterBlockCounts(filt, { blockRows: 4096 }))]).toEqual([0, 0, 2]);
      truncateSync(p, 4000);
      await expect(takeRows([c], Float64Array.from([0]))).rejects.toMatchObject({ code: 'E_TRUNCATED' });
      await expect(filteredRowIds(filt, { limit: 5 })).rejects.toMatchObject({ code: 'E_TRUNCATED' });
      await expect(filterBlockCounts(filt, { blockRows: 4096 })).rejects.toMatchObject({ code: 'E_TRUNCATED' });
    } finally {
      f.close();
    }
  });
});

describe('cancellation and progress', () => {
  const M = 200_000_000; // 1.6 GB sparse file of zeros: long enough to cancel, cheap to create
  const big = join(dir, 'sparse.f64');
  const fd = openSync(big, 'w');
  ftruncateSync(fd, M * 8);
  closeSync(fd);
  const z = rawColumn(big, 'z', 'float64', 0, M);
  const heavy: Expr = { kind: 'inpolygon', x: col('z'), y: col('z'), polygon: [[-1, -1], [1, -1], [1, 1], [-1, 1], [0, 2]] };

  it('filterBlockCounts cancels within ~100 ms with E_CANCELLED and reports progress', async () => {
    const ac = new AbortController();
    const seen: number[] = [];
    const t0 = performance.now();
    const p = filterBlockCounts(compileFilter(heavy, { z }), { signal: ac.signal, onProgress: (pr) => seen.push(pr.fraction), progressIntervalMs: 10 });
    let tAbort = 0;
    setTimeout(() => ((tAbort = performance.now()), ac.abort()), 60);
    await expect(p).rejects.toMatchObject({ code: 'E_CANCELLED' });
    // measured from the abort itself (a loaded machine may fire the timer late); the full scan takes seconds
    expect(performance.now() - tAbort).toBeLessThan(150);
    expect(tAbort - t0).toBeGreaterThan(0);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.some((x) => x > 0)).toBe(true);
  });

  it('filteredRowIds over a long empty stretch cancels too', async () => {
    const ac = new AbortController();
    const t0 = performance.now();
    const none: Expr = { kind: 'cmp', op: '>', left: col('z'), right: lit(1) };
    const p = filteredRowIds(compileFilter({ kind: 'and', args: [none, heavy] }, { z }), { limit: 10, signal: ac.signal });
    let tAbort = 0;
    setTimeout(() => ((tAbort = performance.now()), ac.abort()), 60);
    await expect(p).rejects.toMatchObject({ code: 'E_CANCELLED' });
    expect(performance.now() - tAbort).toBeLessThan(150);
    expect(tAbort - t0).toBeGreaterThan(0);
  });
});
