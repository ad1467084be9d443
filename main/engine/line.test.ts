/**
 * Line plots (EngineApi.line, main/engine/line.ts over native/src/m4.cc) against a reference M4
 * computed with numpy over the same values: a time series of 1M rows in many record batches
 * (mostly ordered by time, with ties, a burst of 12,000 rows at one instant, a stretch out of order, nulls, NaN and infinities), over the
 * full range, a 1% zoom read through the zone maps, a filter, two y columns, and a split by a
 * dictionary column and by a plain string column; then the errors a user meets.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Dictionary, Float64, Int32, RecordBatch, Table, TimestampMillisecond, Utf8, tableToIPC, vectorFromArray } from 'apache-arrow';
import { createEngineHandlers } from './service';
import type { HandlerContext } from '../../shared/rpc';
import type { LineParams, LineResult, LineSeries } from '../../shared/plot/types';
import { m4Polyline } from '../../shared/plot/m4';

const ctx = (): HandlerContext => ({ signal: new AbortController().signal, progress: () => {}, connection: 'test' });
const dir = mkdtempSync(path.join(os.tmpdir(), 'cdx-line-'));
const h = createEngineHandlers({ home: path.join(dir, 'home'), samplePath: null });
afterAll(async () => {
  await h.close();
  rmSync(dir, { recursive: true, force: true });
});

const N = 1_000_000;
const BATCH = 100_000;
const T0 = 1_700_000_000_000;
const t = new Float64Array(N), a = new Float64Array(N), b = new Float64Array(N);
const aNull = new Uint8Array(N), kat = new Int32Array(N), katNull = new Uint8Array(N);
const LABELS = ['north', 'south', 'east'];
let id = '';

beforeAll(async () => {
  let s = 987654321;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  let walk = 0;
  for (let i = 0; i < N; i++) {
    // ms timestamps, mostly ascending in steps of 0..2 s (ties included), one stretch reversed
    t[i] = i === 0 ? T0 : t[i - 1]! + Math.floor(rnd() * 3) * 1000;
    walk += rnd() - 0.5;
    a[i] = Math.round(walk * 1000) / 1000;
    b[i] = Math.floor(rnd() * 100);
    kat[i] = Math.floor(rnd() * 3);
    if (i % 97 === 0) aNull[i] = 1;
    if (i % 1009 === 0) a[i] = NaN;
    if (i === 5000) a[i] = Infinity;
    if (i % 89 === 0) katNull[i] = 1;
  }
  for (let i = 600_000, j = 600_999; i < j; i++, j--) [t[i], t[j]] = [t[j]!, t[i]!];
  // a burst of 12,000 rows at one instant (across block boundaries: ties that only the row breaks)
  for (let i = 150_001; i < 162_000; i++) t[i] = t[150_000]!;
  // one dictionary for the file (an Arrow file holds no replacement dictionaries), cut into batches
  const tv = vectorFromArray(Array.from(t), new TimestampMillisecond());
  const av = vectorFromArray(Array.from({ length: N }, (_, i) => (aNull[i] ? null : a[i]!)), new Float64());
  const bv = vectorFromArray(Int32Array.from(b));
  const kv = vectorFromArray(Array.from({ length: N }, (_, i) => (katNull[i] ? null : LABELS[kat[i]!]!)), new Dictionary(new Utf8(), new Int32()));
  const sv = vectorFromArray(Array.from({ length: N }, (_, i) => (katNull[i] ? null : LABELS[kat[i]!]!)), new Utf8());
  const whole = new Table({ t: tv, a: av, b: bv, k: kv, s: sv });
  const batches: RecordBatch[] = [];
  for (let r = 0; r < N; r += BATCH) batches.push(...whole.slice(r, r + BATCH).batches);
  const file = path.join(dir, 'series.arrow');
  writeFileSync(file, tableToIPC(new Table(whole.schema, batches), 'file'));
  id = (await h.open({ location: file }, ctx())).entry.id;
  writeFileSync(path.join(dir, 't.bin'), Buffer.from(t.buffer));
  writeFileSync(path.join(dir, 'a.bin'), Buffer.from(Float64Array.from(a, (v, i) => (aNull[i] ? NaN : v)).buffer));
  writeFileSync(path.join(dir, 'b.bin'), Buffer.from(b.buffer));
  writeFileSync(path.join(dir, 'k.bin'), Buffer.from(Int32Array.from(kat, (v, i) => (katNull[i] ? -1 : v)).buffer));
}, 120_000);

// numpy's M4: per pixel column, first = smallest (x, row), last = largest (x, row), min = smallest
// (y, row), max = largest y then smallest row; before = largest (x, row) left of x0, after = smallest
// (x, row) at or right of x1. Rows: finite x and y, passing `keep`.
const PY = String.raw`
import json, sys, numpy as np
d, x0, x1, W, ycol, keep, cat = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6], int(sys.argv[7])
x = np.fromfile(d + '/t.bin', dtype='<f8')
y = np.fromfile(d + '/' + ycol + '.bin', dtype='<f8')
b = np.fromfile(d + '/b.bin', dtype='<f8')
k = np.fromfile(d + '/k.bin', dtype='<i4')
row = np.arange(len(x))
ok = np.isfinite(x) & np.isfinite(y)
if keep == 'b>50': ok &= b > 50
if cat >= 0: ok &= k == cat
def nums(v): return [None if not np.isfinite(q) else float(q) for q in v]
out = {}
ins = ok & (x >= x0) & (x < x1)
px = np.minimum(np.floor((x[ins] - x0) * (W / (x1 - x0))).astype(np.int64), W - 1)
xi, yi, ri = x[ins], y[ins], row[ins]
count = np.bincount(px, minlength=W).astype(float)
def pick(order, first):
  o = order
  p = px[o]
  if len(p) == 0: return np.full((W, 2), np.nan)
  idx = np.flatnonzero(np.r_[True, p[1:] != p[:-1]]) if first else np.flatnonzero(np.r_[p[1:] != p[:-1], True])
  res = np.full((W, 2), np.nan)
  res[p[idx], 0] = xi[o][idx]
  res[p[idx], 1] = yi[o][idx]
  return res
f = pick(np.lexsort((ri, xi, px)), True)
l = pick(np.lexsort((ri, xi, px)), False)
mn = pick(np.lexsort((ri, yi, px)), True)
mx = pick(np.lexsort((ri, -yi, px)), True)
out = dict(count=count.tolist(), firstX=nums(f[:,0]), firstY=nums(f[:,1]), lastX=nums(l[:,0]), lastY=nums(l[:,1]),
           minX=nums(mn[:,0]), minY=nums(mn[:,1]), maxX=nums(mx[:,0]), maxY=nums(mx[:,1]))
left = ok & (x < x0)
if left.any():
  o = np.lexsort((row[left], x[left])); out['before'] = [float(x[left][o[-1]]), float(y[left][o[-1]])]
else: out['before'] = None
right = ok & (x >= x1)
if right.any():
  o = np.lexsort((row[right], x[right])); out['after'] = [float(x[right][o[0]]), float(y[right][o[0]])]
else: out['after'] = None
print(json.dumps(out))
`;

function reference(p: { x0: number; x1: number; width: number }, y: 'a' | 'b', keep = '', cat = -1): Record<string, unknown> {
  return JSON.parse(execFileSync('python3', ['-c', PY, dir, String(p.x0), String(p.x1), String(p.width), y, keep || '-', String(cat)], { encoding: 'utf8', maxBuffer: 1 << 28 }));
}

const ARRAYS = ['count', 'firstX', 'firstY', 'lastX', 'lastY', 'minX', 'minY', 'maxX', 'maxY'] as const;

function expectSeries(s: LineSeries, ref: Record<string, unknown>): void {
  for (const k of ARRAYS) {
    const want = (ref[k] as (number | null)[]).map((v) => (v === null ? NaN : v));
    expect(Array.from(s[k]), k).toEqual(want);
  }
  expect(s.before).toEqual(ref.before);
  expect(s.after).toEqual(ref.after);
}

const line = async (p: Omit<LineParams, 'dataset'>): Promise<LineResult> => h.line({ dataset: id, ...p }, ctx());

describe('line (M4) against numpy', () => {
  let lo = 0, hi = 0;
  beforeAll(async () => {
    const r = await h.plotRanges({ dataset: id, columns: ['t'] }, ctx());
    lo = r[0]!.min;
    hi = r[0]!.max + 1;
  });

  it('full range, two y columns: every pixel column of each series equals the reference', async () => {
    const p = { x: 't', y: ['a', 'b'], x0: lo, x1: hi, width: 700 };
    const r = await line(p);
    expect(r.series.map((s) => s.y)).toEqual(['a', 'b']);
    expectSeries(r.series[0]!, reference(p, 'a'));
    expectSeries(r.series[1]!, reference(p, 'b'));
    // every row has a finite t and b; a lacks its nulls, NaN and the infinity
    const aBad = Array.from({ length: N }, (_, i) => aNull[i] || !Number.isFinite(a[i]!)).filter(Boolean).length;
    expect(r.used).toBe(2 * N - aBad);
    expect(r.nan).toBe(aBad);
    expect(r.rows).toBe(N);
  });

  it('after a pass over every row, views come from the block summaries: a few blocks read, the same M4 as numpy', async () => {
    // (the first test's unfiltered pass kept each y's M4 per 4096-row block; batches of 100,000
    // rows share blocks between morsels, which merge under a lock)
    await line({ x: 't', y: ['a', 'b'], x0: lo, x1: hi, width: 7 }); // (makes them, when this test runs alone)
    // (pixel columns of many blocks: most merged from summaries; of about one block: most read)
    const views: [Omit<LineParams, 'dataset'>, number][] = [
      [{ x: 't', y: ['a', 'b'], x0: lo, x1: hi, width: 60 }, N / 4],
      [{ x: 't', y: ['a'], x0: lo - 1e7, x1: hi + 1e7, width: 45 }, N / 4],
      [{ x: 't', y: ['a', 'b'], x0: lo, x1: hi, width: 517 }, N],
      [{ x: 't', y: ['b'], x0: t[600_100]! - 1e6, x1: t[600_900]! + 1e6, width: 640 }, N / 50],
      [{ x: 't', y: ['a'], x0: lo + (hi - lo) * 0.9, x1: lo + (hi - lo) * 0.9001, width: 300 }, N / 50],
    ];
    for (const [p, most] of views) {
      const r = await line(p);
      expect(r.scanned, JSON.stringify(p)).toBeLessThanOrEqual(most);
      p.y.forEach((y, k) => expectSeries(r.series[k]!, reference(p, y as 'a' | 'b')));
    }
    const r = await line({ x: 't', y: ['a'], x0: lo, x1: hi, width: 60 });
    const aBad = Array.from({ length: N }, (_, i) => aNull[i] || !Number.isFinite(a[i]!)).filter(Boolean).length;
    expect(r.used).toBe(N - aBad);
    expect(r.nan).toBe(aBad);
  });

  it('a 1% zoom reads only the zones of the range (and one on each side) and equals the reference, neighbours included', async () => {
    const x0 = lo + (hi - lo) * 0.3, x1 = x0 + (hi - lo) * 0.01;
    const p = { x: 't', y: ['a'], x0, x1, width: 1200 };
    const r = await line(p);
    expect(r.scanned).toBeDefined();
    expect(r.scanned!).toBeLessThan(N / 4);
    const ref = reference(p, 'a');
    expectSeries(r.series[0]!, ref);
    expect(r.series[0]!.before).not.toBeNull();
    expect(r.series[0]!.after).not.toBeNull();
  });

  it('a zoom over the stretch written out of order', async () => {
    const x0 = t[600_200]! - 50_000, x1 = t[600_200]! + 400_000;
    const p = { x: 't', y: ['a'], x0, x1, width: 333 };
    expectSeries((await line(p)).series[0]!, reference(p, 'a'));
  });

  it('the filter applies (and is cut to the zoom\'s rows)', async () => {
    const p = { x: 't', y: ['a'], x0: lo + (hi - lo) * 0.5, x1: lo + (hi - lo) * 0.52, width: 500 };
    const r = await line({ ...p, where: 'b > 50' });
    expectSeries(r.series[0]!, reference(p, 'a', 'b>50'));
    expect(r.filtered).toBeGreaterThan(0);
  });

  it('split by a dictionary column: a series per value, labelled; rows without a value are left out', async () => {
    const p = { x: 't', y: ['a'], x0: lo, x1: hi, width: 300, split: 'k' };
    const r = await line(p);
    expect(r.series.map((s) => s.label).sort()).toEqual([...LABELS].sort());
    for (const s of r.series) expectSeries(s, reference(p, 'a', '', LABELS.indexOf(s.label!)));
  });

  it('split by a plain string column gives the same series', async () => {
    const p = { x: 't', y: ['b'], x0: lo + 1e6, x1: hi - 1e6, width: 256 };
    const byDict = await line({ ...p, split: 'k' });
    const byText = await line({ ...p, split: 's' });
    const sorted = (r: LineResult) => [...r.series].sort((u, v) => u.label!.localeCompare(v.label!));
    expect(sorted(byText).map((s) => s.label)).toEqual(sorted(byDict).map((s) => s.label));
    sorted(byText).forEach((s, i) => expectSeries(s, reference(p, 'b', '', LABELS.indexOf(sorted(byDict)[i]!.label!))));
    expect(byText.used).toBe(byDict.used);
  });

  it('the polyline goes through the M4 points in x order, from the left neighbour to the right one', async () => {
    const x0 = lo + (hi - lo) * 0.7, x1 = x0 + (hi - lo) * 0.001;
    const r = await line({ x: 't', y: ['b'], x0, x1, width: 40 });
    const s = r.series[0]!;
    const pl = m4Polyline(s);
    for (let i = 1; i < pl.x.length; i++) expect(pl.x[i]!).toBeGreaterThanOrEqual(pl.x[i - 1]!);
    expect([pl.x[0], pl.y[0]]).toEqual(s.before);
    expect([pl.x[pl.x.length - 1], pl.y[pl.y.length - 1]]).toEqual(s.after);
    let lowest = Infinity;
    for (let i = 0; i < 40; i++) if (s.count[i]! > 0) lowest = Math.min(lowest, s.minY[i]!);
    expect(Math.min(...Array.from(pl.y.subarray(1, -1)))).toBe(lowest);
  });

  it('errors name the dataset and the problem', async () => {
    await expect(line({ x: 't', y: ['a'], x0: lo, x1: hi, width: 0 })).rejects.toMatchObject({ code: 'E_BAD_ARG', message: expect.stringContaining('series.arrow') });
    await expect(line({ x: 't', y: ['a'], x0: hi, x1: lo, width: 10 })).rejects.toMatchObject({ code: 'E_BAD_ARG' });
    await expect(line({ x: 't', y: ['nope'], x0: lo, x1: hi, width: 10 })).rejects.toMatchObject({ code: 'E_UNKNOWN_COLUMN', message: expect.stringContaining('"nope"') });
    await expect(line({ x: 's', y: ['a'], x0: lo, x1: hi, width: 10 })).rejects.toMatchObject({ code: 'E_BAD_TYPE', message: expect.stringContaining('"s"') });
    await expect(line({ x: 't', y: ['a', 'b'], x0: lo, x1: hi, width: 10, split: 'k' })).rejects.toMatchObject({ code: 'E_BAD_ARG', message: expect.stringContaining('exactly one y') });
    await expect(line({ x: 't', y: ['a'], x0: lo, x1: hi, width: 10, split: 'b' })).rejects.toMatchObject({ code: 'E_BAD_TYPE', message: expect.stringContaining('not a category') });
  });
});
