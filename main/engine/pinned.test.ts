/**
 * Files pinned (issue 16): a dataset's column descriptors hold the mapping of the file they were
 * read from, and a file replaced under the same name (a new file renamed over it), rewritten or
 * truncated in place is noticed (size, mtime, inode) and the dataset opened again — summaries and
 * rows are of the file as it is now (checked against an independent read: apache-arrow, the bytes
 * of the NPY array, DuckDB for a CSV), never values read at the old offsets of the new file, and a
 * truncated file is a clear error, never a crash.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, renameSync, rmSync, statSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Float64, Int32, Table, Utf8, makeVector, tableFromIPC, tableToIPC, vectorFromArray } from 'apache-arrow';
import { createEngineHandlers } from './service';
import { Datasets } from './datasets';
import { columnZones, zoneHome } from './zones';
import { duckQuery } from './sources/testing/oracle';
import type { HandlerContext } from '../../shared/rpc';

const ctx = (): HandlerContext => ({ signal: new AbortController().signal, progress: () => {}, connection: 'test' });
const dir = mkdtempSync(path.join(os.tmpdir(), 'cdx-pinned-'));
const h = createEngineHandlers({ home: path.join(dir, 'home'), samplePath: null });
afterAll(() => {
  h.close();
  rmSync(dir, { recursive: true, force: true });
});

/** an uncompressed Arrow IPC file: x float64, k int32, s utf8 (strings of varying length, so offsets move) */
function arrowBytes(n: number, seed: number): Uint8Array {
  const x = Float64Array.from({ length: n }, (_, i) => seed * 1000 + i * 0.5);
  const k = Int32Array.from({ length: n }, (_, i) => (i * seed) % 97);
  const s = Array.from({ length: n }, (_, i) => `v${seed}-${'z'.repeat((i * 7) % 13)}${i}`);
  const t = new Table({ x: makeVector({ type: new Float64(), data: x }), k: makeVector({ type: new Int32(), data: k }), s: vectorFromArray(s, new Utf8()) });
  return tableToIPC(t, 'file');
}

/** an NPY file of float64 values */
function npyBytes(values: Float64Array): Uint8Array {
  let head = `{'descr': '<f8', 'fortran_order': False, 'shape': (${values.length},), }`;
  head += ' '.repeat(63 - ((10 + head.length) % 64)) + '\n';
  const out = new Uint8Array(10 + head.length + values.byteLength);
  out.set([0x93, ...Buffer.from('NUMPY'), 1, 0, head.length & 0xff, head.length >> 8]);
  out.set(Buffer.from(head, 'latin1'), 10);
  out.set(new Uint8Array(values.buffer), 10 + head.length);
  return out;
}

/**
 * Replaces `file` the way editors and tools do: a new file written beside it and renamed over it.
 * `keepTimes`: with the old file's modification time (cp -p, a restore), which must be whole
 * seconds (wholeSeconds) for utimes to give it back exactly: then only the inode tells them apart.
 */
function replace(file: string, bytes: Uint8Array | string, keepTimes = false): void {
  const old = statSync(file);
  const tmp = file + '.new';
  writeFileSync(tmp, bytes);
  if (keepTimes) {
    expect(old.mtimeMs % 1000).toBe(0);
    utimesSync(tmp, old.mtimeMs / 1000, old.mtimeMs / 1000);
  }
  renameSync(tmp, file);
  if (keepTimes) expect(statSync(file).mtimeMs).toBe(old.mtimeMs);
}

/** Sets a file's times to a whole second (before it is opened, so that `replace(…, true)` can keep them). */
function wholeSeconds(file: string): void {
  const t = Math.floor(Date.now() / 1000) - 60;
  utimesSync(file, t, t);
}

/** summary numbers and every row of x, k, s as the engine gives them now */
async function engineView(id: string) {
  const s = await h.summary({ dataset: id, columns: ['x', 'k', 's'] }, ctx());
  const ov = await h.overview({ dataset: id }, ctx());
  const r = await h.rows({ dataset: id, offset: 0, limit: ov.rows, columns: ['x', 'k', 's'] }, ctx());
  const t = tableFromIPC(r.ipc);
  const col = (n: string) => s.columns.find((c) => c.name === n)!;
  return {
    rows: ov.rows,
    x: { count: col('x').count, min: col('x').min, max: col('x').max, mean: col('x').mean },
    k: { min: col('k').min, max: col('k').max },
    sDistinct: col('s').distinct,
    values: { x: [...t.getChild('x')!.toArray()], k: [...t.getChild('k')!.toArray()], s: [...t.getChild('s')!].map(String) },
  };
}

