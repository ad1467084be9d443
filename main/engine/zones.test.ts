/**
 * Zone maps: the native per-block statistics equal those computed here from apache-arrow's own
 * reading of the same file (nulls, NaN, ±Infinity, int64, float32, blocks split inside record
 * batches); a viewport's pruned descriptors bin exactly what the whole columns bin; through the
 * engine, column ranges come from zones kept on disk (trusted while the file is unchanged, computed
 * again when it is replaced), and a zoomed density on ordered data reads only some blocks and
 * still equals a direct count.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Float32, Float64, Int64, Table, makeData, makeVector, tableFromIPC, tableToIPC, vectorFromArray } from 'apache-arrow';
import { bin2d, type ColumnDesc } from '../../native/index';
import { pruneRows, sliceRows, zoneMaps, zoneRange } from '../../native/zones';
import { isSupported, readArrowColumns } from './columns/arrow';
import { createEngineHandlers } from './service';
import { derivedPrefix } from './zones';
import type { HandlerContext } from '../../shared/rpc';

const ctx = (): HandlerContext => ({ signal: new AbortController().signal, progress: () => {}, connection: 'test' });
const dir = mkdtempSync(path.join(os.tmpdir(), 'cdx-zones-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let seed = 7;
const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);

/** a float64 vector with nulls where `nul(i)` */
function withNulls(values: Float64Array, nul: (i: number) => boolean) {
  const n = values.length;
  const bitmap = new Uint8Array(Math.ceil(n / 8));
  let nulls = 0;
  for (let i = 0; i < n; i++) {
    if (nul(i)) nulls++;
    else bitmap[i >> 3]! |= 1 << (i & 7);
  }
  return makeVector(makeData({ type: new Float64(), length: n, nullCount: nulls, data: values, nullBitmap: bitmap }));
}

/** `batches` record batches of `rows` rows each: sorted x (so blocks are narrow), y, a nullable v, int64 k, float32 f */
function writeFile(file: string, batches: number, rows: number): void {
  let t: Table | null = null;
  for (let b = 0; b < batches; b++) {
    const x = new Float64Array(rows), y = new Float64Array(rows), v = new Float64Array(rows), f = new Float32Array(rows);
    const k = new BigInt64Array(rows);
    for (let i = 0; i < rows; i++) {
      const r = b * rows + i;
      x[i] = r / 100 + rnd() * 0.01;
      y[i] = rnd() * 10;
      v[i] = r % 997 === 5 ? NaN : r === 12_345 ? Infinity : r === 777 ? -Infinity : rnd() * 100 - 50;
      f[i] = Math.fround(rnd() * 2 - 1);
      k[i] = BigInt(r) * 3_000_000_000_000n - 2n ** 62n;
    }
    if (b === 2) y[17] = NaN; // one block of y holds a NaN: never skipped
    const piece = new Table({
      x: vectorFromArray(x), y: vectorFromArray(y),
      v: withNulls(v, (i) => (b * rows + i) % 13 === 0 || b === 3),
      k: makeVector(makeData({ type: new Int64(), length: rows, data: k })),
      f: makeVector(makeData({ type: new Float32(), length: rows, data: f })),
    });
    t = t ? t.concat(piece) : piece;
  }
  writeFileSync(file, tableToIPC(t!, 'file'));
}

/** per-block reference statistics from apache-arrow's own reading */
function reference(file: string, name: string, zoneRows: number) {
  const t = tableFromIPC(readFileSync(file));
  const out: { start: number; rows: number; min: number; max: number; fmin: number; fmax: number; nulls: number; nans: number }[] = [];
  let row = 0;
  for (const b of t.batches) {
    const col = b.getChild(name)!;
    for (let s = 0; s < b.numRows; s += zoneRows) {
      const e = Math.min(b.numRows, s + zoneRows);
      const z = { start: row + s, rows: e - s, min: Infinity, max: -Infinity, fmin: Infinity, fmax: -Infinity, nulls: 0, nans: 0 };
      for (let i = s; i < e; i++) {
        const raw = col.get(i);
        if (raw === null) { z.nulls++; continue; }
        const v = Number(raw);
        if (Number.isNaN(v)) { z.nans++; continue; }
        z.min = Math.min(z.min, v);
        z.max = Math.max(z.max, v);
        if (Number.isFinite(v)) {
          z.fmin = Math.min(z.fmin, v);
          z.fmax = Math.max(z.fmax, v);
        }
      }
      out.push(z);
    }
    row += b.numRows;
  }
  return out;
}

function column(file: string, name: string): ColumnDesc {
  const c = readArrowColumns(file).columns.find((q) => q.name === name);
  if (!c || !isSupported(c)) throw new Error(`no column ${name}`);
  return c;
}

