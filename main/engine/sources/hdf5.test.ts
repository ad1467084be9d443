import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { hdf5Provider } from './hdf5';
import { drain, hostileCopies, readOrClearError, tempDir, withTimeout } from './testing/util';
import { CdxError } from '../../../shared/errors';
import { blockingWorkerCount } from '../blocking';

// Fixtures are written with h5wasm itself (h5py is not installed here); values are compared with
// the arrays that were written.
let dir = '';
let cleanup = () => {};
let file = '';
let bigFile = '';
const N = 10_000;
const BIG = 2_000_000;

beforeAll(async () => {
  ({ dir, cleanup } = tempDir('cdx-h5-'));
  file = join(dir, 'run.h5');
  const h5wasm = (await import('h5wasm/node')).default;
  await h5wasm.ready;
  const f = new h5wasm.File(file, 'w');
  f.create_attribute('title', 'test run');
  const g = f.create_group('sensors') as any;
  g.create_attribute('site', 'lab 7');
  g.create_dataset({ name: 'temp', data: new Float64Array([20.5, 21, -3.25, 1e300]) });
  (g.get('temp') as any).create_attribute('units', 'celsius');
  g.create_dataset({ name: 'ids', data: new BigInt64Array([1n, -(2n ** 63n), 2n ** 62n + 1n]) });
  f.create_dataset({ name: 'matrix', data: new Float32Array(12).map((_, i) => i * 1.5), shape: [4, 3], dtype: '<f' });
  f.create_dataset({ name: 'chunked', data: new Int32Array(N).map((_, i) => i * 3), shape: [N], dtype: '<i', chunks: [1000], compression: 6 });
  f.create_dataset({ name: 'labels', data: ['alpha', 'béta', ''] });
  f.create_dataset({ name: 'table', data: new Map<string, any>([['id', new Int32Array([1, 2, 3])], ['v', new Float64Array([0.5, 1.5, 2.5])], ['pos', new Map<string, any>([['x', new Float32Array([1, 2, 3])], ['y', new Float32Array([4, 5, 6])]])]]) });
  f.create_dataset({ name: 'scalar', data: 42.5 });
  f.create_dataset({ name: 'u16', data: new Uint16Array([0, 65535, 7]) });
  f.close();
  bigFile = join(dir, 'big.h5');
  const b = new h5wasm.File(bigFile, 'w');
  b.create_dataset({ name: 'big', data: new Float64Array(BIG).map((_, i) => i), shape: [BIG], dtype: '<d', chunks: [BIG / 8], compression: 1 });
  b.close();
});
afterAll(() => cleanup());

