/**
 * Density samples (DensityParams.sample) through the engine contract: on a dataset written in x
 * order (so a sample of the first rows would show only the left of the plot), a sample is evenly
 * spaced blocks of rows over the whole file, and its grid equals a count made here from the
 * file's values at the rows of the documented block choice (computed here again, not taken from
 * the engine): plain counts, with filters on numbers and strings, per category (dictionary and
 * plain strings) and the mean of a numeric colour. A dataset within the budget, a filter on a bool
 * column, and a zoomed view whose zone maps leave fewer rows than the sample give exact counts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Bool, Dictionary, Int32, Table, Utf8, tableToIPC, vectorFromArray } from 'apache-arrow';
import { createEngineHandlers } from './service';
import type { HandlerContext } from '../../shared/rpc';
import type { DensityParams } from '../../shared/plot/types';

const ctx = (): HandlerContext => ({ signal: new AbortController().signal, progress: () => {}, connection: 'test' });
const dir = mkdtempSync(path.join(os.tmpdir(), 'cdx-sample-'));
const h = createEngineHandlers({ home: path.join(dir, 'home'), samplePath: null });
afterAll(() => {
  h.close();
  rmSync(dir, { recursive: true, force: true });
});

// 1,000,003 rows in record batches of 131,072 (sampled blocks straddle batches), sorted by x
const N = 1_000_003, BATCH = 131_072;
const xs = new Float64Array(N), ys = new Float64Array(N), vs = new Float64Array(N);
const cat: string[] = new Array(N);
const flag: boolean[] = new Array(N);
const LABELS = ['a', 'b', 'c'];
let id = '';
let smallId = '';

beforeAll(async () => {
  let s = 4242;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  for (let i = 0; i < N; i++) {
    xs[i] = ((i + rnd()) / N) * 100;
    ys[i] = rnd() * 10;
    vs[i] = Math.round(rnd() * 1000);
    cat[i] = LABELS[Math.floor(rnd() * 3)]!;
    flag[i] = rnd() < 0.5;
  }
  const whole = new Table({
    x: vectorFromArray(xs),
    y: vectorFromArray(ys),
    v: vectorFromArray(vs),
    c: vectorFromArray(cat, new Dictionary(new Utf8(), new Int32())),
    s: vectorFromArray(cat, new Utf8()),
    f: vectorFromArray(flag, new Bool()),
  });
  const batches = [];
  for (let a = 0; a < N; a += BATCH) batches.push(...whole.slice(a, Math.min(N, a + BATCH)).batches);
  const file = path.join(dir, 'sorted.arrow');
  writeFileSync(file, tableToIPC(new Table(batches), 'file'));
  id = (await h.open({ location: file }, ctx())).entry.id;
  const small = path.join(dir, 'small.arrow');
  writeFileSync(small, tableToIPC(new Table({ x: vectorFromArray(xs.subarray(0, 50_000)), y: vectorFromArray(ys.subarray(0, 50_000)) }), 'file'));
  smallId = (await h.open({ location: small }, ctx())).entry.id;
}, 120_000);

/** the documented block choice (main/engine/plot.ts sampleRanges), written out again here */
function sampledRows(rows: number, budget: number): number[] {
  const k = Math.ceil(budget / 16_384), b = Math.floor(budget / k);
  const starts = k === 1 ? [Math.floor((rows - b) / 2)] : Array.from({ length: k }, (_, i) => Math.floor((i * (rows - b)) / (k - 1)));
  const out: number[] = [];
  for (const s0 of starts) for (let r = s0; r < s0 + b; r++) out.push(r);
  return out;
}

const VIEW = { x0: 0, x1: 100, y0: 0, y1: 10 };
const W = 50, H = 20;

function cellOf(r: number, v = VIEW): number {
  const x = xs[r]!, y = ys[r]!;
  if (x < v.x0 || x >= v.x1 || y < v.y0 || y >= v.y1) return -1;
  const i = Math.min(W - 1, Math.floor(((x - v.x0) / (v.x1 - v.x0)) * W));
  const j = Math.min(H - 1, Math.floor(((y - v.y0) / (v.y1 - v.y0)) * H));
  return j * W + i;
}

function grid(rows: number[], keep: (r: number) => boolean = () => true): Uint32Array {
  const g = new Uint32Array(W * H);
  for (const r of rows) {
    if (!keep(r)) continue;
    const c = cellOf(r);
    if (c >= 0) g[c]!++;
  }
  return g;
}

const req = (extra: Partial<DensityParams> = {}): DensityParams => ({ dataset: id, x: 'x', y: 'y', ...VIEW, width: W, height: H, ...extra });