describe('zone maps', () => {
  const file = path.join(dir, 'z.arrow');
  beforeAll(() => writeFile(file, 6, 5000));

  it('equal per-block statistics computed from the same file by apache-arrow', async () => {
    for (const name of ['x', 'v', 'k', 'f']) {
      const c = column(file, name);
      const z = await zoneMaps(c, { zoneRows: 1024 });
      const ref = reference(file, name, 1024);
      expect(z.start.length).toBe(ref.length);
      ref.forEach((r, i) => {
        expect([z.start[i], z.rows[i], z.nulls[i], z.nans[i]]).toEqual([r.start, r.rows, r.nulls, r.nans]);
        expect(z.min[i]).toBe(r.min);
        expect(z.max[i]).toBe(r.max);
        expect(z.finiteMin[i]).toBe(r.fmin);
        expect(z.finiteMax[i]).toBe(r.fmax);
      });
    }
  });

  it('a viewport binned through the pruned descriptors equals the whole columns, and fewer rows are read', async () => {
    const x = column(file, 'x'), y = column(file, 'y');
    const zx = await zoneMaps(x, { zoneRows: 1024 }), zy = await zoneMaps(y, { zoneRows: 1024 });
    for (const [x0, x1, y0, y1] of [[30, 60, 0, 10], [101, 102.5, 2, 3], [0, 1e6, 0, 10], [-5, -1, 0, 10], [120, 180, 0, 10]] as const) {
      const cut = pruneRows(zx, zy, x0, x1, y0, y1);
      const full = await bin2d({ x, y, x0, x1, y0, y1, width: 37, height: 23 });
      const part = await bin2d({ x: sliceRows(x, cut.keep), y: sliceRows(y, cut.keep), x0, x1, y0, y1, width: 37, height: 23 });
      expect(Array.from(part.counts)).toEqual(Array.from(full.counts));
      expect(part.rows + cut.skipped).toBe(full.rows);
      expect(part.outside + cut.skipped).toBe(full.outside);
      expect(part.nan).toBe(full.nan);
      if (x1 - x0 < 100) expect(cut.skipped).toBeGreaterThan(full.rows / 2);
    }
    // the block with a NaN y (rows 10,000..) is kept even where its x is far outside the view
    const cut = pruneRows(zx, zy, 250, 260, 0, 10);
    expect(cut.keep.some(([a, b]) => a <= 10_017 && b > 10_017)).toBe(true);
    expect(zoneRange(zx)).toEqual({ min: Math.min(...reference(file, 'x', 1e9).map((r) => r.min)), max: Math.max(...reference(file, 'x', 1e9).map((r) => r.max)) });
  });

  it('a nullable column sliced keeps its nulls (validity read from the right bit)', async () => {
    const v = column(file, 'v');
    const ranges: [number, number][] = [[3, 1500], [4999, 5003], [15_001, 16_050]];
    const z = await zoneMaps(sliceRows(v, ranges), { zoneRows: 1024 });
    let nulls = 0, nans = 0, want = 0, wantNan = 0;
    for (let i = 0; i < z.nulls.length; i++) { nulls += z.nulls[i]!; nans += z.nans[i]!; }
    const t = tableFromIPC(readFileSync(file)).getChild('v')!;
    for (const [a, b] of ranges) for (let r = a; r < b; r++) {
      const val = t.get(r);
      if (val === null) want++;
      else if (Number.isNaN(val)) wantNan++;
    }
    expect([nulls, nans]).toEqual([want, wantNan]);
  });
});

