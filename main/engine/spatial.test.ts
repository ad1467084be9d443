/**
 * Spatially ordered copies: the native copy holds exactly the rows' (x, y) pairs (a permutation;
 * nulls as NaN, last) in Z-order of their cells, checked with a Morton key computed here; through
 * the engine a zoomed density reads the copy's blocks of the view only and equals a direct count
 * over the original rows; a removed dataset takes its copies and zone maps with it; a copy that
 * cannot be written is an error that leaves nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Float32, Float64, Int32, Table, makeData, makeVector, tableToIPC } from 'apache-arrow';
import { spatialCopy } from '../../native/spatial';
import { isSupported, readArrowColumns } from './columns/arrow';
import { createEngineHandlers } from './service';
import { spatialBuilds } from './spatial';
import type { HandlerContext } from '../../shared/rpc';
import type { ColumnDesc } from '../../native/index';

const ctx = (): HandlerContext => ({ signal: new AbortController().signal, progress: () => {}, connection: 'test' });
const dir = mkdtempSync(path.join(os.tmpdir(), 'cdx-spatial-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let seed = 99;
const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const N = 60_000, BATCH = 7_000;
const X = new Float64Array(N), Y = new Float32Array(N), K = new Int32Array(N);
const xNull = (i: number) => i % 101 === 3;

beforeAll(() => {
  for (let i = 0; i < N; i++) {
    // clustered: most points in two blobs, a few everywhere, NaN, ±Inf
    const c = i % 3;
    X[i] = c === 0 ? rnd() * 1000 : c === 1 ? 200 + rnd() * 5 : 700 + rnd() * 50;
    Y[i] = Math.fround(c === 0 ? rnd() * 100 : c === 1 ? 20 + rnd() : 60 + rnd() * 10);
    K[i] = Math.floor(rnd() * 1000);
  }
  X[5] = NaN; Y[9] = NaN; X[11] = Infinity; Y[13] = -Infinity;
  let t: Table | null = null;
  for (let a = 0; a < N; a += BATCH) {
    const n = Math.min(BATCH, N - a);
    const bitmap = new Uint8Array(Math.ceil(n / 8));
    let nulls = 0;
    for (let i = 0; i < n; i++) (xNull(a + i) ? nulls++ : (bitmap[i >> 3]! |= 1 << (i & 7)));
    const piece = new Table({
      x: makeVector(makeData({ type: new Float64(), length: n, nullCount: nulls, data: X.subarray(a, a + n), nullBitmap: bitmap })),
      y: makeVector(makeData({ type: new Float32(), length: n, data: Y.subarray(a, a + n) })),
      k: makeVector(makeData({ type: new Int32(), length: n, data: K.subarray(a, a + n) })),
    });
    t = t ? t.concat(piece) : piece;
  }
  writeFileSync(path.join(dir, 'pts.arrow'), tableToIPC(t!, 'file'));
});

function column(name: string): ColumnDesc {
  const c = readArrowColumns(path.join(dir, 'pts.arrow')).columns.find((q) => q.name === name);
  if (!c || !isSupported(c)) throw new Error(name);
  return c;
}

/** the Morton key of a point on a 2^bits grid over the range, as the copy must order them (NaN last) */
function morton(x: number, y: number, r: { x0: number; x1: number; y0: number; y1: number }, bits: number): number {
  if (Number.isNaN(x) || Number.isNaN(y)) return 4 ** bits;
  const side = 2 ** bits;
  const q = (v: number, lo: number, hi: number) => Math.floor(Math.min(side - 1, Math.max(0, (v - lo) * (side / (hi - lo)))));
  const qx = q(x, r.x0, r.x1), qy = q(y, r.y0, r.y1);
  let k = 0;
  for (let b = 0; b < bits; b++) k += (((qx >> b) & 1) * 2 ** (2 * b)) + (((qy >> b) & 1) * 2 ** (2 * b + 1));
  return k;
}