describe('hdf5', () => {
  it('lists the group/dataset tree', async () => {
    const list = await hdf5Provider.list!(file);
    const byPath = Object.fromEntries(list.map((d) => [d.inner, d]));
    expect(byPath['/sensors'].kind).toBe('group');
    expect(byPath['/sensors/temp']).toMatchObject({ kind: 'dataset', shape: [4], rows: 4 });
    expect(byPath['/matrix']).toMatchObject({ shape: [4, 3], rows: 4 });
    expect(byPath['/table']).toMatchObject({ rows: 3 });
  });

  it('a 1-D dataset is one column named after it; attributes are metadata', async () => {
    const src = await hdf5Provider.open(file, '/sensors/temp');
    const { info, batches } = await drain(src);
    expect(info.schema.fields).toEqual([{ name: 'temp', type: 'float64', nullable: false }]);
    expect(Array.from(batches[0].getChild('temp')!.toArray() as Float64Array)).toEqual([20.5, 21, -3.25, 1e300]);
    expect(info.metadata.units).toBe('celsius');
    expect(info.metadata['file.title']).toBe('test run');
    await src.close();
  });

  it('int64 stays exact; unsigned widths kept', async () => {
    const { info, batches } = await drain(await hdf5Provider.open(file, 'sensors/ids'));
    expect(info.schema.fields[0].type).toBe('int64');
    expect(Array.from(batches[0].getChild('ids')!.toArray() as BigInt64Array)).toEqual([1n, -(2n ** 63n), 2n ** 62n + 1n]);
    const u = await drain(await hdf5Provider.open(file, '/u16'));
    expect(u.info.schema.fields[0].type).toBe('uint16');
    expect(Array.from(u.batches[0].getChild('u16')!.toArray() as Uint16Array)).toEqual([0, 65535, 7]);
  });

  it("a 2-D dataset's columns are c0, c1, …", async () => {
    const { info, batches } = await drain(await hdf5Provider.open(file, '/matrix'));
    expect(info.schema.fields.map((f) => `${f.name}:${f.type}`)).toEqual(['c0:float32', 'c1:float32', 'c2:float32']);
    expect(Array.from(batches[0].getChild('c1')!.toArray() as Float32Array)).toEqual([1.5, 6, 10.5, 15]);
  });

  it('a chunked gzip dataset is read slice by slice', async () => {
    const src = await hdf5Provider.open(file, '/chunked');
    const info = await src.info();
    expect(info.metadata['hdf5.filters']).toMatch(/deflate/);
    const sizes: number[] = [];
    let k = 0;
    for await (const b of src.scan({ batchRows: 2500 })) {
      sizes.push(b.numRows);
      const v = b.getChild('chunked')!.toArray() as Int32Array;
      for (let i = 0; i < v.length; i++, k++) if (v[i] !== k * 3) throw new Error(`row ${k}: ${v[i]}`);
    }
    expect(k).toBe(N);
    expect(sizes.every((s) => s % 1000 === 0 || s === N % 2000)).toBe(true); // aligned to chunks
    await src.close();
  });

  it('compound datasets are tables; strings; scalars', async () => {
    const t = await drain(await hdf5Provider.open(file, '/table'));
    expect(t.info.schema.fields.map((f) => `${f.name}:${f.type}`)).toEqual(['id:int32', 'v:float64', 'pos.x:float32', 'pos.y:float32']);
    expect(t.batches[0].getChild('pos.y')!.toArray()).toEqual(new Float32Array([4, 5, 6]));
    expect(t.batches[0].getChild('id')!.toArray()).toEqual(new Int32Array([1, 2, 3]));
    const s = await drain(await hdf5Provider.open(file, '/labels'));
    expect(s.info.schema.fields[0].type).toBe('string');
    expect(s.batches[0].getChild('labels')!.toArray()).toEqual(['alpha', 'béta', '']);
    const sc = await drain(await hdf5Provider.open(file, '/scalar'));
    expect(sc.rows).toBe(1);
    expect(sc.batches[0].getChild('scalar')!.get(0)).toBe(42.5);
  });

  it('reads run off the engine thread, in a worker that a cancel stops at once', async () => {
    const src = await hdf5Provider.open(bigFile, '/big');
    const ac = new AbortController();
    let got = 0;
    let abortedAt = 0;
    const err = await (async () => {
      for await (const b of src.scan({ batchRows: BIG / 2, signal: ac.signal })) {
        got += b.numRows;
        abortedAt = Date.now();
        ac.abort(); // the next batch is being read now: the worker is stopped
      }
    })().then(() => null, (e) => e);
    expect(Date.now() - abortedAt).toBeLessThan(250);
    expect(got).toBe(BIG / 2);
    expect(err).toBeInstanceOf(CdxError);
    expect(err).toMatchObject({ code: 'E_CANCELLED', file: bigFile });
    // a fresh worker serves the next read
    const { rows } = await drain(await hdf5Provider.open(file, '/sensors/temp'));
    expect(rows).toBe(4);
    expect(blockingWorkerCount()).toBeLessThanOrEqual(2);
  });

  it('clear errors for missing datasets, groups, and the need to choose', async () => {
    await expect(hdf5Provider.open(file, '/nope')).rejects.toMatchObject({ code: 'E_NO_INNER' });
    await expect(hdf5Provider.open(file, '/sensors')).rejects.toThrow(/not a dataset/);
    await expect(hdf5Provider.open(file)).rejects.toMatchObject({ code: 'E_NEED_INNER' });
  });

  it('truncated and bit-flipped copies give a clear error or a correct read', async () => {
    const { dir: d, cleanup: c } = tempDir();
    try {
      for (const p of hostileCopies(file, d, { flips: 24, seed: 11 })) {
        await withTimeout((async () => {
          let list;
          try { list = await hdf5Provider.list!(p); } catch (e) { if (!(e instanceof CdxError)) throw e; return; }
          for (const item of list.filter((x) => x.kind === 'dataset')) await readOrClearError(() => hdf5Provider.open(p, item.inner), p);
        })(), 20_000, p);
      }
    } finally {
      c();
    }
  }, 120_000);
});