describe('zone maps through the engine', () => {
  const file = path.join(dir, 'e.arrow');
  const home = path.join(dir, 'home');
  beforeAll(() => writeFile(file, 8, 70_000));

  it('ranges from zones, kept on disk: trusted while the file is unchanged, computed again after it is replaced', async () => {
    const h = createEngineHandlers({ home, samplePath: null });
    const id = (await h.open({ location: file }, ctx())).entry.id;
    const r = await h.plotRanges({ dataset: id, columns: ['x', 'v', 'k', 'f'] }, ctx());
    const ref = (name: string, finite = false) => {
      const t = tableFromIPC(readFileSync(file)).getChild(name)!;
      let lo = Infinity, hi = -Infinity;
      for (let i = 0; i < t.length; i++) {
        const v = t.get(i) === null ? NaN : Number(t.get(i));
        if (Number.isNaN(v) || (finite && !Number.isFinite(v))) continue;
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
      return [lo, hi];
    };
    expect([r[0]!.min, r[0]!.max]).toEqual(ref('x'));
    // v holds ±Infinity: the range of its finite values
    expect(ref('v')).toEqual([-Infinity, Infinity]);
    expect([r[1]!.min, r[1]!.max]).toEqual(ref('v', true));
    expect(Math.abs(r[1]!.min)).toBeLessThan(51);
    expect([r[2]!.min, r[2]!.max]).toEqual(ref('k'));
    expect([r[3]!.min, r[3]!.max]).toEqual(ref('f'));
    await h.close();

    const zdir = path.join(home, 'cache', 'zones');
    const files = readdirSync(zdir);
    expect(files.filter((f) => f.endsWith('.zones'))).toHaveLength(4);
    expect(files.filter((f) => f.includes('.tmp-'))).toHaveLength(0);
    // a later process trusts them: alter the stored x minimum and see it come back
    const xs = path.join(zdir, derivedPrefix(file) + createHash('sha256').update('x').digest('hex').slice(0, 16) + '.zones');
    const buf = readFileSync(xs);
    const at = Math.ceil((buf.indexOf(10, 10) + 1) / 8) * 8;
    const n = (buf.length - at) / 64;
    buf.writeDoubleLE(-1234.5, at + 4 * n * 8); // finite min of zone 0
    writeFileSync(xs, buf);
    const h2 = createEngineHandlers({ home, samplePath: null });
    const id2 = (await h2.open({ location: file }, ctx())).entry.id;
    expect((await h2.plotRanges({ dataset: id2, columns: ['x'] }, ctx()))[0]!.min).toBe(-1234.5);
    await h2.close();

    // the file replaced (new content, new mtime): the old zones are not used
    writeFile(file, 8, 70_000);
    const later = new Date(statSync(file).mtimeMs + 5000);
    utimesSync(file, later, later);
    const h3 = createEngineHandlers({ home, samplePath: null });
    const id3 = (await h3.open({ location: file }, ctx())).entry.id;
    expect((await h3.plotRanges({ dataset: id3, columns: ['x'] }, ctx()))[0]!.min).toBe(ref('x')[0]);
    await h3.close();
  });

  it('a zoomed density over ordered data reads some blocks only and equals a direct count', async () => {
    const h = createEngineHandlers({ home: path.join(dir, 'home2'), samplePath: null });
    const id = (await h.open({ location: file }, ctx())).entry.id;
    await h.plotRanges({ dataset: id, columns: ['x', 'y'] }, ctx()); // the zones
    const t = tableFromIPC(readFileSync(file));
    const X = t.getChild('x')!.toArray() as Float64Array, Y = t.getChild('y')!.toArray() as Float64Array;
    const v = { x0: 2000, x1: 2100, y0: 1, y1: 9 }, W = 40, H = 30;
    const d = await h.density({ dataset: id, x: 'x', y: 'y', ...v, width: W, height: H }, ctx());
    const g = new Uint32Array(W * H);
    let nan = 0;
    for (let i = 0; i < X.length; i++) {
      const x = X[i]!, y = Y[i]!;
      if (Number.isNaN(x) || Number.isNaN(y)) { nan++; continue; }
      if (x < v.x0 || x >= v.x1 || y < v.y0 || y >= v.y1) continue;
      g[Math.min(H - 1, Math.floor(((y - v.y0) / (v.y1 - v.y0)) * H)) * W + Math.min(W - 1, Math.floor(((x - v.x0) / (v.x1 - v.x0)) * W))]!++;
    }
    expect(Array.from(d.counts)).toEqual(Array.from(g));
    expect(d.rows).toBe(X.length);
    expect(d.nan).toBe(nan);
    expect(d.outside).toBe(X.length - d.binned - nan);
    // 100 of 5,600 x units: a few 65,536-row blocks of 560,000 rows
    expect(d.scanned).toBeLessThanOrEqual(3 * 65_536);
    // the whole extent reads everything
    const all = await h.density({ dataset: id, x: 'x', y: 'y', x0: 0, x1: 6000, y0: 0, y1: 10, width: W, height: H }, ctx());
    expect(all.scanned).toBeUndefined();
    expect(all.rows).toBe(X.length);
    await h.close();
  });

  it('two requests for the ranges at once: the first cancelled, the second still gets them', async () => {
    const h = createEngineHandlers({ home: path.join(dir, 'home3'), samplePath: null });
    try {
      const id = (await h.open({ location: file }, ctx())).entry.id;
      const ac = new AbortController();
      const first = h.plotRanges({ dataset: id, columns: ['x', 'f'] }, { ...ctx(), signal: ac.signal });
      const second = h.plotRanges({ dataset: id, columns: ['x', 'f'] }, ctx());
      ac.abort();
      await expect(first).rejects.toMatchObject({ code: 'E_CANCELLED' });
      const r = await second;
      const zs = reference(file, 'x', 1e9);
      expect([r[0]!.min, r[0]!.max]).toEqual([Math.min(...zs.map((z) => z.min)), Math.max(...zs.map((z) => z.max))]);
    } finally {
      h.close();
    }
  });
});