describe('spatial copy (native)', () => {
  it('holds the same (x, y) pairs, nulls as NaN, in Z-order of their cells', async () => {
    const r = { x0: 0, x1: 1000, y0: 0, y1: 100 };
    for (const bits of [3, 7]) {
      const out = path.join(dir, `copy-${bits}.xy`);
      const res = await spatialCopy(column('x'), column('y'), { ...r, bits, out, float32: false });
      expect(res.rows).toBe(N);
      const buf = readFileSync(out);
      expect(buf.length).toBe(N * 16);
      const cx = new Float64Array(buf.buffer, buf.byteOffset, N), cy = new Float64Array(buf.buffer, buf.byteOffset + N * 8, N);
      // a permutation of the original pairs
      const key = (x: number, y: number) => `${x},${y}`;
      const want = new Map<string, number>();
      let nan = 0;
      for (let i = 0; i < N; i++) {
        const x = xNull(i) ? NaN : X[i]!, y = Y[i]!;
        if (Number.isNaN(x) || Number.isNaN(y)) { nan++; continue; }
        want.set(key(x, y), (want.get(key(x, y)) ?? 0) + 1);
      }
      expect(res.nan).toBe(nan);
      for (let i = 0; i < N; i++) {
        if (Number.isNaN(cx[i]!) || Number.isNaN(cy[i]!)) { expect(Number.isNaN(cx[i]!) && Number.isNaN(cy[i]!)).toBe(true); continue; }
        const k = key(cx[i]!, cy[i]!);
        expect(want.get(k)).toBeGreaterThan(0);
        want.set(k, want.get(k)! - 1);
      }
      expect([...want.values()].every((v) => v === 0)).toBe(true);
      // ordered by Morton key, the NaN rows last
      let prev = -1;
      for (let i = 0; i < N; i++) {
        const m = morton(cx[i]!, cy[i]!, r, bits);
        expect(m).toBeGreaterThanOrEqual(prev);
        prev = m;
      }
    }
  });

  it('float32 output of float32 columns; a file that cannot be written is an error that leaves nothing', async () => {
    const y = column('y');
    const out = path.join(dir, 'f32.xy');
    await spatialCopy(y, y, { x0: 0, x1: 100, y0: 0, y1: 100, bits: 4, out, float32: true });
    expect(readFileSync(out).length).toBe(N * 8);
    const bad = path.join(dir, 'no-such-folder', 'c.xy');
    await expect(spatialCopy(y, y, { x0: 0, x1: 100, y0: 0, y1: 100, bits: 4, out: bad, float32: true })).rejects.toMatchObject({ code: 'E_WRITE', message: expect.stringContaining(bad) });
    expect(existsSync(bad)).toBe(false);
    await expect(spatialCopy(y, y, { x0: 0, x1: 0, y0: 0, y1: 100, bits: 4, out, float32: true })).rejects.toMatchObject({ code: 'E_BAD_ARG' });
  });
});