describe('density samples', () => {
  const BUDGET = 200_000;
  const rows = sampledRows(N, BUDGET);

  it('bins evenly spaced blocks over the whole file: the grid equals a count at those rows, and covers the extent', async () => {
    const r = await h.density(req({ sample: BUDGET }), ctx());
    expect(r.sample).toEqual({ rows: rows.length, of: N });
    expect(rows.length).toBeLessThanOrEqual(BUDGET);
    expect(rows.length).toBeGreaterThan(BUDGET * 0.99);
    expect([...r.counts]).toEqual([...grid(rows)]);
    // the counts are the sample's, not scaled; rows and the rest describe the sample
    expect(r.rows).toBe(rows.length);
    expect(r.binned).toBe(rows.length);
    expect(r.binned + r.outside + r.nan + r.filtered).toBe(r.rows);
    // ordered by x, yet the sample reaches both ends: the first and the last column of cells have points
    const col = (i: number) => Array.from({ length: H }, (_, j) => r.counts[j * W + i]!).reduce((a, b) => a + b, 0);
    expect(col(0)).toBeGreaterThan(0);
    expect(col(W - 1)).toBeGreaterThan(0);
    // and places between: 13 blocks of 15,384 rows, x about 1.5 wide each, 8.2 apart
    const filled = Array.from({ length: W }, (_, i) => col(i)).filter((n) => n > 0).length;
    expect(filled).toBeGreaterThanOrEqual(13);
    expect(filled).toBeLessThan(W);
  });

  it('filters apply to the sampled rows (numbers and strings)', async () => {
    const f = await h.density(req({ sample: BUDGET, where: 'v < 300 and s != "b"' }), ctx());
    const keep = (r: number) => vs[r]! < 300 && cat[r] !== 'b';
    expect(f.sample).toEqual({ rows: rows.length, of: N });
    expect([...f.counts]).toEqual([...grid(rows, keep)]);
    expect(f.filtered).toBe(rows.filter((r) => !keep(r)).length);
  });

  it('per-category counts (a dictionary, and plain strings one pass per value) and the mean of a numeric colour', async () => {
    const d = await h.density(req({ sample: BUDGET, color: 'c' }), ctx());
    expect(d.sample).toEqual({ rows: rows.length, of: N });
    expect([...d.categories!].sort()).toEqual(LABELS);
    for (const [k, label] of d.categories!.entries()) expect([...d.categoryCounts!.subarray(k * W * H, (k + 1) * W * H)]).toEqual([...grid(rows, (r) => cat[r] === label)]);

    const s = await h.density(req({ sample: BUDGET, color: 's', where: 'v >= 100' }), ctx());
    expect(s.sample).toEqual({ rows: rows.length, of: N });
    for (const [k, label] of s.categories!.entries()) {
      expect([...s.categoryCounts!.subarray(k * W * H, (k + 1) * W * H)]).toEqual([...grid(rows, (r) => vs[r]! >= 100 && cat[r] === label)]);
    }

    const m = await h.density(req({ sample: BUDGET, color: 'v' }), ctx());
    expect(m.sample).toEqual({ rows: rows.length, of: N });
    const sum = new Float64Array(W * H), cnt = new Float64Array(W * H);
    for (const r of rows) {
      const c = cellOf(r);
      if (c >= 0) {
        sum[c]! += vs[r]!;
        cnt[c]!++;
      }
    }
    for (let c = 0; c < W * H; c++) {
      if (cnt[c]) expect(m.means![c]).toBeCloseTo(sum[c]! / cnt[c]!, 6);
      else expect(m.means![c]).toBeNaN();
    }
  });

  it('exact counts where no sample is needed or possible', async () => {
    const all = [...Array(N).keys()];
    // a dataset within the budget
    const small = await h.density({ ...req({ sample: BUDGET }), dataset: smallId }, ctx());
    expect(small.sample).toBeUndefined();
    expect(small.rows).toBe(50_000);
    expect([...small.counts]).toEqual([...grid(all.slice(0, 50_000))]);
    // a filter on a bool column (its bits cannot be cut to the sample's rows)
    const b = await h.density(req({ sample: BUDGET, where: 'f = true' }), ctx());
    expect(b.sample).toBeUndefined();
    expect([...b.counts]).toEqual([...grid(all, (r) => flag[r]!)]);
    // a zoomed view on ordered data: its zone maps leave fewer rows to read than the sample has
    await h.plotRanges({ dataset: id, columns: ['x', 'y'] }, ctx());
    const zoom = { x0: 40, x1: 42, y0: 0, y1: 10 };
    const z = await h.density({ ...req({ sample: BUDGET }), ...zoom }, ctx());
    expect(z.sample).toBeUndefined();
    expect(z.scanned).toBeLessThan(BUDGET);
    const want = new Uint32Array(W * H);
    for (const r of all) {
      const c = cellOf(r, zoom);
      if (c >= 0) want[c]!++;
    }
    expect([...z.counts]).toEqual([...want]);
  });

  it('CDX_DENSITY_SAMPLE_ROWS replaces the budget asked for (tests, tuning); a bad budget is a clear error', async () => {
    process.env.CDX_DENSITY_SAMPLE_ROWS = '40000';
    try {
      const r = await h.density(req({ sample: 4_000_000 }), ctx());
      const rows40 = sampledRows(N, 40_000);
      expect(r.sample).toEqual({ rows: rows40.length, of: N });
      expect([...r.counts]).toEqual([...grid(rows40)]);
    } finally {
      delete process.env.CDX_DENSITY_SAMPLE_ROWS;
    }
    // one block: the middle of the file
    const one = await h.density(req({ sample: 10_000 }), ctx());
    expect(one.sample).toEqual({ rows: 10_000, of: N });
    expect([...one.counts]).toEqual([...grid(sampledRows(N, 10_000))]);
    await expect(h.density(req({ sample: 0 }), ctx())).rejects.toThrow(/sample 0/);
  });
});