/** the same, read independently from the file's bytes by apache-arrow */
function arrowView(file: string) {
  const t = tableFromIPC(readFileSync(file));
  const x = [...t.getChild('x')!.toArray()] as number[], k = [...t.getChild('k')!.toArray()] as number[], s = [...t.getChild('s')!].map(String);
  return {
    rows: t.numRows,
    x: { count: x.length, min: Math.min(...x), max: Math.max(...x), mean: x.reduce((a, b) => a + b, 0) / x.length },
    k: { min: Math.min(...k), max: Math.max(...k) },
    sDistinct: new Set(s).size,
    values: { x, k, s },
  };
}

describe('files pinned: a file replaced under the same name is read anew', () => {
  it('an Arrow file mapped in place: renamed over (other rows, other offsets; then same size and mtime), rewritten in place', async () => {
    const file = path.join(dir, 'a.arrow');
    writeFileSync(file, arrowBytes(1000, 1));
    const ov = await h.open({ location: file }, ctx());
    expect(ov.storage).toEqual({ kind: 'in-place', path: file });
    const id = ov.entry.id;
    expect(await engineView(id)).toEqual(arrowView(file));

    replace(file, arrowBytes(1500, 2));
    wholeSeconds(file);
    expect(await engineView(id)).toEqual(arrowView(file));

    // the same length, size and modification time: only the inode differs
    const same = arrowBytes(1500, 3);
    expect(same.length).toBe(statSync(file).size);
    replace(file, same, true);
    expect(await engineView(id)).toEqual(arrowView(file));

    // rewritten in place (the same inode, new contents)
    writeFileSync(file, arrowBytes(700, 4));
    expect(await engineView(id)).toEqual(arrowView(file));
  });

  it('an NPY array mapped in place, replaced by one of the same size', async () => {
    const file = path.join(dir, 'v.npy');
    const a = Float64Array.from({ length: 5000 }, (_, i) => i);
    writeFileSync(file, npyBytes(a));
    wholeSeconds(file);
    const ov = await h.open({ location: file }, ctx());
    expect(ov.storage.kind).toBe('in-place');
    const id = ov.entry.id;
    const col = async () => (await h.summary({ dataset: id }, ctx())).columns[0]!;
    expect(await col()).toMatchObject({ count: 5000, min: 0, max: 4999 });
    const b = Float64Array.from({ length: 5000 }, (_, i) => -2 * i - 1);
    replace(file, npyBytes(b), true);
    // the independent read: the array's own bytes
    const back = new Float64Array(readFileSync(file).buffer.slice(128));
    expect(await col()).toMatchObject({ count: 5000, min: Math.min(...back), max: Math.max(...back), mean: back.reduce((s, v) => s + v, 0) / back.length });
    const t = tableFromIPC((await h.rows({ dataset: id, offset: 4990, limit: 10 }, ctx())).ipc);
    expect([...t.getChildAt(0)!.toArray()]).toEqual([...back.subarray(4990)]);
  });

  it('a CSV read through the cache: replaced, it is ingested again; another engine on the same data folder follows', async () => {
    const file = path.join(dir, 'p.csv');
    const csv = (n: number, seed: number) => 'x,k,s\n' + Array.from({ length: n }, (_, i) => `${seed * 10 + i},${(i * seed) % 7},w${seed}_${i % 50}`).join('\n') + '\n';
    writeFileSync(file, csv(2000, 1));
    const ov = await h.open({ location: file }, ctx());
    expect(ov.storage.kind).toBe('cache');
    const id = ov.entry.id;
    const duck = async () => {
      const [[n, mn, mx, avg, kmin, kmax, d]] = (await duckQuery(
        `SELECT count(x), min(x)::DOUBLE, max(x)::DOUBLE, avg(x)::DOUBLE, min(k)::DOUBLE, max(k)::DOUBLE, count(DISTINCT s) FROM read_csv('${file}')`,
      )) as [[bigint, number, number, number, number, number, bigint]];
      return { rows: Number(n), x: { count: Number(n), min: mn, max: mx, mean: avg }, k: { min: kmin, max: kmax }, sDistinct: Number(d) };
    };
    const mine = async (engine = h, dataset = id) => {
      const s = await engine.summary({ dataset, columns: ['x', 'k', 's'] }, ctx());
      const col = (n: string) => s.columns.find((c) => c.name === n)!;
      return { rows: s.rows, x: { count: col('x').count, min: col('x').min, max: col('x').max, mean: col('x').mean }, k: { min: col('k').min, max: col('k').max }, sDistinct: col('s').distinct };
    };
    expect(await mine()).toEqual(await duck());
    replace(file, csv(3000, 2));
    expect(await mine()).toEqual(await duck());

    // a second engine (the CLI, `cdx serve`) re-ingests the changed file into the same cache file
    // (renamed over it); the first engine notices the source changed and maps the new cache
    const h2 = createEngineHandlers({ home: path.join(dir, 'home'), samplePath: null });
    try {
      replace(file, csv(2500, 3));
      const ov2 = await h2.open({ location: file }, ctx());
      expect(ov2.storage.path).toBe(ov.storage.path);
      expect(await mine(h2, ov2.entry.id)).toEqual(await duck());
      expect(await mine()).toEqual(await duck());
    } finally {
      h2.close();
    }

    // replaced by a file of the same size and modification time (cp -p, a restore): the catalog's
    // freshness (size, mtime) cannot see it, the pinned identity (inode) does: ingested again
    const fixed = (seed: number) => 'x,k,s\n' + Array.from({ length: 2500 }, (_, i) => `${seed * 100000 + i},${(i * seed) % 7},w${seed}_${String(i % 50).padStart(2, '0')}`).join('\n') + '\n';
    replace(file, fixed(5));
    wholeSeconds(file);
    expect(await mine()).toEqual(await duck());
    replace(file, fixed(6), true);
    expect(await mine()).toEqual(await duck());
    expect((await mine()).x.min).toBe(600000);
  });

  it('a file truncated in place is a clear error naming it, never a crash; written again, it is read again', async () => {
    const file = path.join(dir, 't.arrow');
    writeFileSync(file, arrowBytes(20000, 5));
    const id = (await h.open({ location: file }, ctx())).entry.id;
    expect(await engineView(id)).toEqual(arrowView(file));
    truncateSync(file, Math.floor(statSync(file).size / 2));
    await expect(h.summary({ dataset: id, columns: ['x', 's'] }, ctx())).rejects.toMatchObject({ message: expect.stringContaining('t.arrow') });
    await expect(h.rows({ dataset: id, offset: 19990, limit: 10 }, ctx())).rejects.toMatchObject({ message: expect.stringContaining('t.arrow') });
    writeFileSync(file, arrowBytes(300, 6));
    expect(await engineView(id)).toEqual(arrowView(file));

    const npy = path.join(dir, 't.npy');
    writeFileSync(npy, npyBytes(Float64Array.from({ length: 100_000 }, (_, i) => i)));
    const nid = (await h.open({ location: npy }, ctx())).entry.id;
    expect((await h.summary({ dataset: nid }, ctx())).columns[0]).toMatchObject({ count: 100_000, max: 99_999 });
    truncateSync(npy, 4096);
    await expect(h.summary({ dataset: nid }, ctx())).rejects.toMatchObject({ code: 'E_TRUNCATED', message: expect.stringContaining('t.npy') });
  });

  it('zone maps that a request on the old version computes are never taken for the new one', async () => {
    const d = new Datasets(path.join(dir, 'home-zones'), null);
    try {
      const file = path.join(dir, 'z.arrow');
      writeFileSync(file, arrowBytes(100_000, 1));
      const ds1 = await d.open(file);
      // the same layout and size, other values: only the file's identity tells the versions apart
      replace(file, arrowBytes(100_000, 2));
      const old = await columnZones(zoneHome(ds1), ds1.columns.get('x')!); // (a request still running on the old version)
      expect(old.min[0]).toBe(1000);
      const ds2 = await d.get(ds1.id);
      expect(ds2).not.toBe(ds1);
      const now = await columnZones(zoneHome(ds2), ds2.columns.get('x')!);
      const x = tableFromIPC(readFileSync(file)).getChild('x')!.toArray() as Float64Array;
      expect([now.min[0], now.max[1]]).toEqual([x[0], x[Math.min(x.length, 2 * 65_536) - 1]]);
    } finally {
      d.close();
    }
  });
});