describe('spatial copy through the engine', () => {
  it('a zoomed density reads a few blocks of the copy and equals a direct count; removing the dataset removes its copies', async () => {
    process.env.CDX_SPATIAL_MIN_ROWS = '0';
    const home = path.join(dir, 'home');
    const h = createEngineHandlers({ home, samplePath: null });
    try {
      const file = path.join(dir, 'pts.arrow');
      // 20 copies of the rows (1.2M)
      const big = path.join(dir, 'big.arrow');
      const src = readFileSync(file);
      const t = (await import('apache-arrow')).tableFromIPC(src);
      let all = t;
      for (let i = 1; i < 20; i++) all = all.concat(t);
      writeFileSync(big, tableToIPC(all, 'file'));
      const reps = 20;
      const ov = await h.open({ location: big }, ctx());
      const id = ov.entry.id;
      const v = { x0: 200, x1: 206, y0: 19.5, y1: 21.5 }, W = 64, H = 48;
      const before = await h.density({ dataset: id, x: 'x', y: 'y', ...v, width: W, height: H }, ctx());
      // the build was started by that request; wait for it
      expect(before.scanned).toBeUndefined();
      await spatialBuilds();
      const after = await h.density({ dataset: id, x: 'x', y: 'y', ...v, width: W, height: H }, ctx());
      expect(Array.from(after.counts)).toEqual(Array.from(before.counts));
      expect([after.rows, after.binned, after.outside, after.nan]).toEqual([before.rows, before.binned, before.outside, before.nan]);
      // a direct count over the original rows
      const g = new Uint32Array(W * H);
      let binned = 0;
      for (let i = 0; i < N; i++) {
        const x = xNull(i) ? NaN : X[i]!, y = Y[i]!;
        if (!(x >= v.x0 && x < v.x1 && y >= v.y0 && y < v.y1)) continue;
        g[Math.min(H - 1, Math.floor(((y - v.y0) / (v.y1 - v.y0)) * H)) * W + Math.min(W - 1, Math.floor(((x - v.x0) / (v.x1 - v.x0)) * W))]! += reps;
        binned += reps;
      }
      expect(Array.from(after.counts)).toEqual(Array.from(g));
      expect(after.binned).toBe(binned);
      // the blob of a third of the rows sits in this view; the rest of the copy is skipped
      expect(after.scanned).toBeLessThan(after.rows / 2);
      const spatial = path.join(home, 'cache', 'spatial');
      expect(readdirSync(spatial).filter((f) => f.endsWith('.xy'))).toHaveLength(1);
      await h.removeDataset({ dataset: id }, ctx());
      expect(readdirSync(spatial)).toEqual([]);
      expect(readdirSync(path.join(home, 'cache', 'zones'))).toEqual([]);
    } finally {
      delete process.env.CDX_SPATIAL_MIN_ROWS;
      await h.close();
    }
  }, 60_000);

  it('an engine that stops cancels a build under way and leaves no partial file; a one-command engine starts none', async () => {
    process.env.CDX_SPATIAL_MIN_ROWS = '0';
    const home = path.join(dir, 'home3');
    const h = createEngineHandlers({ home, samplePath: null });
    try {
      const { tableFromIPC } = await import('apache-arrow');
      const t = tableFromIPC(readFileSync(path.join(dir, 'pts.arrow')));
      let all = t;
      for (let i = 1; i < 100; i++) all = all.concat(t);
      const big = path.join(dir, 'big6m.arrow');
      writeFileSync(big, tableToIPC(all, 'file'));
      const id = (await h.open({ location: big }, ctx())).entry.id;
      await h.plotRanges({ dataset: id, columns: ['x', 'y'] }, ctx());
      // a one-command engine (the CLI's): no build starts
      process.env.CDX_BACKGROUND_WORK = '0';
      await h.density({ dataset: id, x: 'x', y: 'y', x0: 0, x1: 1000, y0: 0, y1: 100, width: 8, height: 8 }, ctx());
      await spatialBuilds();
      expect(existsSync(path.join(home, 'cache', 'spatial'))).toBe(false);
      delete process.env.CDX_BACKGROUND_WORK;
      // the app's engine starts one; stopped while it writes
      await h.density({ dataset: id, x: 'x', y: 'y', x0: 0, x1: 1000, y0: 0, y1: 100, width: 8, height: 8 }, ctx());
      const spatial = path.join(home, 'cache', 'spatial');
      const t0 = Date.now();
      while (!(existsSync(spatial) && readdirSync(spatial).some((f) => f.includes('.partial-'))) && Date.now() - t0 < 20_000) await new Promise((r) => setTimeout(r, 1));
      expect(readdirSync(spatial).some((f) => f.includes('.partial-'))).toBe(true);
      h.close();
      await spatialBuilds();
      expect(readdirSync(spatial)).toEqual([]);
    } finally {
      delete process.env.CDX_SPATIAL_MIN_ROWS;
      delete process.env.CDX_BACKGROUND_WORK;
      h.close();
    }
  }, 60_000);
});
